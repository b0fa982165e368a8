"""Dose accumulation and probit harm for evacuees (toxic load, thermal dose).

The concentration (or heat-flux) field is a callable supplied by the consequence models
(``field(x_m, y_m, t_s) -> values``, vectorised). The dose of person i is the toxic load
``D_i = sum_k C(x_i(t_k), t_k)^n * dt_k`` (units of the field to the power n, times seconds),
integrated with step ``EvacuationParams.exposure_interval_s``. Harm probability comes either from a
callable ``harm(D) -> probability`` (e.g. from ``emergency_planner.physics.effects``) or from a
probit ``Y = a + b ln(sum (f C)^n dt / t_unit)`` with ``P = Phi(Y - 5)``, where ``f`` converts
the field's unit to the probit's (e.g. ppm per mg/m3) and ``t_unit`` is the probit's time unit
(60 s for the TNO Purple Book probits, which use ppm and minutes).

Individual response: each person draws a tolerance ``u_i ~ U(0, 1)`` once; with
``incapacitating=True`` the person is incapacitated (stops moving, stays an obstacle) as soon as
``P(D_i) >= u_i`` — the expected incapacitated fraction then equals the probit probability.
"""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable

import numpy as np
from scipy.special import ndtr

__all__ = ["Exposure", "aegl_equivalent_dose", "probit_probability"]

FieldFn = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def probit_probability(Y: np.ndarray) -> np.ndarray:
    """P = Phi(Y - 5)."""
    return ndtr(np.asarray(Y, float) - 5.0)


@dataclass(frozen=True)
class Exposure:
    """One exposure channel (toxic gas, heat flux ...)."""

    field: FieldFn
    exponent: float = 1.0
    name: str = "toxic"
    harm: Callable[[np.ndarray], np.ndarray] | None = None
    probit_a: float | None = None
    probit_b: float | None = None
    unit_factor: float = 1.0
    time_unit_s: float = 60.0
    incapacitating: bool = True

    def harm_probability(self, dose: np.ndarray) -> np.ndarray:
        """Probability of the harm the probit describes, for doses in field-units^n * s."""
        dose = np.asarray(dose, float)
        if self.harm is not None:
            return np.asarray(self.harm(dose), float)
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
