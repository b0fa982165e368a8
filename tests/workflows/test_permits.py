"""Permit life cycle: every allowed transition, and each forbidden one refused with a clear error."""
from __future__ import annotations

from datetime import timedelta

import pytest

from safetwin.twin.workflows.errors import Forbidden, GuardFailed, InvalidTransition
from safetwin.twin.workflows.gas import judge
from safetwin.twin.workflows.rulepack import PERMIT_TYPES, load_pack

from wfhelpers import T0, certify

WORK = [(40.0, 40.0), (46.0, 40.0), (46.0, 46.0), (40.0, 46.0)]  # inside A-STORE, near GD-01/GD-02/GD-03
FAR = [(150.0, 120.0), (156.0, 120.0), (156.0, 126.0)]           # office, far away


def hot_permit(svc, a, level="first", poly=WORK, **kw):
    return svc.create_permit(a["ann"], type="hot_work", level=level, title="weld flange", work_polygon=poly,
                             holder="bob", guardian="gus", jha="sparks; drains covered; blinds fitted",
                             planned_start=T0, planned_end=T0 + timedelta(hours=6), **kw)


@pytest.fixture()
def certified(svc, actors):
    certify(svc, actors, "bob", "hot_work")
    certify(svc, actors, "gus", "guardian")
    certify(svc, actors, "cwo", "hot_work")
    return svc


def portable(svc, a, pid, value=0.1, unit="%vol", gas="methane", age_min=5.0):
    return svc.add_gas_test(a["gus"], pid, gas=gas, value=value, unit=unit,
                            sampled_at=svc.clock() - timedelta(minutes=age_min), instrument_id="PGD-7")


def approve_all(svc, a, pid):
    for who in ("al", "sue", "ola", "max")[: len(svc.permit(pid).chain)]:
        signer = {"approver": "al", "safety_engineer": "sue", "operator": "ola", "manager": "max"}
        role = svc.permit(pid).chain[len(svc.permit(pid).approvals)]
        svc.permit_action(a[signer[role]], pid, "approve")
    return svc.permit(pid)


def test_rule_pack_covers_the_eight_operations():
    for name in ("gb30871_2022", "osha_hsg250"):
        pack = load_pack(name)
        assert set(pack.permit_types) == set(PERMIT_TYPES)
    gb = load_pack("gb30871_2022")
    assert gb.level_rule("hot_work", "second").validity_h == 72
    assert gb.level_rule("confined_space", None).validity_h == 24
    assert gb.level_rule("temp_power", None).validity_h == 360


@pytest.mark.parametrize("gas,value,unit,ok", [
    ("methane", 0.5, "%vol", True), ("methane", 0.51, "%vol", False),      # LEL 5 ≥ 4 → 0.5 %vol
    ("hydrogen", 0.5, "%vol", True),                                         # LEL 4 → 0.5 %vol
    ("propane", 0.2, "%vol", True), ("propane", 0.25, "%vol", False),       # LEL 2.1 < 4 → 0.2 %vol
    ("gasoline", 14.0, "%LEL", True), ("gasoline", 15.0, "%LEL", False),    # 1.4 LEL: 0.2 %vol = 14.3 %LEL
    ("O2", 20.9, "%vol", True), ("O2", 19.0, "%vol", False),
    ("H2S", 5.0, "ppm", True), ("H2S", 10.0, "ppm", False),                 # 10 mg/m3 ≈ 7.2 ppm
])
def test_gas_pass_rule_by_lel(gas, value, unit, ok):
    assert judge(load_pack("gb30871_2022"), gas, value, unit)[0] is ok


def test_osha_pack_uses_ten_percent_lfl():
    osha = load_pack("osha_hsg250")
    assert judge(osha, "methane", 9.9, "%LEL")[0] and not judge(osha, "methane", 10.5, "%LEL")[0]


