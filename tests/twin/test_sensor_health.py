"""Sensor health: the statuses that keep a detector from voting for an incident — fault, stale,
silent, an overdue calibration and a suspect jump — and the ones that let it vote."""
from __future__ import annotations

import dataclasses
from datetime import date, datetime, timezone

from safetwin.twin.sensor_health import assess_sensors
from safetwin.twin.state import TwinState

NOW = datetime(2026, 3, 1, 12, tzinfo=timezone.utc).timestamp()


def _plant_with_calibration(small_plant, sid: str, due: date):
    plant = dataclasses.replace(small_plant, meta=small_plant.meta.model_copy(deep=True))
    next(s for s in plant.meta.sensors if s.id == sid).calibration_due = due
    return plant


def test_overdue_calibration_keeps_a_detector_from_voting(small_plant):
    plant = _plant_with_calibration(small_plant, "GD-01", date(2026, 2, 1))
    state = TwinState(plant)
    for sid in ("GD-01", "GD-02"):
        state.apply_reading(sid, 30.0, ts=NOW - 1.0)
    h = assess_sensors(state, NOW)
    assert (h["GD-01"].status, h["GD-01"].votes) == ("calibration_overdue", False)
    assert h["GD-01"].reason == "calibration was due 2026-02-01 (28 days ago)"
    assert h["GD-02"].votes
    # on the due date itself the calibration is not yet overdue
    plant = _plant_with_calibration(small_plant, "GD-01", date(2026, 3, 1))
    state = TwinState(plant)
    state.apply_reading("GD-01", 30.0, ts=NOW - 1.0)
    assert assess_sensors(state, NOW)["GD-01"].status == "ok"


def test_a_jump_of_most_of_the_span_in_one_period_is_suspect_until_the_next_reading(small_plant):
    state = TwinState(small_plant)
    period = small_plant.sensors["GD-01"].period_s
    state.apply_reading("GD-01", 1.0, ts=NOW - period)
    state.apply_reading("GD-01", 95.0, ts=NOW)                 # 94 % of the 0-100 %LEL span in one period
    h = assess_sensors(state, NOW)["GD-01"]
    assert (h.status, h.votes) == ("suspect", False) and "jumped from 1 to 95 %LEL" in h.reason
    state.apply_reading("GD-01", 96.0, ts=NOW + period)        # confirmed: the head reads it again
    assert assess_sensors(state, NOW + period)["GD-01"].status == "ok"
    state.apply_reading("GD-01", 120.0, ts=NOW + 2 * period)   # over the range: saturated, still votes
    assert assess_sensors(state, NOW + 2 * period)["GD-01"].status == "saturated"
    # a slower rise (two periods) or a smaller step is not suspect
    state.apply_reading("GD-02", 1.0, ts=NOW - 2 * period)
    state.apply_reading("GD-02", 95.0, ts=NOW)
    state.apply_reading("GD-03", 10.0, ts=NOW - period)
    state.apply_reading("GD-03", 60.0, ts=NOW)
    h = assess_sensors(state, NOW)
    assert h["GD-02"].status == "ok" and h["GD-03"].status == "ok"
