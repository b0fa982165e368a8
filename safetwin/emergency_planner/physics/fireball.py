"""BLEVE fireball: size, duration, lift-off height, surface emissive power, view factor, thermal
dose and lethality.

Two published correlation sets, selected with ``correlation=``:

* ``"ccps"`` — CCPS, *Guidelines for Vapor Cloud Explosion, Pressure Vessel Burst, BLEVE and
  Flash Fire Hazards* (2nd ed. 2010), ch. 7 (the correlations of CCPS 1994, repeated there):
  maximum diameter ``D = 5.8·M^{1/3}`` (m, M in kg), duration ``t = 0.45·M^{1/3}`` (s) for
  M < 30 000 kg and ``t = 2.6·M^{1/6}`` above, centre height ``H = 0.75·D``;
* ``"tno"`` — TNO Yellow Book CPR 14E (3rd ed. 1997), ch. 6 (fireball): radius
  ``r = 3.24·M^0.325``, duration ``t = 0.852·M^0.26``, centre height ``H = 2·r`` (the fireball has
  lifted off and touches the ground no more).

Surface emissive power (both books; Roberts 1982 radiative fraction):
``SEP = F_s·M·ΔHc/(π·D²·t)`` with ``F_s = 0.00325·p_sv^0.32`` (p_sv = the saturated vapour
pressure in the vessel before failure, Pa — the same as CCPS's ``0.27·P^0.32`` with P in MPa),
capped at 0.4; or a fixed SEP (CCPS: 350 kW/m² for large hydrocarbon fireballs) with
``sep_w_m2=``.

View factor of a sphere of radius r whose centre is at distance L from the target
(Yellow Book ch. 6; CCPS 2010 ch. 7): a target facing the centre sees ``F = (r/L)²``; a vertical
surface at ground distance X sees ``F = r²·X/L³``; a horizontal one ``F = r²·H/L³``.
Transmissivity over the path from the fireball surface (``L − r``): Pietersen & Huerta (1985),
:func:`~.fire.transmissivity_pietersen`, with the air humidity.

Thermal dose ``q^{4/3}·t`` ((W/m²)^{4/3}·s) for the fireball's duration (the flux held constant
over the duration, as in both books), lethality from a named thermal probit of :mod:`.effects`.

Units: m, kg, s, Pa, W/m². Plant frame x east, y north, z up.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from .effects import THERMAL_PROBITS_W_M2_S, probit_to_probability
from .fire import transmissivity_pietersen
from .grid import GridSpec
from safetwin.substances import Substance

Correlation = Literal["ccps", "tno"]
Orientation = Literal["facing", "vertical", "horizontal"]

CCPS_DURATION_BREAK_KG = 30_000.0
"""CCPS 2010: the short-duration correlation holds below 30 t of fuel."""
MAX_RADIATIVE_FRACTION = 0.4
"""Roberts' F_s is capped at 0.4 (Yellow Book ch. 6)."""


def fireball_diameter_m(mass_kg: np.ndarray | float, correlation: Correlation = "ccps") -> np.ndarray:
    """Maximum fireball diameter (m) for a fuel mass (kg).

    >>> round(float(fireball_diameter_m(11957.7)), 1)   # CCPS 5.8·M^(1/3)
    132.6
    """
    m = np.asarray(mass_kg, dtype=float)
    if correlation == "ccps":
        return 5.8 * np.cbrt(m)
    if correlation == "tno":
        return 2.0 * 3.24 * m**0.325
    raise ValueError(f"unknown fireball correlation {correlation!r}")


def fireball_duration_s(mass_kg: np.ndarray | float, correlation: Correlation = "ccps") -> np.ndarray:
    """Fireball duration (s) for a fuel mass (kg).

    >>> round(float(fireball_duration_s(11957.7)), 1), round(float(fireball_duration_s(45360.0)), 1)
    (10.3, 15.5)
    """
    m = np.asarray(mass_kg, dtype=float)
    if correlation == "ccps":
        return np.where(m < CCPS_DURATION_BREAK_KG, 0.45 * np.cbrt(m), 2.6 * m ** (1.0 / 6.0))
    if correlation == "tno":
        return 0.852 * m**0.26
    raise ValueError(f"unknown fireball correlation {correlation!r}")


def fireball_centre_height_m(diameter_m: np.ndarray | float, correlation: Correlation = "ccps") -> np.ndarray:
    """Height (m) of the fireball centre above the release: 0.75·D (CCPS), 2·r = D (Yellow Book)."""
    d = np.asarray(diameter_m, dtype=float)
    if correlation == "ccps":
        return 0.75 * d
    if correlation == "tno":
        return d
    raise ValueError(f"unknown fireball correlation {correlation!r}")


