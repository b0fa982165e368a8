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

from .geometry import EvacuationGeometry, Goal, SpeedZone
from .population import Population, random_positions

__all__ = ["Scenario", "corridor_rimea1", "corner_rimea6", "room_rimea9", "bottleneck", "rimea12",
           "periodic_corridor", "counterflow_nist28", "exit_loss_nist41", "room_two_exits",
           "obstacle_field", "plume_detour", "room_side_exit", "exit_choice_rimea11", "allocation_rimea10",
           "stairs_rimea13", "route_choice_rimea14", "corner_rimea15", "single_file_ring", "goal_position_rimea12a",
           "two_bottlenecks_rimea12c", "stair_nist22", "overtaking_nist210", "room_exit_nist52",
           "groups_nist29", "two_exit_room_nist32", "familiar_exits_nist33"]


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


def _door_with_apron(x0: float, x1: float, y0: float, y1: float, side: str, name: str):
    """A 0.2 m door in the ``side`` wall of the room (x0, y0)-(x1, y1) (the door spans x0..x1 in a
    south/north wall, y0..y1 in an east/west wall) and a 4 m x 4 m apron behind it whose far half
    is the goal."""
    if side in ("south", "north"):
        c = 0.5 * (x0 + x1)
        y = y0 if side == "south" else y1
        out = -1.0 if side == "south" else 1.0
        door = box(x0, min(y, y + 0.2 * out), x1, max(y, y + 0.2 * out))
        apron = box(c - 2, min(y + 0.2 * out, y + 4.2 * out), c + 2, max(y + 0.2 * out, y + 4.2 * out))
        goal = box(c - 2, min(y + 2.2 * out, y + 4.2 * out), c + 2, max(y + 2.2 * out, y + 4.2 * out))
    else:
        c = 0.5 * (y0 + y1)
        x = x1 if side == "east" else x0
        out = 1.0 if side == "east" else -1.0
        door = box(min(x, x + 0.2 * out), y0, max(x, x + 0.2 * out), y1)
        apron = box(min(x + 0.2 * out, x + 4.2 * out), c - 2, max(x + 0.2 * out, x + 4.2 * out), c + 2)
        goal = box(min(x + 2.2 * out, x + 4.2 * out), c - 2, max(x + 2.2 * out, x + 4.2 * out), c + 2)
    return [door, apron], Goal(name, goal)


def room_side_exit(n: int = 1000, seed: int = 0) -> Scenario:
    """RiMEA 9's 30 m x 20 m room with two 1 m exits: one in the middle of the south wall (x 14.5-15.5 m), the other
    moved to the east side wall (y 9.5-10.5 m); people evenly in the area inset 2 m. An exit
    choice that reacts to queues uses both exits until near the end."""
    room = box(0, 0, 30, 20)
    parts_a, goal_a = _door_with_apron(14.5, 15.5, 0, 20, "south", "south")
    parts_b, goal_b = _door_with_apron(30, 30, 9.5, 10.5, "east", "east")
    geo = EvacuationGeometry(unary_union([room, *parts_a, *parts_b]), [goal_a, goal_b])
    rng = np.random.default_rng(seed)
    pos = random_positions(box(2, 2, 28, 18), n, rng, min_distance=0.4, wall_distance=0.0)
    return Scenario(geo, Population(pos))


def exit_choice_rimea11(n: int = 1000, seed: int = 0) -> Scenario:
    """RiMEA 4.1.1 test 11: room 30 m x 20 m, two 1 m exits in the top wall near its right end
    (exit 1 at x 21-22 m, exit 2 at x 27-28 m); people packed in the left part (x 2-15.5 m,
    y 2-18 m). Most use the nearer exit 1 and a jam forms there, but some use exit 2."""
    room = box(0, 0, 30, 20)
    parts_1, goal_1 = _door_with_apron(21, 22, 0, 20, "north", "exit1")
    parts_2, goal_2 = _door_with_apron(27, 28, 0, 20, "north", "exit2")
    geo = EvacuationGeometry(unary_union([room, *parts_1, *parts_2]), [goal_1, goal_2])
    rng = np.random.default_rng(seed)
    step = np.sqrt(13.5 * 16 / n)  # packed: a jittered square lattice over the start area
    nx_, ny_ = int(np.ceil(13.5 / step)), int(np.ceil(16 / step))
    gx, gy = np.meshgrid(2 + (np.arange(nx_) + 0.5) * 13.5 / nx_, 2 + (np.arange(ny_) + 0.5) * 16 / ny_)
    pos = np.column_stack([gx.ravel(), gy.ravel()])[rng.permutation(nx_ * ny_)[:n]]
    pos += rng.uniform(-0.03, 0.03, pos.shape)
    return Scenario(geo, Population(pos))


