"""Planner runs kept out of the page: scenario composition, a run cache, a worker pool, progress.

Core objects: :func:`compose_scenario` (form values → a scenario document), :func:`validate_document`
(the document through the scenario schema and the plant checks, every problem located by field),
:class:`Playback` (what the planner page draws, as plain numpy arrays: frames of people, hazard
field snapshots, paths, routes, metrics, events) and :class:`PlannerRuns` (one per mounted plant:
runs ``run_incident`` in a worker process, at most one run per session at a time, results cached
by scenario hash and shared by every session).

Runs go to a separate process (``spawn``), not a thread: an incident run is 5–40 s of mostly
Python-level work and would hold the GIL the Bokeh event loop needs for the live control rooms.
Only the :class:`Playback` (a few MB of arrays) comes back. The worker reports its stage
(loading, simulating, fields, routes) through a queue that :meth:`PlannerRuns.poll` drains.

Example (no server, no browser)::

    >>> from safetwin.ui.planner_runs import ComposeForm, compose_scenario, validate_document, PlannerRuns
    >>> doc = compose_scenario(ComposeForm(equipment="V-1102", rate_kg_s=0.05, people_limit=30,
    ...                                    duration_s=300.0))
    >>> loaded = validate_document(doc)
    >>> loaded.scenario.population.limit
    30
    >>> runs = PlannerRuns(executor="thread")     # the server uses a worker process
    >>> rec = runs.submit("session-1", doc, label="H2S at V-1102")        # doctest: +SKIP
    >>> while not rec.done: runs.poll(); time.sleep(0.5)                   # doctest: +SKIP
    >>> rec.playback.metrics["alarm_s"], rec.playback.n_frames             # doctest: +SKIP
    (35.0, 60)

A server script that creates a ``PlannerRuns`` must guard its entry point with
``if __name__ == "__main__":`` (the ``spawn`` worker imports the main module again).
"""
from __future__ import annotations

import hashlib
import json
import math
import multiprocessing as mp
import queue
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from safetwin.scenarios.loader import (
    LoadedScenario,
    check_scenario,
    load_scenario,
    resolve_substance,
    scenario_path,
)

__all__ = [
    "COMPOSED_LABEL",
    "PERSON_STATE_NAMES",
    "PLANNER_ROLES",
    "ComposeForm",
    "FieldMeta",
    "PlannerRuns",
    "Playback",
    "RunRecord",
    "build_playback",
    "compose_scenario",
    "scenario_key",
    "validate_document",
]

#: roles that may open the planner page and start runs (admin holds every role)
PLANNER_ROLES = ("planner", "safety_engineer", "operator", "manager", "admin")
#: the evacuation model's person states, index = code (safetwin.emergency_planner.evacuation.model.STATES)
PERSON_STATE_NAMES = ("working", "alerted", "moving", "sheltering", "arrived", "incapacitated")
ARRIVED_CODE = 4
#: the "file" named in the located errors of a composed scenario
COMPOSED_LABEL = "composed scenario"
#: hazard snapshots for the playback: at most this many per run, at least this interval (s), grid cell (m)
MAX_FIELD_SNAPSHOTS = 120
MIN_FIELD_INTERVAL_S = 10.0
FIELD_CELL_M = 5.0
#: heat-flux thresholds drawn on the colour bar, kW/m² (pain / escape limit / 1 % lethality / equipment damage)
FLUX_THRESHOLDS_KW_M2 = ((1.6, "1.6"), (5.0, "5"), (12.5, "12.5"), (37.5, "37.5"))
#: runs kept in memory (least recently used dropped first)
CACHE_SIZE = 12
#: prior cost of the evacuation model, s per (person × step); refined by every finished run
PRIOR_S_PER_PERSON_STEP = 1.4e-5
#: fixed part of a run's wall time (scenario and plant loading, navigation set-up, hazard fields), s
RUN_OVERHEAD_S = 8.0


