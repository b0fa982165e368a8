"""Verification scenarios (RiMEA 4.1.1 annex tests, NIST TN 1822 verification tests, Seyfried
bottleneck) and benchmark scenes, as plain builders returning geometry + population (no I/O).

Each builder documents its source. Geometry follows the test texts (x right, y up, metres). Goal
sinks are put well downstream of the door or corridor being measured, so the measured flow is not
that of the sink.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from shapely import box, unary_union
from shapely.geometry import LineString, Polygon

from .geometry import EvacuationGeometry, Goal
from .population import Population, random_positions

__all__ = ["Scenario", "corridor_rimea1", "corner_rimea6", "room_rimea9", "bottleneck", "rimea12",
           "periodic_corridor", "counterflow_nist28", "exit_loss_nist41", "room_two_exits",
           "obstacle_field", "plume_detour"]


@dataclass
class Scenario:
    geometry: EvacuationGeometry
    population: Population
    lines: dict[str, LineString] = field(default_factory=dict)
    areas: dict[str, Polygon] = field(default_factory=dict)
    info: dict = field(default_factory=dict)


def corridor_rimea1(speed: float = 1.33) -> Scenario:
    """RiMEA 4.1.1 test 1: one person, corridor 2 m x 40 m; travel time over 40 m in [26, 34] s.
    Geometry x in [-2, 44]: a 2 m lead-in (as JuPedSim's old runtest), measured from x=0 to x=40,
    sink at x >= 43."""
    walk = box(-2, 0, 44, 2)
    geo = EvacuationGeometry(walk, [Goal("end", box(43, 0, 44, 2))])
    pop = Population(np.array([[-1.5, 1.0]]), free_speed_m_s=np.array([speed]))
    return Scenario(geo, pop, lines={"start": LineString([(0, 0), (0, 2)]), "end": LineString([(40, 0), (40, 2)])})


def corner_rimea6(seed: int = 0) -> Scenario:
    """RiMEA 4.1.1 test 6: 20 people uniformly in the first 6 m of a 10 m long, 2 m wide leg
    turning left into a 2 m wide, 10 m long leg. Walls must not be crossed: no position may lie in
    the block x in [0, 10], y in [2, 12]."""
    walk = unary_union([box(0, 0, 12, 2), box(10, 0, 12, 12)])
    geo = EvacuationGeometry(walk, [Goal("end", box(10, 11, 12, 12))])
    rng = np.random.default_rng(seed)
    pos = random_positions(box(0, 0, 6, 2), 20, rng, min_distance=0.35, wall_distance=0.2)
    return Scenario(geo, Population(pos), areas={"wall_block": box(0, 2, 10, 12)})


def room_rimea9(doors: int = 4, n: int = 1000, seed: int = 0) -> Scenario:
    """RiMEA 4.1.1 test 9: room 30 m x 20 m, four 1 m doors (two in each long wall, at 4-5 m and
    25-26 m from the left end), 1000 people evenly in the area inset 2 m from the walls; step 2
    locks doors 1 and 2 (same long wall). Outside each door a 4 m x 4 m apron whose far half is the
    sink (2 m past the door)."""
    room = box(0, 0, 30, 20)
    doors_x = [(4, 5), (25, 26)]
    parts = [room]
    goals = []
    k = 0
    for wall in ("south", "north"):
        for (a, b) in doors_x:
            k += 1
            if doors == 2 and wall == "south":
                continue
            c = 0.5 * (a + b)
            if wall == "south":
                parts += [box(a, -0.2, b, 0.0), box(c - 2, -4.2, c + 2, -0.2)]
                goals.append(Goal(f"door{k}", box(c - 2, -4.2, c + 2, -2.2)))
            else:
                parts += [box(a, 20.0, b, 20.2), box(c - 2, 20.2, c + 2, 24.2)]
                goals.append(Goal(f"door{k}", box(c - 2, 22.2, c + 2, 24.2)))
    walk = unary_union(parts)
    geo = EvacuationGeometry(walk, goals)
    rng = np.random.default_rng(seed)
    # evenly distributed: jittered lattice over 26 m x 16 m
    nx_, ny_ = 40, 25
    assert nx_ * ny_ >= n
    gx, gy = np.meshgrid((np.arange(nx_) + 0.5) * 26 / nx_ + 2, (np.arange(ny_) + 0.5) * 16 / ny_ + 2)
    pos = np.column_stack([gx.ravel(), gy.ravel()])[:n] + rng.uniform(-0.08, 0.08, (n, 2))
    return Scenario(geo, Population(pos))


def bottleneck(width: float, n: int = 120, length: float = 5.0, seed: int = 0) -> Scenario:
    """Bottleneck flow (Seyfried et al. 2009 / RiMEA 4.1.1 test 12d): an 8 m wide waiting area,
    a corridor ``width`` x ``length``, then an open area; the flow is measured at a line across the
    corridor exit, the sink is 5 m further downstream."""
    hw = width / 2
    walk = unary_union([box(-8, -4, 0, 4), box(0, -hw, length, hw), box(length, -4, length + 7, 4)])
    geo = EvacuationGeometry(walk, [Goal("sink", box(length + 5, -4, length + 7, 4))])
    rng = np.random.default_rng(seed)
    pos = random_positions(box(-8, -4, -0.5, 4), n, rng, min_distance=0.36, wall_distance=0.18)
    return Scenario(geo, Population(pos),
                    lines={"corridor_exit": LineString([(length, -hw), (length, hw)]),
                           "corridor_entry": LineString([(0, -hw), (0, hw)])},
                    info={"width_m": width})


def rimea12(n: int = 150, seed: int = 0) -> Scenario:
    """RiMEA 4.1.1 test 12 (3.0 base geometry): room 1 10 m x 10 m, corridor 5 m x 1 m (centred),
    room 2 10 m x 10 m with a 1 m exit centred in the far wall; 150 people in the left 5 m x 10 m
    of room 1. Congestion must form only in room 1 in front of the corridor. Boxes 2 m x 3 m in
    front of the corridor and in front of the final exit count the people waiting there."""
    walk = unary_union([box(0, 0, 10, 10), box(10, 4.5, 15, 5.5), box(15, 0, 25, 10),
                        box(25, 4.5, 25.2, 5.5), box(25.2, 3, 29.2, 7)])
    geo = EvacuationGeometry(walk, [Goal("exit", box(27.2, 3, 29.2, 7))])
    rng = np.random.default_rng(seed)
    pos = random_positions(box(0, 0, 5, 10), n, rng, min_distance=0.4, wall_distance=0.2)
    return Scenario(geo, Population(pos),
                    lines={"corridor_entry": LineString([(10, 4.5), (10, 5.5)]),
                           "corridor_exit": LineString([(15, 4.5), (15, 5.5)]),
                           "final_exit": LineString([(25, 4.5), (25, 5.5)])},
                    areas={"before_corridor": box(8, 3.5, 10, 6.5), "before_exit": box(23, 3.5, 25, 6.5)})


def periodic_corridor(density: float, length: float = 20.0, width: float = 10.0, speed: float = 1.34,
                      seed: int = 0) -> Scenario:
    """RiMEA 4.1.1 test 4 (fundamental diagram): the test's 10 m wide corridor, made periodic over
    ``length`` instead of 1000 m long (JuPedSim's old suite used a periodic 26 m x 2 m corridor):
    ``density`` people per m², all with free speed ``speed``."""
    walk = box(0, 0, length, width)
    geo = EvacuationGeometry(walk, [Goal("east", box(length - 0.5, 0, length, width), sink=False)], periodic_x=(0.0, length))
    n = int(round(density * length * width))
    rng = np.random.default_rng(seed)
    md = min(0.34, 0.9 / np.sqrt(density))
    pos = random_positions(box(0.05, 0, length - 0.05, width), n, rng, min_distance=md, wall_distance=0.16)
    return Scenario(geo, Population(pos, free_speed_m_s=np.full(n, speed)), info={"n": n})


def counterflow_nist28(n_main: int = 100, n_counter: int = 0, seed: int = 0) -> Scenario:
    """NIST TN 1822 verification 2.8: two 10 m x 10 m rooms joined by a 10 m x 2 m corridor;
    ``n_main`` people cross left -> right against ``n_counter`` walking right -> left."""
    walk = unary_union([box(0, 0, 10, 10), box(10, 4, 20, 6), box(20, 0, 30, 10)])
    geo = EvacuationGeometry(walk, [Goal("right", box(28, 0, 30, 10)), Goal("left", box(0, 0, 2, 10))])
    rng = np.random.default_rng(seed)
    a = random_positions(box(2.5, 0, 9.5, 10), n_main, rng, min_distance=0.45, wall_distance=0.2)
    b = (random_positions(box(20.5, 0, 27.5, 10), n_counter, rng, min_distance=0.45, wall_distance=0.2)
         if n_counter else np.zeros((0, 2)))
    pos = np.vstack([a, b])
    targets = ["right"] * n_main + ["left"] * n_counter
    return Scenario(geo, Population(pos, targets=targets), info={"n_main": n_main})


def exit_loss_nist41(n: int = 10, seed: int = 0) -> Scenario:
    """NIST TN 1822 verification 4.1: a room with two exits; exit 1 (nearer to everybody) becomes
    unavailable at t = 1 s and everybody must re-route to exit 2. Room 20 m x 10 m, exit 1 (1 m)
    in the west wall, exit 2 (1 m) in the east wall, people in the west third."""
    walk = unary_union([box(0, 0, 20, 10), box(-3, 4.5, 0, 5.5), box(20, 4.5, 23, 5.5)])
    geo = EvacuationGeometry(walk, [Goal("exit1", box(-3, 4.5, -2, 5.5)), Goal("exit2", box(22, 4.5, 23, 5.5))])
    rng = np.random.default_rng(seed)
    pos = random_positions(box(1, 1, 6, 9), n, rng, min_distance=0.6, wall_distance=0.3)
    return Scenario(geo, Population(pos))


def room_two_exits(n: int = 1000, seed: int = 0) -> Scenario:
    """Benchmark scene 1: 50 m x 50 m room, two 2 m exits (west and east walls, y in [24, 26]),
    each leading into a 1 m deep passage whose outer half is the exit (the same scene is run in
    JuPedSim by benchmarks/bench_evacuation.py); people uniformly placed, nearest exit."""
    walk = unary_union([box(0, 0, 50, 50), box(50, 24, 51, 26), box(-1, 24, 0, 26)])
    geo = EvacuationGeometry(walk, [Goal("east", box(50.5, 24, 51, 26)), Goal("west", box(-1, 24, -0.5, 26))])
    rng = np.random.default_rng(seed)
    pos = random_positions(box(0, 0, 50, 50), n, rng, min_distance=0.4, wall_distance=0.3)
    return Scenario(geo, Population(pos))


def obstacle_field(n: int = 10_000, seed: int = 0) -> Scenario:
    """Benchmark scene 2: 200 m x 200 m yard with a 6 x 6 grid of 14 m x 14 m blocks (plant units,
    gaps of ~18.6 m) and twelve 5 m gates, three per side, each a 1 m deep passage whose outer half
    is the exit; people uniformly placed in the free area, nearest exit."""
    yard = box(0, 0, 200, 200)
    blocks = []
    for i in range(6):
        for j in range(6):
            cx = 200 * (i + 0.5) / 6
            cy = 200 * (j + 0.5) / 6
            blocks.append(box(cx - 7, cy - 7, cx + 7, cy + 7))
    walk = yard.difference(unary_union(blocks))
    parts = [walk]
    goals = []
    for k, c in enumerate((200 / 6 * 1.0, 100.0, 200 / 6 * 5.0)):
        c = round(c + (200 / 12), 3)  # gates face the aisles between blocks
        gates = {"s": (box(c - 2.5, -1, c + 2.5, 0), box(c - 2.5, -1, c + 2.5, -0.5)),
                 "n": (box(c - 2.5, 200, c + 2.5, 201), box(c - 2.5, 200.5, c + 2.5, 201)),
                 "w": (box(-1, c - 2.5, 0, c + 2.5), box(-1, c - 2.5, -0.5, c + 2.5)),
                 "e": (box(200, c - 2.5, 201, c + 2.5), box(200.5, c - 2.5, 201, c + 2.5))}
        for side, (passage, sink) in gates.items():
            parts.append(passage)
            goals.append(Goal(f"{side}{k}", sink))
    geo = EvacuationGeometry(unary_union(parts), goals)
    rng = np.random.default_rng(seed)
    pos = random_positions(walk, n, rng, min_distance=0.4, wall_distance=0.3)
    return Scenario(geo, Population(pos), info={"obstacles": blocks})


def plume_detour(n: int = 30, seed: int = 0) -> Scenario:
    """Hazard avoidance: a 60 m x 30 m yard split by a pipe rack (wall at x in [28, 32]) with two
    passages: a direct one at y in [13, 17] and a detour at y in [0, 3] (south end). People start
    on the west side (x in [3, 12], y in [11, 19]); the muster point is east at x in [54, 60],
    y in [12, 18]. A plume is put over the direct passage by the caller."""
    yard = box(0, 0, 60, 30)
    rack = unary_union([box(28, 3, 32, 13), box(28, 17, 32, 30)])
    walk = yard.difference(rack)
    geo = EvacuationGeometry(walk, [Goal("muster", box(54, 12, 60, 18))])
    rng = np.random.default_rng(seed)
    pos = random_positions(box(3, 11, 12, 19), n, rng, min_distance=0.6, wall_distance=0.3)
    return Scenario(geo, Population(pos), areas={"direct_passage": box(28, 13, 32, 17),
                                                 "detour_passage": box(28, 0, 32, 3)})
