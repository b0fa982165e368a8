"""What a gas detector reads: the one conversion from a concentration of a released substance
(mg/m³) to a detector's reading in its own unit.

Every part of SafeTwin that turns a concentration into a reading — the drill timeline deciding
when a detector alarms, the simulated plant publishing readings, the live source estimator
fitting a plume to readings — uses :func:`response_factor` / :func:`detector_reading`, so a
detector reads the same in a drill, in a simulation and in the estimator's forward model.

Which heads see which gas (the rules, in this order):

* **Oxygen heads** (type ``oxygen``, unit ``%vol``) see every released gas: the gas displaces
  air, so the head reads ``20.9 · (1 − x)`` %vol where ``x`` is the gas volume fraction
  (``x = ppm · 10⁻⁶``), 20.9 %vol being the oxygen in clean dry air. Concentrations add:
  ``20.9 · (1 − Σx)``.
* **%LEL heads** (catalytic bead and infrared, whatever gas they are calibrated on) respond to
  every flammable substance: ``100 · c / LFL`` with ``c`` and the lower flammable limit in
  mg/m³ (the relative response to a gas other than the calibration gas is taken as 1 — a
  simplification: real heads have gas-specific correction factors, published by their makers).
  Substances without an LFL are not seen.
* **Other gas heads** (``ppm``, ``mg/m3``, ``%vol``) respond to their own gas (the sensor's
  ``gas``, under any of its names, see :func:`safetwin.substances.canonical_name`):
  ``ppm = c · 24.45 / M`` (25 °C, 1 atm, ``M`` in g/mol), ``%vol = ppm / 10⁴``, ``mg/m3 = c``.
  A head that declares no gas responds to every substance (the plant validation requires a gas
  on toxic and flammable heads, so this only concerns plants built in memory); a head whose gas
  is not a known substance responds to none.
* Every other sensor (flame, heat, smoke, weather) and unit (``degC``, ``kW/m2``, ``binary``,
  ``met``) does not respond to a gas concentration.

All rules are linear in ``c``: a reading is ``clean_air_reading + Σ response_factor · c`` over
the substances present (the oxygen reading is floored at 0 %vol).

Example (hand-computed: chlorine M = 70.906 g/mol, 1 mg/m³ = 24.45 / 70.906 ppm)::

    >>> from safetwin.plant_models.schema import Sensor
    >>> from safetwin.substances import get_substance
    >>> cl2 = Sensor(id="CL", type="toxic_gas", gas="Cl2", unit="ppm", position=(0, 0))
    >>> round(float(detector_reading(cl2, get_substance("chlorine"), 10.0)), 3)
    3.448
    >>> float(detector_reading(cl2, get_substance("ammonia"), 10.0))
    0.0
"""
from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from safetwin.substances import MOLAR_VOLUME_L_25C, Substance, UnknownSubstance, canonical_name

__all__ = [
    "GAS_UNITS",
    "O2_CLEAN_AIR_VOL_PCT",
    "DetectorHead",
    "clean_air_reading",
    "detector_reading",
    "responds",
    "response_factor",
]

#: Oxygen in clean dry air, %vol (what an oxygen head reads with no gas present).
O2_CLEAN_AIR_VOL_PCT = 20.9
#: Units in which a head reports a gas concentration.
GAS_UNITS = ("ppm", "mg/m3", "%LEL", "%vol")
_GAS_HEAD_TYPES = ("toxic_gas", "flammable_gas", "oxygen")


class DetectorHead(Protocol):
    """What the conversion needs to know of a detector (:class:`~safetwin.plant_models.schema.Sensor`
    has it): its ``type`` (a ``SensorType`` or its value), ``unit`` and the ``gas`` it measures."""

    type: Any
    unit: str
    gas: str | None


def _type(head: DetectorHead) -> str:
    return str(getattr(head.type, "value", head.type))


def _is_oxygen_head(head: DetectorHead) -> bool:
    return _type(head) == "oxygen" and head.unit == "%vol"


def _ppm_per_mg_m3(substance: Substance) -> float:
    return MOLAR_VOLUME_L_25C / substance.molar_mass_g_mol


def responds(head: DetectorHead, substance: Substance) -> bool:
    """True when ``head`` sees ``substance`` at all (the rules of the module docstring)."""
    return response_factor(head, substance) != 0.0


def response_factor(head: DetectorHead, substance: Substance) -> float:
    """Change of the reading of ``head`` (in its unit) per mg/m³ of ``substance``; 0 when the head
    does not respond to it. Negative for oxygen heads (the gas displaces oxygen).

    >>> from safetwin.plant_models.schema import Sensor
    >>> from safetwin.substances import get_substance
    >>> o2 = Sensor(id="O2", type="oxygen", unit="%vol", position=(0, 0))
    >>> round(response_factor(o2, get_substance("methane")) * 65_615, 3)  # 10 %vol methane: 20.9 -> 18.81
    -2.09
    """
    if _type(head) not in _GAS_HEAD_TYPES or head.unit not in GAS_UNITS:
        return 0.0
    if _is_oxygen_head(head):
        return -O2_CLEAN_AIR_VOL_PCT * 1e-6 * _ppm_per_mg_m3(substance)
    if _type(head) == "oxygen":
        return 0.0  # an oxygen head in any other unit is not a gas reading this module knows
    if head.unit == "%LEL":
        lfl = substance.lfl_mg_m3
        return 0.0 if lfl is None else 100.0 / lfl
    if head.gas:
        try:
            if canonical_name(head.gas) != substance.name:
                return 0.0
        except UnknownSubstance:
            return 0.0
    if head.unit == "ppm":
        return _ppm_per_mg_m3(substance)
    if head.unit == "%vol":
        return 1e-4 * _ppm_per_mg_m3(substance)
    return 1.0  # mg/m3


def clean_air_reading(head: DetectorHead) -> float:
    """The reading of ``head`` in clean air: 20.9 %vol for an oxygen head, 0 for every other head."""
    return O2_CLEAN_AIR_VOL_PCT if _is_oxygen_head(head) else 0.0


def detector_reading(head: DetectorHead, substance: Substance, c_mg_m3: np.ndarray | float) -> np.ndarray:
    """Reading of ``head`` (its unit) where ``substance`` is at ``c_mg_m3`` (mg/m³, array or scalar):
    ``clean_air_reading + response_factor · c``; an oxygen head never reads below 0 %vol.

    >>> from safetwin.plant_models.schema import Sensor
    >>> from safetwin.substances import get_substance
    >>> lel = Sensor(id="GD", type="flammable_gas", gas="methane", unit="%LEL", position=(0, 0))
    >>> propane = get_substance("propane")                  # a %LEL head sees every flammable gas
    >>> round(float(detector_reading(lel, propane, 0.5 * propane.lfl_mg_m3)), 6)
    50.0
    """
    c = np.asarray(c_mg_m3, dtype=float)
    value = clean_air_reading(head) + response_factor(head, substance) * c
    return np.maximum(value, 0.0) if _is_oxygen_head(head) else value