def allocation_rimea10(seed: int = 0) -> Scenario:
    """RiMEA 4.1.1 test 10 / NIST TN 1822 verification 3.1: a 1 m corridor (y 5-6 m) with six
    5 m x 3 m rooms on each side (0.9 m doors); the 1.2 m main exit leads north between rooms 2
    and 3, the secondary exit is the corridor's east end. Room 3 holds one person, the others two
    (23); rooms 1-4 and 7-10 are allocated to the main exit, 5, 6, 11 and 12 to the secondary."""
    xs = [0.0, 3.2, 7.8, 11.0, 14.2, 17.4]  # west edges of rooms 1-6 (north) and 7-12 (south); 0.2 m walls
    parts = [box(0, 5, 20.4, 6), box(6.4, 6, 7.6, 11), box(20.4, 5, 23.4, 6)]
    rng = np.random.default_rng(seed)
    pos, targets = [], []
    for k, x in enumerate(xs):
        for row, (y0, y1, dy0, dy1) in enumerate(((6.2, 11.2, 6.0, 6.2), (-0.2, 4.8, 4.8, 5.0))):
            room = 1 + k + 6 * row
            parts += [box(x, y0, x + 3, y1), box(x + 1.05, dy0, x + 1.95, dy1)]
            count = 1 if room == 3 else 2
            pts = rng.uniform((x + 0.5, y0 + 0.8), (x + 2.5, y1 - 0.8), (count, 2))
            pos.append(pts)
            targets += ["main" if room in (1, 2, 3, 4, 7, 8, 9, 10) else "secondary"] * count
    geo = EvacuationGeometry(unary_union(parts), [Goal("main", box(6.4, 9, 7.6, 11)),
                                                  Goal("secondary", box(22.4, 5, 23.4, 6))])
    return Scenario(geo, Population(np.vstack(pos), targets=targets))


def stairs_rimea13(n: int = 150, seed: int = 0) -> Scenario:
    """RiMEA 4.1.1 test 13 (stairs as a speed zone, factor 0.5 upwards): a 5 m x 8 m room with
    ``n`` people, a 12 m x 2 m corridor, a 3 m stair and a 1 m landing, then the goal."""
    walk = unary_union([box(0, 0, 8, 5), box(8, 1.5, 20, 3.5), box(20, 1.5, 24, 3.5), box(24, 1.5, 27, 3.5)])
    geo = EvacuationGeometry(walk, [Goal("top", box(25, 1.5, 27, 3.5))], speed_zones=[SpeedZone(box(20, 1.5, 23, 3.5), 0.5)])
    rng = np.random.default_rng(seed)
    pos = random_positions(box(0, 0, 8, 5), n, rng, min_distance=0.36, wall_distance=0.18)
    return Scenario(geo, Population(pos),
                    lines={"room_exit": LineString([(8, 1.5), (8, 3.5)]), "stair_foot": LineString([(20, 1.5), (20, 3.5)]),
                           "stair_top": LineString([(23, 1.5), (23, 3.5)])},
                    areas={"before_room_exit": box(6, 1.5, 8, 3.5), "corridor_mid": box(13, 1.5, 15, 3.5),
                           "before_stair": box(18, 1.5, 20, 3.5)})


def route_choice_rimea14(seed: int = 0) -> Scenario:
    """RiMEA 4.1.1 test 14 in a 2-D plan: start and target joined by a short route over two
    stairs (down to another floor and up again; speed zones 0.75 and 0.5) and a longer level
    route. Which route people take is documented (RiMEA sets no criterion)."""
    walk = unary_union([box(0, 0, 4, 4), box(4, 0, 20, 2), box(20, 0, 24, 4),  # short: via the stairs
                        box(0, 4, 2, 14), box(2, 12, 22, 14), box(22, 4, 24, 14)])  # long: level
    geo = EvacuationGeometry(walk, [Goal("target", box(22, 0, 24, 2))],
                             speed_zones=[SpeedZone(box(6, 0, 9, 2), 0.75), SpeedZone(box(15, 0, 18, 2), 0.5)])
    rng = np.random.default_rng(seed)
    pos = random_positions(box(0.3, 0.3, 3.7, 3.7), 10, rng, min_distance=0.6, wall_distance=0.2)
    return Scenario(geo, Population(pos), areas={"stair_route": box(10, 0, 14, 2), "level_route": box(10, 12, 14, 14)})


