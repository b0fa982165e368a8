"""Run QRA tasks on Dask (local cluster by default, or a remote scheduler) with an on-disk cache.

* ``scheduler=None`` — a ``dask.distributed.LocalCluster`` (2 single-threaded worker processes by
  default) is started for the run and closed afterwards;
* ``scheduler="tcp://host:8786"`` — connect to that cluster (same code, nothing else changes);
* ``scheduler=<distributed.Client>`` — use an open client (benchmarks reuse one cluster);
* ``scheduler="serial"`` — run the same task function in this process (no Dask; tests and the
  single-process baseline).

Every finished task's result is written by the driver as ``<cache_dir>/<task key>.npz``; on a re-run
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
from pathlib import Path
from typing import Any, Callable

import numpy as np

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
    worker processes (the tasks hold the GIL in numpy), no dashboard. The nanny already sets
    OMP/MKL/OPENBLAS_NUM_THREADS=1 in the workers (``distributed.nanny.pre-spawn-environ``); the
    default memory limit (system memory / workers, 12 GB each here) is far above a task's few
    hundred MB, so nothing spills. Its malloc setting is undone per worker by :func:`.tasks.tune_malloc`.
    The workers' statistical profiler (a thread sampling every 10 ms, taking the GIL) is off unless
    ``profile`` (needed for a ``performance_report``): it cost ~1 s of CPU per demo sweep on 2 cores."""
    import dask
    from dask.distributed import LocalCluster

    with dask.config.set({"distributed.worker.profile.enabled": bool(profile)}):
        return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None)


def _compute(scn: Scenario, ctx: TaskContext) -> dict[str, Any]:
    return run_task(scn, ctx)


def _warm_up(substances: list[str]) -> bool:
    """Run once on every worker before the sweep (counted in the start-up time, not in the rate):
    the task modules are imported by unpickling this function, the malloc settings applied and the
    substance property tables loaded."""
    from .scenarios import resolve_substance

    for name in substances:
        resolve_substance(name)
    return tune_malloc()


def execute(scenarios: list[Scenario], ctx: TaskContext, cache_dir: Path, *, scheduler: Any = None,
            n_workers: int = 2, resume: bool = True, progress: Progress | None = None,
            max_tasks: int | None = None) -> tuple[dict[str, dict[str, Any]], ExecutionStats]:
    """Results by scenario id (all of them unless ``max_tasks`` stopped the run) and statistics."""
    t0 = time.perf_counter()
    stats = ExecutionStats(n_tasks=len(scenarios))
    results: dict[str, dict[str, Any]] = {}
    paths = {s.id: cache_dir / f"{_safe(s.id)}.npz" for s in scenarios}
    todo = []
    for s in scenarios:
        if resume and paths[s.id].is_file():
            results[s.id] = load_result(paths[s.id])
            stats.n_cached += 1
        else:
            todo.append(s)
    total = len(scenarios)
    if progress:
        progress(len(results), total, "cache")
    budget = len(todo) if max_tasks is None else min(max_tasks, len(todo))

    def finish(sid: str, res: dict[str, Any]) -> None:
        save_result(paths[sid], res)
        results[sid] = res
        stats.n_computed += 1
        stats.computed_ids.append(sid)
        stats.task_cpu_s += float(res.get("cpu_s", 0.0))
        stats.task_wall_s += float(res.get("seconds", 0.0))
        stats.minor_faults += float(res.get("minor_faults", 0.0))
        stats.cases_computed += int(res["n_cases"])
        if "t_start" in res:
            stats.timeline.append((float(res["pid"]), float(res["t_start"]), float(res["t_end"])))
        if progress:
            progress(len(results), total, sid)

    substances = sorted({str(o.params["substance"]) for s in todo for o in s.outcomes if "substance" in o.params})
    if scheduler == "serial":
        stats.scheduler, stats.n_workers = "serial", 1
        t1 = time.perf_counter()
        _warm_up(substances)
        t_sweep, c_sweep, stats.sweep_t0 = time.perf_counter(), time.process_time(), time.time()
        stats.startup_s = t_sweep - t1
        for s in todo[:budget]:
            finish(s.id, _compute(s, ctx))
        stats.sweep_s = time.perf_counter() - t_sweep
        stats.driver_cpu_s = time.process_time() - c_sweep - stats.task_cpu_s
    elif todo:
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
            client.run(_warm_up, substances)
            t_sweep, c_sweep, stats.sweep_t0 = time.perf_counter(), time.process_time(), time.time()
            stats.startup_s = t_sweep - t1
            # most expensive tasks first (pool fires: numerical view factors) for a better load balance
            order = sorted(todo, key=lambda s: -_cost_hint(s))
            futs = {client.submit(_compute, s, ctx_f, key=f"qra-{_safe(s.id)}-{id(ctx)}", pure=False): s.id
                    for s in order}
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
            if own_cluster is not None:
                client.close()
                own_cluster.close()
    stats.complete = len(results) == total
    stats.wall_s = time.perf_counter() - t0
    return results, stats


_KIND_COST = {"pool_fire": 10.0, "toxic_plume": 2.0, "toxic_puff": 2.0}  # relative, measured on the demo plant


def _cost_hint(s: Scenario) -> float:
    """Relative cost of a task for ordering: pool fires (numerical view factor on every polar node)
    dominate — ~1.3 s per bund fire against ~0.1 s for a jet fire or flash fire on the demo plant."""
    return sum(_KIND_COST.get(o.kind, 1.0) for o in s.outcomes)
