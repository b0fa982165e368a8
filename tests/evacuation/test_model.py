"""Behaviour of the evacuation model: Mesa façade, states, goals, events, doses, outputs, watchdog."""
from __future__ import annotations

import math

import numpy as np
import pyarrow.parquet as pq
import pytest
from shapely import box, unary_union

from safetwin.emergency_planner.evacuation import (Blockage, EvacuationGeometry, EvacuationModel,
                                                   EvacuationParams, Exposure, ExitClosure, Goal,
                                                   NavigationParams, OutputParams, Population, PreMovement,
                                                   WatchdogParams, concentration_hazard,
                                                   simulate_evacuation)
from safetwin.emergency_planner.evacuation.model import Person


def corridor(n=5, length=30.0):
    geo = EvacuationGeometry(box(0, 0, length, 4), [Goal("east", box(length - 2, 0, length, 4))])
    pos = np.column_stack([np.linspace(1, 6, n), np.full(n, 2.0)])
    return geo, pos


def test_mesa_facade_people_are_marked_not_removed():
    geo, pos = corridor(5)
    model = EvacuationModel(geo, Population(pos, free_speed_m_s=np.full(5, 1.3)))
    assert len(model.agents) == 5 and all(isinstance(a, Person) for a in model.agents)
    assert model.people[0].state == "moving"  # no alarm delay, no pre-movement
    model.run()
    assert len(model.agents) == 5  # evacuees stay in the model
    assert {p.state for p in model.people} == {"arrived"}
    assert all(p.position[0] >= 28 for p in model.people)
    assert all(math.isfinite(p.arrival_time_s) for p in model.people)
    df = model.datacollector.get_model_vars_dataframe()
    assert df["arrived"].iloc[-1] == 5 and df["moving"].iloc[0] >= 0


def test_states_working_alerted_moving():
    geo, pos = corridor(2)
    p = EvacuationParams(alarm_time_s=5.0)
    pop = Population(pos, premovement_s=np.array([0.0, 10.0]))
    m = EvacuationModel(geo, pop, p)
    m.run(until_s=4.0)
    assert [q.state for q in m.people] == ["working", "working"]
    m.run(until_s=6.0)
    assert [q.state for q in m.people] == ["moving", "alerted"]
    m.run(until_s=16.0)
    assert m.people[1].state == "moving"
    assert abs(m.t_moving[1] - 15.0) <= p.dt_s + 1e-9


def test_arrival_curve_and_rset_and_parquet(tmp_path):
    geo, pos = corridor(8)
    res = simulate_evacuation(geo, Population(pos, premovement=PreMovement("uniform", 0, 5)),
                              params=EvacuationParams(output=OutputParams(trajectory_interval_s=0.5)))
    assert res.complete and not res.not_accounted_for
    t, c = res.arrival_curve("east")
    assert c[-1] == 8 and np.all(np.diff(c) >= 0)
    assert res.rset_s == pytest.approx(np.nanmax(res.arrival_time_s))
    assert res.rset_s > 18  # 22 m at <= 1.34 m/s (plus pre-movement)
    res.write_trajectories(tmp_path / "traj.parquet")
    tab = pq.read_table(tmp_path / "traj.parquet")
    assert set(tab.column_names) == {"time_s", "person_id", "x_m", "y_m", "state"}
    assert tab.num_rows > 8 * 10
    res.write_people(tmp_path / "people.parquet")
    assert pq.read_table(tmp_path / "people.parquet").num_rows == 8
    assert res.density_mean_per_m2.shape == res.density_peak_per_m2.shape


def test_muster_capacity_full_rechoose():
    walk = box(0, 0, 30, 10)
    goals = [Goal("near", box(10, 4, 12, 6), capacity=3), Goal("far", box(28, 0, 30, 10))]
    geo = EvacuationGeometry(walk, goals)
    pos = np.column_stack([np.full(6, 2.0), np.linspace(2, 8, 6)])
    res = simulate_evacuation(geo, Population(pos, targets=["near"] * 6))
    per = res.summary()["per_goal"]
    assert per == {"near": 3, "far": 3}
    assert res.complete


def test_blocked_gate_rerouting_and_walls():
    # two gates in a wall at x = 10; the northern (shorter) one gets blocked at t = 0.5 s
    walk = unary_union([box(0, 0, 10, 20), box(10, 17, 11, 19), box(10, 1, 11, 3), box(11, 0, 21, 20)])
    geo = EvacuationGeometry(walk, [Goal("muster", box(19, 16, 21, 20))])
    pos = np.array([[5.0, 18.0], [6.0, 17.0], [4.0, 16.0]])
    p = EvacuationParams(output=OutputParams(trajectory_interval_s=0.1))
    res = simulate_evacuation(geo, pos, params=p, events=[Blockage(0.5, box(10, 17, 11, 19))])
    tr = res.trajectories
    assert res.complete
    in_gate_n = (tr["x_m"] > 10.1) & (tr["x_m"] < 10.9) & (tr["y_m"] > 16.9)
    assert not in_gate_n.any()  # nobody went through the blocked gate
    assert ((tr["x_m"] > 10.1) & (tr["x_m"] < 10.9) & (tr["y_m"] < 3.1)).any()


