"""Alarm settings of one sensor: :class:`RuleConfig` and :func:`rule_for_sensor`.

A sensor's rule comes from the plant registry: the warning / high / high-high levels the
plant gives (oxygen: the low / low-low defaults of :data:`DEFAULT_LEVELS`), and per sensor type
the deadband, on/off delays and rate-of-change limit of :data:`TYPE_DEFAULTS`, as fractions of
the sensor's span. Values are in the sensor's unit, times in s.

Example::

    >>> from safetwin.plant_models.schema import Sensor
    >>> cfg = rule_for_sensor(Sensor(id="OX-1", type="oxygen", unit="%vol", position=(0, 0), range_max=25.0))
    >>> cfg.levels, cfg.direction, cfg.deadband
    ((('L', 19.5), ('LL', 18.0)), -1, 0.25)
"""
from __future__ import annotations

import math
from dataclasses import dataclass

SAFETY_TYPES = frozenset({"flammable_gas", "toxic_gas", "oxygen", "flame", "smoke", "heat"})


@dataclass(frozen=True, slots=True)
class RuleConfig:
    """Alarm settings of one sensor (values in the sensor's unit; times in s).

    ``levels``: ordered (name, limit) pairs, lowest severity first; ``direction`` +1 alarms
    above the limits, -1 below (oxygen deficiency).
    """

    levels: tuple[tuple[str, float], ...]
    direction: int = 1
    deadband: float = 0.0
    on_delay_s: float = 0.0
    off_delay_s: float = 0.0
    roc_per_s: float | None = None
    stuck_s: float | None = None
    stale_periods: float = 3.0
    period_s: float = 5.0
    range_min: float = -math.inf
    range_max: float = math.inf


#: defaults per sensor type: (deadband as a fraction of span, on delay s, off delay s, ROC as a fraction of span per s)
TYPE_DEFAULTS: dict[str, tuple[float, float, float, float | None]] = {
    "flammable_gas": (0.02, 0.0, 5.0, 0.10),
    "toxic_gas": (0.02, 0.0, 5.0, 0.10),
    "oxygen": (0.01, 0.0, 5.0, None),
    "flame": (0.0, 0.0, 2.0, None),
    "smoke": (0.02, 0.0, 5.0, None),
    "heat": (0.01, 2.0, 5.0, 0.05),
    "weather": (0.0, 0.0, 0.0, None),
}
#: levels used when the plant gives none: flammable %LEL per common practice, oxygen %vol low alarms
DEFAULT_LEVELS: dict[str, tuple[tuple[tuple[str, float], ...], int]] = {
    "flammable_gas": ((("W", 10.0), ("H", 25.0), ("HH", 50.0)), 1),
    "oxygen": ((("L", 19.5), ("LL", 18.0)), -1),
    "flame": ((("HH", 0.5),), 1),
    "smoke": ((("H", 0.5),), 1),
}


def rule_for_sensor(sensor) -> RuleConfig | None:
    """The rule of a plant ``Sensor`` (None when the sensor raises no process alarms, e.g. weather)."""
    stype = getattr(sensor.type, "value", sensor.type)
    span = max(sensor.range_max - sensor.range_min, 1e-9)
    db, on_d, off_d, roc = TYPE_DEFAULTS.get(stype, (0.0, 0.0, 0.0, None))
    if sensor.alarm is not None and stype != "oxygen":
        levels: tuple[tuple[str, float], ...] = (("W", sensor.alarm.warning), ("H", sensor.alarm.high),
                                                  ("HH", sensor.alarm.high_high))
        direction = 1
    elif stype in DEFAULT_LEVELS:
        levels, direction = DEFAULT_LEVELS[stype]
    else:
        levels, direction = (), 1
    if not levels and stype not in SAFETY_TYPES:
        return RuleConfig((), 1, period_s=sensor.period_s, range_min=sensor.range_min,
                          range_max=sensor.range_max, stale_periods=3.0)
    return RuleConfig(levels, direction, deadband=db * span, on_delay_s=on_d, off_delay_s=off_d,
                      roc_per_s=None if roc is None else roc * span, period_s=sensor.period_s,
                      range_min=sensor.range_min, range_max=sensor.range_max)

