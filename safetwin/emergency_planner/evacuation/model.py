"""The evacuation model: a Mesa 3.3 ``Model`` whose people are Mesa agents, moved in bulk.

Every person is a :class:`Person` (a ``mesa.Agent``) — the readable façade: ``person.position``,
``person.state``, ``person.dose``, ``person.target`` … — but the state lives in numpy arrays owned by
:class:`EvacuationModel`, and one ``model.step()`` advances *all* people by ``dt`` with the numba
collision-free-speed kernel: no per-agent Python on the hot path, and evacuees are *marked*
arrived, never ``remove()``d (Mesa's agent set is not built for thousands of removals per step).

Example
-------
>>> import numpy as np
>>> from shapely import box
>>> from safetwin.emergency_planner.evacuation import EvacuationGeometry, Goal, EvacuationModel, Population
>>> geo = EvacuationGeometry(box(0, 0, 20, 10), [Goal("muster", box(18, 0, 20, 10))])
>>> model = EvacuationModel(geo, Population(np.array([[2.0, 5.0], [3.0, 3.0]]), free_speed_m_s=np.array([1.3, 1.2])))
>>> model.run()                                  # doctest: +SKIP
>>> [p.state for p in model.people]              # doctest: +SKIP
['arrived', 'arrived']
"""
from __future__ import annotations

import math
import time as _time
from dataclasses import dataclass
from collections.abc import Callable, Sequence

import mesa
import numba
import numpy as np
import shapely
from scipy import ndimage
from mesa.experimental.continuous_space import ContinuousSpace, ContinuousSpaceAgent
from shapely.geometry import LineString, Polygon

from ..physics.indoor import indoor_step
from . import _kernels as K
from .exposure import Exposure
from .geometry import EvacuationGeometry, build_wall_index, wall_segments
from .navigation import (HazardFn, NavigationFields, build_raster, forward_arrival_time,
                         hazard_cost_raster)
from .params import EvacuationParams
from .population import Population, weidmann_speeds

__all__ = ["EvacuationModel", "Person", "ExitClosure", "Blockage", "STATES",
           "WORKING", "ALERTED", "MOVING", "SHELTERING", "ARRIVED", "INCAPACITATED"]

WORKING, ALERTED, MOVING, SHELTERING, ARRIVED, INCAPACITATED = range(6)
#: re-sort the people by cell (cache locality of the locomotion kernel) every this many steps
_SORT_EVERY = 20
STATES = ("working", "alerted", "moving", "sheltering", "arrived", "incapacitated")


@dataclass(frozen=True)
class ExitClosure:
    """Goal ``goal`` becomes unavailable at ``time_s`` (NIST TN 1822 verification 4.1)."""

    time_s: float
    goal: str


@dataclass(frozen=True)
class Blockage:
    """``polygon`` (a gate, a road section) becomes unwalkable at ``time_s``: removed from the
    navigation raster and its outline added to the walls."""

    time_s: float
    polygon: Polygon


class Person(ContinuousSpaceAgent):
    """One person: a Mesa agent in the model's ``ContinuousSpace`` whose row ``index`` of the
    model's arrays is its state (``person.position`` is row ``index`` of
    ``model.space.agent_positions``, the very array the locomotion kernel moves).

    Behaviour is written as agent methods over the vectorised core: each method acts on this one
    person through the same array functions the model applies to whole groups at once (the model
    never calls a Python method per person and step; it calls these when an event of the person is
    due, or the batch form for everybody due at that time):

    * :meth:`hear_alarm` — working -> alerted, the pre-movement clock starts;
    * :meth:`start_moving` — alerted -> moving once the pre-movement time has passed;
    * :meth:`reconsider_route` — quickest-exit choice with the queue ahead and hysteresis, the
      familiar exit preferred and, on the first choice, the exits of the people around followed
      (see :meth:`EvacuationModel.reconsider_routes`);
    * :meth:`keep_with_group` — walk at the group's pace, wait for the ones behind
      (see :meth:`EvacuationModel.keep_groups`).
    """

    def __init__(self, model: EvacuationModel, index: int, person_id: str):
        super().__init__(model.space, model)
        self.index = int(index)
        self.person_id = person_id

    @property
    def position(self) -> tuple[float, float]:
        p = self.model.pos[self.index]
        return float(p[0]), float(p[1])

    @property
    def x_m(self) -> float:
        return float(self.model.pos[self.index, 0])

    @property
    def y_m(self) -> float:
        return float(self.model.pos[self.index, 1])

    @property
    def state(self) -> str:
        return STATES[self.model.state[self.index]]

    @property
    def free_speed_m_s(self) -> float:
        return float(self.model.v0[self.index])

    @property
    def premovement_s(self) -> float:
        return float(self.model.premove[self.index])

    @property
    def target(self) -> str | None:
        t = self.model.target[self.index]
        return None if t < 0 else self.model.geometry.goals[t].name

    @property
    def arrival_time_s(self) -> float:
        return float(self.model.t_arrival[self.index])

    @property
    def speed_m_s(self) -> float:
        """Speed over the last step."""
        return float(self.model.speed[self.index])

    @property
    def dose(self) -> dict[str, float]:
        return {e.name: float(self.model.dose[k][self.index]) for k, e in enumerate(self.model.exposures)}

    def hear_alarm(self) -> None:
        """The person is alerted now (site alarm, a phone call, a colleague): working -> alerted,
        starts moving after their pre-movement time."""
        self.model.alert(np.array([self.index]))

    def start_moving(self) -> None:
        """Alerted -> moving now (the pre-movement time is over)."""
        self.model.start_moving(np.array([self.index]))

    def reconsider_route(self) -> None:
        """Re-choose the exit now (quickest exit with the queue ahead, with hysteresis)."""
        self.model.reconsider_routes(np.array([self.index]))

    @property
    def group(self) -> int | None:
        g = int(self.model.group[self.index])
        return None if g < 0 else g

    @property
    def familiar_goal(self) -> str | None:
        f = int(self.model.familiar[self.index])
        return None if f < 0 else self.model.geometry.goals[f].name

    def keep_with_group(self) -> None:
        """Adjust this person's speed to their group now (slowest member's pace, wait if ahead)."""
        self.model.keep_groups(np.array([self.index]))

    def step(self) -> None:
        """Mesa's per-agent step, for driving one person by hand: start moving once due.
        ``EvacuationModel.step`` does this for everybody in bulk (and moves them)."""
        m = self.model
        if m.state[self.index] == ALERTED and m.t_start[self.index] <= m.time + 1e-9:
            self.start_moving()


