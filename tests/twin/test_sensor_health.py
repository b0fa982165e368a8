"""Sensor health: the statuses that keep a detector from voting for an incident — fault, stale,
silent, an overdue calibration and a suspect jump — and the ones that let it vote."""
from __future__ import annotations

from datetime import datetime, timezone

from safetwin.twin.sensor_health import assess_sensors
from safetwin.twin.state import TwinState

NOW = datetime(2026, 3, 1, 12, tzinfo=timezone.utc).timestamp()


def test_overdue_calibration_keeps_a_detector_from_voting(small_plant):
    state = TwinState(small_plant)
    for sid in ("GD-01", "GD-02"):
        state.apply_reading(sid, 30.0, ts=NOW - 1.0)
    state.set_calibration_due("GD-01", NOW - 28 * 86400.0)
    h = assess_sensors(state, NOW)
    assert (h["GD-01"].status, h["GD-01"].votes) == ("suspect", False)
    assert h["GD-01"].reason == "calibration overdue by 28.0 d"
    assert h["GD-02"].votes


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


def test_a_healthy_head_that_rises_straight_over_its_range_is_saturated_not_a_fault(small_plant):
    """The heads next to a release may go from clean air to over their range in one reading: that
    is a saturated HIGH reading, which votes (the declaration still needs one source to explain it
    with other detectors). A head already faulty (stuck) before it reads over its range stays a
    fault; a jump inside the range is still suspect."""
    state = TwinState(small_plant)
    period = small_plant.sensors["GD-01"].period_s
    for sid in ("GD-01", "GD-02", "GD-03"):
        state.apply_reading(sid, 1.0, ts=NOW - period)
    state.raise_alarm("GD-02_FLT", "GD-02", "FAULT", NOW - period, "sensor fault: stuck")   # faulty before
    for sid in ("GD-01", "GD-02"):
        state.apply_reading(sid, 150.0, ts=NOW)                                # over the 0-100 %LEL range
    state.raise_alarm("GD-01_FLT", "GD-01", "FAULT", NOW, "sensor fault: out_of_range")   # raised by the reading
    state.apply_reading("GD-03", 95.0, ts=NOW)
    h = assess_sensors(state, NOW)
    assert (h["GD-01"].status, h["GD-01"].votes) == ("saturated", True), h["GD-01"]
    assert (h["GD-02"].status, h["GD-02"].votes) == ("fault", False) and h["GD-02"].reason == "sensor fault: stuck"
    assert h["GD-03"].status == "suspect"