def test_full_life_cycle_every_allowed_transition(certified, actors, clock, memory):
    svc, a = certified, actors
    p = hot_permit(svc, a)
    assert p.state == "draft" and p.chain == ["approver", "safety_engineer", "operator"] and "A-STORE" in p.area_ids
    # draft -> submitted -> draft (reject) -> submitted
    svc.permit_action(a["ann"], p.id, "submit")
    svc.permit_action(a["al"], p.id, "reject", reason="isolation list missing")
    assert svc.permit(p.id).state == "draft"
    svc.permit_action(a["ann"], p.id, "submit")
    # each step of the chain
    svc.permit_action(a["al"], p.id, "approve")
    assert svc.permit(p.id).state == "submitted"
    svc.permit_action(a["sue"], p.id, "approve")
    assert svc.permit(p.id).state == "submitted"
    svc.permit_action(a["ola"], p.id, "approve")
    assert svc.permit(p.id).state == "approved"
    portable(svc, a, p.id)
    svc.permit_action(a["bob"], p.id, "start")
    assert svc.permit(p.id).state == "active"
    svc.permit_action(a["gus"], p.id, "suspend", reason="guardian must leave")
    clock.advance(minutes=10)
    portable(svc, a, p.id, age_min=1)
    svc.permit_action(a["bob"], p.id, "resume")
    svc.permit_action(a["bob"], p.id, "complete")
    clock.advance(minutes=30)                    # the fire watch stays 30 min (GB 30871 5.2.14)
    svc.permit_action(a["gus"], p.id, "fire_watch_done", note="no embers")
    svc.permit_action(a["al"], p.id, "close", note="site clear, no embers")
    final = svc.permit(p.id)
    assert final.state == "closed"
    assert [h.action for h in final.history] == ["submit", "reject", "submit", "approve step 1", "approve step 2",
                                                   "approve", "start", "suspend", "resume", "complete",
                                                   "fire_watch_done", "close"]
    assert len(svc.repo.history("permit", p.id)) >= 12
    assert any(n.subject == f"permits/{p.id}" and "gus" in n.recipients for n in memory.sent)


def test_cancel_and_expire(certified, actors, clock):
    svc, a = certified, actors
    p = hot_permit(svc, a)
    svc.permit_action(a["ann"], p.id, "submit")
    svc.permit_action(a["ann"], p.id, "cancel", reason="job postponed")
    assert svc.permit(p.id).state == "cancelled"
    with pytest.raises(InvalidTransition, match="cannot cancel in state 'cancelled'"):
        svc.permit_action(a["sue"], p.id, "cancel", reason="again")
    q = hot_permit(svc, a)
    svc.permit_action(a["ann"], q.id, "submit")
    approve_all(svc, a, q.id)
    clock.advance(hours=7)
    with pytest.raises(GuardFailed, match="past its validity"):
        svc.permit_action(a["bob"], q.id, "start")
    assert svc.expire_due() == [q.id]
    assert svc.permit(q.id).state == "expired"


def test_wrong_role_and_own_approval_refused(certified, actors):
    svc, a = certified, actors
    with pytest.raises(Forbidden, match="may not apply for a permit"):
        svc.create_permit(a["bob"], type="hot_work", level="first", title="x", work_polygon=WORK, holder="bob",
                          planned_start=T0, planned_end=T0 + timedelta(hours=1))
    p = hot_permit(svc, a)
    with pytest.raises(Forbidden, match="only the applicant"):
        svc.permit_action(a["al"], p.id, "submit")
    svc.permit_action(a["ann"], p.id, "submit")
    # step 1 needs 'approver': the safety engineer may not sign it
    with pytest.raises(Forbidden, match=r"needs one of \['approver'\]"):
        svc.permit_action(a["sue"], p.id, "approve")
    # the applicant may never approve, even holding the approver role
    from safetwin.twin.workflows.roles import Actor
    with pytest.raises(Forbidden, match="segregation of duties"):
        svc.permit_action(Actor("ann", frozenset({"applicant", "approver"})), p.id, "approve")
    svc.permit_action(a["al"], p.id, "approve")
    # the same person may not sign two steps
    with pytest.raises(Forbidden, match="already signed"):
        svc.permit_action(Actor("al", frozenset({"approver", "safety_engineer"})), p.id, "approve")
    with pytest.raises(InvalidTransition, match="cannot start in state 'submitted'"):
        svc.permit_action(a["bob"], p.id, "start")


def test_expired_certificate_blocks_approval_and_start(svc, actors, clock):
    a = actors
    certify(svc, a, "gus", "guardian")
    certify(svc, a, "bob", "hot_work", expires=T0 + timedelta(hours=2))
    p = hot_permit(svc, a)
    svc.permit_action(a["ann"], p.id, "submit")
    approve_all(svc, a, p.id)
    clock.advance(hours=3)
    portable(svc, a, p.id)
    with pytest.raises(GuardFailed, match="certificate check at start failed: worker bob: hot_work certificate .* expired"):
        svc.permit_action(a["bob"], p.id, "start")
    q = hot_permit(svc, a, poly=FAR)
    svc.permit_action(a["ann"], q.id, "submit")
    with pytest.raises(GuardFailed, match="certificate check at approval failed"):
        svc.permit_action(a["al"], q.id, "approve")


def test_stale_or_failing_gas_test_blocks_start(certified, actors, clock):
    svc, a = certified, actors
    p = hot_permit(svc, a)
    svc.permit_action(a["ann"], p.id, "submit")
    approve_all(svc, a, p.id)
    with pytest.raises(GuardFailed, match="no flammable/toxic gas test"):
        svc.permit_action(a["bob"], p.id, "start")
    portable(svc, a, p.id, age_min=31)
    with pytest.raises(GuardFailed, match="stale"):
        svc.permit_action(a["bob"], p.id, "start")
    portable(svc, a, p.id, value=0.8, age_min=2)
    with pytest.raises(GuardFailed, match="gas test failed: methane 0.8 %vol > 0.5 %vol"):
        svc.permit_action(a["bob"], p.id, "start")
    portable(svc, a, p.id, value=0.1, age_min=1)
    assert svc.permit_action(a["bob"], p.id, "start").state == "active"