def radiative_fraction_roberts(vapour_pressure_pa: float) -> float:
    """Roberts (1982) fraction of the heat of combustion radiated, ``F_s = 0.00325·p_sv^0.32`` (p in Pa),
    capped at 0.4 (Yellow Book ch. 6; CCPS 2010 writes ``0.27·P^0.32`` with P in MPa).

    >>> round(radiative_fraction_roberts(1.0e6), 3)
    0.27
    """
    if vapour_pressure_pa <= 0:
        raise ValueError("vapour pressure must be positive (Pa)")
    return float(min(0.00325 * vapour_pressure_pa**0.32, MAX_RADIATIVE_FRACTION))


def sphere_view_factor(ground_distance_m: np.ndarray | float, centre_height_m: np.ndarray | float,
                       radius_m: float, orientation: Orientation = "facing") -> np.ndarray:
    """View factor from a sphere (radius r, centre at height H above the target) to a target at ground
    distance X from the point below the centre: ``(r/L)²`` facing the centre, ``r²X/L³`` for a vertical
    surface, ``r²H/L³`` for a horizontal one (L² = X² + H²). Targets inside the sphere get 1.

    >>> round(float(sphere_view_factor(100.0, 66.3, 66.3, "vertical")), 4)
    0.2545
    """
    x = np.abs(np.asarray(ground_distance_m, dtype=float))
    h = np.asarray(centre_height_m, dtype=float)
    l2 = x * x + h * h
    r2 = radius_m * radius_m
    if orientation == "facing":
        f = r2 / np.maximum(l2, 1e-12)
    elif orientation == "vertical":
        f = r2 * x / np.maximum(l2, 1e-12) ** 1.5
    elif orientation == "horizontal":
        f = r2 * np.abs(h) / np.maximum(l2, 1e-12) ** 1.5
    else:
        raise ValueError(f"unknown target orientation {orientation!r}")
    return np.where(l2 <= r2, 1.0, np.minimum(f, 1.0))


