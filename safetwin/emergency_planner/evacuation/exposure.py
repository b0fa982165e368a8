"""Dose accumulation, probit harm, incapacitation by FED and walking speed in smoke and irritants.

The concentration (or heat-flux, or extinction-coefficient) field is a callable supplied by the
consequence models (``field(x_m, y_m, t_s) -> values``, vectorised). The dose of person i is the
toxic load ``D_i = integral of C(x_i(t), t)^n dt`` (units of the field to the power n, times
seconds) from the start of the run until the person arrives at a goal (or the run ends): the model
samples the field every ``EvacuationParams.exposure_interval_s`` along each person's path and
integrates with the trapezoidal rule between samples, closing the last interval exactly at the
arrival time (sampled at the arrival position). Nothing is credited ahead of time and nothing after
arrival: in a uniform field C the dose of a person arriving at t_a is exactly ``C^n t_a``.

Harm probability comes either from a callable ``harm(D) -> probability`` (e.g. from
``emergency_planner.physics.effects``), from a probit ``Y = a + b ln(sum (f C)^n dt / t_unit)``
with ``P = Phi(Y - 5)`` (``f`` converts the field's unit to the probit's, e.g. ppm per mg/m3;
``t_unit`` is the probit's time unit, 60 s for the TNO Purple Book probits), or from a
``threshold`` on the dose (incapacitation when the fractional effective dose reaches 1; the crossing
time is interpolated linearly between samples, exact for a constant rate).

Individual response: each person draws a tolerance ``u_i ~ U(0, 1)`` once; with
``incapacitating=True`` the person is incapacitated (stops moving, stays an obstacle) as soon as
``P(D_i) >= u_i`` — the expected incapacitated fraction then equals the probit probability.

Walking speed (hazard-behaviour coupling): an exposure with ``walking_speed`` slows people down
where its field is present: ``walking_speed(value, v_free) -> v`` (m/s) is applied at every sample
to each person's free walking speed (channels chain: smoke, then irritants). Relations provided:

* :func:`frantzich_nilsson_speed` — non-irritant smoke, linear in the extinction coefficient K
  (1/m), as used by FDS+Evac (Korhonen & Hostikka, FDS+Evac technical reference, VTT 2009, after
  Frantzich & Nilsson 2003, "Utrymning genom tät rök", Lund University report 3126):
  ``v = max(v_min_frac v0, v0 (1 + beta K / alpha))`` with alpha 0.706 m/s, beta -0.057 m²/s.
* :func:`jin_irritant_smoke_speed` — irritant smoke (Jin 1978, "Visibility through fire smoke",
  J. Fire & Flammability 9:135-155; linear fit v = 0.96 - 0.30 K m/s, at least 0.2 m/s).
* :func:`linear_smoke_speed` — ``v = v0 max(floor, 1 - slope K)``: the NIST TN 1822
  verification 2.5 form (slope 0.5 m, floor 0.3/1.25: K = 1 /m halves the speed).
* :func:`irritant_speed` — irritant gases by Purser's fractional irritant concentration (FIC,
  ISO 13571): the speed falls linearly from v0 at FIC = 0 to ``floor`` v0 at FIC = 1, the level at
  which ISO 13571 takes escape to be impaired (the linear shape between the two is SafeTwin's
  assumption).

Fire gases: :func:`purser_fed_rate` is Purser's fractional effective dose rate for asphyxiants
(CO with CO2 hyperventilation, hypoxia) in the form FDS+Evac uses; pass it as the field of an
``Exposure(..., threshold=1.0)`` next to the toxic probits.
"""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable

import numpy as np
from scipy.special import ndtr

__all__ = ["Exposure", "aegl_equivalent_dose", "probit_probability", "frantzich_nilsson_speed",
           "jin_irritant_smoke_speed", "linear_smoke_speed", "irritant_speed", "purser_fed_rate"]

