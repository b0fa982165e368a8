"""Run tasks on Dask (local cluster by default, or a remote scheduler) with an on-disk cache.

One code path for every sweep of independent runs: :func:`execute_tasks` takes generic
:class:`Task` objects (id, payload, cost hint), a task function and how to save/load a result; the
QRA case sweep (:func:`execute`, one task per LOC scenario, ``.npz`` results) and the Monte Carlo
over weather draws (:mod:`safetwin.emergency_planner.montecarlo`, one incident run per draw, JSON
results) are thin wrappers over it.

* ``scheduler=None`` — a ``dask.distributed.LocalCluster`` (2 single-threaded worker processes by
  default) is started for the run and closed afterwards;
* ``scheduler="tcp://host:8786"`` — connect to that cluster (same code, nothing else changes);
* ``scheduler=<distributed.Client>`` — use an open client (benchmarks reuse one cluster);
* ``scheduler="serial"`` — run the same task function in this process (no Dask; tests and the
  single-process baseline).

Every finished task's result is written by the driver as ``<cache_dir>/<task id><suffix>``; on a re-run
with ``resume=True`` existing files are loaded and their tasks are not submitted. ``max_tasks``
stops the run after that many newly computed tasks (the remaining futures are cancelled), which is
how an interruption is simulated. Results travel back to the driver, so a remote cluster needs no
shared file system (the demo's 73 results are ~140 MB in all, well under a second of local transfer).

Timing: ``ExecutionStats.startup_s`` is cluster start, connection, scatter of the context and the
worker warm-up (imports, malloc settings, substance tables); ``sweep_s`` the case sweep after it
(submission to last result written). ``task_cpu_s`` / ``task_wall_s`` / ``minor_faults`` sum what
the tasks measured themselves (CPU of the task's thread), so CPU time per case can be compared across
configurations independently of other load on the machine; ``driver_cpu_s`` is the CPU the driver
process spent during the sweep outside the tasks (result transfer, cache writes and, with a
``LocalCluster``, the scheduler).
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from collections.abc import Callable, Mapping

import numpy as np

from safetwin.errors import require_extra

from .scenarios import Scenario
from .tasks import TaskContext, run_task, tune_malloc

Progress = Callable[[int, int, str], None]


@dataclass
class ExecutionStats:
    """What the run did: tasks in total, loaded from the cache, computed now; wall time (s) of the whole
    call, of the cluster start-up and of the sweep; CPU and wall time (s) and minor page faults summed
    over the tasks computed now (measured inside the tasks); where."""

    n_tasks: int = 0
    n_cached: int = 0
    n_computed: int = 0
    wall_s: float = 0.0
    startup_s: float = 0.0
    sweep_s: float = 0.0
    task_cpu_s: float = 0.0
    task_wall_s: float = 0.0
    minor_faults: float = 0.0
    cases_computed: int = 0
    driver_cpu_s: float = 0.0
    sweep_t0: float = 0.0
    scheduler: str = "serial"
    n_workers: int = 1
    complete: bool = True
    computed_ids: list[str] = field(default_factory=list)
    timeline: list[tuple[float, float, float]] = field(default_factory=list)  # (pid, t_start, t_end) per task


def print_progress(done: int, total: int, task_id: str) -> None:
    """A one-line text progress bar on stderr."""
    width = 30
    fill = int(width * done / max(total, 1))
    sys.stderr.write(f"\r[{'#' * fill}{'.' * (width - fill)}] {done}/{total} {task_id[:28]:<28}")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _safe(task_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in task_id)


def save_result(path: Path, res: dict[str, Any]) -> None:
    """Write one task result atomically (temporary file + rename), so an interrupted write never
    leaves a file that a resumed run would trust. Uncompressed: zlib on the float64 IR blocks cost
    the driver ~4 s of CPU per demo run (for 88 instead of 153 MB), CPU the workers need on 2 cores."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp.npz")
    os.close(fd)
    np.savez(tmp, **{k: np.asarray(v) for k, v in res.items()})
    os.replace(tmp, path)


def load_result(path: Path) -> dict[str, Any]:
    with np.load(path) as z:
        d = {k: z[k] for k in z.files}
    for k in ("j0", "j1", "i0", "i1", "n_cases"):
        d[k] = int(d[k])
    for k in ("pll", "seconds", "reach_m", "cpu_s", "process_cpu_s", "minor_faults", "t_start", "t_end", "pid"):
        d[k] = float(d[k]) if k in d else float("nan")
    return d


