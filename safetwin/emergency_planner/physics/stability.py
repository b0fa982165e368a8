"""Atmospheric stability (Pasquill–Gifford classes) and the wind-speed power law.

Classes are the letters ``"A"`` … ``"F"`` (and ``"G"`` for Turner's extremely stable
class 7, which the sigma sets treat as ``"F"``). Ambiguous entries of the Pasquill key are
returned as ``"A-B"``, ``"B-C"``, ``"C-D"``; :func:`resolve_class` picks the more stable
letter, the conservative choice for ground-level toxic releases.

Sources
-------
* Pasquill (1961) / Turner (1970) key — Turner's *Workbook of Atmospheric Dispersion
  Estimates*; CCPS (1999); Crowl & Louvar, Table 5-1.
* Turner (1964) net-radiation index (NRI) method as used by EPA STAR/RAMMET.
* EPA SRDT (solar radiation / ΔT) method, EPA-454/R-99-005 §6.4.2 Table 6-7 (checked against the
  guidance as reproduced by webmet.com, "Met Monitoring Guide" 6.4.2) [PUB].
* EPA σA method: EPA-454/R-99-005 §6.4.4 (after Irwin 1980): initial class from σA for a roughness
  of 15 cm, its bounds scaled by (z0/15 cm)^0.2, then the wind-speed adjustments by day and night
  [PUB-mem]. Night: from one hour before sunset to one hour after sunrise (the guidance's Table 6-6).
* Golder (1972) Monin–Obukhov length ↔ class, lines ``1/L = a + b·log10(z0)`` as fitted in
  Seinfeld & Pandis.
* Power-law exponents: ISC3 (EPA-454/B-95-003b) rural and urban; Irwin (1979).
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import Literal

import numpy as np

CLASSES: tuple[str, ...] = ("A", "B", "C", "D", "E", "F", "G")

Insolation = Literal["strong", "moderate", "slight"]


def resolve_class(key: str, conservative: bool = True) -> str:
    """Turn a Pasquill key such as ``"A-B"`` into one letter.

    ``conservative=True`` picks the more stable letter (higher ground-level concentrations for
    ground releases), else the less stable one.
    """
    parts = [p.strip().upper() for p in key.replace("–", "-").split("-") if p.strip()]
    if not parts or any(p not in CLASSES for p in parts):
        raise ValueError(f"not a stability class key: {key!r}")
    return max(parts, key=CLASSES.index) if conservative else min(parts, key=CLASSES.index)


def sigma_class(stability: str) -> str:
    """Letter used to look up dispersion coefficients (``G`` → ``F``; pairs resolved)."""
    c = resolve_class(stability)
    return "F" if c == "G" else c


# ---------------------------------------------------------------------------------------------
# Pasquill–Turner key
# ---------------------------------------------------------------------------------------------
_DAY_KEY = {  # rows: u10 bins <2, 2-3, 3-5, 5-6, >=6; cols strong, moderate, slight
    0: ("A", "A-B", "B"),
    1: ("A-B", "B", "C"),
    2: ("B", "B-C", "C"),
    3: ("C", "C-D", "D"),
    4: ("C", "D", "D"),
}
_NIGHT_KEY = {  # cols: thin overcast or >= 4/8 low cloud, <= 3/8 cloud
    0: ("F", "F"),
    1: ("E", "F"),
    2: ("D", "E"),
    3: ("D", "D"),
    4: ("D", "D"),
}


def _u10_bin(u10_m_s: float) -> int:
    if u10_m_s < 0 or not math.isfinite(u10_m_s):
        raise ValueError(f"wind speed must be a finite non-negative number, got {u10_m_s}")
    for i, edge in enumerate((2.0, 3.0, 5.0, 6.0)):
        if u10_m_s < edge:
            return i
    return 4


def insolation_from_solar_altitude(solar_altitude_deg: float, cloud_fraction: float = 0.0) -> Insolation | None:
    """Insolation class from solar altitude (strong > 60°, moderate 35–60°, slight 15–35°).

    Cloud cover above one half lowers the class by one step (a common reading of Turner's
    ceiling rule). Returns ``None`` when the sun is below 15° with cloud (treat as neutral) —
    callers then use class D. Below the horizon returns ``None`` as well.
    """
    a = solar_altitude_deg
    if a <= 0:
        return None
    levels: list[Insolation] = ["slight", "moderate", "strong"]
    idx = 2 if a > 60 else 1 if a > 35 else 0
    if cloud_fraction > 0.5:
        idx -= 1
    return levels[idx] if idx >= 0 else "slight"


def pasquill_class_key(
    u10_m_s: float,
    *,
    is_day: bool,
    insolation: Insolation | None = None,
    cloud_fraction: float = 0.0,
    heavy_overcast: bool = False,
) -> str:
    """Pasquill–Turner key (Turner 1970; CCPS 1999; Crowl & Louvar Table 5-1). May return a pair such as ``"A-B"``.

    Parameters
    ----------
    u10_m_s: wind speed at 10 m, m/s.
    is_day: daytime (night = 1 h before sunset to 1 h after sunrise).
    insolation: ``"strong"``, ``"moderate"`` or ``"slight"`` (daytime only).
    cloud_fraction: total cloud cover 0–1 (night columns: ≥ 4/8 vs ≤ 3/8).
    heavy_overcast: heavy overcast day or night → ``"D"``.
    """
    row = _u10_bin(u10_m_s)
    if heavy_overcast:
        return "D"
    if is_day:
        if insolation is None:
            return "D"
        col = {"strong": 0, "moderate": 1, "slight": 2}[insolation]
        return _DAY_KEY[row][col]
    col = 0 if cloud_fraction >= 0.5 else 1
    return _NIGHT_KEY[row][col]


# ---------------------------------------------------------------------------------------------
# Turner (1964) NRI
# ---------------------------------------------------------------------------------------------
_TURNER_TABLE = {  # wind speed in knots (upper bound inclusive) -> classes for NRI 4,3,2,1,0,-1,-2
    1: (1, 1, 2, 3, 4, 6, 7),
    3: (1, 2, 2, 3, 4, 6, 7),
    5: (1, 2, 3, 4, 4, 5, 6),
    6: (2, 2, 3, 4, 4, 5, 6),
    7: (2, 2, 3, 4, 4, 4, 5),
    9: (2, 3, 3, 4, 4, 4, 5),
    10: (3, 3, 4, 4, 4, 4, 5),
    11: (3, 3, 4, 4, 4, 4, 4),
    10**9: (3, 4, 4, 4, 4, 4, 4),
}
KNOT_M_S = 0.514444


def turner_insolation_number(solar_altitude_deg: float) -> int:
    """Turner insolation class number from solar altitude: >60° → 4, 35–60 → 3, 15–35 → 2, else 1."""
    a = solar_altitude_deg
    return 4 if a > 60 else 3 if a > 35 else 2 if a > 15 else 1


def turner_nri(
    solar_altitude_deg: float,
    cloud_tenths: float,
    ceiling_ft: float = 1e9,
    *,
    is_night: bool | None = None,
) -> int:
    """Turner net radiation index (−2 … 4).

    ``is_night`` defaults to ``solar_altitude_deg <= 0``. Ceiling in feet, as in the method.
    """
    night = solar_altitude_deg <= 0 if is_night is None else is_night
    if cloud_tenths >= 10 and ceiling_ft < 7000:
        return 0
    if night:
        return -2 if cloud_tenths <= 4 else -1
    nri = turner_insolation_number(solar_altitude_deg)
    if cloud_tenths <= 5:
        return nri
    if ceiling_ft < 7000:
        nri -= 2
    elif ceiling_ft < 16000 or cloud_tenths >= 10:
        nri -= 1
    return max(nri, 1)


def turner_class(
    wind_speed_m_s: float,
    solar_altitude_deg: float,
    cloud_tenths: float = 0.0,
    ceiling_ft: float = 1e9,
    *,
    is_night: bool | None = None,
) -> str:
    """Pasquill class by Turner's NRI method (wind speed rounded to whole knots). Returns A–G."""
    kt = int(round(wind_speed_m_s / KNOT_M_S))
    nri = turner_nri(solar_altitude_deg, cloud_tenths, ceiling_ft, is_night=is_night)
    col = 4 - nri  # NRI 4 -> 0 ... -2 -> 6
    for upper, classes in _TURNER_TABLE.items():
        if kt <= upper:
            return CLASSES[classes[col] - 1]
    raise AssertionError("unreachable")


