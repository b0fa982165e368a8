"""Dispersion coefficients σy(x), σz(x) (m) as functions of downwind distance x (m).

Sigma sets:

* ``"briggs_rural"`` — Briggs (1973) open country (CCPS; Crowl & Louvar Table 5-2; Griffiths 1994).
* ``"briggs_urban"`` — Briggs urban (McElroy–Pooler), urban A–B σz with the **+½** exponent.
* ``"isc3_rural"`` — Pasquill–Gifford–Turner curves as fitted in EPA-454/B-95-003b (ISC3 Vol II,
  Tables 1-1 and 1-2); σz capped at 5000 m for A–C.
* ``"ccps_puff"`` — instantaneous-puff sigmas (Slade 1968 via CCPS / Crowl & Louvar Table 5-3),
  σx = σy.

All sets represent ~10-minute averages (600 s reference averaging time); see
:func:`averaging_time_factor`. Nominal range 100 m – 10 km; callers flag x < 100 m.

A sigma model is any object with ``name`` and ``__call__(x_m) -> (sigma_y_m, sigma_z_m)``; the
plume and puff code accept either a :class:`PasquillSigmas` or a :class:`TurbulenceSigmas`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from .stability import sigma_class

SigmaSet = Literal["briggs_rural", "briggs_urban", "isc3_rural", "ccps_puff"]
SIGMA_REFERENCE_AVERAGING_S = 600.0

# Briggs rural: sigma_y = a x (1 + b x)^-1/2 ; sigma_z = c x (1 + d x)^e
_BRIGGS_RURAL_Y = {"A": 0.22, "B": 0.16, "C": 0.11, "D": 0.08, "E": 0.06, "F": 0.04}
_BRIGGS_RURAL_Z = {"A": (0.20, 0.0, 0.0), "B": (0.12, 0.0, 0.0), "C": (0.08, 0.0002, -0.5),
                   "D": (0.06, 0.0015, -0.5), "E": (0.03, 0.0003, -1.0), "F": (0.016, 0.0003, -1.0)}
_BRIGGS_URBAN_Y = {"A": 0.32, "B": 0.32, "C": 0.22, "D": 0.16, "E": 0.11, "F": 0.11}
_BRIGGS_URBAN_Z = {"A": (0.24, 0.001, 0.5), "B": (0.24, 0.001, 0.5), "C": (0.20, 0.0, 0.0),
                   "D": (0.14, 0.0003, -0.5), "E": (0.08, 0.0015, -0.5), "F": (0.08, 0.0015, -0.5)}

# ISC3 rural (EPA-454/B-95-003b): sigma_y = 465.11628 x_km tan(0.017453293 (c - d ln x_km))
_ISC3_Y = {"A": (24.1670, 2.5334), "B": (18.3330, 1.8096), "C": (12.5000, 1.0857),
           "D": (8.3330, 0.72382), "E": (6.2500, 0.54287), "F": (4.1667, 0.36191)}
# sigma_z = a x_km^b on pieces; each tuple: (upper bound of x_km, a, b)
_ISC3_Z: dict[str, tuple[tuple[float, float, float], ...]] = {
    "A": ((0.10, 122.800, 0.94470), (0.15, 158.080, 1.05420), (0.20, 170.220, 1.09320),
          (0.25, 179.520, 1.12620), (0.30, 217.410, 1.26440), (0.40, 258.890, 1.40940),
          (0.50, 346.750, 1.72830), (np.inf, 453.850, 2.11660)),
    "B": ((0.20, 90.673, 0.93198), (0.40, 98.483, 0.98332), (np.inf, 109.300, 1.09710)),
    "C": ((np.inf, 61.141, 0.91465),),
    "D": ((0.30, 34.459, 0.86974), (1.00, 32.093, 0.81066), (3.00, 32.093, 0.64403),
          (10.0, 33.504, 0.60486), (30.0, 36.650, 0.56589), (np.inf, 44.053, 0.51179)),
    "E": ((0.10, 24.260, 0.83660), (0.30, 23.331, 0.81956), (1.00, 21.628, 0.75660),
          (2.00, 21.628, 0.63077), (4.00, 22.534, 0.57154), (10.0, 24.703, 0.50527),
          (20.0, 26.970, 0.46713), (40.0, 35.420, 0.37615), (np.inf, 47.618, 0.29592)),
    "F": ((0.20, 15.209, 0.81558), (0.70, 14.457, 0.78407), (1.00, 13.953, 0.68465),
          (2.00, 13.953, 0.63227), (3.00, 14.823, 0.54503), (7.00, 16.187, 0.46490),
          (15.0, 17.836, 0.41507), (30.0, 22.651, 0.32681), (60.0, 27.074, 0.27436),
          (np.inf, 34.219, 0.21716)),
}
# Slade (1968) puff sigmas: sigma_y = a x^b, sigma_z = c x^d
_PUFF = {"A": (0.18, 0.92, 0.60, 0.75), "B": (0.14, 0.92, 0.53, 0.73), "C": (0.10, 0.92, 0.34, 0.71),
         "D": (0.06, 0.92, 0.15, 0.70), "E": (0.04, 0.92, 0.10, 0.65), "F": (0.02, 0.89, 0.05, 0.61)}


class SigmaModel(Protocol):
    """Anything that maps downwind (travel) distance x (m) to (σy, σz) in m."""

    @property
    def name(self) -> str: ...

    def __call__(self, x_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


def sigma_y(x_m: np.ndarray | float, stability: str, sigma_set: SigmaSet = "briggs_rural") -> np.ndarray:
    """Crosswind σy (m) at downwind distance x (m > 0) for a stability class and sigma set."""
    x = np.asarray(x_m, dtype=float)
    c = sigma_class(stability)
    if sigma_set == "briggs_rural":
        return _BRIGGS_RURAL_Y[c] * x / np.sqrt(1.0 + 1e-4 * x)
    if sigma_set == "briggs_urban":
        return _BRIGGS_URBAN_Y[c] * x / np.sqrt(1.0 + 4e-4 * x)
    if sigma_set == "isc3_rural":
        cc, d = _ISC3_Y[c]
        xk = x / 1000.0
        with np.errstate(divide="ignore"):
            th = 0.017453293 * (cc - d * np.log(xk))
        return 465.11628 * xk * np.tan(th)
    if sigma_set == "ccps_puff":
        a, b, _, _ = _PUFF[c]
        return a * x**b
    raise ValueError(f"unknown sigma set {sigma_set!r}")


def sigma_z(x_m: np.ndarray | float, stability: str, sigma_set: SigmaSet = "briggs_rural") -> np.ndarray:
    """Vertical σz (m) at downwind distance x (m > 0) for a stability class and sigma set."""
    x = np.asarray(x_m, dtype=float)
    c = sigma_class(stability)
    if sigma_set in ("briggs_rural", "briggs_urban"):
        a, b, e = (_BRIGGS_RURAL_Z if sigma_set == "briggs_rural" else _BRIGGS_URBAN_Z)[c]
        return a * x * (1.0 + b * x) ** e
    if sigma_set == "isc3_rural":
        xk = x / 1000.0
        out = np.empty_like(xk)
        lower = -np.inf
        for upper, a, b in _ISC3_Z[c]:
            # EPA tables: first piece "x < 0.10" for A, others "<=": boundaries are continuous enough
            m = (xk > lower) & (xk <= upper) if np.isfinite(lower) else (xk <= upper)
            out = np.where(m, a * np.abs(xk) ** b, out)
            lower = upper
        if c in ("A", "B", "C"):
            out = np.minimum(out, 5000.0)
        return out
    if sigma_set == "ccps_puff":
        _, _, cz, dz = _PUFF[c]
        return cz * x**dz
    raise ValueError(f"unknown sigma set {sigma_set!r}")


def averaging_time_factor(averaging_time_s: float, exponent: float = 0.2,
                          reference_s: float = SIGMA_REFERENCE_AVERAGING_S) -> float:
    """σy multiplier ``(t/t_ref)^p`` for an averaging time t (s); p = 0.2 (0.17–0.25 quoted)."""
    if averaging_time_s <= 0:
        raise ValueError("averaging time must be positive")
    return float((averaging_time_s / reference_s) ** exponent)


@dataclass(frozen=True)
class PasquillSigmas:
    """A tabulated sigma set for one stability class.

    ``averaging_time_s`` scales σy by ``(t/600 s)^0.2`` (σz unchanged).

    >>> s = PasquillSigmas("F", "briggs_rural")
    >>> [round(float(v), 3) for v in s(500.0)]
    [19.518, 6.957]
    """

    stability: str
    sigma_set: SigmaSet = "briggs_rural"
    averaging_time_s: float = SIGMA_REFERENCE_AVERAGING_S

    @property
    def name(self) -> str:
        return f"{self.sigma_set}:{sigma_class(self.stability)}"

    def __call__(self, x_m: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        f = averaging_time_factor(self.averaging_time_s)
        return sigma_y(x_m, self.stability, self.sigma_set) * f, sigma_z(x_m, self.stability, self.sigma_set)


@dataclass(frozen=True)
class TurbulenceSigmas:
    """Sigmas from measured turbulence: ``σy = σθ·x·f_y`` with σz from a Pasquill set.

    ``lateral="draxler"`` (default): Draxler (1976) ``f_y = 1/(1 + 0.9·√(t/T_i))`` with travel
    time ``t = x/u`` and ``T_i = 50 s`` for near-surface releases (Draxler's value for ground
    sources, as quoted by Irwin 1983) [PUB-mem].
    ``lateral="irwin"``: Irwin's (1983) distance form ``f_y = 1/(1 + 0.0308·x^0.4548)`` for
    x ≤ 10 km, ``0.333·(10 km/x)^0.5`` beyond (no wind speed needed).

    σθ (degrees) is the standard deviation of the wind azimuth over the averaging period, so the
    meander of that period is already in it and no averaging-time factor is applied. σz comes
    from ``vertical_set`` for ``stability`` (e.g. the class from the Obukhov length via Golder).
    """

    sigma_theta_deg: float
    stability: str
    wind_speed_m_s: float = 5.0
    vertical_set: SigmaSet = "briggs_rural"
    lateral: Literal["draxler", "irwin"] = "draxler"
    lagrangian_time_s: float = 50.0

    @property
    def name(self) -> str:
        return f"sigma_theta_{self.lateral}+{self.vertical_set}:{sigma_class(self.stability)}"

    def __call__(self, x_m: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(x_m, dtype=float)
        if self.lateral == "draxler":
            t = np.abs(x) / self.wind_speed_m_s
            fy = 1.0 / (1.0 + 0.9 * np.sqrt(t / self.lagrangian_time_s))
        else:
            fy = np.where(x <= 1e4, 1.0 / (1.0 + 0.0308 * np.abs(x) ** 0.4548),
                          0.333 * np.sqrt(1e4 / np.maximum(x, 1e4)))
        sy = np.deg2rad(self.sigma_theta_deg) * x * fy
        return sy, sigma_z(x, self.stability, self.vertical_set)