def test_resume_needs_a_new_gas_test_after_suspension(certified, actors, clock):
    svc, a = certified, actors
    p = hot_permit(svc, a)
    svc.permit_action(a["ann"], p.id, "submit")
    approve_all(svc, a, p.id)
    portable(svc, a, p.id, age_min=1)
    svc.permit_action(a["bob"], p.id, "start")
    svc.permit_action(a["ola"], p.id, "suspend", reason="unit upset")
    with pytest.raises(GuardFailed, match="taken after the suspension"):
        svc.permit_action(a["bob"], p.id, "resume")


def test_simops_conflict_refused_and_restricted_flagged(certified, actors):
    svc, a = certified, actors
    p = hot_permit(svc, a)
    svc.permit_action(a["ann"], p.id, "submit")
    # venting 20 m away from an active hot-work permit is refused (GB 30871 5.2.9: 30 m)
    vent = svc.create_permit(a["ann"], type="blind_plate", level=None, title="vent line",
                             work_polygon=[(66, 40), (70, 40), (70, 44)], holder="cwo", guardian="gus",
                             activities=["venting"], jha="toxic release", planned_start=T0,
                             planned_end=T0 + timedelta(hours=4))
    with pytest.raises(GuardFailed, match=r"SIMOPS conflict: N: hot_work vs venting with permit .* \(clause 5.2.9\)"):
        svc.permit_action(a["ann"], vent.id, "submit")
    # far away: no conflict
    far = svc.create_permit(a["ann"], type="blind_plate", level=None, title="vent far", work_polygon=FAR,
                            holder="cwo", guardian="gus", activities=["venting"], jha="x", planned_start=T0,
                            planned_end=T0 + timedelta(hours=4))
    assert svc.permit_action(a["ann"], far.id, "submit").simops_flags == []
    # a second hot work 5 m away is restricted: needs a coordinator, then flagged
    near = hot_permit(svc, a, poly=[(50, 40), (52, 40), (52, 42)])
    with pytest.raises(GuardFailed, match="needs a named SIMOPS coordinator"):
        svc.permit_action(a["ann"], near.id, "submit")
    near2 = hot_permit(svc, a, poly=[(50, 40), (52, 40), (52, 42)], simops_coordinator="sue")
    assert svc.permit_action(a["ann"], near2.id, "submit").simops_flags


def test_submit_guards(certified, actors, clock):
    svc, a = certified, actors
    long = svc.create_permit(a["ann"], type="hot_work", level="first", title="x", work_polygon=WORK, holder="bob",
                             guardian="gus", jha="x", planned_start=T0, planned_end=T0 + timedelta(hours=9))
    with pytest.raises(GuardFailed, match="exceeds the validity"):
        svc.permit_action(a["ann"], long.id, "submit")
    nojha = svc.create_permit(a["ann"], type="hot_work", level="first", title="x", work_polygon=WORK, holder="bob",
                              guardian="gus", planned_start=T0, planned_end=T0 + timedelta(hours=1))
    with pytest.raises(GuardFailed, match="job hazard analysis"):
        svc.permit_action(a["ann"], nojha.id, "submit")
    noguard = svc.create_permit(a["ann"], type="hot_work", level="first", title="x", work_polygon=WORK, holder="bob",
                                jha="x", planned_start=T0, planned_end=T0 + timedelta(hours=1))
    with pytest.raises(GuardFailed, match="needs a guardian"):
        svc.permit_action(a["ann"], noguard.id, "submit")
    with pytest.raises(GuardFailed, match="hot_work has no level 'IV'"):
        svc.create_permit(a["ann"], type="hot_work", level="IV", title="x", work_polygon=WORK, holder="bob",
                          planned_start=T0, planned_end=T0 + timedelta(hours=1))


def test_close_needs_acceptance_by_someone_else(certified, actors):
    svc, a = certified, actors
    p = hot_permit(svc, a)
    svc.permit_action(a["ann"], p.id, "submit")
    approve_all(svc, a, p.id)
    portable(svc, a, p.id)
    svc.permit_action(a["bob"], p.id, "start")
    with pytest.raises(Forbidden, match="only the holder"):
        svc.permit_action(a["cwo"], p.id, "complete")
    svc.permit_action(a["bob"], p.id, "complete")
    from safetwin.twin.workflows.roles import Actor
    with pytest.raises(Forbidden, match="own work"):
        svc.permit_action(Actor("bob", frozenset({"worker", "approver"})), p.id, "close")
    with pytest.raises(Forbidden):
        svc.permit_action(a["ola"], p.id, "close")


