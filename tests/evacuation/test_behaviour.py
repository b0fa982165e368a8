"""Social behaviour as Mesa agent methods over the vectorised core: groups, affiliation, social
influence (BehaviourParams); the NIST TN 1822 rows are in test_verification."""
from __future__ import annotations

import numpy as np
import pytest
from shapely import box

from safetwin.emergency_planner.evacuation import (BehaviourParams, EvacuationGeometry, EvacuationModel,
                                                   EvacuationParams, Goal, Population, simulate_evacuation)


def _corridor():
    return EvacuationGeometry(box(0, 0, 40, 4), [Goal("east", box(38, 0, 40, 4)), Goal("west", box(0, 0, 2, 4))])


def test_group_leaves_together_and_walks_at_the_slowest_pace():
    """Two members: the fast one (1.5 m/s, ready at 0 s) waits for the slow one (0.6 m/s, ready at
    20 s), then both walk at 0.6 m/s and arrive together; alone, the fast one arrives first."""
    pos = np.array([[20.0, 1.0], [20.0, 3.0]])
    pop = dict(free_speed_m_s=np.array([1.5, 0.6]), premovement_s=np.array([0.0, 20.0]), targets=["east", "east"])
    grouped = simulate_evacuation(_corridor(), Population(pos, groups=np.array([0, 0]), **pop))
    alone = simulate_evacuation(_corridor(), Population(pos, **pop))
    assert grouped.start_moving_s == pytest.approx([20.0, 20.0], abs=0.06)
    assert np.ptp(grouped.arrival_time_s) < 1.0
    assert grouped.arrival_time_s[0] == pytest.approx(20.0 + 18.0 / 0.6, rel=0.05)
    assert alone.arrival_time_s[0] < 20.0 < alone.arrival_time_s[1]


def test_group_member_ahead_waits_agent_method():
    """Person.keep_with_group: a member more than group_max_gap_m ahead (by route) gets speed cap 0,
    the rearmost the group's slowest speed; people outside groups are not capped."""
    pos = np.array([[30.0, 2.0], [20.0, 2.0], [10.0, 2.0]])
    m = EvacuationModel(_corridor(), Population(pos, free_speed_m_s=np.array([1.4, 0.9, 1.2]),
                                                groups=np.array([0, 0, -1]), targets=["east"] * 3),
                        EvacuationParams(behaviour=BehaviourParams(group_max_gap_m=2.0)))
    m.step()
    for p in m.people:
        p.keep_with_group()
    assert m._group_cap is not None
    assert m._group_cap[0] == 0.0 and m._group_cap[1] == pytest.approx(0.9) and np.isinf(m._group_cap[2])
    assert m.people[0].group == 0 and m.people[2].group is None


def test_familiar_exit_preferred_unless_much_farther():
    """One person 14 m from the west exit and 22 m from the east one: goes west; knowing the east
    exit (cost factor 0.5) they go east; with factor 1 (off) west again."""
    pos = np.array([[16.0, 2.0]])
    for familiar, factor, want in ((None, 0.5, "west"), ("east", 0.5, "east"), ("east", 1.0, "west")):
        res = simulate_evacuation(_corridor(), Population(pos, familiar_goals=[familiar]),
                                  params=EvacuationParams(behaviour=BehaviourParams(familiar_cost_factor=factor)))
        assert res.goal_names[res.arrival_goal[0]] == want, (familiar, factor)
        assert (EvacuationModel(_corridor(), Population(pos, familiar_goals=[familiar])).people[0].familiar_goal
                == familiar)


def test_social_influence_only_on_the_first_choice():
    """A late starter between two equidistant exits follows the people around who already head
    east; with social_weight 0 they pick by position (slightly nearer west)."""
    pos = np.array([[19.9, 2.0], [21.0, 1.0], [21.0, 3.0]])
    pop = dict(premovement_s=np.array([1.0, 0.0, 0.0]), free_speed_m_s=np.full(3, 1.0))
    for weight, want in ((0.5, "east"), (0.0, "west")):
        res = simulate_evacuation(_corridor(), Population(pos, targets=[None, "east", "east"], **pop),
                                  params=EvacuationParams(behaviour=BehaviourParams(social_weight=weight)))
        assert res.goal_names[res.arrival_goal[0]] == want, weight


def test_bad_behaviour_input_rejected():
    pos = np.array([[5.0, 2.0], [6.0, 2.0]])
    with pytest.raises(ValueError, match="groups has 1 values for 2 people"):
        EvacuationModel(_corridor(), Population(pos, groups=np.array([0])))
    with pytest.raises(KeyError):
        EvacuationModel(_corridor(), Population(pos, familiar_goals=["north", None]))