@dataclass(frozen=True)
class Fireball:
    """A BLEVE fireball in the plant frame. Build it with :func:`bleve_fireball`.

    ``flux_w_m2`` is the incident flux on a target (SEP·F·τ); ``dose`` the thermal dose over the
    fireball's duration; ``lethality`` the probability of death from a named probit.
    """

    centre_xy_m: tuple[float, float]
    base_height_m: float
    mass_kg: float
    diameter_m: float
    duration_s: float
    centre_height_m: float
    sep_w_m2: float
    radiative_fraction: float | None
    correlation: str
    relative_humidity: float = 0.5
    ambient_k: float = 293.15
    notes: tuple[str, ...] = ()

    @property
    def radius_m(self) -> float:
        return self.diameter_m / 2.0

    def _geometry(self, x_m: np.ndarray | float, y_m: np.ndarray | float,
                  z_m: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """(ground distance, height of the centre above the target) in m."""
        ground = np.hypot(np.asarray(x_m, float) - self.centre_xy_m[0], np.asarray(y_m, float) - self.centre_xy_m[1])
        above = self.base_height_m + self.centre_height_m - np.asarray(z_m, float)
        return ground, above

    def view_factor(self, x_m: np.ndarray | float, y_m: np.ndarray | float, z_m: np.ndarray | float = 0.0,
                    orientation: Orientation = "facing") -> np.ndarray:
        """View factor of the fireball to targets at (x, y, z) (see :func:`sphere_view_factor`)."""
        ground, above = self._geometry(x_m, y_m, z_m)
        return sphere_view_factor(ground, above, self.radius_m, orientation)

    def flux_w_m2(self, x_m: np.ndarray | float, y_m: np.ndarray | float, z_m: np.ndarray | float = 0.0,
                  orientation: Orientation = "facing") -> np.ndarray:
        """Incident radiation (W/m²) = SEP·F·τ, τ over the path from the fireball surface."""
        ground, above = self._geometry(x_m, y_m, z_m)
        path = np.maximum(np.hypot(ground, above) - self.radius_m, 0.0)
        tau = transmissivity_pietersen(path, self.relative_humidity, self.ambient_k)
        return self.sep_w_m2 * sphere_view_factor(ground, above, self.radius_m, orientation) * tau

    def dose_w_m2_43_s(self, x_m: np.ndarray | float, y_m: np.ndarray | float, z_m: np.ndarray | float = 0.0,
                       exposure_s: float | None = None) -> np.ndarray:
        """Thermal dose ``q^{4/3}·t`` ((W/m²)^{4/3}·s), t = the fireball duration (or ``exposure_s`` if shorter)."""
        t = self.duration_s if exposure_s is None else min(exposure_s, self.duration_s)
        return self.flux_w_m2(x_m, y_m, z_m) ** (4.0 / 3.0) * t

    def lethality(self, x_m: np.ndarray | float, y_m: np.ndarray | float, z_m: np.ndarray | float = 0.0, *,
                  probit: str = "eisenberg", exposure_s: float | None = None) -> np.ndarray:
        """Probability of death of an unprotected person outdoors (named thermal probit of
        :data:`~.effects.THERMAL_PROBITS_W_M2_S`); 1 under the fireball's ground footprint."""
        if probit not in THERMAL_PROBITS_W_M2_S:
            raise ValueError(f"unknown thermal probit {probit!r}; available: {sorted(THERMAL_PROBITS_W_M2_S)}")
        t = self.duration_s if exposure_s is None else min(exposure_s, self.duration_s)
        q = self.flux_w_m2(x_m, y_m, z_m)
        with np.errstate(divide="ignore"):
            p = probit_to_probability(THERMAL_PROBITS_W_M2_S[probit](q, t))
        ground, _ = self._geometry(x_m, y_m, z_m)
        return np.where(ground <= self.radius_m, 1.0, p)

    def field_w_m2(self, grid: GridSpec, z_m: float = 0.0) -> np.ndarray:
        """Flux (W/m²) on a grid (targets facing the fireball), shape ``grid.shape``."""
        x, y = grid.mesh()
        return self.flux_w_m2(x, y, z_m)

    def distance_to_flux_m(self, flux_w_m2: float, *, z_m: float = 0.0, max_distance_m: float = 20_000.0) -> float:
        """Ground distance (m) from the point below the fireball at which the facing-target flux falls
        to ``flux_w_m2``; 0 if even the point below the centre gets less."""
        from scipy.optimize import brentq

        def excess(r: float) -> float:
            return float(self.flux_w_m2(self.centre_xy_m[0] + r, self.centre_xy_m[1], z_m)) - flux_w_m2

        if excess(0.0) <= 0:
            return 0.0
        if excess(max_distance_m) > 0:
            return float(max_distance_m)
        return float(brentq(excess, 0.0, max_distance_m, xtol=1e-6))


def bleve_fireball(
    substance: Substance,
    mass_kg: float,
    *,
    vapour_pressure_pa: float | None = None,
    temperature_k: float = 293.15,
    sep_w_m2: float | None = None,
    correlation: Correlation = "ccps",
    centre_xy_m: tuple[float, float] = (0.0, 0.0),
    base_height_m: float = 0.0,
    relative_humidity: float = 0.5,
    ambient_k: float = 293.15,
) -> Fireball:
    """The fireball of a BLEVE of ``mass_kg`` of a flammable liquefied gas.

    The SEP is ``sep_w_m2`` when given, else Roberts' radiative fraction at the vessel's vapour
    pressure (``vapour_pressure_pa``, or the substance's saturation pressure at ``temperature_k``)
    applied to the fireball's surface and duration (module docstring).

    >>> from safetwin.substances import get_substance
    >>> fb = bleve_fireball(get_substance("propane"), 11957.7, sep_w_m2=350e3)
    >>> round(fb.diameter_m, 1), round(fb.duration_s, 1), round(fb.centre_height_m, 1)
    (132.6, 10.3, 99.5)
    """
    if mass_kg <= 0:
        raise ValueError("fireball fuel mass must be positive (kg)")
    if substance.heat_of_combustion_j_kg is None:
        raise ValueError(f"{substance.name} does not burn: no fireball")
    d = float(fireball_diameter_m(mass_kg, correlation))
    t = float(fireball_duration_s(mass_kg, correlation))
    h = float(fireball_centre_height_m(d, correlation))
    notes = [f"fireball correlations: {correlation}"]
    if sep_w_m2 is None:
        p_sv = vapour_pressure_pa if vapour_pressure_pa is not None else float(substance.vapour_pressure_pa(temperature_k))
        frac = radiative_fraction_roberts(p_sv)
        sep = frac * mass_kg * substance.heat_of_combustion_j_kg / (np.pi * d * d * t)
        notes.append(f"SEP from Roberts' radiative fraction {frac:.3f} at {p_sv / 1e5:.2f} bar")
    else:
        frac = None
        sep = float(sep_w_m2)
        notes.append(f"SEP given: {sep / 1e3:.0f} kW/m²")
    return Fireball(centre_xy_m=(float(centre_xy_m[0]), float(centre_xy_m[1])), base_height_m=float(base_height_m),
                    mass_kg=float(mass_kg), diameter_m=d, duration_s=t, centre_height_m=h, sep_w_m2=float(sep),
                    radiative_fraction=frac, correlation=correlation, relative_humidity=relative_humidity,
                    ambient_k=ambient_k, notes=tuple(notes))


__all__ = [
    "Fireball", "bleve_fireball", "fireball_diameter_m", "fireball_duration_s", "fireball_centre_height_m",
    "radiative_fraction_roberts", "sphere_view_factor",
]