# ============================================================================ composition
@dataclass(frozen=True)
class ComposeForm:
    """The planner page's compose form (SI units; wind direction = where the wind blows FROM).

    ``rate_kg_s`` overrides ``hole_diameter_m``; ``people_limit`` keeps a random subset of the
    shift for quick runs; ``shift`` None means the shift covering ``time_of_day``.
    """

    equipment: str
    plant: str = "demo_plant"
    event_type: str = "release"
    rate_kg_s: float | None = None
    hole_diameter_m: float | None = None
    release_duration_s: float | None = None
    release_height_m: float = 1.0
    wind_speed_m_s: float = 3.0
    wind_from_deg: float = 270.0
    stability: str = "D"
    time_of_day: str = "10:00"
    shift: str | None = None
    people_limit: int | None = None
    duration_s: float = 900.0
    seed: int = 1


def _slug(text: str) -> str:
    out = "".join(c if c.isalnum() else "_" for c in text.lower()).strip("_")
    return out or "x"


def compose_scenario(form: ComposeForm) -> dict[str, Any]:
    """A scenario document (the YAML structure of ``scenarios/schema.py``) from the compose form.

    Nothing is checked here: :func:`validate_document` does that, with located messages.
    """
    ev: dict[str, Any] = {"id": f"{form.event_type}-{_slug(form.equipment)}", "type": form.event_type, "time_s": 0.0,
                          "equipment": form.equipment}
    if form.event_type in ("release", "jet_fire"):
        if form.rate_kg_s is not None:
            ev["rate_kg_s"] = form.rate_kg_s
        if form.hole_diameter_m is not None and form.rate_kg_s is None:
            ev["hole_diameter_m"] = form.hole_diameter_m
    if form.event_type == "release":
        ev["height_m"] = form.release_height_m
        if form.release_duration_s is not None:
            ev["duration_s"] = form.release_duration_s
    doc: dict[str, Any] = {
        "schema_version": 1,
        "name": f"composed_{_slug(form.event_type)}_{_slug(form.equipment)}",
        "title": f"Composed: {form.event_type} at {form.equipment}",
        "plant": form.plant,
        "time_of_day": form.time_of_day,
        "events": [ev],
        "weather": {"wind_speed_m_s": form.wind_speed_m_s, "wind_from_deg": form.wind_from_deg,
                    "stability": form.stability},
        "population": {"seed": form.seed},
        "simulation": {"duration_s": form.duration_s},
    }
    if form.shift:
        doc["shift"] = form.shift
    if form.people_limit is not None:
        doc["population"]["limit"] = form.people_limit
    return doc


def validate_document(doc: dict[str, Any], label: str = COMPOSED_LABEL) -> LoadedScenario:
    """Validate a scenario document as the loader validates files (schema, then the plant), in memory.

    Raises:
        ScenarioValidationError: every problem, located by ``label`` and field.
    """
    return check_scenario(doc, source=label)


def scenario_key(loaded: LoadedScenario) -> str:
    """A hash of what a run depends on: the validated scenario (defaults filled in) and the plant."""
    doc = {"plant": loaded.plant.id, "scenario": loaded.scenario.model_dump(mode="json", exclude={"title", "description"})}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


# ============================================================================ playback
@dataclass(frozen=True)
class FieldMeta:
    """How to draw one hazard field: its label and unit, display scale and thresholds (display units)."""

    name: str
    label: str
    unit: str
    log: bool
    low: float
    high: float
    thresholds: tuple[tuple[float, str], ...]