# ---------------------------------------------------------------------------------------------
# SRDT, sigma-theta, Golder
# ---------------------------------------------------------------------------------------------
def srdt_class(wind_speed_m_s: float, *, solar_radiation_w_m2: float | None = None,
               delta_t_dz_k_m: float | None = None, is_night: bool = False) -> str:
    """EPA SRDT class (day: total solar radiation W/m²; night: the sign of the vertical temperature
    gradient), with the 10 m wind speed (m/s); EPA-454/R-99-005 Table 6-7 [PUB]."""
    u = wind_speed_m_s
    if not is_night:
        if solar_radiation_w_m2 is None:
            raise ValueError("daytime SRDT needs solar_radiation_w_m2")
        r = solar_radiation_w_m2
        col = 0 if r >= 925 else 1 if r >= 675 else 2 if r >= 175 else 3
        rows = [("A", "A", "B", "D"), ("A", "B", "C", "D"), ("B", "B", "C", "D"),
                ("C", "C", "D", "D"), ("C", "D", "D", "D")]
        row = 0 if u < 2 else 1 if u < 3 else 2 if u < 5 else 3 if u < 6 else 4
        return rows[row][col]
    if delta_t_dz_k_m is None:
        raise ValueError("night-time SRDT needs delta_t_dz_k_m")
    col = 0 if delta_t_dz_k_m < 0 else 1
    rows_n = [("E", "F"), ("D", "E"), ("D", "D")]
    row = 0 if u < 2 else 1 if u < 2.5 else 2
    return rows_n[row][col]