def test_exit_closed_with_no_alternative_shelters_in_place():
    geo, pos = corridor(3)
    res = simulate_evacuation(geo, pos, events=[ExitClosure(2.0, "east")], params=EvacuationParams(t_max_s=60))
    assert res.states == ["sheltering"] * 3
    assert len(res.not_accounted_for) == 3  # sheltering in place is not a designated shelter


def test_watchdog_reports_deadlock():
    # a slit narrower than a body: the raster sees it walkable, the bodies cannot pass
    walk = unary_union([box(0, 0, 10, 10), box(10, 4.97, 12, 5.03), box(12, 0, 20, 10)])
    geo = EvacuationGeometry(walk, [Goal("out", box(18, 0, 20, 10))])
    pos = np.array([[5.0, 5.0], [5.0, 6.0]])
    p = EvacuationParams(t_max_s=300, watchdog=WatchdogParams(window_s=20.0),
                         navigation=NavigationParams(cell_m=0.02))
    res = simulate_evacuation(geo, pos, params=p)
    assert res.deadlock and res.end_time_s < 100
    assert sorted(res.stuck) == ["p0", "p1"]
    assert not res.complete


def test_dose_and_probit_incapacitation():
    geo, pos = corridor(2, length=60)
    conc = lambda x, y, t: np.full(np.shape(x), 100.0)  # noqa: E731  mg/m³ everywhere
    # probit chosen so that the harm probability reaches 50 % at a load of 100² * 10 s
    exp_ = Exposure(conc, exponent=2.0, probit_a=5.0 - np.log(1e5), probit_b=1.0, time_unit_s=1.0)
    m = EvacuationModel(geo, Population(pos), EvacuationParams(exposure_interval_s=0.5), exposures=[exp_])
    m.tolerance[:] = 0.5  # individual tolerances are U(0, 1) draws; fix them for the test
    m.run(until_s=5.0)
    assert m.dose[0][0] == pytest.approx(100.0 ** 2 * 5.0, rel=0.11)
    assert exp_.harm_probability(np.array([1e5]))[0] == pytest.approx(0.5)
    assert {p.state for p in m.people} == {"moving"}
    m.run(until_s=12.0)
    assert all(p.state == "incapacitated" for p in m.people)
    assert np.all(np.abs(m.t_incapacitated - 10.0) <= 0.6)
    x_stop = m.pos[:, 0].copy()
    res = m.result()
    assert res.harm_probability["toxic"] == pytest.approx([0.5, 0.5], abs=0.05)
    assert len(res.not_accounted_for) == 2 and np.all(x_stop < 20)


def test_hazard_evaluated_at_crossing_time():
    """A blockade that only exists *after* the crowd has passed must not cause a detour, one that
    exists while they pass must (hazard cost at the estimated crossing time)."""
    walk = box(0, 0, 40, 20).difference(box(18, 3, 22, 20))  # wall with a passage at y < 3 ... and
    walk = walk.union(box(18, 9, 22, 11))  # a direct passage at y in [9, 11]
    geo = EvacuationGeometry(walk, [Goal("muster", box(38, 8, 40, 12))])
    pos = np.array([[3.0, 10.0], [3.0, 9.0]])
    direct = box(18, 9, 22, 11)

    def blocker(t_on, t_off):
        def h(x, y, t):
            on = (t >= t_on) & (t < t_off)
            inside = (x > 17) & (x < 23) & (y > 8.5) & (y < 11.5)
            return np.where(on & inside, np.inf, 1.0)
        return h

    p = EvacuationParams(output=OutputParams(trajectory_interval_s=0.2))
    import shapely
    for (t_on, t_off), expect_direct in (((60.0, 1e9), True), ((0.0, 1e9), False)):
        res = simulate_evacuation(geo, pos, params=p, hazard=blocker(t_on, t_off))
        tr = res.trajectories
        used = shapely.contains_xy(direct, tr["x_m"], tr["y_m"]).any()
        assert res.complete and used == expect_direct, (t_on, used)


def test_concentration_hazard_cost():
    h = concentration_hazard(lambda x, y, t: x, reference_mg_m3=10.0, weight=10.0, impassable_ratio=2.0)
    c = h(np.array([0.0, 10.0, 25.0]), np.zeros(3), np.zeros(3))
    assert c[0] == 1.0 and c[1] == 11.0 and np.isinf(c[2])


def test_geometry_validation_messages():
    with pytest.raises(ValueError, match="does not overlap"):
        EvacuationGeometry(box(0, 0, 10, 10), [Goal("far", box(20, 20, 21, 21))])
    with pytest.raises(KeyError, match="unknown goal"):
        EvacuationModel(*corridor(1)[:1], Population(np.array([[1.0, 1.0]]), targets=["nowhere"]))


