"""SafeTwin evacuation engine vs JuPedSim, same scenario, same time step, same model parameters.

Scenes (emergency_planner.evacuation.scenarios):
  room   1 000 people in a 50 m x 50 m room with two 2 m exits (nearest exit)
  yard  10 000 people on a 200 m x 200 m yard with 36 plant blocks and twelve 5 m gates

Both engines run the collision-free speed model (Tordeux et al. 2016) with the same radius, time
gap, repulsion constants and the same free speeds N(1.34, 0.26) clipped [0.5, 2.2]. The shared
parameter set is JuPedSim's tested one (radius 0.15 m, time gap 1.0 s, its default repulsion
constants): with SafeTwin's calibrated set (radius 0.10 m) JuPedSim pushes people through wall
corners ("Point ... is outside of accessible area") because it has no wall constraint, so the
comparison uses the set both engines run safely (``--params safetwin`` tries SafeTwin's). JuPedSim
(CollisionFreeSpeedModel, 1.4.x) gets each person's exit as a fixed journey (the exit with the
shortest geodesic route, from SafeTwin's fast-marching field; in the open room this equals the
nearest exit), SafeTwin routes everyone to the nearest open exit by travel time.

Throughput: agent-steps per CPU-second = sum over steps of the people still in the simulation /
CPU time of this process in the stepping loop (JuPedSim: ``iterate()``; SafeTwin: ``model.step()``
including navigation, arrival and bookkeeping). CPU time, not wall time: the machine is shared, and
a Numba parallel region's threads are all counted (JuPedSim is single-threaded), so more cores do
not count as speed. Wall-time rates are printed next to them. Set-up (geometry rasterisation, fast
marching, JIT compilation, adding agents) is reported separately.

Usage:  .venv/bin/python benchmarks/bench_evacuation.py [--dt 0.05] [--scenes room yard]
        [--n-room 1000] [--n-yard 10000] [--max-time 900] [--params jupedsim|safetwin]
"""
from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np

from safetwin.app.machine import compute_threads
from safetwin.emergency_planner.evacuation import (EvacuationModel, EvacuationParams, LocomotionParams,
                                                   NavigationParams, OutputParams, weidmann_speeds)
from safetwin.emergency_planner.evacuation import scenarios as S
from safetwin.emergency_planner.evacuation.navigation import NavigationFields, build_raster


@dataclass
class EngineRun:
    engine: str
    n: int
    evac_time_s: float
    remaining: int
    agent_steps: int
    loop_wall_s: float
    setup_wall_s: float
    loop_cpu_s: float = float("nan")
    error: str = ""

    @property
    def agent_steps_per_s(self) -> float:
        """Agent-steps per wall-clock second of the stepping loop."""
        return self.agent_steps / self.loop_wall_s if self.loop_wall_s > 0 else float("nan")

    @property
    def agent_steps_per_cpu_s(self) -> float:
        """Agent-steps per CPU-second of the stepping loop (all threads of the process)."""
        return self.agent_steps / self.loop_cpu_s if self.loop_cpu_s > 0 else float("nan")


def build(scene: str, n: int, seed: int = 1):
    sc = S.room_two_exits(n, seed=seed) if scene == "room" else S.obstacle_field(n, seed=seed)
    rng = np.random.default_rng(seed + 100)
    sc.population.free_speed_m_s = weidmann_speeds(len(sc.population), rng)
    return sc


# the plain collision-free speed model on both sides (SafeTwin's density limit off): same model family
PARAMS = {"jupedsim": LocomotionParams(radius_m=0.15, time_gap_s=1.0, range_neighbour_m=0.1, density_radius_m=0.0),
          "safetwin": LocomotionParams()}


def run_safetwin(sc, dt: float, max_time: float, loc: LocomotionParams) -> EngineRun:
    t0 = time.perf_counter()
    # JuPedSim: fixed nearest exit, static navigation (SafeTwin's dynamic crowd cost off)
    nav = NavigationParams(route_choice="nearest", crowd_cost_per_density=0.0)
    params = EvacuationParams(dt_s=dt, t_max_s=max_time, locomotion=loc, threads=compute_threads(),
                              navigation=nav, output=OutputParams(trajectory_interval_s=None))
    model = EvacuationModel(sc.geometry, sc.population, params)
    setup = time.perf_counter() - t0
    c0, w0 = time.process_time(), time.perf_counter()
    model.run()
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    res = model.result()
    remaining = len(res.not_accounted_for)
    return EngineRun("SafeTwin", res.n, res.rset_s if remaining == 0 else float("nan"), remaining,
                     res.agent_steps, wall, setup, cpu)


def nearest_goal_by_route(sc) -> np.ndarray:
    """Index of the goal with the shortest geodesic route for every person (fast marching)."""
    geo = sc.geometry
    params = EvacuationParams().navigation
    nav = NavigationFields(build_raster(geo, params), params)
    P = sc.population.positions
    T = np.stack([nav.sample_T((g,), P[:, 0], P[:, 1]) for g in range(len(geo.goals))])
    return np.argmin(T, axis=0)