def sigma_theta_class(sigma_theta_deg: float) -> str:
    """Daytime class from the standard deviation of wind azimuth (EPA σA method)."""
    s = sigma_theta_deg
    return "A" if s >= 22.5 else "B" if s >= 17.5 else "C" if s >= 12.5 else "D" if s >= 7.5 else "E" if s >= 3.8 else "F"


#: EPA σA method, wind-speed adjustments (10 m wind, m/s): per initial class, the upper speed
#: bounds and the final class of each band (the last band is open-ended) — EPA-454/R-99-005 §6.4.4 [PUB-mem]
_SIGMA_A_DAY = {"A": ((3.0, 4.0, 6.0), "ABCD"), "B": ((4.0, 6.0), "BCD"), "C": ((6.0,), "CD"),
                "D": ((), "D"), "E": ((), "D"), "F": ((), "D")}
_SIGMA_A_NIGHT = {"A": ((2.9, 3.6), "FED"), "B": ((2.4, 3.0), "FED"), "C": ((2.4,), "ED"),
                  "D": ((), "D"), "E": ((), "E"), "F": ((), "F")}
#: σA (degrees) at the centre of each class's band of the initial criteria (F: half its upper bound;
#: A: the bound plus half a band), for a station that must report a σA consistent with a class
SIGMA_A_CLASS_CENTRE_DEG = {"A": 25.0, "B": 20.0, "C": 15.0, "D": 10.0, "E": 5.65, "F": 1.9}


def sigma_a_class(sigma_theta_deg: float, wind_speed_m_s: float, *, is_night: bool, roughness_m: float = 0.15) -> str:
    """Pasquill class by the EPA σA method (see the module sources): the initial class of
    :func:`sigma_theta_class` with the σA bounds scaled by ``(roughness_m / 0.15)^0.2``, then
    adjusted for the 10 m wind speed (m/s) by day or night.

    >>> sigma_a_class(20.0, 2.0, is_night=False), sigma_a_class(20.0, 5.0, is_night=False)
    ('B', 'C')
    >>> sigma_a_class(20.0, 2.0, is_night=True), sigma_a_class(10.0, 2.0, is_night=True)
    ('F', 'D')
    """
    if not (math.isfinite(sigma_theta_deg) and sigma_theta_deg >= 0 and math.isfinite(wind_speed_m_s)):
        raise ValueError(f"σA method needs finite σθ >= 0 and wind speed, got {sigma_theta_deg}, {wind_speed_m_s}")
    initial = sigma_theta_class(sigma_theta_deg / (roughness_m / 0.15) ** 0.2)
    bounds, finals = (_SIGMA_A_NIGHT if is_night else _SIGMA_A_DAY)[initial]
    band = sum(wind_speed_m_s >= b for b in bounds)
    return finals[band]


def is_epa_night(when: datetime, latitude_deg: float, longitude_deg: float) -> bool:
    """Night for the EPA stability methods: from one hour before sunset to one hour after sunrise
    (the sun below the horizon one hour later or one hour earlier)."""
    hour = timedelta(hours=1)
    return (solar_altitude_deg(when + hour, latitude_deg, longitude_deg) <= 0.0
            or solar_altitude_deg(when - hour, latitude_deg, longitude_deg) <= 0.0)


_GOLDER = {"A": (-0.096, 0.029), "B": (-0.037, 0.029), "C": (-0.002, 0.018),
           "D": (0.0, 0.0), "E": (0.004, -0.018), "F": (0.035, -0.036)}


def golder_inverse_L(stability: str, z0_m: float) -> float:
    """Golder (1972) line ``1/L = a + b·log10(z0)`` (1/m) for a class (Seinfeld & Pandis fit)."""
    a, b = _GOLDER[sigma_class(stability)]
    return a + b * math.log10(z0_m)