def local_cluster(n_workers: int = 2, *, profile: bool = False) -> Any:
    """The ``LocalCluster`` a run starts when no scheduler is given: ``n_workers`` single-threaded
    worker processes (the tasks hold the GIL in numpy), its HTTP server on a free port. The nanny already sets
    OMP/MKL/OPENBLAS_NUM_THREADS=1 in the workers (``distributed.nanny.pre-spawn-environ``); the
    default memory limit (system memory / workers, 12 GB each here) is far above a task's few
    hundred MB, so nothing spills. Its malloc setting is undone per worker by :func:`.tasks.tune_malloc`.
    The workers' statistical profiler (a thread sampling every 10 ms, taking the GIL) is off unless
    ``profile`` (needed for a ``performance_report``): it cost ~1 s of CPU per demo sweep on 2 cores."""
    dask = require_extra("dask", extra="cluster", purpose="a local Dask cluster")
    from dask.distributed import LocalCluster

    with dask.config.set({"distributed.worker.profile.enabled": bool(profile)}):
        # ":0": the scheduler's HTTP server on a free port (None still asks for 8787 and warns when it is taken)
        return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=":0")


def _compute(scn: Scenario, ctx: TaskContext) -> dict[str, Any]:
    return run_task(scn, ctx)


def _warm_up(substances: list[str]) -> bool:
    """Run once on every worker before the sweep (counted in the start-up time, not in the rate):
    the task modules are imported by unpickling this function, the malloc settings applied and the
    substance property tables loaded."""
    from safetwin.substances import get_substance

    for name in substances:
        get_substance(name)
    return tune_malloc()


@dataclass(frozen=True)
class Task:
    """One unit of work for :func:`execute_tasks`: a unique ``id`` (also the cache file name, made
    file-safe), the ``payload`` handed to the task function and a relative ``cost`` hint (larger
    runs first on a cluster, for a better load balance)."""

    id: str
    payload: Any
    cost: float = 1.0