def test_live_sensor_gas_test_and_alarm_suspension(certified, actors, clock, small_plant, memory):
    from safetwin.twin.state import TwinState

    svc, a = certified, actors
    state = TwinState(small_plant)
    svc.attach(state)
    p = hot_permit(svc, a, poly=[(18, 38), (24, 38), (24, 44), (18, 44)])  # 3 m from GD-01
    svc.permit_action(a["ann"], p.id, "submit")
    approve_all(svc, a, p.id)
    ts = clock().timestamp()
    state.apply_reading("GD-01", 2.0, ts=ts - 60)             # 2 %LEL gasoline = 0.028 %vol: pass
    svc.add_gas_test(a["gus"], p.id, sensor_id="GD-01")
    assert svc.permit(p.id).gas_tests[-1].source == "sensor" and svc.permit(p.id).gas_tests[-1].passed
    state.apply_reading("CL-03", 0.0, ts=ts - 60)
    with pytest.raises(GuardFailed, match="not representative"):
        svc.add_gas_test(a["gus"], p.id, sensor_id="CL-03")
    svc.permit_action(a["bob"], p.id, "start")
    # W: the reading is judged as a gas test; 2 %LEL gasoline passes, so the people are only warned
    state.raise_alarm("GD-01_LVL", "GD-01", "W", ts, "2 %LEL")
    assert svc.drain()
    assert svc.permit(p.id).state == "active"
    assert any(n.event == "gas_warning" and "bob" in n.recipients for n in memory.sent)
    state.raise_alarm("GD-01_LVL", "GD-01", "H", ts, "25 %LEL")
    assert svc.drain()
    assert svc.permit(p.id).state == "suspended"
    assert any(n.event == "suspended" and {"bob", "gus"} <= set(n.recipients) for n in memory.sent)
    # cannot resume while the alarm is active
    portable(svc, a, p.id, age_min=0)
    with pytest.raises(GuardFailed, match="live alarm in the work area"):
        svc.permit_action(a["bob"], p.id, "resume")
    state.clear_alarm("GD-01_LVL", ts + 1)
    assert svc.permit_action(a["bob"], p.id, "resume").state == "active"
    assert svc.report_incident(a["ola"], 20, 40, 5, "small fire") == [p.id]


def test_the_site_wind_stops_outdoor_hot_work(certified, actors, clock, small_plant, memory):
    """GB 30871-2022: outdoor hot work stops at Beaufort 5 (8.0 m/s). The weather station's wind:
    no current record — the start is allowed and the record says the wind was not verified; 9 m/s —
    the start is refused; a record of 9 m/s while the work runs suspends it; 4 m/s — it resumes."""
    from safetwin.twin.state import TwinState
    from safetwin.twin.weather import MetObservation, screen_observation

    svc, a = certified, actors
    state = TwinState(small_plant)
    svc.attach(state)

    def station(speed: float) -> None:
        state.apply_met_observation(screen_observation(MetObservation(
            "MET-1", clock().timestamp(), wind_speed_m_s=speed, wind_from_deg=200.0, sigma_theta_deg=10.0)))
        assert svc.drain()

    p = hot_permit(svc, a)
    svc.permit_action(a["ann"], p.id, "submit")
    approve_all(svc, a, p.id)
    portable(svc, a, p.id, age_min=1)
    station(9.0)
    with pytest.raises(GuardFailed, match=r"wind 9.0 m/s at the weather station >= 8 m/s for hot_work"):
        svc.permit_action(a["bob"], p.id, "start")
    clock.advance(minutes=2)                     # the station's record is now stale: start, but not verified
    started = svc.permit_action(a["bob"], p.id, "start")
    assert started.state == "active" and "wind not verified by the weather station (MET-1 stale" in \
        started.history[-1].reason
    station(9.5)                                 # the wind rises while the work runs: stop
    assert svc.permit(p.id).state == "suspended"
    assert "wind 9.5 m/s" in svc.permit(p.id).history[-1].reason
    assert any(n.event == "suspended" for n in memory.sent)
    station(4.0)
    portable(svc, a, p.id, age_min=0)
    assert svc.permit_action(a["bob"], p.id, "resume").state == "active"
    q = svc.create_permit(a["ann"], type="confined_space", level=None, title="tank entry", work_polygon=FAR,
                          holder="bob", guardian="gus", jha="o2; h2s", planned_start=clock(),
                          planned_end=clock() + timedelta(hours=2))
    station(12.0)                                # confined-space work has no wind limit: untouched
    assert svc.permit(p.id).state == "suspended" and svc.permit(q.id).state == "draft"