@dataclass
class Playback:
    """What the planner page draws for one run; plain arrays, picklable, no physics objects.

    Frames are the evacuation trajectory times (s from t0). People of frame ``k`` are rows
    ``offsets[k]:offsets[k+1]`` of ``px``/``py``/``pcode`` (codes :data:`PERSON_STATE_NAMES`); people
    who have arrived are added at their muster point by :meth:`people_at`. Fields are snapshots on a
    regular grid (``field_x_m``, ``field_y_m`` cell centres, m) in display units (mg/m³, kW/m²).
    """

    key: str
    scenario_name: str
    title: str
    plant_id: str
    summary: dict[str, Any]
    metrics: dict[str, Any]
    events: list[tuple[float, str, str, str]]
    frame_times_s: np.ndarray
    offsets: np.ndarray
    px: np.ndarray
    py: np.ndarray
    pcode: np.ndarray
    arrival_time_s: np.ndarray
    final_xy: np.ndarray
    paths: tuple[list[list[float]], list[list[float]]]
    field_times_s: np.ndarray
    field_x_m: np.ndarray
    field_y_m: np.ndarray
    fields: dict[str, np.ndarray]
    field_meta: dict[str, FieldMeta]
    routes: list[tuple[str, np.ndarray]] = field(default_factory=list)
    routes_note: str = ""
    wall_time_s: float = 0.0

    @property
    def n_frames(self) -> int:
        return len(self.frame_times_s)

    def frame_index(self, t_s: float) -> int:
        """The frame nearest to ``t_s`` (s)."""
        return _nearest(self.frame_times_s, t_s)

    def field_index(self, t_s: float) -> int:
        """The field snapshot nearest to ``t_s`` (s)."""
        return _nearest(self.field_times_s, t_s)

    def people_at(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """x (m), y (m) and state code of everyone at frame ``k`` (arrived people at their muster point)."""
        a, b = int(self.offsets[k]), int(self.offsets[k + 1])
        t = self.frame_times_s[k]
        arrived = np.flatnonzero(self.arrival_time_s <= t + 1e-9)
        x = np.concatenate([self.px[a:b], self.final_xy[arrived, 0]])
        y = np.concatenate([self.py[a:b], self.final_xy[arrived, 1]])
        code = np.concatenate([self.pcode[a:b], np.full(len(arrived), ARRIVED_CODE, dtype=self.pcode.dtype)])
        return x, y, code


def _nearest(times: np.ndarray, t: float) -> int:
    if len(times) == 0:
        return 0
    i = int(np.searchsorted(times, t))
    if i <= 0:
        return 0
    if i >= len(times):
        return len(times) - 1
    return i if times[i] - t < t - times[i - 1] else i - 1


def _field_meta(name: str, arr: np.ndarray) -> FieldMeta:
    """Display settings of one ``IncidentResult.fields`` array (already in display units)."""
    peak = float(np.nanmax(arr)) if arr.size else 0.0
    if name == "flux_kw_m2":
        return FieldMeta(name, "heat flux", "kW/m²", False, 1.0, max(peak, 40.0), FLUX_THRESHOLDS_KW_M2)
    sub_name = name.removeprefix("conc_").removesuffix("_mg_m3").replace("_", " ")
    thresholds: list[tuple[float, str]] = []
    try:
        sub = resolve_substance(sub_name)
        if sub.toxic is not None:  # a toxic gas is shown against its AEGLs (far below its LFL)
            for lv in (1, 2, 3):
                try:
                    v = float(sub.ppm_to_mg_m3(sub.toxic.aegl_at(lv, 1800.0)))
                except (KeyError, ValueError, TypeError):
                    continue
                if math.isfinite(v) and v > 0:
                    thresholds.append((v, f"AEGL-{lv}"))
        if not thresholds and sub.lfl_mg_m3 is not None:
            thresholds += [(0.5 * sub.lfl_mg_m3, "½ LFL"), (float(sub.lfl_mg_m3), "LFL")]
    except KeyError:
        pass
    thresholds.sort()
    low = thresholds[0][0] / 10.0 if thresholds else max(peak * 1e-4, 1e-6)
    high = max(peak, (thresholds[-1][0] * 2.0 if thresholds else low * 10.0), low * 10.0)
    return FieldMeta(name, sub_name, "mg/m³", True, low, high, tuple(thresholds))


def _recommended_routes(result: Any, plant: Any, xy_at_alarm: tuple[list[str], np.ndarray],
                        t0_s: float) -> tuple[list, str]:
    """Per-area recommended routes from ``emergency_planner.recommend`` when it exists, else ([], why)."""
    try:
        from safetwin.emergency_planner.recommend import recommend
        from safetwin.emergency_planner.recommend.ensemble import WindEnsemble, hazard_known_at, scenario_t0_wind
    except ImportError as exc:
        return [], f"recommended routes not available ({exc})"
    try:
        ids, xy = xy_at_alarm
        known = hazard_known_at(result, WindEnsemble.around(scenario_t0_wind(result.scenario, t0_s), t0_s))
        rec = recommend(plant, known, ids, xy, t0_s)
        routes = []
        for area in getattr(rec, "areas", []):  # AreaInstruction: one simplified route per evacuated area
            arr = np.asarray(getattr(area, "route_xy", None) or [], float)
            if getattr(area, "action", "") == "evacuate" and arr.ndim == 2 and arr.shape[0] >= 2:
                routes.append((f"{area.area_id} → {area.muster_point or '?'}", arr[:, :2]))
        return routes, ""
    except Exception as exc:
        return [], f"recommended routes failed: {type(exc).__name__}: {str(exc)[:200]}"


def build_playback(result: Any, key: str, plant: Any, *, routes: bool = True) -> Playback:
    """Turn an ``IncidentResult`` of ``plant`` into a :class:`Playback` (frames, field snapshots, tables)."""
    sc = result.scenario
    evac = result.evacuation
    if evac is not None and len(evac.trajectories["time_s"]):
        tr = evac.trajectories
        order = np.argsort(tr["time_s"], kind="stable")
        t = np.asarray(tr["time_s"], float)[order]
        frame_times, offsets = np.unique(t, return_index=True)
        offsets = np.append(offsets, len(t)).astype(np.int64)
        # a recorded time with nobody left walking has no rows: end on a frame at the last arrival,
        # else the playback stops with the last people still on their way
        arrived_at = np.asarray(evac.arrival_time_s, float)
        arrived_at = arrived_at[np.isfinite(arrived_at)]
        if arrived_at.size and arrived_at.max() > frame_times[-1] + 1e-9:
            frame_times = np.append(frame_times, arrived_at.max())
            offsets = np.append(offsets, len(t))
        px = np.asarray(tr["x_m"], np.float32)[order]
        py = np.asarray(tr["y_m"], np.float32)[order]
        pcode = np.asarray(tr["state"], np.int8)[order]
        person = np.asarray(tr["person"])[order]
        arrival = np.asarray(evac.arrival_time_s, float)
        final_xy = np.asarray(evac.final_position, float)[:, :2]
        # each person's own path (their trajectory, then the muster point if they arrived)
        by_person = np.argsort(person, kind="stable")
        splits = np.flatnonzero(np.diff(person[by_person])) + 1
        xs, ys = [], []
        for idx in np.split(by_person, splits):
            if not len(idx):
                continue
            p = int(person[idx[0]])
            x, y = px[idx].tolist(), py[idx].tolist()
            if np.isfinite(arrival[p]):
                x.append(float(final_xy[p, 0]))
                y.append(float(final_xy[p, 1]))
            xs.append(x)
            ys.append(y)
    else:
        frame_times = np.arange(0.0, sc.simulation.duration_s + 1e-9, sc.simulation.trajectory_interval_s)
        offsets = np.zeros(len(frame_times) + 1, np.int64)
        px = py = np.zeros(0, np.float32)
        pcode = np.zeros(0, np.int8)
        arrival = np.zeros(0)
        final_xy = np.zeros((0, 2))
        xs, ys = [], []
    interval = max(MIN_FIELD_INTERVAL_S, sc.simulation.duration_s / MAX_FIELD_SNAPSHOTS)
    raw = result.fields(interval, FIELD_CELL_M)
    fields: dict[str, np.ndarray] = {}
    for name, arr in raw.items():
        if name.startswith("conc_"):
            fields[name] = np.asarray(arr, np.float32)
        elif name == "flux_w_m2":
            fields["flux_kw_m2"] = (np.asarray(arr, np.float32) / 1e3).astype(np.float32)
    meta = {n: _field_meta(n, a) for n, a in fields.items()}
    m = result.metrics
    ev0 = sc.events[0]
    inv = plant.inventories.get(ev0.equipment)
    inv_sub = inv.substance if inv is not None else ""
    w = sc.weather
    summary = {"equipment": ev0.equipment, "event": ev0.type, "substance": inv_sub,
               "wind_speed_m_s": w.wind_speed_m_s, "wind_from_deg": w.wind_from_deg, "stability": w.stability,
               "time_of_day": sc.time_of_day, "shift": m.get("shift"), "duration_s": sc.simulation.duration_s}
    events = [(float(e.time_s), e.kind, e.source, json.dumps(e.detail, default=str))   # whole: the page words it
              for e in result.events]
    pb = Playback(key=key, scenario_name=sc.name, title=sc.title or sc.name, plant_id=result.plant_id,
                    summary=summary, metrics=json.loads(json.dumps(m, default=_plain)), events=events,
                    frame_times_s=np.asarray(frame_times, float), offsets=offsets, px=px, py=py, pcode=pcode,
                    arrival_time_s=arrival, final_xy=final_xy, paths=(xs, ys),
                    field_times_s=np.asarray(raw.get("times_s", np.zeros(0)), float),
                    field_x_m=np.asarray(raw.get("x_m", np.zeros(0)), float),
                    field_y_m=np.asarray(raw.get("y_m", np.zeros(0)), float), fields=fields, field_meta=meta,
                    wall_time_s=float(result.wall_time_s))
    if routes:
        add_routes(pb, result, plant)
    return pb


def add_routes(pb: Playback, result: Any, plant: Any) -> None:
    """Recommended routes for the people on site at the alarm (``pb.routes``, or ``pb.routes_note`` why not)."""
    if result.evacuation is None:
        pb.routes_note = "no evacuation in this run"
        return
    alarm = pb.metrics.get("alarm_s")
    t0 = float(alarm) if alarm is not None else 0.0
    k = pb.frame_index(t0)
    a, b = int(pb.offsets[k]), int(pb.offsets[k + 1])
    tr = result.evacuation.trajectories
    present = np.asarray(tr["person"])[np.argsort(tr["time_s"], kind="stable")][a:b]
    ids = [result.evacuation.ids[int(p)] for p in present]
    pb.routes, pb.routes_note = _recommended_routes(result, plant, (ids, np.column_stack([pb.px[a:b], pb.py[a:b]])
                                                              .astype(float)), t0)


def _plain(o: Any) -> Any:
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, float) and not math.isfinite(o):
        return None
    return str(o)