def corner_rimea15(kind: str, n: int = 500, seed: int = 0) -> Scenario:
    """RiMEA 4.1.1 test 15: ``n`` people in a 20 m x 6 m start area walk along a 20 m wide way to
    a target: ``"short"`` straight (as long as the inner edge of the corner), ``"long"``
    straight (as long as its outer edge) or ``"corner"`` (a left turn). Here the inner edge is
    28 m + 10 m = 38 m and the outer edge 48 m + 30 m = 78 m from the front of the start area;
    the corner time must lie between the two straight ones."""
    start = box(0, 0, 6, 20)
    if kind == "corner":
        walk = unary_union([box(0, 0, 54, 20), box(34, 20, 54, 32)])
        goal = Goal("target", box(34, 30, 54, 32))
    else:
        length = 38.0 if kind == "short" else 78.0
        walk = box(0, 0, 6 + length + 2, 20)
        goal = Goal("target", box(6 + length, 0, 6 + length + 2, 20))
    rng = np.random.default_rng(seed)
    step = np.sqrt(start.area / n)
    nx_, ny_ = int(np.ceil(6 / step)), int(np.ceil(20 / step))
    gx, gy = np.meshgrid((np.arange(nx_) + 0.5) * 6 / nx_, (np.arange(ny_) + 0.5) * 20 / ny_)
    pos = np.column_stack([gx.ravel(), gy.ravel()])[rng.permutation(nx_ * ny_)[:n]] + rng.uniform(-0.03, 0.03, (n, 2))
    return Scenario(EvacuationGeometry(walk, [goal]), Population(pos))


def single_file_ring(n: int, width: float = 0.8, length: float = 20.0, speed: float = 1.2, seed: int = 0) -> Scenario:
    """RiMEA 4.1.1 test 16 (single file): ``n`` people in a corridor ``width`` wide, periodic
    over ``length`` (the ring without its bends), free speed ``speed``."""
    geo = EvacuationGeometry(box(0, 0, length, width), [Goal("east", box(length - 0.5, 0, length, width), sink=False)],
                             periodic_x=(0.0, length))
    rng = np.random.default_rng(seed)
    x = (np.arange(n) + 0.5) * length / n
    y = width / 2 + rng.uniform(-0.15, 0.15, n) * (width > 0.5)
    return Scenario(geo, Population(np.column_stack([x, y]), free_speed_m_s=np.full(n, speed)))


def goal_position_rimea12a(a: float, n: int = 50, seed: int = 0) -> Scenario:
    """RiMEA 4.1.1 test 12a (position of the goal): room 1 10 m x 10 m, a 1 m opening in a 0.2 m
    wall, room 2 10 m x 10 m whose goal is a 0.2 m strip across it at distance ``a`` behind the
    wall; ``n`` people in the left half of room 1 (the reference implementation's set-up). Room 1's
    clearance is the last crossing of the opening."""
    walk = unary_union([box(0, 0, 10, 10), box(10, 4.5, 10.2, 5.5), box(10.2, 0, 20.2, 10)])
    geo = EvacuationGeometry(walk, [Goal("goal", box(10.2 + a, 0, 10.4 + a, 10))])
    rng = np.random.default_rng(seed)
    pos = random_positions(box(0, 0, 5, 10), n, rng, min_distance=0.4, wall_distance=0.2)
    return Scenario(geo, Population(pos), lines={"opening": LineString([(10.1, 4.5), (10.1, 5.5)])}, info={"a_m": a})