#: ``progress(time_s, arrived, n)`` of :meth:`EvacuationModel.run`: simulated time (s), people at a goal, people
ProgressFn = Callable[[float, int, int], None]
#: simulated time (s) between two progress reports of a run
PROGRESS_INTERVAL_S = 10.0


class EvacuationModel(mesa.Model):
    """Mesa model of an evacuation. Build it, then ``run()`` (or call ``step()`` yourself)."""

    def __init__(self, geometry: EvacuationGeometry, population: Population,
                 params: EvacuationParams | None = None, hazard: HazardFn | None = None,
                 exposures: Sequence[Exposure] = (), events: Sequence[ExitClosure | Blockage] = (),
                 measurement_lines: dict[str, LineString] | None = None):
        params = params or EvacuationParams()
        super().__init__(seed=params.seed)
        self.params = params
        self.geometry = geometry
        self.hazard = hazard
        self.exposures = list(exposures)
        self.events = sorted(events, key=lambda e: e.time_s)
        self.dt = float(params.dt_s)
        self.time = 0.0
        rng = np.random.default_rng(params.seed)
        self.np_rng = rng
        n = len(population)
        self.n = n
        loc = params.locomotion
        # --- per-person arrays (the model owns the state; Person reads from here) ----------
        self.pos = np.ascontiguousarray(population.positions, dtype=np.float64).copy()
        self.v0 = (np.asarray(population.free_speed_m_s, float).copy() if population.free_speed_m_s is not None
                   else weidmann_speeds(n, rng))
        self.radius = (np.asarray(population.radius_m, float).copy() if population.radius_m is not None
                       else np.full(n, loc.radius_m))
        self.tgap = np.full(n, loc.time_gap_s)
        self.premove = (np.asarray(population.premovement_s, float).copy() if population.premovement_s is not None
                        else population.premovement.sample(n, rng))
        self.t_alerted = np.full(n, np.nan)
        self.t_start = np.full(n, np.inf)  # alerted time + pre-movement, once alerted
        self.state = np.full(n, WORKING, np.int8)
        G = len(geometry.goals)
        targets = population.targets or [None] * n
        self.target = np.array([-1 if (t is None or t == "nearest") else geometry.goal_index(t) for t in targets],
                               np.int64)
        self.initial_target = self.target.copy()
        # social behaviour (BehaviourParams): groups and the goal each person knows
        self.group = (np.asarray(population.groups, np.int64).copy() if population.groups is not None
                      else np.full(n, -1, np.int64))
        self.n_groups = int(self.group.max()) + 1 if n else 0
        self._group_cap: np.ndarray | None = np.full(n, np.inf) if self.n_groups > 0 else None
        familiar = population.familiar_goals or [None] * n
        self.familiar = np.array([-1 if f is None else geometry.goal_index(f) for f in familiar], np.int64)
        self.t_arrival = np.full(n, np.nan)
        self.t_moving = np.full(n, np.nan)
        self.t_incapacitated = np.full(n, np.nan)
        self.arrival_goal = np.full(n, -1, np.int64)
        self.heading = np.zeros((n, 2))
        self.heading[:, 0] = 1.0
        self.speed = np.zeros(n)
        self.dose = [np.zeros(n) for _ in self.exposures]
        # the plain time integral of each field (field units x s), next to the toxic load C^n t
        self.field_integral = [np.zeros(n) for _ in self.exposures]
        # exact dose bookkeeping: each person's dose is integrated up to dose_time_s[i] (trapezoid
        # between samples), where the fields had the values _c_last; arrival closes the integral
        self.dose_time_s = np.zeros(n)
        self._c_last = [np.zeros(n) for _ in self.exposures]
        # free walking speed after the hazard's effect on walking (smoke, irritants); <= v0
        self.v_free = self.v0.copy()
        self.tolerance = rng.uniform(0, 1, n)
        self.ids = list(population.ids) if population.ids is not None else [f"p{k}" for k in range(n)]
        self._validate(geometry)
        self.goal_open = np.ones(G, np.bool_)
        self.goal_count = np.zeros(G, np.int64)
        self.goal_capacity = np.array([g.capacity if g.capacity is not None else np.iinfo(np.int64).max
                                       for g in geometry.goals], np.int64)
        self.goal_sink = np.array([g.sink for g in geometry.goals], np.bool_)
        #: per goal, and a last False for "no goal": people who arrived there stay outdoors
        self._goal_outdoors = np.array([g.outdoors for g in geometry.goals] + [False], np.bool_)
        self.goal_unsafe = np.zeros(G, np.bool_)
        # shelters: people admitted to one are housed; their dose goes on at the shelter's indoor
        # concentration (single-zone air exchange, physics.indoor), kept per shelter goal
        self._housed = np.zeros(n, np.bool_)
        self._shelter_goals = np.array([k for k, g in enumerate(geometry.goals) if g.shelter], np.int64)
        self._shelter_row = np.full(G, -1, np.int64)
        self._shelter_row[self._shelter_goals] = np.arange(len(self._shelter_goals))
        self._shelter_xy = np.array([geometry.goals[k].polygon.representative_point().coords[0][:2]
                                     for k in self._shelter_goals], float).reshape(-1, 2)
        self._shelter_ach = np.array([geometry.goals[k].air_changes_per_h for k in self._shelter_goals], float)
        self._indoor_t = 0.0
        self._c_out_shelter = [np.zeros(len(self._shelter_goals)) for _ in self.exposures]
        self.c_indoor = [np.zeros(len(self._shelter_goals)) for _ in self.exposures]
        """Per exposure channel, the indoor concentration of each shelter goal (in goal order) at
        ``indoor_time_s``."""
        # --- geometry, walls, navigation -----------------------------------------------------
        self.blocked: list[Polygon] = []
        self.raster = build_raster(geometry, params.navigation)
        self.nav = NavigationFields(self.raster, params.navigation)
        self._build_walls()
        vmax = float(self.v0.max()) if n else 1.0
        lmax = 2.0 * float(self.radius.max()) if n else 0.4
        # spacing search reach (a neighbour farther than l + v0 T cannot slow anybody down) and
        # repulsion cut-off (R < 0.02 beyond l + 6 D); cell side >= 0.5 m
        self.lmax = lmax
        self.reach = lmax + vmax * float(self.tgap.max())
        self.rep_cut = max(0.5, lmax + 6 * loc.range_neighbour_m, loc.density_radius_m)
        cell = max(0.5, self.rep_cut / 2)
        x0, y0, x1, y1 = geometry.bounds
        if geometry.periodic_x is not None:
            px0, px1 = geometry.periodic_x
            self.period = float(px1 - px0)
            self.ncx = max(int(self.period // cell), 1)
            self.cx0, self.cw = float(px0), self.period / self.ncx
            if self.ncx < 2 * int(math.ceil(self.reach / self.cw)) + 1:
                raise ValueError("periodic domain too short for the interaction reach")
        else:
            self.period = 0.0
            self.ncx = max(int(math.ceil((x1 - x0) / cell)), 1)
            self.cx0, self.cw = float(x0), cell
        self.ncy = max(int(math.ceil((y1 - y0) / cell)), 1)
        self.cy0, self.ch = float(y0), cell
        self._field_keys: list[tuple[int, ...]] = []
        self._dirs = np.zeros((1, self.raster.ny, self.raster.nx, 2), np.float32)
        self.field_idx = np.zeros(n, np.int64)
        self._nav_version = -1
        self._next_replan = 0.0 if hazard is not None else math.inf
        self._tau: np.ndarray | None = None
        self._hazard_cost: np.ndarray | None = None
        self._crowd_cost: np.ndarray | None = None
        nav = params.navigation
        crowd_on = nav.crowd_cost_per_density > 0 and self.raster.nx * self.raster.ny <= nav.crowd_cost_max_cells
        self._next_crowd = nav.crowd_cost_interval_s if crowd_on else math.inf
        self._tau_time = 0.0
        # --- bookkeeping -----------------------------------------------------------------------
        self._alarm_done = False
        self._route_next = 0.0
        self._flow_log: list[tuple[float, np.ndarray]] = []  # (time, arrivals per goal so far)
        self._ev_ptr = 0
        self._next_exposure = params.exposure_interval_s
        out = params.output
        self._traj_every = (max(int(round(out.trajectory_interval_s / self.dt)), 1)
                            if out.trajectory_interval_s else 0)
        self._frames: list[tuple[float, np.ndarray, np.ndarray, np.ndarray]] = []
        dc = out.density_cell_m
        self.dens_x0, self.dens_y0 = x0, y0
        self.dens_nx = max(int(math.ceil((x1 - x0) / dc)), 1)
        self.dens_ny = max(int(math.ceil((y1 - y0) / dc)), 1)
        self._dens_sum = np.zeros((self.dens_ny, self.dens_nx))
        self._dens_max = np.zeros((self.dens_ny, self.dens_nx))
        self._dens_over = np.zeros((self.dens_ny, self.dens_nx))
        self._dens_frames = 0
        self.lines = dict(measurement_lines or {})
        self._line_arr = np.array([[*ln.coords[0][:2], *ln.coords[-1][:2]] for ln in self.lines.values()]).reshape(-1, 4)
        self.crossings: list[tuple[float, int, int, int]] = []  # (time, person, line, sign)
        wd = params.watchdog
        self._wd_next = wd.window_s
        self._wd_last_arrivals = 0
        self._wd_ref_pos = self.pos.copy()
        self.deadlock = False
        self.deadlock_time_s = math.nan
        self.stuck: np.ndarray = np.zeros(0, np.int64)
        self.arrived_total = 0
        self.agent_steps = 0
        self.step_wall_s = 0.0
        self.running = True
        # buffers for the kernel
        self._newpos = np.empty_like(self.pos)
        self._newhead = np.empty_like(self.heading)
        self._arr_goal = np.empty(n, np.int64)
        self._cell_of = np.full(n, -1, np.int64)
        self._cell_start = np.full(self.ncx * self.ncy, -1, np.int64)
        self._cell_count = np.zeros(self.ncx * self.ncy, np.int64)
        self._cell_items = np.empty(n, np.int64)
        self._order = np.arange(n, dtype=np.int64)  # people sorted by cell, refreshed every _SORT_EVERY steps
        # --- the Mesa agents, in a Mesa continuous space holding the positions -------------------
        self.space = ContinuousSpace([[x0, x1], [y0, y1]], torus=False, random=self.random, n_agents=max(n, 1))
        self.people: list[Person] = [Person(self, k, self.ids[k]) for k in range(n)]
        if n:
            self.space.agent_positions[:] = self.pos
            self.pos = self.space.agent_positions  # one array: Mesa's positions are the kernel's
        agent_reporters: dict | None = None
        if out.agent_records:  # per-person rows (a Python call per person and frame: small crowds)
            agent_reporters = {"x_m": "x_m", "y_m": "y_m", "state": "state", "target": "target",
                               **{f"dose_{e.name}": (lambda a, k=k: float(a.model.dose[k][a.index]))
                                  for k, e in enumerate(self.exposures)}}
        self.datacollector = mesa.DataCollector(model_reporters={
            s: (lambda m, code=code: int(np.count_nonzero(m.state == code))) for code, s in enumerate(STATES)},
            agent_reporters=agent_reporters)
        self._apply_alarm_and_starts()
        self._init_indoor()
        self._sample_exposures(np.arange(n), 0.0, initial=True)
        self._replan(force=True)

    def _validate(self, geometry: EvacuationGeometry) -> None:
        """Reject bad people data with a located message (person id, field, value)."""
        n = self.n
        for name, arr in (("free_speed_m_s", self.v0), ("radius_m", self.radius), ("premovement_s", self.premove),
                          ("groups", self.group), ("familiar_goals", self.familiar)):
            if len(arr) != n:
                raise ValueError(f"population.{name} has {len(arr)} values for {n} people")
        problems = []
        bad = ~np.isfinite(self.pos).all(axis=1)
        bad |= ~shapely.contains_xy(geometry.walkable, np.nan_to_num(self.pos[:, 0]), np.nan_to_num(self.pos[:, 1]))
        problems += [f"{self.ids[k]}: position ({self.pos[k, 0]:.2f}, {self.pos[k, 1]:.2f}) m is outside the walkable area"
                     for k in np.flatnonzero(bad)]
        problems += [f"{self.ids[k]}: free_speed_m_s {self.v0[k]!r} must be > 0"
                     for k in np.flatnonzero(~(self.v0 > 0))]
        problems += [f"{self.ids[k]}: radius_m {self.radius[k]!r} must be > 0"
                     for k in np.flatnonzero(~(self.radius > 0))]
        problems += [f"{self.ids[k]}: premovement_s {self.premove[k]!r} must be >= 0"
                     for k in np.flatnonzero(~(self.premove >= 0))]
        if problems:
            more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
            raise ValueError(f"{len(problems)} invalid people: " + "; ".join(problems[:5]) + more)

    # ------------------------------------------------------------------ geometry / navigation
    def _build_walls(self) -> None:
        loc = self.params.locomotion
        segs = wall_segments(self.geometry.walkable, self.geometry.periodic_x, extra=self.blocked)
        cutoff = max(loc.wall_cutoff_m, 2.0 * float(self.radius.max()) if self.n else 0.3)
        # the index holds every wall within reach of the repulsion and of the narrow-passage test
        self.walls = build_wall_index(segs, self.geometry.bounds, max(cutoff, loc.narrow_passage_m), cell=1.0)
        self.wall_cutoff = cutoff

    def _in_physics(self) -> np.ndarray:
        return (self.state != ARRIVED) & (self.state != SHELTERING) & ~self._housed

    def _open_key(self) -> tuple[int, ...]:
        return tuple(int(k) for k in np.flatnonzero(self._goal_available()))

    def _goal_available(self) -> np.ndarray:
        return self.goal_open & ~self.goal_unsafe & (self.goal_count < self.goal_capacity)

    def _replan(self, force: bool = False) -> None:
        """Re-evaluate hazard cost, goal availability and per-person fields."""
        p = self.params.navigation
        if self.hazard is not None:
            todo = self._in_physics() & (self.state != INCAPACITATED)
            if todo.any():
                working = self.state == WORKING  # not alerted yet: from the site alarm on
                start = np.where(working, max(self.params.alarm_time_s, self.time) + self.premove, self.t_start)
                t0 = max(self.time, float(np.min(start[todo])))
                if self._tau is None or self.time - self._tau_time >= p.tau_refresh_s - 1e-9:
                    self._tau = forward_arrival_time(self.raster, self.pos[todo, 0], self.pos[todo, 1],
                                                     p.hazard_reference_speed_m_s)
                    self._tau_time = self.time
                    tau = self._tau
                else:  # age the crowd-front arrival times instead of re-solving them
                    tau = np.maximum(self._tau - (self.time - self._tau_time), 0.0)
                cost = hazard_cost_raster(self.raster, self.hazard, t0 + tau)
            else:
                cost = hazard_cost_raster(self.raster, self.hazard, np.full((self.raster.ny, self.raster.nx), self.time))
            self._hazard_cost = cost
            self._install_cost(rtol=0.0 if force else p.replan_cost_rtol)
            # a goal is unsafe while most of its area is impassable at the time people would get there
            for g in range(len(self.geometry.goals)):
                cells = self.raster.goal_id == g
                self.goal_unsafe[g] = bool(cells.any() and np.mean(~self.nav.passable[cells]) > 0.5)
            self._next_replan = self.time + p.replan_interval_s
        self._assign_fields()

    def _install_cost(self, rtol: float = 0.0) -> None:
        """Navigation cost = hazard cost x crowd cost (either may be absent)."""
        parts = [c for c in (self._hazard_cost, self._crowd_cost) if c is not None]
        cost = None if not parts else parts[0] if len(parts) == 1 else parts[0] * parts[1]
        self.nav.set_hazard_cost(cost, rtol=rtol)

    def _update_crowd_cost(self) -> None:
        """Dynamic navigation field: the smoothed density of the moving people raises the cost."""
        nav = self.params.navigation
        r = self.raster
        moving = np.flatnonzero(self.state == MOVING)
        counts = np.bincount(r.cell_of(self.pos[moving, 0], self.pos[moving, 1]), minlength=r.nx * r.ny)
        rho = ndimage.gaussian_filter(counts.reshape(r.ny, r.nx).astype(float) / r.h ** 2, nav.crowd_cost_sigma_m / r.h,
                                      mode="constant")
        self._crowd_cost = 1.0 + nav.crowd_cost_per_density * np.maximum(rho - nav.crowd_cost_free_density, 0.0)
        self._install_cost()
        self._next_crowd = self.time + nav.crowd_cost_interval_s

    def replan(self) -> None:
        """Force a re-plan now (call after the hazard callable's underlying data changed, e.g. a new
        dispersion forecast arrived); otherwise fields are re-planned every replan interval."""
        self._replan(force=True)

    def _assign_fields(self, _again: bool = False) -> None:
        open_key = self._open_key()
        sip = (self.state == SHELTERING) & (self.arrival_goal < 0)  # sheltering in place (no route)
        active = self._in_physics() | sip
        # people whose target closed or filled up re-choose: the nearest open goal
        chosen = (self.target >= 0) & active
        if chosen.any():
            bad = chosen & ~np.isin(self.target, np.asarray(open_key, np.int64))
            self.target[bad] = -1
        keys: list[tuple[int, ...]] = []
        fidx = np.full(self.n, -1, np.int64)
        for t in (np.unique(self.target[active]) if active.any() else []):
            key = open_key if t < 0 else (int(t),)
            if not key:
                continue
            if key not in keys:
                keys.append(key)
            fidx[active & (self.target == t)] = keys.index(key)
        if keys != self._field_keys or self.nav.version != self._nav_version:
            self._field_keys = keys
            self._nav_version = self.nav.version
            if keys:
                self._dirs = np.ascontiguousarray(np.stack([self.nav.field(k).direction for k in keys]))
        # no goal left or no route from here: shelter in place; resume when a route reappears
        check = active & ((self.state == MOVING) | sip)
        T = np.full(self.n, np.inf)
        for f, key in enumerate(keys):
            m = check & (fidx == f)
            if m.any():
                T[m] = self.nav.sample_T(key, self.pos[m, 0], self.pos[m, 1])
        ok = np.isfinite(T)
        retarget = check & ~ok & (self.target >= 0)
        if retarget.any() and not _again:
            self.target[retarget] = -1  # assigned goal unreachable: nearest reachable open goal instead
            return self._assign_fields(_again=True)
        self.state[check & ~ok & (self.state == MOVING)] = SHELTERING
        self.state[sip & ok] = MOVING
        self.field_idx = np.maximum(fidx, 0)

    def _arrival_target(self) -> np.ndarray:
        """Goal each person may arrive at (-1: any): people who choose their own exit arrive at
        whichever open goal they step into; assigned people only at theirs."""
        return np.where(self.initial_target < 0, -1, self.target)

    def goal_flow_p_s(self) -> np.ndarray:
        """Flow of each goal (persons/s) over the last ``flow_window_s``; the prior
        ``exit_flow_p_s`` where fewer than 5 people arrived in the window."""
        nav = self.params.navigation
        self._flow_log.append((self.time, self.goal_count.copy()))
        while len(self._flow_log) > 1 and self._flow_log[1][0] <= self.time - nav.flow_window_s:
            self._flow_log.pop(0)
        t0, c0 = self._flow_log[0]
        arrived = self.goal_count - c0
        span = max(self.time - t0, 1e-9)
        return np.where(arrived >= 5, arrived / span, nav.exit_flow_p_s)

    def reconsider_routes(self, idx: np.ndarray) -> None:
        """Quickest-exit choice (see ``NavigationParams.route_choice``) for the moving people among
        ``idx`` who have no assigned goal, vectorised over people and goals."""
        nav = self.params.navigation
        open_goals = np.flatnonzero(self._goal_available() & self.goal_sink)
        idx = np.asarray(idx, np.int64)
        choosers = idx[(self.initial_target[idx] < 0) & (self.state[idx] == MOVING)]
        if len(open_goals) < 2 or not len(choosers):
            return
        movers = np.flatnonzero(self.state == MOVING)
        x, y = self.pos[movers, 0], self.pos[movers, 1]
        T = np.stack([self.nav.sample_T((int(g),), x, y) for g in open_goals])  # (G, M) metres
        T_ok = np.where(np.isfinite(T), T, np.inf)
        heading = self.target[movers]
        col = np.full(len(movers), -1)
        for k, g in enumerate(open_goals):
            col[heading == g] = k
        undecided = col < 0
        pref = self._route_preference(movers, open_goals, col)
        col[undecided] = np.argmin((T_ok * pref)[:, undecided], axis=0)
        flow = self.goal_flow_p_s()[open_goals]
        walk = T_ok / np.maximum(self.v_free[movers], 0.05)[None, :]
        queue = np.empty_like(walk)
        for k in range(len(open_goals)):
            ahead = np.sort(T_ok[k, col == k])
            queue[k] = np.searchsorted(ahead, T_ok[k], side="left") / flow[k]
        cost = np.maximum(walk, queue) * pref
        rows = np.searchsorted(movers, choosers)
        cur = col[rows]
        best = np.argmin(cost[:, rows], axis=0)
        c_cur = cost[cur, rows]
        c_best = cost[best, rows]
        switch = ~np.isfinite(c_cur) | (c_best < c_cur - np.maximum(nav.switch_margin_s, nav.switch_margin_rel * c_cur))
        choice = np.where(switch, best, cur)
        new = open_goals[choice]
        in_group = self.group[choosers] >= 0
        if in_group.any():  # a group goes the way its first member chooses
            g = self.group[choosers[in_group]]
            _, first = np.unique(g, return_index=True)
            lead = np.full(self.n_groups, -1, np.int64)
            lead[g[first]] = new[in_group][first]
            new[in_group] = lead[g]
        if np.any(new != self.target[choosers]):
            self.target[choosers] = new
            self._assign_fields()

    def _route_preference(self, movers: np.ndarray, open_goals: np.ndarray, decided: np.ndarray) -> np.ndarray:
        """(goals, movers) multipliers on the expected time of each goal (1 = none): the familiar
        goal's ``familiar_cost_factor``; for the people still undecided (``decided`` < 0), the
        social influence of the decided people within ``social_radius_m`` (BehaviourParams)."""
        b = self.params.behaviour
        G, M = len(open_goals), len(movers)
        pref = np.ones((G, M))
        fam = self.familiar[movers]
        if b.familiar_cost_factor != 1.0 and (fam >= 0).any():
            for k, g in enumerate(open_goals):
                pref[k, fam == g] *= b.familiar_cost_factor
        if b.social_weight > 0 and (decided < 0).any() and (decided >= 0).any():
            from scipy.spatial import cKDTree
            pairs = cKDTree(self.pos[movers]).query_pairs(b.social_radius_m, output_type="ndarray")
            if len(pairs):
                i = np.concatenate([pairs[:, 0], pairs[:, 1]])
                j = np.concatenate([pairs[:, 1], pairs[:, 0]])
                keep = (decided[i] < 0) & (decided[j] >= 0)
                seen = np.zeros((G, M))
                np.add.at(seen, (decided[j[keep]], i[keep]), 1.0)
                share = seen / np.maximum(seen.sum(axis=0), 1.0)
                pref *= 1.0 - b.social_weight * share
        return pref

    def keep_groups(self, idx: np.ndarray) -> None:
        """Group behaviour (BehaviourParams) for the moving group members among ``idx``: cap their
        speed at the slowest moving member's free speed, and at 0 (wait) for a member more than
        ``group_max_gap_m`` of remaining route ahead of the group's rearmost moving member."""
        if self._group_cap is None:
            return
        idx = np.asarray(idx, np.int64)
        self._group_cap[idx] = np.inf
        moving = np.flatnonzero((self.state == MOVING) & (self.group >= 0))
        mine = idx[(self.state[idx] == MOVING) & (self.group[idx] >= 0)]
        if not len(mine):
            return
        groups = np.unique(self.group[mine])
        members = moving[np.isin(self.group[moving], groups)]
        g = self.group[members]
        T = self.remaining_route_m(members)
        T = np.where(np.isfinite(T), T, -np.inf)
        rear = np.full(self.n_groups, -np.inf)
        np.maximum.at(rear, g, T)
        slow = np.full(self.n_groups, np.inf)
        np.minimum.at(slow, g, self.v_free[members])
        lead = rear[g] - T
        cap = np.where(lead > self.params.behaviour.group_max_gap_m, 0.0, slow[g])
        sel = np.isin(members, mine)
        self._group_cap[members[sel]] = cap[sel]

    def remaining_route_m(self, idx: np.ndarray | None = None) -> np.ndarray:
        """Remaining cost-weighted route length to each person's goal (inf without a route)."""
        idx = np.arange(self.n) if idx is None else np.asarray(idx)
        out = np.full(len(idx), np.inf)
        for f, key in enumerate(self._field_keys):
            m = self.field_idx[idx] == f
            if m.any():
                out[m] = self.nav.sample_T(key, self.pos[idx[m], 0], self.pos[idx[m], 1])
        return out

    # ------------------------------------------------------------------ events and states
    def _apply_alarm_and_starts(self) -> None:
        t = self.time
        if not self._alarm_done and t >= self.params.alarm_time_s - 1e-9:
            self.alert(np.flatnonzero(self.state == WORKING), at_s=self.params.alarm_time_s)
            self._alarm_done = True
        due = np.flatnonzero((self.state == ALERTED) & (self.t_start <= t + 1e-9))
        if len(due):
            self.start_moving(due)

    def alert(self, idx: np.ndarray, at_s: float | None = None) -> None:
        """Alert the working people among ``idx`` at ``at_s`` (default now): they start moving
        after their pre-movement time."""
        idx = np.asarray(idx, np.int64)
        idx = idx[self.state[idx] == WORKING]
        self.state[idx] = ALERTED
        self.t_alerted[idx] = self.time if at_s is None else at_s
        self.t_start[idx] = self.t_alerted[idx] + self.premove[idx]
        grouped = idx[self.group[idx] >= 0]
        if len(grouped):  # a group leaves together once its last member is ready (not alerted: inf)
            members = np.flatnonzero(np.isin(self.group, np.unique(self.group[grouped])))
            ready = np.where(np.isnan(self.t_alerted[members]), np.inf, self.t_start[members])
            last = np.full(self.n_groups, -np.inf)
            np.maximum.at(last, self.group[members], ready)
            waiting = members[self.state[members] == ALERTED]
            self.t_start[waiting] = last[self.group[waiting]]

    def start_moving(self, idx: np.ndarray) -> None:
        """The alerted people among ``idx`` start moving now."""
        idx = np.asarray(idx, np.int64)
        idx = idx[self.state[idx] == ALERTED]
        self.state[idx] = MOVING
        self.t_moving[idx] = self.time

    def _apply_events(self) -> bool:
        changed = False
        while self._ev_ptr < len(self.events) and self.events[self._ev_ptr].time_s <= self.time + 1e-9:
            ev = self.events[self._ev_ptr]
            self._ev_ptr += 1
            if isinstance(ev, ExitClosure):
                self.goal_open[self.geometry.goal_index(ev.goal)] = False
            elif isinstance(ev, Blockage):
                self.blocked.append(ev.polygon)
                X, Y = np.meshgrid(self.raster.xc, self.raster.yc)
                walk = self.raster.walkable & ~shapely.contains_xy(ev.polygon, X, Y)
                self.nav.set_walkable(walk)
                self._build_walls()
            changed = True
        return changed

    # ------------------------------------------------------------------ stepping
    def step(self) -> None:
        """Advance everybody by one time step ``dt``."""
        tw = _time.perf_counter()
        dt = self.dt
        self._apply_alarm_and_starts()
        replan = self._apply_events()
        if self.time >= self._next_replan:
            replan = True
        if self.time >= self._next_crowd - 1e-9:
            self._update_crowd_cost()
            replan = True
        if replan:
            self._replan()
        if self.params.navigation.route_choice == "quickest" and self.time >= self._route_next - 1e-9:
            self._route_next = self.time + self.params.navigation.route_interval_s
            self.reconsider_routes(np.flatnonzero(self.state == MOVING))
        in_phys = self._in_physics()
        mobile = self.state == MOVING
        n_active = int(np.count_nonzero(in_phys))
        if mobile.any():
            numba.set_num_threads(self._threads(n_active))
            if self.steps % _SORT_EVERY == 0:
                K.sort_by_cell(self._cell_of, self._order)
            K.build_cell_list(self.pos, in_phys, self.cx0, self.cy0, self.cw, self.ch, self.ncx, self.ncy,
                              self._cell_of, self._cell_start, self._cell_count, self._cell_items, self._order)
            loc = self.params.locomotion
            w = self.walls
            r = self.raster
            v_walk = self.v_free
            if self._group_cap is not None:
                self.keep_groups(np.flatnonzero(mobile & (self.group >= 0)))
                v_walk = np.minimum(self.v_free, self._group_cap)
            K.cfsm_step(self.pos, self.heading, mobile, v_walk, self.radius, self.tgap, self.field_idx,
                        self._dirs, r.x0, r.y0, r.h, r.nx, r.ny,
                        self._cell_start, self._cell_count, self._cell_items, self.cx0, self.cy0, self.cw, self.ch,
                        self.ncx, self.ncy,
                        self.period, self.reach, self.rep_cut, self.lmax,
                        w.segments, w.start, w.items, w.x0, w.y0, w.cell, w.nx, w.ny, self.wall_cutoff,
                        loc.strength_neighbour, loc.range_neighbour_m, loc.strength_wall, loc.range_wall_m,
                        loc.strength_counterflow, loc.range_counterflow_m, loc.lane_half_width_m,
                        loc.density_radius_m, loc.density_gamma_m2, loc.jam_density_per_m2, loc.density_min_fraction,
                        loc.narrow_passage_m, loc.strength_centre_line, dt,
                        r.goal_id, self._goal_available() & self.goal_sink, self._arrival_target(), r.zone_factor,
                        self._order, self._newpos, self.speed, self._newhead, self._arr_goal)
            if len(self._line_arr):
                self._record_crossings(mobile)
            np.copyto(self.pos, self._newpos)
            self.heading, self._newhead = self._newhead, self.heading
            arrived = np.flatnonzero(self._arr_goal >= 0)
            if len(arrived):
                self._arrive(arrived, self._arr_goal[arrived], self.time + dt)
        self.time += dt
        self.agent_steps += n_active
        if self.exposures and self.time >= self._next_exposure - 1e-9:
            self._expose()
        if self._traj_every and (self.steps % self._traj_every == 0):
            self._record_frame()
        if self.time >= self._wd_next - 1e-9:
            self._watchdog()
        if not (self._in_physics() & (self.state != INCAPACITATED)).any() or self.time >= self.params.t_max_s - 1e-9:
            self.running = False
        self.step_wall_s += _time.perf_counter() - tw

    def _threads(self, n_active: int) -> int:
        """Numba threads for this step: ``params.threads``, else all of them for a large crowd."""
        if self.params.threads:
            return self.params.threads
        return numba.config.NUMBA_NUM_THREADS if n_active >= self.params.parallel_min_agents else 1  # type: ignore[attr-defined]

    def _arrive(self, idx: np.ndarray, goals: np.ndarray, t: float) -> None:
        # capacity: only the first ones that fit are admitted, the others re-choose
        for g in np.unique(goals):
            sel = idx[goals == g]
            room = self.goal_capacity[g] - self.goal_count[g]
            adm, rest = sel[:max(room, 0)], sel[max(room, 0):]
            shelter = self.geometry.goals[g].shelter
            self._sample_exposures(adm, t, check_harm=False)  # the outdoor dose integral ends on arrival
            self.state[adm] = SHELTERING if shelter else ARRIVED
            if shelter and len(adm) and self.exposures:  # from now on they breathe the indoor air
                self._housed[adm] = True
                self._advance_indoor(t)
                for k in range(len(self.exposures)):
                    self._c_last[k][adm] = self.c_indoor[k][self._shelter_row[g]]
            elif shelter:
                self._housed[adm] = True
            self.t_arrival[adm] = t
            self.arrival_goal[adm] = g
            self.goal_count[g] += len(adm)
            self.arrived_total += len(adm)
            if len(rest) or self.goal_count[g] >= self.goal_capacity[g]:
                self._assign_fields()

    def _record_crossings(self, mobile: np.ndarray) -> None:
        idx = np.flatnonzero(mobile)
        p = self.pos[idx]
        q = self._newpos[idx]
        for li, (ax, ay, bx, by) in enumerate(self._line_arr):
            sp = np.sign((bx - ax) * (p[:, 1] - ay) - (by - ay) * (p[:, 0] - ax))
            sq = np.sign((bx - ax) * (q[:, 1] - ay) - (by - ay) * (q[:, 0] - ax))
            cand = np.flatnonzero((sp != sq) & (sp != 0))
            if not len(cand):
                continue
            pc, qc = p[cand], q[cand]
            ta = (pc[:, 0] - ax) * (qc[:, 1] - pc[:, 1]) - (pc[:, 1] - ay) * (qc[:, 0] - pc[:, 0])
            den = (bx - ax) * (qc[:, 1] - pc[:, 1]) - (by - ay) * (qc[:, 0] - pc[:, 0])
            with np.errstate(divide="ignore", invalid="ignore"):
                s = ta / den  # position along the line, 0..1
            ok = (s >= 0) & (s <= 1)
            for k in np.flatnonzero(ok):
                da = abs((bx - ax) * (pc[k, 1] - ay) - (by - ay) * (pc[k, 0] - ax))
                db = abs((bx - ax) * (qc[k, 1] - ay) - (by - ay) * (qc[k, 0] - ax))
                frac = da / (da + db) if da + db > 0 else 0.0
                self.crossings.append((self.time + frac * self.dt, int(idx[cand[k]]), li, int(-sp[cand[k]])))

    def _exposed(self) -> np.ndarray:
        """People whose dose still grows: everybody but those arrived at a goal, except at an
        outdoor muster point (:attr:`Goal.outdoors`), where they keep breathing the air, and in a
        shelter (:attr:`Goal.shelter`), where they breathe its indoor air (:meth:`_advance_indoor`);
        sheltering in place outdoors without a route breathes the outdoor air where they stand."""
        outdoors = self._goal_outdoors[self.arrival_goal]       # index -1: the "no goal" entry
        return ~((self.state == ARRIVED) & ~outdoors)

    def _init_indoor(self) -> None:
        """Outdoor concentrations at the shelters at t = 0; their indoor air starts clean."""
        self._indoor_t = 0.0
        if not len(self._shelter_goals):
            return
        x, y = self._shelter_xy[:, 0], self._shelter_xy[:, 1]
        for k, e in enumerate(self.exposures):
            self._c_out_shelter[k] = self._field_at(e, x, y, 0.0)

    @staticmethod
    def _field_at(e: Exposure, x: np.ndarray, y: np.ndarray, t: float) -> np.ndarray:
        return np.maximum(np.broadcast_to(np.asarray(e.field(x, y, np.full(len(x), t)), float), (len(x),)), 0.0)

    def _advance_indoor(self, t: float) -> None:
        """Advance every shelter's indoor concentration to time ``t`` (s): single-zone air exchange
        ``dCi/dt = λ (Co − Ci)`` driven by the outdoor field at the shelter, exact for an outdoor
        concentration linear between the samples (the model's exposure samples and arrivals)."""
        if not len(self._shelter_goals) or t <= self._indoor_t + 1e-12:
            return
        x, y = self._shelter_xy[:, 0], self._shelter_xy[:, 1]
        for k, e in enumerate(self.exposures):
            co = self._field_at(e, x, y, t)
            self.c_indoor[k] = indoor_step(self.c_indoor[k], self._c_out_shelter[k], co, self._shelter_ach,
                                           t - self._indoor_t)
            self._c_out_shelter[k] = co
        self._indoor_t = t

    @property
    def indoor_time_s(self) -> float:
        """Time (s) up to which the shelters' indoor concentrations ``c_indoor`` are advanced."""
        return self._indoor_t

    def _expose(self) -> None:
        self._sample_exposures(np.flatnonzero(self._exposed() & (self.dose_time_s < self.time)), self.time)
        self._next_exposure = self.time + self.params.exposure_interval_s

    def settle_doses(self) -> None:
        """Integrate every still-exposed person's dose up to the current time (``run`` and
        ``result`` do this; call it after stepping by hand)."""
        self._sample_exposures(np.flatnonzero(self._exposed() & (self.dose_time_s < self.time - 1e-12)), self.time)

    def _sample_exposures(self, idx: np.ndarray, t: float, initial: bool = False, check_harm: bool = True) -> None:
        """Sample every exposure field at the current positions of people ``idx`` at time ``t``:
        add the trapezoid from each person's last sample to ``t`` to the dose, update the free
        walking speed in the hazard and, with ``check_harm``, incapacitate."""
        if not self.exposures or not len(idx):
            return
        x, y = self.pos[idx, 0], self.pos[idx, 1]
        span = np.zeros(len(idx)) if initial else t - self.dose_time_s[idx]
        v = self.v0[idx].copy()
        housed = self._housed[idx]
        if housed.any():  # people in a shelter breathe its indoor air
            self._advance_indoor(t)
            rows = self._shelter_row[self.arrival_goal[idx[housed]]]
        for k, e in enumerate(self.exposures):
            c = self._field_at(e, x, y, t)
            if housed.any():
                c[housed] = self.c_indoor[k][rows]
            c_prev = self._c_last[k][idx]
            self.field_integral[k][idx] += 0.5 * (c_prev + c) * span
            before = self.dose[k][idx]
            after = before + 0.5 * (np.power(c_prev, e.exponent) + np.power(c, e.exponent)) * span
            self.dose[k][idx] = after
            self._c_last[k][idx] = c
            if e.walking_speed is not None:
                v = np.asarray(e.walking_speed(c, v), float)
            if e.incapacitating and check_harm and not initial:
                self._incapacitate(idx, e, before, after, t, span)
        self.v_free[idx] = np.clip(v, 0.0, self.v0[idx])
        self.dose_time_s[idx] = t

    def _incapacitate(self, idx: np.ndarray, e: Exposure, before: np.ndarray, after: np.ndarray, t: float,
                      span: np.ndarray) -> None:
        able = (self.state[idx] != INCAPACITATED) & (self.state[idx] != ARRIVED)
        if e.threshold is not None and e.harm is None:
            hit = able & (after >= e.threshold)
            with np.errstate(divide="ignore", invalid="ignore"):  # crossing time: linear in the dose
                frac = np.where(after > before, (e.threshold - before) / (after - before), 1.0)
            when = t - span * (1.0 - np.clip(frac, 0.0, 1.0))
        else:
            P = e.harm_probability(after)
            hit = able & (P >= self.tolerance[idx]) & (P > 0)
            when = np.full(len(idx), t)
        if hit.any():
            self.state[idx[hit]] = INCAPACITATED
            self.t_incapacitated[idx[hit]] = when[hit]

    def _record_frame(self) -> None:
        m = self._in_physics()
        idx = np.flatnonzero(m)
        self._frames.append((self.time, idx.astype(np.int32), self.pos[idx].astype(np.float32),
                             self.state[idx].copy()))
        out = self.params.output
        # density map: touch only the occupied cells (the map can have millions of cells)
        dc = out.density_cell_m
        ix = np.clip(((self.pos[idx, 0] - self.dens_x0) / dc).astype(np.int64), 0, self.dens_nx - 1)
        iy = np.clip(((self.pos[idx, 1] - self.dens_y0) / dc).astype(np.int64), 0, self.dens_ny - 1)
        cells, counts = np.unique(iy * self.dens_nx + ix, return_counts=True)
        dens = counts / dc ** 2
        self._dens_sum.reshape(-1)[cells] += dens
        peak = self._dens_max.reshape(-1)
        peak[cells] = np.maximum(peak[cells], dens)
        self._dens_over.reshape(-1)[cells] += dens >= out.hotspot_density_per_m2
        self._dens_frames += 1
        if out.agent_records:
            self.settle_doses()
        self.datacollector.collect(self)

    def _watchdog(self) -> None:
        wd = self.params.watchdog
        moving = np.flatnonzero(self.state == MOVING)
        self._wd_next = self.time + wd.window_s
        arrivals = self.arrived_total - self._wd_last_arrivals
        self._wd_last_arrivals = self.arrived_total
        if not len(moving):
            self._wd_ref_pos = self.pos.copy()
            return
        now = self.remaining_route_m(moving)
        saved = self.pos[moving].copy()
        self.pos[moving] = self._wd_ref_pos[moving]
        before = self.remaining_route_m(moving)
        self.pos[moving] = saved
        # no route before and now (inf - inf) is no progress; a route that appeared is progress
        fin = np.isfinite(before) & np.isfinite(now)
        progress = np.where(np.isfinite(now) & ~np.isfinite(before), np.inf, -np.inf)
        progress[fin] = before[fin] - now[fin]
        stuck = moving[~(progress >= wd.min_progress_m)]
        self.stuck = stuck
        self._wd_ref_pos = self.pos.copy()
        if arrivals == 0 and len(stuck) == len(moving):
            self.deadlock = True
            self.deadlock_time_s = self.time
            if wd.stop_on_deadlock:
                self.running = False

    def expose_until(self, until_s: float) -> None:
        """Go on integrating the doses after the crowd has stopped (everybody safe, or the run's
        end): nobody moves any more, the people still exposed — at outdoor muster points, in
        shelters (indoor air), sheltering in place, incapacitated, or wherever the run left them —
        keep breathing where they are, sampled every ``exposure_interval_s`` until ``until_s`` (s);
        the model's time then is ``until_s``."""
        self.settle_doses()
        t = self.time
        while t < until_s - 1e-9:
            t = min(t + self.params.exposure_interval_s, until_s)
            self._sample_exposures(np.flatnonzero(self._exposed() & (self.dose_time_s < t - 1e-12)), t)
        self.time = max(self.time, float(until_s))

    def run(self, until_s: float | None = None, progress: ProgressFn | None = None,
            progress_interval_s: float = PROGRESS_INTERVAL_S) -> EvacuationModel:
        """Step until everybody is safe/incapacitated, deadlock, or ``until_s`` (default t_max).

        ``progress(time_s, arrived, n)`` is told every ``progress_interval_s`` of simulated time (s)
        and once at the end: the simulated time, how many people have reached a goal, and of how many."""
        stop = self.params.t_max_s if until_s is None else min(until_s, self.params.t_max_s)
        next_tell = self.time + progress_interval_s
        while self.running and self.time < stop - 1e-9:
            self.step()
            if progress is not None and self.time >= next_tell - 1e-9:
                progress(float(self.time), int(self.arrived_total), int(self.n))
                next_tell += progress_interval_s
        if progress is not None:
            progress(float(self.time), int(self.arrived_total), int(self.n))
        if self._traj_every and (not self._frames or self._frames[-1][0] < self.time):
            self._record_frame()
        self.settle_doses()
        return self

    def result(self):
        from .results import EvacuationResult
        self.settle_doses()
        return EvacuationResult.from_model(self)
