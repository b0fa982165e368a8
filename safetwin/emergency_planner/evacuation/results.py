"""Outputs of an evacuation run: arrivals, RSET, doses and harm, trajectories, density maps.

The result is a plain container of numpy arrays (no I/O while the model runs); the only I/O is
:meth:`EvacuationResult.write_trajectories`, which writes Parquet with pyarrow on request.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .model import ARRIVED, INCAPACITATED, SHELTERING, STATES, EvacuationModel

__all__ = ["EvacuationResult", "Hotspot"]


@dataclass(frozen=True)
class Hotspot:
    """A density-map cell whose peak density reached the hot-spot threshold."""

    x_m: float
    y_m: float
    peak_density_per_m2: float
    time_above_threshold_s: float


@dataclass
class EvacuationResult:
    ids: list[str]
    goal_names: list[str]
    state: np.ndarray  # int codes, see STATES
    arrival_time_s: np.ndarray  # nan if not arrived
    arrival_goal: np.ndarray  # goal index, -1 if none
    start_moving_s: np.ndarray
    premovement_s: np.ndarray
    free_speed_m_s: np.ndarray
    initial_target: np.ndarray
    final_position: np.ndarray
    dose: dict[str, np.ndarray]
    harm_probability: dict[str, np.ndarray]
    incapacitated_time_s: np.ndarray
    end_time_s: float
    steps: int
    dt_s: float
    agent_steps: int
    wall_time_s: float
    deadlock: bool
    deadlock_time_s: float
    stuck: list[str]
    trajectories: dict[str, np.ndarray]
    density_mean_per_m2: np.ndarray
    density_peak_per_m2: np.ndarray
    density_origin: tuple[float, float]
    density_cell_m: float
    hotspots: list[Hotspot]
    crossings: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    #: per exposure channel, the time integral of its field at each person (field units x s; for a
    #: concentration in mg/m3 that is the dose in mg.s/m3), next to ``dose`` (the toxic load C^n t)
    field_integral: dict[str, np.ndarray] = field(default_factory=dict)
    goal_open_at_end: np.ndarray | None = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_model(cls, m: EvacuationModel) -> EvacuationResult:
        out = m.params.output
        if m._frames:
            t = np.concatenate([np.full(len(f[1]), f[0]) for f in m._frames])
            traj = {"time_s": t,
                    "person": np.concatenate([f[1] for f in m._frames]),
                    "x_m": np.concatenate([f[2][:, 0] for f in m._frames]).astype(np.float64),
                    "y_m": np.concatenate([f[2][:, 1] for f in m._frames]).astype(np.float64),
                    "state": np.concatenate([f[3] for f in m._frames])}
        else:
            traj = {k: np.zeros(0) for k in ("time_s", "person", "x_m", "y_m", "state")}
        frames = max(m._dens_frames, 1)
        interval = out.trajectory_interval_s or 0.0
        hot = []
        peak = m._dens_max
        for j, i in zip(*np.nonzero(peak >= out.hotspot_density_per_m2)):
            hot.append(Hotspot(m.dens_x0 + (i + 0.5) * out.density_cell_m, m.dens_y0 + (j + 0.5) * out.density_cell_m,
                               float(peak[j, i]), float(m._dens_over[j, i] * interval)))
        hot.sort(key=lambda h: (-h.time_above_threshold_s, -h.peak_density_per_m2))
        names = list(m.lines)
        cr = np.array(m.crossings, float).reshape(-1, 4)
        crossings = {nm: {"time_s": cr[cr[:, 2] == k, 0], "person": cr[cr[:, 2] == k, 1].astype(int),
                          "sign": cr[cr[:, 2] == k, 3].astype(int)} for k, nm in enumerate(names)}
        return cls(
            ids=list(m.ids), goal_names=m.geometry.goal_names, state=m.state.copy(),
            arrival_time_s=m.t_arrival.copy(), arrival_goal=m.arrival_goal.copy(),
            start_moving_s=m.t_moving.copy(), premovement_s=m.premove.copy(), free_speed_m_s=m.v0.copy(),
            initial_target=m.initial_target.copy(), final_position=m.pos.copy(),
            dose={e.name: m.dose[k].copy() for k, e in enumerate(m.exposures)},
            field_integral={e.name: m.field_integral[k].copy() for k, e in enumerate(m.exposures)},
            harm_probability={e.name: e.harm_probability(m.dose[k]) for k, e in enumerate(m.exposures)},
            incapacitated_time_s=m.t_incapacitated.copy(), end_time_s=m.time, steps=m.steps, dt_s=m.dt,
            agent_steps=m.agent_steps, wall_time_s=m.step_wall_s, deadlock=m.deadlock,
            deadlock_time_s=m.deadlock_time_s,
            stuck=[m.ids[k] for k in m.stuck] if m.deadlock else [],
            trajectories=traj, density_mean_per_m2=m._dens_sum / frames, density_peak_per_m2=peak.copy(),
            density_origin=(m.dens_x0, m.dens_y0), density_cell_m=out.density_cell_m, hotspots=hot,
            crossings=crossings, goal_open_at_end=m.goal_open & ~m.goal_unsafe)

    # ------------------------------------------------------------------ summaries
    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def states(self) -> list[str]:
        return [STATES[s] for s in self.state]

    @property
    def arrived(self) -> np.ndarray:
        return self.state == ARRIVED

    @property
    def n_arrived(self) -> int:
        return int(np.count_nonzero(self.state == ARRIVED))

    @property
    def safe(self) -> np.ndarray:
        """Arrived at a goal (muster point, exit) or reached a designated shelter."""
        return (self.state == ARRIVED) | ((self.state == SHELTERING) & (self.arrival_goal >= 0))

    @property
    def not_accounted_for(self) -> list[str]:
        """People neither at a goal nor in a designated shelter at the end of the run."""
        return [self.ids[k] for k in np.flatnonzero(~self.safe)]

    @property
    def complete(self) -> bool:
        return bool(self.safe.all())

    @property
    def rset_s(self) -> float:
        """Required safe egress time: time the last person reached safety (nan if nobody did);
        check :attr:`complete` / :attr:`not_accounted_for` before quoting it."""
        t = self.arrival_time_s[self.safe]
        return float(np.max(t)) if len(t) else math.nan

    def evacuation_time_percentile(self, q: float) -> float:
        t = self.arrival_time_s[self.safe]
        return float(np.percentile(t, q)) if len(t) else math.nan

    def arrivals_by_goal(self) -> dict[str, np.ndarray]:
        """Sorted arrival times (s) per goal."""
        return {g: np.sort(self.arrival_time_s[self.arrival_goal == k]) for k, g in enumerate(self.goal_names)}

    def arrival_curve(self, goal: str | None = None, times_s: np.ndarray | None = None):
        """Cumulative number of arrivals (at ``goal`` or at any goal) at ``times_s``
        (default: every second to the end of the run). Returns ``(times_s, counts)``."""
        if times_s is None:
            times_s = np.arange(0.0, self.end_time_s + 1.0, 1.0)
        t = self.arrival_time_s[self.safe] if goal is None else self.arrivals_by_goal()[goal]
        return times_s, np.searchsorted(np.sort(t), times_s, side="right")

    @property
    def agent_steps_per_s(self) -> float:
        return self.agent_steps / self.wall_time_s if self.wall_time_s > 0 else math.nan

    def count_in(self, polygon) -> tuple[np.ndarray, np.ndarray]:
        """Number of (unfinished) people inside ``polygon`` in every recorded frame."""
        import shapely
        tr = self.trajectories
        times = np.unique(tr["time_s"])
        inside = shapely.contains_xy(polygon, tr["x_m"], tr["y_m"])
        idx = np.searchsorted(times, tr["time_s"])
        return times, np.bincount(idx, weights=inside, minlength=len(times)).astype(int)

    def summary(self) -> dict:
        return {"n": self.n, "arrived": self.n_arrived, "rset_s": self.rset_s,
                "not_accounted_for": len(self.not_accounted_for), "deadlock": self.deadlock,
                "end_time_s": self.end_time_s, "agent_steps_per_s": self.agent_steps_per_s,
                "per_goal": {g: len(v) for g, v in self.arrivals_by_goal().items()},
                "incapacitated": int(np.count_nonzero(self.state == INCAPACITATED))}

    # ------------------------------------------------------------------ export
    def trajectories_table(self):
        """Trajectories as a pyarrow Table (time_s, person_id, x_m, y_m, state)."""
        import pyarrow as pa
        tr = self.trajectories
        ids = np.asarray(self.ids, dtype=object)
        return pa.table({"time_s": pa.array(tr["time_s"], pa.float64()),
                         "person_id": pa.array(ids[tr["person"].astype(int)] if len(tr["person"]) else [], pa.string()),
                         "x_m": pa.array(tr["x_m"], pa.float32()), "y_m": pa.array(tr["y_m"], pa.float32()),
                         "state": pa.array(np.asarray(STATES, dtype=object)[tr["state"].astype(int)]
                                           if len(tr["state"]) else [], pa.string())})

    def people_table(self):
        """One row per person: arrival, goal, doses, harm, final state (pyarrow Table)."""
        import pyarrow as pa
        goal = np.asarray(self.goal_names + [None], dtype=object)[self.arrival_goal]
        cols = {"person_id": self.ids, "state": self.states, "arrival_time_s": self.arrival_time_s,
                "goal": list(goal), "premovement_s": self.premovement_s, "free_speed_m_s": self.free_speed_m_s,
                "x_m": self.final_position[:, 0], "y_m": self.final_position[:, 1],
                "incapacitated_time_s": self.incapacitated_time_s}
        for k, v in self.dose.items():
            cols[f"dose_{k}"] = v
            cols[f"harm_probability_{k}"] = self.harm_probability[k]
        return pa.table(cols)

    def write_trajectories(self, path) -> None:
        """Write the trajectories to a Parquet file."""
        import pyarrow.parquet as pq
        pq.write_table(self.trajectories_table(), path)

    def write_people(self, path) -> None:
        import pyarrow.parquet as pq
        pq.write_table(self.people_table(), path)