# ============================================================================ worker side
_PROGRESS: Any = None


def _init_worker(progress_queue: Any) -> None:
    global _PROGRESS
    _PROGRESS = progress_queue


def _report(key: str, stage: str, payload: Any = None) -> None:
    if _PROGRESS is not None:
        try:
            _PROGRESS.put((key, stage, time.time(), payload))
        except (OSError, ValueError):  # the page only loses a progress line
            pass


def warm_up() -> float:
    """Worker no-op that imports the planner (numba kernels load from their cache); returns its wall time (s)."""
    t = time.perf_counter()
    import safetwin.emergency_planner.incident  # noqa: F401
    return time.perf_counter() - t


def simulate(source: str | dict[str, Any], key: str) -> tuple[list[tuple[str, np.ndarray]], str]:
    """Worker entry point: load the scenario (library path or document) and run it.

    The :class:`Playback` is sent through the progress queue (stage ``"playback"``) as soon as it
    is ready, so the page shows results while the recommended routes are still being computed;
    the return value is the routes and their note (:func:`add_routes`).
    """
    from safetwin.emergency_planner.incident import run_incident

    _report(key, "loading")
    loaded = load_scenario(source) if isinstance(source, str) else validate_document(source)
    _report(key, "simulating")
    result = run_incident(loaded, evacuate=True)
    _report(key, "fields")
    pb = build_playback(result, key, loaded.plant, routes=False)
    _report(key, "playback", pb)
    add_routes(pb, result, loaded.plant)
    return pb.routes, pb.routes_note