def execute_tasks(tasks: list[Task], fn: Callable[[Any, Any], Any], ctx: Any, cache_dir: Path, *,
                  scheduler: Any = None, n_workers: int = 2, resume: bool = True, progress: Progress | None = None,
                  max_tasks: int | None = None, save: Callable[[Path, Any], None] = save_result,
                  load: Callable[[Path], Any] = load_result, suffix: str = ".npz",
                  warm_up: Callable[[], Any] | None = None, key_prefix: str = "task"
                  ) -> tuple[dict[str, Any], ExecutionStats]:
    """Run ``fn(task.payload, ctx)`` for every task, serially or on Dask, with an on-disk cache.

    ``ctx`` is shared by all tasks (scattered once to every worker); ``fn`` and ``warm_up`` must be
    importable module-level functions (or partials of them) so workers can unpickle them. Each
    finished result is written by the driver with ``save(<cache_dir>/<task id><suffix>, result)``;
    with ``resume`` existing files are read back with ``load`` and their tasks not run. ``warm_up()``
    runs once per worker (once in-process for ``scheduler="serial"``) before the sweep. When a result
    is a mapping carrying the per-task profile of :class:`.tasks._Meter` (``cpu_s``, ``seconds``,
    ``minor_faults``, ``t_start``/``t_end``/``pid``) and ``n_cases``, these are summed into the
    statistics. Returns the results by task id (all of them unless ``max_tasks`` stopped the run) and
    the :class:`ExecutionStats`. See the module docstring for ``scheduler``, ``progress`` and
    ``max_tasks``.

    Example (in-process; a cluster runs the same call with ``scheduler=None``)::

        >>> import json, math, tempfile
        >>> from pathlib import Path
        >>> d = Path(tempfile.mkdtemp())
        >>> save = lambda p, r: p.write_text(json.dumps(r))
        >>> load = lambda p: json.loads(p.read_text())
        >>> tasks = [Task(f"t{k}", k) for k in range(3)]
        >>> res, st = execute_tasks(tasks, math.ldexp, 2, d, scheduler="serial", save=save, load=load,
        ...                         suffix=".json")
        >>> res, st.n_computed
        ({'t0': 0.0, 't1': 4.0, 't2': 8.0}, 3)
        >>> execute_tasks(tasks, math.ldexp, 2, d, scheduler="serial", save=save, load=load,
        ...               suffix=".json")[1].n_cached
        3
    """
    t0 = time.perf_counter()
    ids = [t.id for t in tasks]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"execute_tasks: task ids must be unique; repeated: {dup[:5]}")
    stats = ExecutionStats(n_tasks=len(tasks))
    results: dict[str, Any] = {}
    paths = {t.id: cache_dir / f"{_safe(t.id)}{suffix}" for t in tasks}
    todo = []
    for t in tasks:
        if resume and paths[t.id].is_file():
            results[t.id] = load(paths[t.id])
            stats.n_cached += 1
        else:
            todo.append(t)
    total = len(tasks)
    if progress:
        progress(len(results), total, "cache")
    budget = len(todo) if max_tasks is None else min(max_tasks, len(todo))

    def finish(tid: str, res: Any) -> None:
        save(paths[tid], res)
        results[tid] = res
        stats.n_computed += 1
        stats.computed_ids.append(tid)
        if isinstance(res, Mapping):
            stats.task_cpu_s += float(res.get("cpu_s", 0.0))
            stats.task_wall_s += float(res.get("seconds", 0.0))
            stats.minor_faults += float(res.get("minor_faults", 0.0))
            stats.cases_computed += int(res.get("n_cases", 0))
            if "t_start" in res:
                stats.timeline.append((float(res["pid"]), float(res["t_start"]), float(res["t_end"])))
        if progress:
            progress(len(results), total, tid)

    if scheduler == "serial":
        stats.scheduler, stats.n_workers = "serial", 1
        t1 = time.perf_counter()
        if warm_up is not None:
            warm_up()
        t_sweep, c_sweep, stats.sweep_t0 = time.perf_counter(), time.process_time(), time.time()
        stats.startup_s = t_sweep - t1
        for t in todo[:budget]:
            finish(t.id, fn(t.payload, ctx))
        stats.sweep_s = time.perf_counter() - t_sweep
        stats.driver_cpu_s = time.process_time() - c_sweep - stats.task_cpu_s
    elif todo:
        require_extra("dask.distributed", extra="cluster", purpose="running tasks on Dask workers")
        from dask.distributed import Client, as_completed

        t1 = time.perf_counter()
        own_cluster = None
        if scheduler is None:
            own_cluster = local_cluster(n_workers)
            client = Client(own_cluster)
        elif isinstance(scheduler, str):
            client = Client(scheduler)
        else:
            client = scheduler
        try:
            stats.scheduler = str(client.scheduler.address)
            stats.n_workers = len(client.scheduler_info()["workers"])
            ctx_f = client.scatter(ctx, broadcast=True)
            if warm_up is not None:
                client.run(warm_up)
            t_sweep, c_sweep, stats.sweep_t0 = time.perf_counter(), time.process_time(), time.time()
            stats.startup_s = t_sweep - t1
            order = sorted(todo, key=lambda t: -t.cost)  # most expensive first (stable for equal costs)
            futs = {client.submit(fn, t.payload, ctx_f, key=f"{key_prefix}-{_safe(t.id)}-{id(ctx)}", pure=False): t.id
                    for t in order}
            done = 0
            for fut in as_completed(list(futs)):
                if done >= budget:
                    break
                finish(futs[fut], fut.result())
                done += 1
            for fut in futs:
                if not fut.done():
                    fut.cancel()
            stats.sweep_s = time.perf_counter() - t_sweep
            stats.driver_cpu_s = time.process_time() - c_sweep  # client (+ scheduler of a LocalCluster)
        finally:
            if client is not scheduler:  # a client this call opened (local cluster or an address)
                client.close()
            if own_cluster is not None:
                own_cluster.close()
    stats.complete = len(results) == total
    stats.wall_s = time.perf_counter() - t0
    return results, stats


def execute(scenarios: list[Scenario], ctx: TaskContext, cache_dir: Path, *, scheduler: Any = None,
            n_workers: int = 2, resume: bool = True, progress: Progress | None = None,
            max_tasks: int | None = None) -> tuple[dict[str, dict[str, Any]], ExecutionStats]:
    """QRA results by scenario id (all of them unless ``max_tasks`` stopped the run) and statistics:
    :func:`execute_tasks` over one :class:`Task` per LOC scenario (``run_task``, ``.npz`` cache,
    pool fires first on a cluster)."""
    substances = sorted({str(o.params["substance"]) for s in scenarios for o in s.outcomes if "substance" in o.params})
    tasks = [Task(s.id, s, _cost_hint(s)) for s in scenarios]
    return execute_tasks(tasks, _compute, ctx, cache_dir, scheduler=scheduler, n_workers=n_workers, resume=resume,
                         progress=progress, max_tasks=max_tasks, save=save_result, load=load_result, suffix=".npz",
                         warm_up=partial(_warm_up, substances), key_prefix="qra")


_KIND_COST = {"pool_fire": 10.0, "toxic_plume": 2.0, "toxic_puff": 2.0}  # relative, measured on the demo plant


def _cost_hint(s: Scenario) -> float:
    """Relative cost of a task for ordering: pool fires (numerical view factor on every polar node)
    dominate — ~1.3 s per bund fire against ~0.1 s for a jet fire or flash fire on the demo plant."""
    return sum(_KIND_COST.get(o.kind, 1.0) for o in s.outcomes)
