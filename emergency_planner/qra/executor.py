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
shared file system.
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
from .tasks import TaskContext, run_task

Progress = Callable[[int, int, str], None]


@dataclass
class ExecutionStats:
    """What the run did: tasks in total, loaded from the cache, computed now; wall time (s); where."""

    n_tasks: int = 0
    n_cached: int = 0
    n_computed: int = 0
    wall_s: float = 0.0
    scheduler: str = "serial"
    n_workers: int = 1
    complete: bool = True
    computed_ids: list[str] = field(default_factory=list)


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
    leaves a file that a resumed run would trust."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp.npz")
    os.close(fd)
    np.savez_compressed(tmp, **{k: np.asarray(v) for k, v in res.items()})
    os.replace(tmp, path)


def load_result(path: Path) -> dict[str, Any]:
    with np.load(path) as z:
        d = {k: z[k] for k in z.files}
    for k in ("j0", "j1", "i0", "i1", "n_cases"):
        d[k] = int(d[k])
    for k in ("pll", "seconds", "reach_m"):
        d[k] = float(d[k])
    return d


def _compute(scn: Scenario, ctx: TaskContext) -> dict[str, Any]:
    return run_task(scn, ctx)


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
        if progress:
            progress(len(results), total, sid)

    if scheduler == "serial":
        stats.scheduler, stats.n_workers = "serial", 1
        for s in todo[:budget]:
            finish(s.id, _compute(s, ctx))
    elif todo:
        from dask.distributed import Client, LocalCluster, as_completed

        own_cluster = None
        if scheduler is None:
            own_cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
            client = Client(own_cluster)
        elif isinstance(scheduler, str):
            client = Client(scheduler)
        else:
            client = scheduler
        try:
            stats.scheduler = str(client.scheduler.address)
            stats.n_workers = len(client.scheduler_info()["workers"])
            ctx_f = client.scatter(ctx, broadcast=True)
            # longest tasks first (toxic clouds reach far) for a better load balance
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
        finally:
            if own_cluster is not None:
                client.close()
                own_cluster.close()
    stats.complete = len(results) == total
    stats.wall_s = time.perf_counter() - t0
    return results, stats


def _cost_hint(s: Scenario) -> float:
    kinds = {o.kind for o in s.outcomes}
    return 3.0 if kinds & {"toxic_plume", "toxic_puff"} else 2.0 if kinds & {"flash_plume", "flash_puff"} else 1.0