def two_bottlenecks_rimea12c(n: int = 150, seed: int = 0) -> Scenario:
    """RiMEA 4.1.1 test 12c (influence of congestion): three 10 m x 10 m rooms in a row joined by
    two identical 1 m x 1 m bottlenecks; ``n`` people in the left half of room 1, the goal behind a
    1 m exit of room 3. Boxes 2 m x 3 m in front of each bottleneck count the queues; lines across
    each bottleneck's exit measure the flows."""
    walk = unary_union([box(0, 0, 10, 10), box(10, 4.5, 11, 5.5), box(11, 0, 21, 10), box(21, 4.5, 22, 5.5),
                        box(22, 0, 32, 10), box(32, 4.5, 32.2, 5.5), box(32.2, 3, 36.2, 7)])
    geo = EvacuationGeometry(walk, [Goal("exit", box(34.2, 3, 36.2, 7))])
    rng = np.random.default_rng(seed)
    pos = random_positions(box(0, 0, 5, 10), n, rng, min_distance=0.4, wall_distance=0.2)
    return Scenario(geo, Population(pos),
                    lines={"b1": LineString([(11, 4.5), (11, 5.5)]), "b2": LineString([(22, 4.5), (22, 5.5)])},
                    areas={"before_b1": box(8, 3.5, 10, 6.5), "before_b2": box(19, 3.5, 21, 6.5),
                           "room1": box(0, 0, 10, 10), "room2": box(11, 0, 21, 10)})


def stair_nist22(direction: str, stair_speed: float = 1.0, level_speed: float = 1.25) -> Scenario:
    """NIST TN 1822 verification 2.2 (speed on stairs) in a 2-D plan: a 2 m wide stair, 100 m
    measured along its slope, as a speed zone whose factor gives the occupant the assigned stair
    speed (``stair_speed / level_speed``), with 10 m of level floor at each end; one occupant walks
    ``up`` (+x) or ``down`` (-x)."""
    walk = box(-12, 0, 112, 2)
    goal = Goal("top", box(111, 0, 112, 2)) if direction == "up" else Goal("bottom", box(-12, 0, -11, 2))
    geo = EvacuationGeometry(walk, [goal], speed_zones=[SpeedZone(box(0, 0, 100, 2), stair_speed / level_speed)])
    x0 = -10.0 if direction == "up" else 110.0
    pop = Population(np.array([[x0, 1.0]]), free_speed_m_s=np.array([level_speed]))
    return Scenario(geo, pop, lines={"a": LineString([(0, 0), (0, 2)]), "b": LineString([(100, 0), (100, 2)])})


def overtaking_nist210(impaired: bool, speed_m_s: float = 0.8, radius_factor: float = 2.0, n_others: int = 24,
                       others_speed_m_s: float = 1.25, seed: int = 0) -> Scenario:
    """NIST TN 1822 verification 2.10 (people with movement disabilities): ``n_others`` occupants at
    ``others_speed_m_s`` start behind one occupant in a 2 m x 40 m corridor (as test 2.1) and must
    overtake them; the impaired occupant walks at ``speed_m_s`` and takes ``radius_factor`` times
    the default body radius (NIST: 0.8 m/s and radius 0.4 m against 1.25 m/s and 0.2 m). The
    control (``impaired=False``) gives that occupant the others' speed and radius."""
    from .params import LocomotionParams
    r0 = LocomotionParams().radius_m
    walk = box(-10, 0, 44, 2)
    geo = EvacuationGeometry(walk, [Goal("end", box(43, 0, 44, 2))])
    rng = np.random.default_rng(seed)
    others = random_positions(box(-10, 0, -2, 2), n_others, rng, min_distance=0.45, wall_distance=0.2)
    pos = np.vstack([[[1.0, 1.0]], others])
    v = np.full(n_others + 1, others_speed_m_s)
    r = np.full(n_others + 1, r0)
    if impaired:
        v[0], r[0] = speed_m_s, radius_factor * r0
    return Scenario(geo, Population(pos, free_speed_m_s=v, radius_m=r), info={"impaired_index": 0})


def room_exit_nist52(n: int = 100, seed: int = 0) -> Scenario:
    """NIST TN 1822 verification 5.2 (maximum flow rates): ``n`` occupants in an 8 m x 5 m room
    with a 1 m exit centred in a 5 m wall; the flow is measured across the exit, the sink is 3 m
    downstream in an open area (so the sink does not set the flow)."""
    walk = unary_union([box(0, 0, 8, 5), box(8, 2, 8.2, 3), box(8.2, -1, 12.2, 6)])
    geo = EvacuationGeometry(walk, [Goal("out", box(11.2, -1, 12.2, 6))])
    rng = np.random.default_rng(seed)
    pos = random_positions(box(0, 0, 8, 5), n, rng, min_distance=0.36, wall_distance=0.18)
    return Scenario(geo, Population(pos), lines={"exit": LineString([(8.1, 2), (8.1, 3)])})