# ============================================================================ the run manager
@dataclass
class RunRecord:
    """One run: ``status`` queued → running → done | failed; ``stage`` is the worker's last report."""

    key: str
    label: str
    source: str | dict[str, Any]
    people: int
    steps: int
    submitted_s: float
    status: str = "queued"
    stage: str = "queued"  # queued, loading, simulating, fields, playback, done, failed
    started_s: float | None = None
    finished_s: float | None = None
    error: str = ""
    playback: Playback | None = None
    routes_pending: bool = True
    future: Future | None = None

    @property
    def done(self) -> bool:
        return self.status in ("done", "failed")

    def elapsed_s(self, now: float | None = None) -> float:
        """Wall time (s) since the worker started it (0 while queued)."""
        if self.started_s is None:
            return 0.0
        return (self.finished_s or now or time.time()) - self.started_s


class PlannerRuns:
    """The planner's runs for one server: a worker pool, a cache by scenario hash, per-session limits.

    Args:
        executor: ``"process"`` (default; a spawned worker process, the GIL stays free for the
            server) or ``"thread"`` (same process; for tests and tools).
        max_workers: parallel runs (each run uses one core).
        cache_size: finished runs kept (least recently used dropped first).
    """

    def __init__(self, *, executor: str = "process", max_workers: int = 1, cache_size: int = CACHE_SIZE) -> None:
        if executor not in ("process", "thread"):
            raise ValueError(f"executor must be 'process' or 'thread', not {executor!r}")
        self.kind = executor
        self.max_workers = max_workers
        self.cache_size = cache_size
        self._pool: ProcessPoolExecutor | ThreadPoolExecutor | None = None
        self._progress: Any = None
        self._lock = threading.RLock()
        self._runs: OrderedDict[str, RunRecord] = OrderedDict()
        self._session_active: dict[str, str] = {}
        self._s_per_person_step = PRIOR_S_PER_PERSON_STEP
        #: whether a finished run has measured the cost on this machine (before: the prior, no estimate shown)
        self.calibrated = False

    # ---------------------------------------------------------------- pool
    def _ensure_pool(self) -> ProcessPoolExecutor | ThreadPoolExecutor:
        if self._pool is None:
            if self.kind == "process":
                ctx = mp.get_context("spawn")  # never fork a server holding threads and sockets
                self._progress = ctx.Queue()
                self._pool = ProcessPoolExecutor(self.max_workers, mp_context=ctx, initializer=_init_worker,
                                                 initargs=(self._progress,))
            else:
                self._progress = queue.SimpleQueue()
                self._pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix="planner-run",
                                                initializer=_init_worker, initargs=(self._progress,))
        return self._pool

    def close(self) -> None:
        """Stop the workers (queued runs are cancelled)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    # ---------------------------------------------------------------- runs
    def get(self, key: str) -> RunRecord | None:
        """The run of scenario hash ``key`` (cached or in flight), or None."""
        with self._lock:
            rec = self._runs.get(key)
            if rec is not None:
                self._runs.move_to_end(key)
            return rec

    def active_for(self, session_id: str) -> RunRecord | None:
        """The unfinished run this session started, or None."""
        with self._lock:
            key = self._session_active.get(session_id)
            rec = self._runs.get(key) if key else None
            if rec is None or rec.done:
                self._session_active.pop(session_id, None)
                return None
            return rec

    def submit(self, session_id: str, scenario: str | dict[str, Any], label: str = "") -> RunRecord:
        """Start (or reuse) the run of a library scenario name/path or a scenario document.

        The scenario is validated here first (:class:`ScenarioValidationError` with located issues).
        A finished or running run of the same scenario hash is returned as it is, without a new run.

        Raises:
            ScenarioValidationError: the scenario is invalid.
            RuntimeError: this session already has a different run in progress.
        """
        if isinstance(scenario, dict):
            loaded = validate_document(scenario)
            source: str | dict[str, Any] = scenario
        else:
            source = str(scenario_path(scenario))
            loaded = load_scenario(source)
        key = scenario_key(loaded)
        with self._lock:
            rec = self._runs.get(key)
            if rec is not None and rec.status != "failed":
                self._runs.move_to_end(key)
                if not rec.done:
                    self._session_active.setdefault(session_id, key)
                return rec
            active = self.active_for(session_id)
            if active is not None:
                raise RuntimeError(f"this session already runs {active.label!r}; wait until it finishes")
            s = loaded.scenario.simulation
            shift = loaded.plant.shifts.get(loaded.shift)
            people = sum(shift.headcount.values()) if shift is not None else 0
            if loaded.scenario.population.limit is not None:
                people = min(people, loaded.scenario.population.limit)
            rec = RunRecord(key=key, label=label or loaded.scenario.title or loaded.scenario.name, source=source,
                            people=int(people), steps=int(s.duration_s / s.evacuation_dt_s), submitted_s=time.time())
            rec.future = self._ensure_pool().submit(simulate, source, key)
            self._runs[key] = rec
            self._session_active[session_id] = key
            self._trim()
            return rec

    def _trim(self) -> None:
        done = [k for k, r in self._runs.items() if r.done]
        while len(self._runs) > self.cache_size and done:
            self._runs.pop(done.pop(0), None)

    def warm(self) -> None:
        """Start the worker and import the planner in it (idempotent), so a first run starts quickly."""
        with self._lock:
            if self._pool is None:
                self._ensure_pool().submit(warm_up)

    def poll(self) -> None:
        """Drain the workers' reports and collect finished futures (call from any thread)."""
        with self._lock:
            while self._progress is not None:
                try:
                    key, stage, ts, payload = self._progress.get_nowait()
                except (queue.Empty, OSError, ValueError, EOFError):
                    break
                rec = self._runs.get(key)
                if rec is None or rec.done:
                    continue
                if rec.started_s is None:
                    rec.started_s = ts
                rec.status, rec.stage = "running", stage
                if stage == "playback" and isinstance(payload, Playback):
                    self._finish(rec, payload, ts)
            for rec in self._runs.values():
                f = rec.future
                if f is None or (rec.done and not rec.routes_pending):
                    continue
                if not f.done():
                    continue
                try:
                    routes, note = f.result()
                except Exception as exc:
                    msg = f"{type(exc).__name__}: {exc}"[:600]
                    if rec.playback is None:
                        rec.status = rec.stage = "failed"
                        rec.error = msg
                        rec.finished_s = time.time()
                        rec.started_s = rec.started_s or rec.finished_s
                    else:
                        rec.playback.routes_note = f"recommended routes failed: {msg}"
                else:
                    if rec.playback is None:  # the queue message was lost: the run cannot be shown
                        rec.status = rec.stage = "failed"
                        rec.error = "the worker finished without sending its results"
                        rec.finished_s = time.time()
                    else:
                        rec.playback.routes, rec.playback.routes_note = routes, note
                rec.routes_pending = False

    def _finish(self, rec: RunRecord, pb: Playback, ts: float) -> None:
        rec.playback = pb
        rec.status = rec.stage = "done"
        rec.finished_s = ts
        if rec.people and rec.steps:
            cost = max(pb.wall_time_s - RUN_OVERHEAD_S, 0.0) / (rec.people * rec.steps)
            # the first measurement replaces the prior; later ones are averaged in
            self._s_per_person_step = cost if not self.calibrated else 0.5 * self._s_per_person_step + 0.5 * cost
            self.calibrated = True

    def estimate_s(self, rec: RunRecord) -> float:
        """Expected wall time (s) of a run, from the cost of the runs finished so far."""
        return RUN_OVERHEAD_S + self._s_per_person_step * rec.people * rec.steps

    def progress(self, rec: RunRecord) -> float:
        """Estimated fraction done, 0–1 (1 only when finished; capped at 0.95 before)."""
        if rec.done:
            return 1.0
        if rec.started_s is None:
            return 0.0
        return min(0.95, rec.elapsed_s() / max(self.estimate_s(rec), 1.0))

    def finished(self) -> list[RunRecord]:
        """Runs with results, oldest first."""
        with self._lock:
            return [r for r in self._runs.values() if r.status == "done"]
