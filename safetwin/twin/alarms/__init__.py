"""Alarms of the twin: per-sensor rules with the ISA-18.2 state machine, run on their own thread.

* :mod:`.config` — the alarm settings of one sensor (:class:`RuleConfig`, :func:`rule_for_sensor`);
* :mod:`.rules` — :class:`AlarmRules`: readings → level / rate-of-change / fault / stale alarms,
  each an ISA-18.2 record (:class:`AlarmState`, :class:`AlarmRecord`); the state machine is
  stated there with a runnable example;
* :mod:`.engine` — :class:`AlarmEngine`: the rules on a dedicated thread fed by a bounded
  priority queue (safety sensors first), conflating to the latest reading per sensor under load.
"""
from .config import DEFAULT_LEVELS, SAFETY_TYPES, TYPE_DEFAULTS, RuleConfig, rule_for_sensor
from .engine import AlarmEngine, EngineStats
from .rules import PRIORITY, AlarmRecord, AlarmRules, AlarmState

__all__ = ["DEFAULT_LEVELS", "PRIORITY", "SAFETY_TYPES", "TYPE_DEFAULTS", "AlarmEngine", "AlarmRecord", "AlarmRules",
           "AlarmState", "EngineStats", "RuleConfig", "rule_for_sensor"]