def groups_nist29(grouped: bool = True, seed: int = 0) -> Scenario:
    """NIST TN 1822 verification 2.9 (group behaviours): group 1 = 4 occupants at 1.25 m/s and one
    at 0.5 m/s, starting in the far part of a 20 m x 20 m room (y 16-19.5 m); group 2 = 10 occupants
    at 0.2 m/s (y 8-12 m); a 1 m exit centred in the south wall. Group 1 must reach the exit
    together (arrival spread <= 10 s, the reference implementation's reading of the TN).
    ``grouped=False`` gives the same people without groups (the control)."""
    walk = unary_union([box(0, 0, 20, 20), box(9.5, -0.2, 10.5, 0), box(7, -4.2, 13, -0.2)])
    geo = EvacuationGeometry(walk, [Goal("exit", box(7, -4.2, 13, -2.2))])
    rng = np.random.default_rng(seed)
    g1 = random_positions(box(6, 16, 14, 19.5), 5, rng, min_distance=0.8, wall_distance=0.3)
    g2 = random_positions(box(3, 8, 17, 12), 10, rng, min_distance=0.8, wall_distance=0.3)
    pos = np.vstack([g1, g2])
    v = np.array([1.25, 1.25, 1.25, 1.25, 0.5] + [0.2] * 10)
    groups = np.array([0] * 5 + [1] * 10) if grouped else None
    return Scenario(geo, Population(pos, free_speed_m_s=v, groups=groups), info={"group1": np.arange(5),
                                                                                 "group2": np.arange(5, 15)})


def two_exit_room_nist32(committed: bool, seed: int = 0) -> Scenario:
    """NIST TN 1822 verification 3.2 (social influence): a 10 m x 11 m room with two 1 m exits at
    the two ends of the north wall, equidistant from two free occupants near the middle of the
    south wall (y < 1.5 m); with ``committed`` a third occupant, assigned to exit 2, starts ahead of
    them (y 2.5-3.5 m) — the reference implementation's set-up. The free occupants are 0 and 1."""
    walk = unary_union([box(0, 0, 10, 11), box(0, 11, 1, 13), box(9, 11, 10, 13)])
    geo = EvacuationGeometry(walk, [Goal("exit1", box(0, 12, 1, 13)), Goal("exit2", box(9, 12, 10, 13))])
    rng = np.random.default_rng(seed)
    free = np.column_stack([5.0 + rng.uniform(-0.6, 0.6, 2) + np.array([-0.8, 0.8]), rng.uniform(0.5, 1.4, 2)])
    pos = free
    targets: list[str | None] = [None, None]
    if committed:
        pos = np.vstack([free, [[5.0 + rng.uniform(-0.5, 0.5), rng.uniform(2.5, 3.5)]]])
        targets = [None, None, "exit2"]
    return Scenario(geo, Population(pos, free_speed_m_s=np.full(len(pos), 1.25), targets=targets))


def familiar_exits_nist33(familiar_share_exit2: float | None, n: int = 20, seed: int = 0) -> Scenario:
    """NIST TN 1822 verification 3.3 (affiliation): the room of :func:`two_exit_room_nist32` with
    ``n`` occupants in its southern half; ``familiar_share_exit2`` of them know exit 2, the others
    exit 1 (None = nobody knows an exit: the balanced control)."""
    walk = unary_union([box(0, 0, 10, 11), box(0, 11, 1, 13), box(9, 11, 10, 13)])
    geo = EvacuationGeometry(walk, [Goal("exit1", box(0, 12, 1, 13)), Goal("exit2", box(9, 12, 10, 13))])
    rng = np.random.default_rng(seed)
    pos = random_positions(box(1, 0, 9, 5), n, rng, min_distance=0.6, wall_distance=0.3)
    familiar = None
    if familiar_share_exit2 is not None:
        k2 = int(round(familiar_share_exit2 * n))
        who = rng.permutation(n)
        familiar = ["exit1"] * n
        for i in who[:k2]:
            familiar[i] = "exit2"
    return Scenario(geo, Population(pos, free_speed_m_s=np.full(n, 1.25), familiar_goals=familiar))