def run_jupedsim(sc, dt: float, max_time: float, loc: LocomotionParams, watchdog_s: float = 60.0) -> EngineRun:
    import jupedsim as jps

    t0 = time.perf_counter()
    choice = nearest_goal_by_route(sc)
    sim = jps.Simulation(model=jps.CollisionFreeSpeedModel(
        strength_neighbor_repulsion=loc.strength_neighbour, range_neighbor_repulsion=loc.range_neighbour_m,
        strength_geometry_repulsion=loc.strength_wall, range_geometry_repulsion=loc.range_wall_m),
        geometry=sc.geometry.walkable, dt=dt, trajectory_writer=None)
    stages = []
    for g in sc.geometry.goals:
        ex = sim.add_exit_stage(g.polygon.intersection(sc.geometry.walkable))
        stages.append((ex, sim.add_journey(jps.JourneyDescription([ex]))))
    v0 = sc.population.free_speed_m_s
    for k, (x, y) in enumerate(sc.population.positions):
        ex, jid = stages[choice[k]]
        sim.add_agent(jps.CollisionFreeSpeedModelAgentParameters(
            position=(float(x), float(y)), desired_speed=float(v0[k]), radius=loc.radius_m,
            time_gap=loc.time_gap_s, journey_id=jid, stage_id=ex))
    setup = time.perf_counter() - t0
    n = sim.agent_count()
    agent_steps = 0
    loop = 0.0
    loop_cpu = 0.0
    last_count, last_change = n, 0.0
    error = ""
    while sim.agent_count() > 0 and sim.elapsed_time() < max_time:
        c = sim.agent_count()
        agent_steps += c
        t1, c1 = time.perf_counter(), time.process_time()
        try:
            sim.iterate()
        except RuntimeError as exc:  # e.g. "Point ... is outside of accessible area"
            error = str(exc)
            break
        loop += time.perf_counter() - t1
        loop_cpu += time.process_time() - c1
        if sim.agent_count() != last_count:
            last_count, last_change = sim.agent_count(), sim.elapsed_time()
        elif sim.elapsed_time() - last_change > watchdog_s:
            break  # no exit for watchdog_s: deadlock
    remaining = sim.agent_count()
    evac = sim.elapsed_time() if remaining == 0 else float("nan")
    return EngineRun("JuPedSim", n, evac, remaining, agent_steps, loop, setup, loop_cpu, error)


def compare(scene: str, n: int, dt: float, max_time: float, params: str = "jupedsim", verbose: bool = True) -> dict:
    loc = PARAMS[params]
    sc = build(scene, n)
    st = run_safetwin(sc, dt, max_time, loc)
    jp = run_jupedsim(sc, dt, max_time, loc)
    ratio = st.agent_steps_per_cpu_s / jp.agent_steps_per_cpu_s
    ratio_wall = st.agent_steps_per_s / jp.agent_steps_per_s
    dtime = (st.evac_time_s - jp.evac_time_s) / jp.evac_time_s
    out = {"scene": scene, "n": n, "dt_s": dt, "safetwin": st, "jupedsim": jp, "throughput_ratio": ratio,
           "throughput_ratio_wall": ratio_wall,
           "evac_time_rel_diff": dtime}
    if verbose:
        for r in (st, jp):
            print(f"  {r.engine:9s} n={r.n:6d}  evac time {r.evac_time_s:8.1f} s  remaining {r.remaining:5d}  "
                  f"agent-steps/CPU-s {r.agent_steps_per_cpu_s:11,.0f}  /wall-s {r.agent_steps_per_s:11,.0f}  "
                  f"loop CPU {r.loop_cpu_s:7.1f} s  wall {r.loop_wall_s:7.1f} s  setup {r.setup_wall_s:5.1f} s"
                  + (f"  STOPPED: {r.error}" if r.error else ""))
        print(f"  throughput ratio SafeTwin/JuPedSim per CPU-s = {ratio:.1f}x (target >= 10x), per wall-s {ratio_wall:.1f}x   "
              f"evacuation time difference = {100 * dtime:+.1f} % (target within 10 %)")
    return out


def warm_up(dt: float) -> None:
    """Run a tiny scene once so JIT compilation / cache loading is not timed."""
    warm = build("room", 20)
    EvacuationModel(warm.geometry, warm.population, EvacuationParams(dt_s=dt, t_max_s=2.0)).run()


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dt", type=float, default=0.05)
    ap.add_argument("--scenes", nargs="+", default=["room", "yard"], choices=["room", "yard"])
    ap.add_argument("--n-room", type=int, default=1000)
    ap.add_argument("--n-yard", type=int, default=10_000)
    ap.add_argument("--max-time", type=float, default=900.0)
    ap.add_argument("--params", default="jupedsim", choices=sorted(PARAMS))
    a = ap.parse_args(argv)
    warm_up(a.dt)
    results = []
    for scene in a.scenes:
        n = a.n_room if scene == "room" else a.n_yard
        loc = PARAMS[a.params]
        print(f"== scene {scene}: {n} people, dt = {a.dt} s, radius {loc.radius_m} m, time gap {loc.time_gap_s} s")
        results.append(compare(scene, n, a.dt, a.max_time, a.params))
    return results


if __name__ == "__main__":
    main()