def test_unsafe_muster_point_rechosen():
    """A muster point engulfed by the hazard is closed; its people go to the other one."""
    walk = box(0, 0, 40, 20)
    goals = [Goal("east", box(36, 8, 40, 12)), Goal("north", box(18, 17, 22, 20))]
    geo = EvacuationGeometry(walk, goals)
    pos = np.column_stack([np.full(4, 20.0), np.linspace(6, 9, 4)])

    def hazard(x, y, t):  # impassable cloud over the east muster point from t = 3 s
        return np.where((t >= 3.0) & (x > 33), np.inf, 1.0)

    p = EvacuationParams(navigation=NavigationParams(replan_interval_s=1.0))
    res = simulate_evacuation(geo, Population(pos, targets=["east"] * 4), params=p, hazard=hazard)
    assert res.complete and res.summary()["per_goal"] == {"east": 0, "north": 4}
    assert not res.goal_open_at_end[0]


def test_thermal_dose_channel():
    """Exposure is generic: a heat-flux field with the thermal-dose exponent 4/3."""
    geo, pos = corridor(1, length=20)
    flux = lambda x, y, t: np.full(np.shape(x), 5000.0)  # noqa: E731  W/m²
    therm = Exposure(flux, exponent=4.0 / 3.0, name="thermal", incapacitating=False)
    res = simulate_evacuation(geo, Population(pos, free_speed_m_s=np.array([1.0])), exposures=[therm],
                              params=EvacuationParams(exposure_interval_s=0.25))
    t_exposed = res.arrival_time_s[0]
    assert res.dose["thermal"][0] == pytest.approx(5000.0 ** (4 / 3) * t_exposed, rel=0.05)


def test_congestion_hotspot_reported_before_bottleneck():
    from safetwin.emergency_planner.evacuation import scenarios as S
    sc = S.bottleneck(0.8, n=80)
    res = simulate_evacuation(sc.geometry, sc.population, params=EvacuationParams(
        output=OutputParams(trajectory_interval_s=0.5, density_cell_m=1.0, hotspot_density_per_m2=2.0)))
    assert res.hotspots, "a queue in front of a 0.8 m door must show up as a hot spot"
    top = res.hotspots[0]
    assert -3.0 <= top.x_m <= 0.5 and abs(top.y_m) <= 2.0 and top.time_above_threshold_s > 5


def test_bad_people_rejected_with_located_message():
    geo, pos = corridor(3)
    pos[1] = (50.0, 2.0)
    with pytest.raises(ValueError, match=r"p1: position \(50.00, 2.00\) m is outside the walkable area"):
        EvacuationModel(geo, Population(pos))
    pos[1] = (3.0, 2.0)
    with pytest.raises(ValueError, match="p2: free_speed_m_s"):
        EvacuationModel(geo, Population(pos, free_speed_m_s=np.array([1.0, 1.2, -1.0])))


def test_mesa_agents_space_behaviour_and_agent_dataframe():
    """Mesa is the agent layer: people live in a Mesa ContinuousSpace whose position array is the
    one the kernel moves, alarm / start / route choice are agent methods, and the DataCollector
    gives an agent-level DataFrame (position, state, dose)."""
    geo, pos = corridor(3)
    gas = Exposure(lambda x, y, t: np.full(np.shape(x), 2.0), name="gas", incapacitating=False)
    p = EvacuationParams(alarm_time_s=1e6, output=OutputParams(trajectory_interval_s=0.5, agent_records=True))
    m = EvacuationModel(geo, Population(pos, premovement_s=np.array([0.0, 0.0, 2.0])), p, exposures=[gas])
    assert m.space.agent_positions is m.pos or np.shares_memory(m.space.agent_positions, m.pos)
    m.run(until_s=1.0)
    assert [q.state for q in m.people] == ["working"] * 3
    m.people[0].hear_alarm()  # one person alerted by hand (a phone call), the others not
    m.people[0].reconsider_route()
    m.run(until_s=3.0)
    assert [q.state for q in m.people] == ["moving", "working", "working"]
    assert m.people[0].position[0] > pos[0, 0] + 1.0
    assert np.allclose(m.people[0].position, m.space.agent_positions[0])
    m.alert(np.array([1, 2]))  # the rest hear the alarm at 3 s; person 2 leaves 2 s later
    m.run(until_s=4.0)
    assert [q.state for q in m.people] == ["moving", "moving", "alerted"]
    m.run()
    df = m.datacollector.get_agent_vars_dataframe()
    assert {"x_m", "y_m", "state", "dose_gas"} <= set(df.columns)
    last = df.xs(df.index.get_level_values(0).max(), level=0)
    assert set(last["state"]) == {"arrived"} and len(last) == 3
    res = m.result()
    assert np.allclose(sorted(last["dose_gas"]), sorted(res.dose["gas"]))
    assert np.allclose(res.dose["gas"], 2.0 * res.arrival_time_s)
