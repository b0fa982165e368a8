"""What each level of the real alarm engine does to the permits a detector touches, as the GB 30871-2022
rule pack documents it (``suspension.alarm_levels``): H/HH stop; W judges the reading like a gas test of
the permit (stop only when it fails); STALE/FAULT are "gas monitoring lost" — a job that needs
continuous monitoring (5.3.1 d 特级 hot work) stops, the others are told; a flame detector stops hot
work; acknowledging the alarm case through the API acknowledges the alarm in the engine, which lifts
the hold of an alarm that returned to normal.

The alarms come from :class:`~safetwin.twin.alarms.AlarmRules` evaluating readings on the small plant
(GD-01..03 gasoline %LEL, W/H/HH 10/25/50); the demo plant serves the flame detector.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from safetwin.twin.alarms import AlarmRules
from safetwin.twin.api.app import create_app
from safetwin.twin.state import TwinState
from safetwin.twin.workflows.errors import GuardFailed
from safetwin.twin.workflows.rulepack import load_pack
from wfhelpers import PASSWORD, T0, certify, make_service

NEAR_GD01 = [(18.0, 38.0), (24.0, 38.0), (24.0, 44.0), (18.0, 44.0)]     # 3 m from GD-01 (15, 40)
SIGNER = {"approver": "al", "safety_engineer": "sue", "operator": "ola", "manager": "max"}


class Feed:
    """Readings as the live bridge applies them: into the twin, then through the alarm rules."""

    def __init__(self, state: TwinState) -> None:
        self.state, self.rules = state, AlarmRules(state)

    def evaluate(self, sid: str, value: float, ts: float, quality: str = "ok") -> list:
        self.state.apply_reading(sid, value, ts=ts, quality=quality)
        return self.rules.evaluate(sid, value, ts, quality)

    def check_stale(self, now: float) -> list:
        return self.rules.check_stale(now)

    def acknowledge(self, alarm_id: str, ts: float, by: str) -> list:
        return self.rules.acknowledge(alarm_id, ts, by)


@pytest.fixture()
def live(svc, small_plant, actors, clock):
    """The service attached to a twin whose alarms come from the real alarm rules; GD-01..03 read clean."""
    certify(svc, actors, "bob", "hot_work")
    certify(svc, actors, "gus", "guardian")
    state = TwinState(small_plant)
    feed = Feed(state)
    svc.attach(state)
    t = clock().timestamp()
    for sid in ("GD-01", "GD-02", "GD-03"):
        feed.evaluate(sid, 0.0, t - 2)
    return svc, state, feed


def active_hot_work(svc, a, clock, level="first", poly=NEAR_GD01):
    p = svc.create_permit(a["ann"], type="hot_work", level=level, title=f"weld ({level})", work_polygon=poly,
                          holder="bob", guardian="gus", jha="sparks; drains covered", planned_start=T0,
                          planned_end=T0 + timedelta(hours=6))
    svc.permit_action(a["ann"], p.id, "submit")
    while svc.permit(p.id).state == "submitted":
        role = svc.permit(p.id).chain[len(svc.permit(p.id).approvals)]
        svc.permit_action(a[SIGNER[role]], p.id, "approve")
    svc.add_gas_test(a["gus"], p.id, gas="gasoline", value=1.0, unit="%LEL", sampled_at=clock() - timedelta(minutes=1))
    assert svc.permit_action(a["bob"], p.id, "start").state == "active"
    return p


def test_the_pack_names_every_engine_level():
    from safetwin.twin.alarms import PRIORITY

    for name in ("gb30871_2022", "osha_hsg250"):
        levels = load_pack(name).suspension.alarm_levels
        assert set(PRIORITY) <= set(levels)
    gb = load_pack("gb30871_2022").suspension
    assert (gb.action("W"), gb.action("H"), gb.action("STALE"), gb.action("FAULT")) == \
        ("judge", "stop", "monitoring_lost", "monitoring_lost")
    assert gb.action("never-raised") == "stop"          # fail safe


def test_w_alarm_warns_while_the_reading_passes_and_stops_once_it_fails(live, actors, clock, memory):
    svc, state, rules = live
    p = active_hot_work(svc, actors, clock)
    t = clock().timestamp()
    # 12 %LEL gasoline = 0.17 %vol: W alarm, but within the 5.3.2 b limit of 0.2 %vol
    assert [r.level for r in rules.evaluate("GD-01", 12.0, t, "ok")] == ["W"]
    assert svc.drain()
    assert svc.permit(p.id).state == "active"
    warned = [n for n in memory.sent if n.event == "gas_warning" and n.data.get("permit") == p.id]
    assert warned and "0.168 %vol ≤ 0.2 %vol" in warned[-1].text
    # 20 %LEL = 0.28 %vol: still W for the engine (no new alarm), over the limit: the periodic check stops it
    assert rules.evaluate("GD-01", 20.0, t + 5, "ok") == []
    assert svc.permit(p.id).state == "active"
    assert svc.run_due_jobs(clock()).monitoring_lost == [p.id]
    last = svc.permit(p.id).history[-1]
    assert (last.action, last.by, svc.permit(p.id).suspension_kind) == ("suspend", "system", "gas_alarm")
    assert "GD-01_LVL (W)" in last.reason and "0.28 %vol > 0.2 %vol" in last.reason


def test_w_alarm_over_the_limit_stops_at_once(live, actors, clock):
    svc, state, rules = live
    p = active_hot_work(svc, actors, clock)
    rules.evaluate("GD-01", 16.0, clock().timestamp(), "ok")    # 16 %LEL gasoline = 0.224 %vol > 0.2
    assert svc.drain()
    got = svc.permit(p.id)
    assert got.state == "suspended" and got.suspension_kind == "gas_alarm"
    assert "(W)" in got.history[-1].reason and "5.3.2" in got.history[-1].reason


def test_h_alarm_stops_whatever_the_reading(live, actors, clock):
    svc, state, rules = live
    p = active_hot_work(svc, actors, clock)
    rules.evaluate("GD-01", 30.0, clock().timestamp(), "ok")
    assert svc.drain()
    got = svc.permit(p.id)
    assert got.state == "suspended" and "GD-01_LVL (H)" in got.history[-1].reason


@pytest.mark.parametrize("failure", ["STALE", "FAULT"])
def test_lost_detector_is_gas_monitoring_lost_not_a_gas_alarm(live, actors, clock, memory, failure):
    """特级 hot work needs continuous monitoring (GB 30871 5.3.1 d): losing its only detector stops it
    with the reason "gas monitoring lost"; a 一级 job nearby goes on and its people are told."""
    svc, state, rules = live
    special = active_hot_work(svc, actors, clock, level="special")
    first = active_hot_work(svc, actors, clock, level="first", poly=[(60, 36), (64, 36), (64, 40), (60, 40)])
    t = clock().timestamp()
    if failure == "STALE":
        for sid in ("GD-02", "GD-03"):              # the others keep reporting; GD-01 falls silent
            rules.evaluate(sid, 0.0, t + 19, "ok")
        levels = [r.level for r in rules.check_stale(t + 20)]
        assert levels == ["STALE"]
    else:
        assert "FAULT" in [r.level for r in rules.evaluate("GD-01", 0.0, t, "fault")]
    assert svc.drain()
    s = svc.permit(special.id)
    assert s.state == "suspended" and s.suspension_kind == "monitoring_lost"
    reason = s.history[-1].reason
    assert reason.startswith("gas monitoring lost") and "gas alarm" not in reason and "5.3.1 d" in reason
    assert svc.permit(first.id).state == "active"
    told = [n for n in memory.sent if n.data.get("permit") == first.id and n.event == "monitoring_lost"]
    assert told and "GD-01" in told[-1].text
    # no monitor, no resumption: a portable monitor feed restores monitoring
    clock.advance(seconds=30)
    svc.add_gas_test(actors["gus"], special.id, gas="gasoline", value=0.5, unit="%LEL", sampled_at=clock())
    with pytest.raises(GuardFailed, match="needs continuous gas monitoring") as e:
        svc.permit_action(actors["bob"], special.id, "resume")
    assert e.value.code == "no_gas_monitoring"
    svc.monitor_reading(actors["gus"], special.id, instrument_id="MX4-1", sampled_at=clock(),
                        readings=[("O2", 20.9, "%vol"), ("gasoline", 1.0, "%LEL")])
    assert svc.permit_action(actors["bob"], special.id, "resume").state == "active"


def test_special_hot_work_starts_only_with_a_working_monitor(svc, small_plant, actors, clock):
    certify(svc, actors, "bob", "hot_work")
    certify(svc, actors, "gus", "guardian")
    far = [(150.0, 20.0), (156.0, 20.0), (156.0, 26.0)]            # no detector within 15 m, not in A-STORE
    p = svc.create_permit(actors["ann"], type="hot_work", level="special", title="hot tap", work_polygon=far,
                          holder="bob", guardian="gus", jha="hot tap", planned_start=T0,
                          planned_end=T0 + timedelta(hours=6))
    svc.permit_action(actors["ann"], p.id, "submit")
    for who in ("al", "sue", "max", "ola"):
        svc.permit_action(actors[who], p.id, "approve")
    svc.add_gas_test(actors["gus"], p.id, gas="methane", value=0.0, unit="%vol", sampled_at=clock())
    with pytest.raises(GuardFailed, match=r"needs continuous gas monitoring \(gb30871_2022 5.3.1 d\)"):
        svc.permit_action(actors["bob"], p.id, "start")
    svc.monitor_reading(actors["gus"], p.id, instrument_id="MX4-2", sampled_at=clock(),
                        readings=[("CH4", 0.0, "%LEL"), ("O2", 20.9, "%vol")])
    assert svc.permit_action(actors["bob"], p.id, "start").state == "active"
    # the feed falls silent: the due job finds monitoring lost (stale after 120 s)
    clock.advance(minutes=3)
    assert svc.run_due_jobs(clock()).monitoring_lost == [p.id]
    assert svc.permit(p.id).history[-1].reason.startswith("gas monitoring lost: portable monitor MX4-2 silent")


def test_a_failing_monitor_reading_stops_the_job_and_is_logged(svc, actors, clock):
    certify(svc, actors, "bob", "confined_space")
    certify(svc, actors, "gus", "guardian")
    p = svc.create_permit(actors["ann"], type="confined_space", level=None, title="enter V-3", holder="bob",
                          guardian="gus", jha="toxic, O2", work_polygon=[(150, 20), (156, 20), (156, 26)],
                          planned_start=T0, planned_end=T0 + timedelta(hours=8))
    svc.permit_action(actors["ann"], p.id, "submit")
    svc.permit_action(actors["al"], p.id, "approve")
    # one multi-gas test: O2, LEL, H2S, CO at once
    svc.add_gas_test(actors["gus"], p.id, sampled_at=clock(), instrument_id="MX4-3",
                     readings=[("O2", 20.8, "%vol"), ("CH4", 1.0, "%LEL"), ("H2S", 0.0, "ppm"), ("CO", 3.0, "ppm")])
    with pytest.raises(GuardFailed, match="continuous gas monitoring"):     # 6.5: a portable monitor inside
        svc.permit_action(actors["bob"], p.id, "start")
    ok = [("O2", 20.8, "%vol"), ("H2S", 0.5, "ppm")]
    svc.monitor_reading(actors["gus"], p.id, instrument_id="MX4-3", sampled_at=clock(), readings=ok)
    svc.permit_action(actors["bob"], p.id, "start")
    for _ in range(1, 130):                                         # a reading a minute for 2 h 9 min
        clock.advance(minutes=1)
        svc.monitor_reading(actors["gus"], p.id, instrument_id="MX4-3", sampled_at=clock(), readings=ok)
    logged = [t for t in svc.permit(p.id).gas_tests if t.source == "monitor"]
    assert len(logged) == 2                                               # at attachment and 2 h later (6.5)
    svc.monitor_reading(actors["gus"], p.id, instrument_id="MX4-3", sampled_at=clock(),
                        readings=[("O2", 20.8, "%vol"), ("H2S", 12.0, "ppm")])
    got = svc.permit(p.id)
    assert got.state == "suspended" and got.suspension_kind == "gas_alarm"
    assert "hydrogen sulfide" in got.history[-1].reason and got.gas_tests[-1].passed is False


def test_flame_detector_stops_hot_work(store, demo_plant, clock, memory, actors):
    svc = make_service(store.engine, demo_plant, clock, memory)
    try:
        certify(svc, actors, "bob", "hot_work")
        certify(svc, actors, "gus", "guardian")
        flame = next(s for s in demo_plant.sensors.values() if s.type.value == "flame")
        x, y = flame.position
        state = TwinState(demo_plant)
        rules = Feed(state)
        svc.attach(state)
        p = active_hot_work(svc, actors, clock, poly=[(x + 2, y + 2), (x + 6, y + 2), (x + 6, y + 6)])
        assert [r.level for r in rules.evaluate(flame.id, 1.0, clock().timestamp(), "ok")] == ["HH"]
        assert svc.drain()
        got = svc.permit(p.id)
        assert got.state == "suspended" and got.suspension_kind == "fire"
        assert got.history[-1].reason.startswith(f"fire detected: {flame.id}_LVL (HH)")
    finally:
        svc.close()


def test_acknowledging_the_case_through_the_api_lifts_the_hold_of_a_returned_alarm(live, actors, clock, small_plant):
    svc, state, rules = live
    p = active_hot_work(svc, actors, clock)
    t = clock().timestamp()
    rules.evaluate("GD-01", 30.0, t, "ok")                                # H: stop
    assert svc.drain()
    assert svc.permit(p.id).state == "suspended"
    # the engine's acknowledgement is what the API's case acknowledgement calls (the demo wires the bridge's)
    svc.ctx.acknowledge_alarm = lambda alarm_id, by: rules.acknowledge(alarm_id, t + 20, by)
    rules.evaluate("GD-01", 0.0, t + 2, "ok")
    assert [r.state.value for r in rules.evaluate("GD-01", 0.0, t + 8, "ok")] == ["RTN_UNACK"]
    assert svc.drain()
    svc.add_gas_test(actors["gus"], p.id, gas="gasoline", value=0.0, unit="%LEL", sampled_at=clock())
    with pytest.raises(GuardFailed, match="returned to normal but is not acknowledged"):
        svc.permit_action(actors["bob"], p.id, "resume")
    client = TestClient(create_app(state, workflows=svc))
    tok = client.post("/auth/token", data={"username": "ola", "password": PASSWORD}).json()["access_token"]
    r = client.post("/alarm-cases/AC-GD-01_LVL/acknowledge", headers={"Authorization": f"Bearer {tok}"})
    assert r.status_code == 200 and r.json()["state"] == "acknowledged", r.text
    assert not [a for a in state.active_alarms() if a.alarm_id == "GD-01_LVL"]
    assert svc.permit_action(actors["bob"], p.id, "resume").state == "active"


def test_acknowledging_an_alarm_still_active_keeps_the_hold(live, actors, clock):
    svc, state, rules = live
    p = active_hot_work(svc, actors, clock)
    t = clock().timestamp()
    rules.evaluate("GD-01", 30.0, t, "ok")
    assert svc.drain()
    svc.alarm_action(actors["ola"], "AC-GD-01_LVL", "acknowledge")       # no engine hook: the twin's alarm
    (alarm,) = [a for a in state.active_alarms() if a.alarm_id == "GD-01_LVL"]
    assert alarm.acknowledged and not alarm.returned
    svc.add_gas_test(actors["gus"], p.id, gas="gasoline", value=0.0, unit="%LEL", sampled_at=clock())
    with pytest.raises(GuardFailed, match=r"live alarm in the work area: GD-01_LVL \(H\)"):
        svc.permit_action(actors["bob"], p.id, "resume")
