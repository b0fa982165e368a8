"""Sensor health: which detectors may vote for an incident, and why the others may not.

A detector's alarm can start an evacuation only while its readings can be trusted. From the
twin's latest reading and active alarms of each detector, :func:`assess_sensors` gives one
:class:`SensorHealth` with a status:

* ``ok`` — a fresh reading of quality ``ok`` inside the detector's range, no fault or stale alarm;
* ``saturated`` — a fresh reading above the top of the range (a real dense cloud saturates the
  heads nearest the source; a broken head reports the same), also when it rose there in one
  reading from inside the range (the heads next to a release go from clean air straight over
  their range). It may vote, but only where one source explains it together with other detectors
  (the incident declaration checks that). A head whose fault alarm was raised for something else
  before (stuck, bad readings) is a ``fault`` over its range too;
* ``fault`` — reading quality ``fault``/``bad``, a value below the range, no value, or a fault
  alarm that is not explained by saturation (stuck head);
* ``stale`` — no reading for ``stale_periods`` reporting periods before ``now_ts`` (judged on the
  caller's clock, so a replay stamped in the past is judged consistently; the alarm engine's
  wall-clock stale alarm is for the operator);
* ``silent`` — never reported;
* ``suspect`` — otherwise ``ok`` or ``saturated``, but past its calibration due time
  (:meth:`TwinState.calibration_due <safetwin.twin.state.TwinState.calibration_due>`, from the plant
  file or the equipment register): a head whose calibration has lapsed may drift, so its readings
  are shown but it does not vote; or its last two readings, at most 1.5 reporting periods apart,
  differ by more than :data:`SUSPECT_STEP_FRACTION` of its span inside the range — a jump no head
  makes in one period without an electrical fault or a spike, or the front of a release at the
  head itself, which the next reading confirms (a steady reading is ``ok`` again one period
  later).

Only ``ok`` and ``saturated`` detectors vote (:attr:`SensorHealth.votes`). Times are seconds since
the Unix epoch (UTC).

Example::

    >>> from safetwin.plant_models.loader import load_plant, bundled_plant_path
    >>> from safetwin.twin.state import TwinState
    >>> state = TwinState(load_plant(bundled_plant_path("small_plant")))
    >>> _ = state.apply_reading("GD-01", 3.0, ts=100.0)
    >>> _ = state.apply_reading("GD-02", 0.0, ts=100.0, quality="fault")
    >>> h = assess_sensors(state, now_ts=101.0)
    >>> h["GD-01"].status, h["GD-02"].status, h["GD-02"].votes
    ('ok', 'fault', False)
    >>> state.set_calibration_due("GD-01", 50.0)          # calibration lapsed before the reading
    >>> assess_sensors(state, now_ts=101.0)["GD-01"].status
    'suspect'
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from .state import TwinState

HealthStatus = Literal["ok", "saturated", "fault", "stale", "silent", "suspect"]
STALE_PERIODS = 3.0
"""A detector silent for this many reporting periods is stale (the alarm rules' default)."""
SUSPECT_STEP_FRACTION = 0.8
"""A change of more than this fraction of the span between two readings one period apart is suspect."""
FAULT_LEVELS = frozenset({"FAULT"})


@dataclass(frozen=True, slots=True)
class SensorHealth:
    """Health of one detector at one instant: ``status``, a human-readable ``reason`` and the age
    (s) of its last reading (``inf`` when it never reported)."""

    sensor_id: str
    status: HealthStatus
    reason: str
    age_s: float

    @property
    def votes(self) -> bool:
        """True when the detector's alarm may count towards declaring an incident."""
        return self.status in ("ok", "saturated")


def assess_sensors(state: TwinState, now_ts: float, sensor_ids: Iterable[str] | None = None, *,
                   stale_periods: float = STALE_PERIODS) -> dict[str, SensorHealth]:
    """Health of the plant's sensors (or of ``sensor_ids``) at ``now_ts`` (s since the epoch)."""
    sensors = state.plant.sensors
    ids = list(sensors) if sensor_ids is None else list(sensor_ids)
    readings = state.readings()
    fault_alarm = {a.source_id: a.message or "fault alarm" for a in state.active_alarms() if a.level in FAULT_LEVELS}
    out: dict[str, SensorHealth] = {}
    for sid in ids:
        s = sensors[sid]
        r = readings.get(sid)
        if r is None:
            out[sid] = SensorHealth(sid, "silent", "no reading received", math.inf)
            continue
        age = max(now_ts - r.ts, 0.0)
        if age > stale_periods * s.period_s:
            out[sid] = SensorHealth(sid, "stale", f"no reading for {age:.0f} s", age)
        elif r.quality in ("fault", "bad") or not math.isfinite(r.value):
            out[sid] = SensorHealth(sid, "fault", f"reading quality {r.quality}", age)
        elif r.value < s.range_min:
            out[sid] = SensorHealth(sid, "fault", f"reading {r.value:g} below the range {s.range_min:g}", age)
        elif r.value > s.range_max:
            if sid in fault_alarm and not _over_range_fault(fault_alarm[sid]):
                # faulty before it went over its range (stuck, bad readings): not a saturated head
                out[sid] = SensorHealth(sid, "fault", fault_alarm[sid], age)
            else:
                out[sid] = SensorHealth(sid, "saturated", f"reading {r.value:g} above the range {s.range_max:g}", age)
        elif sid in fault_alarm:
            out[sid] = SensorHealth(sid, "fault", fault_alarm[sid], age)
        elif r.quality != "ok":
            out[sid] = SensorHealth(sid, "fault", f"reading quality {r.quality}", age)
        else:
            out[sid] = SensorHealth(sid, "ok", "", age)
        due = state.calibration_due(sid)
        if due is not None and now_ts > due and out[sid].status in ("ok", "saturated"):
            lapsed_d = (now_ts - due) / 86400.0
            out[sid] = SensorHealth(sid, "suspect", f"calibration overdue by {lapsed_d:.1f} d", age)
        elif out[sid].status in ("ok", "saturated") and _suspect_step(r, s):
            out[sid] = SensorHealth(sid, "suspect", f"reading jumped from {r.prev_value:g} to {r.value:g} {s.unit} "
                                    f"in {r.ts - r.prev_ts:.0f} s (more than {SUSPECT_STEP_FRACTION:.0%} of the span)",
                                    age)
    return out


def _over_range_fault(message: str) -> bool:
    """The fault alarm ``message`` is the one the alarm rules raise for a reading outside the
    range (``sensor fault: out of range`` / ``out_of_range``), not an earlier fault (stuck, bad)."""
    return message.replace("_", " ").endswith("out of range")


def _suspect_step(r: Any, sensor: Any) -> bool:
    """The latest two readings of ``r`` (a :class:`~.state.Reading`) jump by more than
    :data:`SUSPECT_STEP_FRACTION` of the sensor's span within 1.5 reporting periods — except a rise
    from inside the range to above it: the onset of saturation at a head that was healthy just
    before (a release at the head itself), which the declaration accepts only where one source
    explains it with other detectors."""
    if not (math.isfinite(r.prev_value) and math.isfinite(r.prev_ts)):
        return False
    if r.value > sensor.range_max and sensor.range_min <= r.prev_value <= sensor.range_max:
        return False
    span = sensor.range_max - sensor.range_min
    return (r.ts - r.prev_ts <= 1.5 * sensor.period_s
            and abs(min(r.value, sensor.range_max) - min(r.prev_value, sensor.range_max)) > SUSPECT_STEP_FRACTION * span)
