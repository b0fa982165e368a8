"""Dose until arrival, walking speed in smoke and irritants, incapacitation by FED (Purser)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from shapely import box

from safetwin.emergency_planner.evacuation import (EvacuationGeometry, EvacuationModel, EvacuationParams,
                                                   Exposure, Goal, NavigationParams, Population, WatchdogParams,
                                                   simulate_evacuation)
from safetwin.emergency_planner.evacuation import verification as V
from safetwin.emergency_planner.evacuation.exposure import frantzich_nilsson_speed

from .test_verification import _assert


def uniform(value):
    return lambda x, y, t: np.full(np.shape(x), value)


def test_dose_stops_at_arrival_and_nothing_in_advance():
    """Uniform 1 mg/m³: the dose of each person equals their arrival time, whoever arrives first."""
    geo = EvacuationGeometry(box(0, 0, 40, 4), [Goal("east", box(30, 0, 40, 4))])
    # 0.65 m and 26.6 m from the goal edge at 1.3 m/s: arrivals at about 0.5 s and 20.5 s
    pos = np.array([[29.35, 1.0], [3.4, 3.0]])
    exp_ = Exposure(uniform(1.0), name="gas", incapacitating=False)
    res = simulate_evacuation(geo, Population(pos, free_speed_m_s=np.full(2, 1.3)), exposures=[exp_],
                              params=EvacuationParams(exposure_interval_s=2.0))
    t_arr = res.arrival_time_s
    assert t_arr[0] == pytest.approx(0.5, abs=0.06) and t_arr[1] == pytest.approx(20.5, abs=0.5)
    assert res.dose["gas"] == pytest.approx(t_arr, abs=1e-9)
    assert res.field_integral["gas"] == pytest.approx(t_arr, abs=1e-9)
    # mid-run nothing is credited ahead of time: after 0.05 s the dose is 0.05, not an interval
    m = EvacuationModel(geo, Population(pos, free_speed_m_s=np.full(2, 1.3)), EvacuationParams(exposure_interval_s=2.0),
                        exposures=[exp_])
    m.step()
    m.settle_doses()
    assert m.dose[0] == pytest.approx([0.05, 0.05], abs=1e-12)


def test_nist25_reduced_visibility_speed():
    """NIST TN 1822 verification 2.5: extinction coefficient 1 /m, 1.25 m/s in clear air ->
    0.625 m/s, 100 m in 160 s (through the public ``Exposure.walking_speed``)."""
    _assert(V.check_nist25())


def test_frantzich_nilsson_slows_only_in_smoke():
    geo = EvacuationGeometry(box(0, 0, 60, 2), [Goal("end", box(50, 0, 60, 2))])

    def smoke(x, y, t):  # dense smoke (K = 5 /m) between x = 20 and 30
        return np.where((x > 20) & (x < 30), 5.0, 0.0)

    exp_ = Exposure(smoke, name="smoke", incapacitating=False, walking_speed=frantzich_nilsson_speed())
    pop = Population(np.array([[0.5, 1.0]]), free_speed_m_s=np.array([1.2]))
    p = EvacuationParams(exposure_interval_s=0.1)
    clear = simulate_evacuation(geo, pop, params=p).arrival_time_s[0]
    slow = simulate_evacuation(geo, pop, params=p, exposures=[exp_]).arrival_time_s[0]
    v_smoke = 1.2 * (1 - 0.057 * 5 / 0.706)
    expected_extra = 10 / v_smoke - 10 / 1.2
    assert slow - clear == pytest.approx(expected_extra, rel=0.05)


def test_fed_incapacitation_nist26():
    """NIST TN 1822 verification 2.6: CO 5000 ppm, CO2 2 %, O2 18 % held constant in a 10 m x 10 m
    room: incapacitation (Purser FED = 1) at 207.6 s, within one time step."""
    _assert(V.check_nist26())


def test_moving_hazard_no_runtime_warning():
    """An impassable cloud drifting over the crowd; then a person left moving with no route before
    and now (inf - inf in the no-progress watchdog): no RuntimeWarning, counted as no progress."""
    geo = EvacuationGeometry(box(0, 0, 40, 20), [Goal("east", box(38, 0, 40, 20)), Goal("west", box(0, 0, 2, 20))])

    def cloud(x, y, t):  # 6 m radius, drifting east at 0.5 m/s
        return np.where((x - (5 + 0.5 * t)) ** 2 + (y - 10) ** 2 < 36, np.inf, 1.0)

    pos = np.column_stack([np.linspace(8, 30, 12), np.tile([6.0, 14.0], 6)])
    p = EvacuationParams(t_max_s=200.0, navigation=NavigationParams(replan_interval_s=2.0, tau_refresh_s=2.0),
                         watchdog=WatchdogParams(window_s=5.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        res = simulate_evacuation(geo, pos, params=p, hazard=cloud)
        assert res.complete
        walled = EvacuationGeometry(box(0, 0, 40, 20).difference(box(19, 0, 21, 20)), [Goal("east", box(38, 0, 40, 20))])
        m = EvacuationModel(walled, Population(np.array([[5.0, 5.0], [30.0, 5.0]])), p)
        assert m.people[0].state == "sheltering"  # no route from the west half
        m.state[0] = 2  # force "moving" without a route
        m._watchdog()
    assert 0 in m.stuck


def _shelter_run(field, exponent, ach, until_s, exposure_interval_s=0.5):
    geo = EvacuationGeometry(box(0, 0, 30, 4), [Goal("hut", box(28, 0, 30, 4), shelter=True, air_changes_per_h=ach)])
    gas = Exposure(field, exponent=exponent, name="gas", incapacitating=False)
    return simulate_evacuation(geo, Population(np.array([[2.0, 2.0]]), free_speed_m_s=np.array([1.2])), exposures=[gas],
                               params=EvacuationParams(exposure_interval_s=exposure_interval_s), exposure_until_s=until_s)


@pytest.mark.parametrize("exponent", [1.0, 2.0])
def test_dose_in_shelter_follows_single_zone_model_analytic(exponent):
    """A person walks through a uniform 10 mg/m³ cloud (present from t = 0) into a shelter with 6 air
    changes per hour and stays until 1800 s: outdoors the load is C^n t_a, indoors the air follows
    Ci = C (1 - exp(-λ t)) from a clean start (λ = 6/3600 /s), so the load after arrival is
    ∫_{t_a}^{T} Ci^n dt in closed form (Wilson 1987 single-zone model)."""
    C, ach, T = 10.0, 6.0, 1800.0
    lam = ach / 3600.0
    res = _shelter_run(uniform(C), exponent, ach, T)
    ta = float(res.arrival_time_s[0])
    assert 20.0 < ta < 25.0 and res.state[0] == 3 and res.end_time_s == T   # 3 = sheltering
    a, b = np.exp(-lam * ta), np.exp(-lam * T)
    if exponent == 1.0:
        indoor = C * ((T - ta) - (a - b) / lam)
    else:
        indoor = C ** 2 * ((T - ta) - 2 * (a - b) / lam + (a * a - b * b) / (2 * lam))
    expected = C ** exponent * ta + indoor
    assert res.dose["gas"][0] == pytest.approx(expected, rel=1e-6)
    # the shelter protects: well below staying outdoors for the same time
    assert res.dose["gas"][0] < 0.75 * C ** exponent * T


def test_dose_in_shelter_after_the_cloud_has_passed():
    """The cloud (10 mg/m³) passes at t = 600 s; indoors the concentration then decays as
    Ci(600) exp(-λ (t - 600)) and the person keeps breathing it (analytic within the 0.5 s sampling of
    the step)."""
    C, ach, T, t_off = 10.0, 2.0, 3600.0, 600.0
    lam = ach / 3600.0
    res = _shelter_run(lambda x, y, t: np.where(np.asarray(t) < t_off, C, 0.0) * np.ones(np.shape(x)), 1.0, ach, T)
    ta = float(res.arrival_time_s[0])
    c_off = C * (1 - np.exp(-lam * t_off))
    during = C * ((t_off - ta) - (np.exp(-lam * ta) - np.exp(-lam * t_off)) / lam)
    after = c_off * (1 - np.exp(-lam * (T - t_off))) / lam
    assert res.dose["gas"][0] == pytest.approx(C * ta + during + after, rel=2e-3)
    assert res.dose["gas"][0] > C * ta + during     # dose goes on after the cloud has passed outdoors


def test_sealed_shelter_and_plain_exit_stop_the_dose():
    """A sealed shelter (0 air changes) keeps clean air; a goal that is not a shelter ends the dose
    at arrival (the run's people are gone); an outdoor muster point keeps it growing."""
    sealed = _shelter_run(uniform(10.0), 1.0, 0.0, 600.0)
    assert sealed.dose["gas"][0] == pytest.approx(10.0 * sealed.arrival_time_s[0], rel=1e-9)
    for outdoors, expected in ((False, None), (True, 10.0 * 600.0)):
        geo = EvacuationGeometry(box(0, 0, 30, 4), [Goal("muster", box(28, 0, 30, 4), outdoors=outdoors)])
        res = simulate_evacuation(geo, Population(np.array([[2.0, 2.0]]), free_speed_m_s=np.array([1.2])),
                                  exposures=[Exposure(uniform(10.0), name="gas", incapacitating=False)],
                                  exposure_until_s=600.0)
        want = 10.0 * res.arrival_time_s[0] if expected is None else expected
        assert res.dose["gas"][0] == pytest.approx(want, rel=1e-9)


def test_indoor_step_matches_recommend_building_model():
    """One model written once: the evacuation shelters and the recommendations' buildings use the
    same exact single-zone step (a ramp in, a ramp out)."""
    from safetwin.emergency_planner.physics.indoor import indoor_step
    from safetwin.emergency_planner.recommend.shelter import indoor_concentration

    t = np.linspace(0.0, 1200.0, 25)
    co = np.interp(t, [0, 300, 600, 1200], [0, 50, 50, 0])
    ci = indoor_concentration(t, co, 3.0)
    # one step over a linear piece equals many small steps over it (exactness for linear Co)
    fine = 0.0
    for k in range(200):
        a, b = 300.0 * k / 200, 300.0 * (k + 1) / 200
        fine = indoor_step(fine, 50 * a / 300, 50 * b / 300, 3.0, b - a)
    assert float(fine) == pytest.approx(float(ci[np.searchsorted(t, 300.0)]), rel=1e-12)
    assert float(indoor_step(5.0, 20.0, 20.0, 0.0, 100.0)) == 5.0   # sealed: no exchange