def golder_class_from_L(obukhov_length_m: float, z0_m: float = 0.1) -> str:
    """Pasquill class from the Monin–Obukhov length L (m) and roughness z0 (m).

    Golder's lines are read as class centre lines; the class boundaries are the midpoints in
    1/L between adjacent lines (so class D is the band around 1/L = 0).
    """
    inv = 0.0 if not math.isfinite(obukhov_length_m) or obukhov_length_m == 0 else 1.0 / obukhov_length_m
    letters = "ABCDEF"
    centres = np.array([golder_inverse_L(c, z0_m) for c in letters])
    bounds = 0.5 * (centres[1:] + centres[:-1])
    return letters[int(np.searchsorted(bounds, inv))]


# ---------------------------------------------------------------------------------------------
# Wind profile and solar altitude
# ---------------------------------------------------------------------------------------------
POWER_LAW_EXPONENTS: dict[str, dict[str, float]] = {
    # ISC3 / EPA regulatory default rural (Irwin 1979 for z0 ~ 0.1 m)
    "rural": {"A": 0.07, "B": 0.07, "C": 0.10, "D": 0.15, "E": 0.35, "F": 0.55},
    # ISC3 urban
    "urban": {"A": 0.15, "B": 0.15, "C": 0.20, "D": 0.25, "E": 0.30, "F": 0.30},
    # Irwin (1979) z0 ~ 1 m
    "urban_irwin": {"A": 0.15, "B": 0.15, "C": 0.20, "D": 0.25, "E": 0.40, "F": 0.60},
}


def wind_speed_at_height(
    u_ref_m_s: float | np.ndarray,
    z_m: float | np.ndarray,
    stability: str,
    *,
    z_ref_m: float = 10.0,
    terrain: Literal["rural", "urban", "urban_irwin"] = "rural",
    min_height_m: float = 1.0,
    min_speed_m_s: float = 0.0,
) -> np.ndarray:
    """Power law ``u(z) = u_ref·(z/z_ref)^p`` with ISC3/Irwin exponents (m/s).

    ``z`` is floored at ``min_height_m``; the result is floored at ``min_speed_m_s`` (ISC3 uses
    1 m/s).
    """
    p = POWER_LAW_EXPONENTS[terrain][sigma_class(stability)]
    z = np.maximum(np.asarray(z_m, dtype=float), min_height_m)
    return np.maximum(np.asarray(u_ref_m_s, dtype=float) * (z / z_ref_m) ** p, min_speed_m_s)


def solar_altitude_deg(when: datetime, latitude_deg: float, longitude_deg: float) -> float:
    """Solar elevation angle (degrees) from the NOAA low-precision algorithm (±0.5°).

    ``when`` must be timezone-aware (converted to UTC).
    """
    if when.tzinfo is None:
        raise ValueError("solar_altitude_deg needs a timezone-aware datetime")
    t = when.astimezone(timezone.utc)
    doy = t.timetuple().tm_yday
    hour = t.hour + t.minute / 60 + t.second / 3600
    g = 2 * math.pi / 365 * (doy - 1 + (hour - 12) / 24)
    eqtime = 229.18 * (0.000075 + 0.001868 * math.cos(g) - 0.032077 * math.sin(g)
                       - 0.014615 * math.cos(2 * g) - 0.040849 * math.sin(2 * g))
    decl = (0.006918 - 0.399912 * math.cos(g) + 0.070257 * math.sin(g) - 0.006758 * math.cos(2 * g)
            + 0.000907 * math.sin(2 * g) - 0.002697 * math.cos(3 * g) + 0.00148 * math.sin(3 * g))
    tst = hour * 60 + eqtime + 4 * longitude_deg
    ha = math.radians(tst / 4 - 180)
    lat = math.radians(latitude_deg)
    cosz = math.sin(lat) * math.sin(decl) + math.cos(lat) * math.cos(decl) * math.cos(ha)
    return 90.0 - math.degrees(math.acos(max(-1.0, min(1.0, cosz))))


def pasquill_class_from_weather(
    u10_m_s: float,
    when: datetime,
    latitude_deg: float,
    longitude_deg: float,
    cloud_fraction: float = 0.0,
    *,
    conservative: bool = True,
) -> str:
    """Convenience: Pasquill–Turner key from wind, time of day and cloud, resolved to one letter.

    Day when the solar altitude is above 0° (the insolation class then follows from the altitude
    and cloud); night otherwise. Cloud fraction ≥ 0.95 counts as heavy overcast (class D).
    """
    alt = solar_altitude_deg(when, latitude_deg, longitude_deg)
    heavy = cloud_fraction >= 0.95
    if alt > 0:
        ins = insolation_from_solar_altitude(alt, cloud_fraction)
        key = pasquill_class_key(u10_m_s, is_day=True, insolation=ins, heavy_overcast=heavy)
    else:
        key = pasquill_class_key(u10_m_s, is_day=False, cloud_fraction=cloud_fraction, heavy_overcast=heavy)
    return resolve_class(key, conservative)
