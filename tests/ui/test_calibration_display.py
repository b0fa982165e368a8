"""The control room draws a detector past its calibration due time as suspect."""
from __future__ import annotations

from safetwin.twin.state import TwinState
from safetwin.ui.snapshot import SnapshotSource


def test_snapshot_draws_a_detector_past_calibration_as_suspect(small_plant):
    """A head whose calibration lapsed is drawn with the fault colour (code 4) although it reads ok;
    a level alarm on it still shows (the operator sees the alarm, the incident rule ignores its vote)."""
    state = TwinState(small_plant)
    src = SnapshotSource(state, clock=lambda: 200.0, min_interval_s=0.0)
    for sid in ("GD-01", "GD-02"):
        state.apply_reading(sid, 1.0, ts=150.0)
    state.set_calibration_due("GD-02", 100.0)
    s = src.latest()
    code = dict(zip(s.sensor_ids, s.sensor_code.tolist()))
    assert (code["GD-01"], code["GD-02"]) == (0, 4)
    state.raise_alarm("GD-02_LVL", "GD-02", "H", 160.0)
    s = src.latest()
    assert dict(zip(s.sensor_ids, s.sensor_code.tolist()))["GD-02"] == 2
