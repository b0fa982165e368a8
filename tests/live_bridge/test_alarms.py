"""Alarm rules: levels, deadband, delays, ISA-18.2 states, shelving, priority under a flood."""
from __future__ import annotations

import time

from safetwin.twin.alarms import AlarmEngine, AlarmRules, AlarmState
from safetwin.twin.state import TwinState


def test_levels_deadband_and_off_delay(small_plant):
    r = AlarmRules(TwinState(small_plant))          # GD-01: W 10, H 25, HH 50 %LEL; deadband 2; off delay 5 s
    assert [x.level for x in r.evaluate("GD-01", 26.0, 0.0, "ok")] == ["H"]
    assert r.evaluate("GD-01", 24.0, 1.0, "ok") == []          # inside the deadband: holds H
    assert r.evaluate("GD-01", 5.0, 2.0, "ok") == []           # below, but off delay not elapsed
    out = r.evaluate("GD-01", 5.0, 7.5, "ok")
    assert [(x.state, x.active) for x in out] == [(AlarmState.RTN_UNACK, False)]


def test_isa_ack_escalation_and_shelve(small_plant):
    st = TwinState(small_plant)
    r = AlarmRules(st)
    r.evaluate("CL-01", 1.5, 0.0, "ok")                        # H (1.0 ppm)
    assert r.acknowledge("CL-01_LVL", 1.0, "op")[0].state is AlarmState.ACKED
    out = r.evaluate("CL-01", 4.0, 2.0, "ok")                  # escalates to HH: unacked again
    assert (out[0].level, out[0].state) == ("HH", AlarmState.UNACK)
    assert r.shelve("CL-01_LVL", 3.0, 60.0)[0].state is AlarmState.SHELVED
    assert "CL-01_LVL" not in {a.alarm_id for a in st.active_alarms()}
    assert r.check_stale(70.0)[-1].state is AlarmState.UNACK    # shelf expired, condition still active


def test_safety_reading_not_lost_when_alarm_queue_is_flooded(small_plant):
    st = TwinState(small_plant)
    seen = []
    eng = AlarmEngine(AlarmRules(st), max_items=100, on_transitions=seen.extend)
    now = time.time()
    for k in range(5000):                                      # weather flood, beyond the bound
        eng.submit_readings([("MET-1", 1.0, now, "ok")])
    eng.submit_readings([("GD-02", 60.0, now, "ok")])
    eng.start()
    assert eng.wait_idle(10)
    eng.stop()
    assert any(x.alarm_id == "GD-02_LVL" for x in seen)
    assert eng.stats.conflated > 0 and eng.stats.errors == 0