FieldFn = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
SpeedFn = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""``walking_speed(field_value, free_speed_m_s) -> walking speed (m/s)``, vectorised."""


def probit_probability(Y: np.ndarray) -> np.ndarray:
    """P = Phi(Y - 5)."""
    return ndtr(np.asarray(Y, float) - 5.0)


@dataclass(frozen=True)
class Exposure:
    """One exposure channel (toxic gas, heat flux, smoke extinction, FED rate ...).

    ``threshold``: incapacitation when the dose reaches it (e.g. FED 1), instead of a probit.
    ``walking_speed``: how the field's value slows people down (see the module docstring).
    """

    field: FieldFn
    exponent: float = 1.0
    name: str = "toxic"
    harm: Callable[[np.ndarray], np.ndarray] | None = None
    probit_a: float | None = None
    probit_b: float | None = None
    unit_factor: float = 1.0
    time_unit_s: float = 60.0
    incapacitating: bool = True
    threshold: float | None = None
    walking_speed: SpeedFn | None = None

    def harm_probability(self, dose: np.ndarray) -> np.ndarray:
        """Probability of the harm the probit describes, for doses in field-units^n * s."""
        dose = np.asarray(dose, float)
        if self.harm is not None:
            return np.asarray(self.harm(dose), float)
        if self.threshold is not None:
            return (dose >= self.threshold).astype(float)
        if self.probit_a is None or self.probit_b is None:
            return np.zeros_like(dose)
        load = dose * self.unit_factor ** self.exponent / self.time_unit_s
        with np.errstate(divide="ignore"):
            Y = self.probit_a + self.probit_b * np.log(load)
        return np.where(load > 0, probit_probability(np.where(load > 0, Y, 0.0)), 0.0)


def aegl_equivalent_dose(aegl_mg_m3: float, duration_s: float, exponent: float) -> float:
    """Toxic load (mg/m3)^n * s of a constant exposure at an AEGL level for its duration
    (e.g. AEGL-2 30 min): the ten Berge scaling C^n t = const that AEGL values follow."""
    return aegl_mg_m3 ** exponent * duration_s


def frantzich_nilsson_speed(alpha_m_s: float = 0.706, beta_m2_s: float = -0.057,
                            min_fraction: float = 0.1) -> SpeedFn:
    """Walking speed in non-irritant smoke from the extinction coefficient K (1/m), Frantzich &
    Nilsson (2003) as in FDS+Evac: ``v = v0 max(min_fraction, 1 + beta K / alpha)``.

    >>> v = frantzich_nilsson_speed()(np.array([0.0, 1.0, 20.0]), np.full(3, 1.2))
    >>> [round(float(s), 3) for s in v]
    [1.2, 1.103, 0.12]
    """
    def speed(k_per_m, v_free):
        f = np.maximum(min_fraction, 1.0 + beta_m2_s * np.maximum(k_per_m, 0.0) / alpha_m_s)
        return v_free * f
    return speed


def jin_irritant_smoke_speed(intercept_m_s: float = 0.96, slope_m2_s: float = 0.30,
                             min_m_s: float = 0.2) -> SpeedFn:
    """Walking speed in irritant smoke (Jin 1978): ``v = min(v0, max(min, 0.96 - 0.30 K))`` m/s
    for K (1/m) > 0; v0 in clear air.

    >>> [round(float(s), 2) for s in jin_irritant_smoke_speed()(np.array([0.0, 1.0, 4.0]), np.full(3, 1.3))]
    [1.3, 0.66, 0.2]
    """
    def speed(k_per_m, v_free):
        k = np.maximum(k_per_m, 0.0)
        v = np.maximum(min_m_s, intercept_m_s - slope_m2_s * k)
        return np.where(k > 0, np.minimum(v_free, v), v_free)
    return speed


def linear_smoke_speed(slope_m: float = 0.5, floor_fraction: float = 0.3 / 1.25) -> SpeedFn:
    """``v = v0 max(floor, 1 - slope K)`` (the NIST TN 1822 verification 2.5 reduced-visibility
    form: K = 1 /m takes 1.25 m/s to 0.625 m/s, i.e. 160 s over 100 m).

    >>> float(linear_smoke_speed()(np.array([1.0]), np.array([1.25]))[0])
    0.625
    """
    def speed(k_per_m, v_free):
        return v_free * np.maximum(floor_fraction, 1.0 - slope_m * np.maximum(k_per_m, 0.0))
    return speed


def irritant_speed(floor_fraction: float = 0.3) -> SpeedFn:
    """Walking speed from Purser's fractional irritant concentration FIC (dimensionless, the
    field): linear from v0 at FIC 0 to ``floor_fraction`` v0 at FIC >= 1.

    >>> [round(float(s), 2) for s in irritant_speed()(np.array([0.0, 0.5, 2.0]), np.full(3, 1.0))]
    [1.0, 0.65, 0.3]
    """
    def speed(fic, v_free):
        f = 1.0 - (1.0 - floor_fraction) * np.clip(fic, 0.0, 1.0)
        return v_free * f
    return speed


def purser_fed_rate(co_ppm, co2_percent, o2_percent) -> np.ndarray:
    """Purser's fractional effective dose rate (1/s) for asphyxiant fire gases, as in FDS+Evac:
    ``CO: 2.764e-5 C_CO^1.036 /min`` times the CO2 hyperventilation factor
    ``exp(0.1930 C_CO2 + 2.0004) / 7.1``, plus hypoxia ``1 / (60 exp(8.13 - 0.54 (20.9 - C_O2)))``
    per second (CO in ppm, CO2 and O2 in volume %). Incapacitation at FED = 1.

    NIST TN 1822 verification 2.6 (CO 5000 ppm, CO2 2 %, O2 18 %): FED 1 after 207.6 s.

    >>> round(1.0 / float(purser_fed_rate(5000.0, 2.0, 18.0)), 1)
    207.6
    """
    co = np.maximum(np.asarray(co_ppm, float), 0.0)
    co2 = np.asarray(co2_percent, float)
    o2 = np.asarray(o2_percent, float)
    fed_co = 2.764e-5 / 60.0 * co ** 1.036
    hv_co2 = np.exp(0.1930 * co2 + 2.0004) / 7.1
    fed_o2 = 1.0 / (60.0 * np.exp(8.13 - 0.54 * (20.9 - o2)))
    return fed_co * hv_co2 + fed_o2
