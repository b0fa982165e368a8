"""``run_qra``: the whole QRA of a plant — scenarios, case sweep on Dask, risk maps and reports.

Example (small plant, serial, coarse grid)::

    >>> from safetwin.emergency_planner.qra.engine import run_qra
    >>> from safetwin.plant_models.loader import bundled_plant_path
    >>> r = run_qra(bundled_plant_path("small_plant"), grid_m=10.0, margin_m=200.0,
    ...             out_dir="/tmp/qra_doctest", scheduler="serial", progress=False)   # doctest: +SKIP
    >>> r.ir.shape, r.complete                                                           # doctest: +SKIP

Method: TNO Purple Book CPR 18E (1999) location-specific individual risk
``IR(x,y) = Σ f_outcome · P_class · P_direction · P_death(x,y)`` and societal risk from the
same cases. See ``docs/qra.md``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Callable

import numpy as np

from safetwin.emergency_planner.physics.grid import GridSpec
from safetwin.plant_models.loader import Plant, load_plant

from .config import config_hash, load_config, weather_classes
from .executor import ExecutionStats, execute, print_progress
from .ignition import ignition_points
from .population import Population, build_population
from .risk import CONTOUR_LEVELS_PER_YEAR, check_criteria, fn_curve, max_ir_in, risk_contours
from .scenarios import Scenario, build_scenarios
from .tasks import TaskContext

CODE_VERSION = "qra-2"  # qra-2: per-period and indoor worker sums, delayed ignition by the plant's sources


@dataclass
class QraResult:
    """Outcome of :func:`run_qra`. ``ir`` is the individual risk (/y) on ``grid`` (shape (ny, nx));
    ``fn_n``/``fn_f`` the F-N curve (F(≥N) per year); ``pll`` the potential loss of life (/y);
    ``workers`` the presence-weighted individual risk per worker group (:func:`worker_risk`)."""

    plant_id: str
    grid: GridSpec
    ir: np.ndarray
    fn_n: np.ndarray
    fn_f: np.ndarray
    pll: float
    contours: dict[float, Any]
    criteria: dict[str, Any]
    scenarios: list[Scenario]
    stats: ExecutionStats
    n_cases: int
    run_key: str
    complete: bool
    workers: list[dict[str, Any]] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def cases_per_s(self) -> float:
        return self.n_cases / max(self.stats.wall_s, 1e-9)

    @property
    def cell_cases_per_s(self) -> float:
        return self.n_cases * self.ir.size / max(self.stats.wall_s, 1e-9)

    @property
    def sweep_cases_per_s(self) -> float:
        """Cases computed now per second of the sweep (cluster start-up and warm-up excluded)."""
        return self.stats.cases_computed / max(self.stats.sweep_s, 1e-9)

    @property
    def cpu_ms_per_case(self) -> float:
        """CPU time (ms) per case measured inside the tasks (independent of the other load)."""
        return 1e3 * self.stats.task_cpu_s / max(self.stats.cases_computed, 1)

    def summary(self) -> dict[str, Any]:
        return {"plant": self.plant_id, "grid": [self.grid.nx, self.grid.ny, self.grid.dx_m], "scenarios": len(self.scenarios),
                "outcomes": sum(len(s.outcomes) for s in self.scenarios), "cases": self.n_cases,
                "wall_s": round(self.stats.wall_s, 2), "cases_per_s": round(self.cases_per_s, 1),
                "startup_s": round(self.stats.startup_s, 2), "sweep_s": round(self.stats.sweep_s, 2),
                "sweep_cases_per_s": round(self.sweep_cases_per_s, 1),
                "cpu_ms_per_case": round(self.cpu_ms_per_case, 3),
                "cell_cases_per_s": float(f"{self.cell_cases_per_s:.3g}"), "tasks": self.stats.n_tasks,
                "cached": self.stats.n_cached, "computed": self.stats.n_computed, "scheduler": self.stats.scheduler,
                "workers": self.stats.n_workers, "max_ir_per_year": float(self.ir.max()), "pll_per_year": self.pll,
                "complete": self.complete, "individual_pass": self.criteria.get("individual_pass"),
                "societal_pass": self.criteria.get("societal_pass"), "workers_pass": self.criteria.get("workers_pass"),
                "max_worker_irpa_per_year": max((w["irpa_per_year"] for w in self.workers), default=None)}


def plant_grid(plant: Plant, grid_m: float, margin_m: float) -> GridSpec:
    """Grid over the site boundary's bounding box plus ``margin_m`` (m) on every side, spacing ``grid_m``."""
    x0, y0, x1, y1 = plant.boundary.bounds
    nx = int(np.ceil((x1 - x0 + 2 * margin_m) / grid_m)) + 1
    ny = int(np.ceil((y1 - y0 + 2 * margin_m) / grid_m)) + 1
    return GridSpec(x0 - margin_m, y0 - margin_m, grid_m, grid_m, nx, ny)


def prepare(plant: Plant | str | Path, *, grid_m: float = 2.0, margin_m: float = 500.0,
            config_path: str | Path | None = None, overrides: dict[str, Any] | None = None
            ) -> tuple[Plant, dict[str, Any], list[Scenario], TaskContext, Any, str]:
    """Everything a run needs before the sweep: plant, merged config, scenarios, task context,
    population and the run key (hash of all inputs and the code version)."""
    if not isinstance(plant, Plant):
        plant = load_plant(plant)
    cfg = load_config(plant.path, config_path=config_path, overrides=overrides)
    scenarios = build_scenarios(plant, cfg)
    grid = plant_grid(plant, grid_m, margin_m)
    pop = build_population(plant, cfg["population"], grid)
    w = cfg["weather"]
    n_theta = int(round(360.0 / float(w.get("angular_resolution_deg", 0.5))))
    ign = ignition_points(plant, float(cfg["ignition"].get("source_spacing_m", 5.0)))
    ctx = TaskContext(grid=grid, classes=tuple(weather_classes(w)), day_fraction=float(w["period_fraction"]["day"]),
                      n_theta=n_theta, smear=bool(w.get("sector_smear", True)), lethality=cfg["ignition"]["lethality"],
                      pop_xy_m=pop.xy_m, pop_counts=pop.counts, dr_m=float(grid_m), ignition=ign,
                      worker_xy_m=pop.worker_xy_m, worker_group=pop.worker_group, worker_weight=pop.worker_weight,
                      n_worker_groups=len(pop.workers))
    key = config_hash(CODE_VERSION, plant.id, [s.as_dict() for s in scenarios], grid.__dict__,
                      {k: v for k, v in cfg.items() if k != "criteria"}, pop.counts.sum(axis=1).tolist(),
                      float(np.sum(pop.xy_m)) if pop.xy_m.size else 0.0,
                      [s.model_dump(mode="json") for s in plant.meta.ignition_sources],
                      [g.__dict__ for g in pop.workers])
    return plant, cfg, scenarios, ctx, pop, key


def reduce_results(results: dict[str, dict[str, Any]], scenarios: list[Scenario], grid: GridSpec,
                   n_worker_groups: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, np.ndarray]:
    """Sum the per-task blocks in scenario order (deterministic): IR grid, case arrays, PLL and the
    worker-group sums (4, groups)."""
    ir = np.zeros(grid.shape)
    fs, ns, pll = [], [], 0.0
    workers = np.zeros((4, n_worker_groups))
    for s in scenarios:
        r = results.get(s.id)
        if r is None:
            continue
        if r["ir"].size:
            ir[r["j0"]:r["j1"], r["i0"]:r["i1"]] += r["ir"]
        fs.append(r["case_f"])
        ns.append(r["case_n"])
        pll += float(r["pll"])
        if n_worker_groups:
            workers += np.asarray(r["worker_sum"], float).reshape(4, n_worker_groups)
    cf = np.concatenate(fs) if fs else np.zeros(0)
    cn = np.concatenate(ns) if ns else np.zeros(0)
    return ir, cf, cn, pll, workers


def worker_risk(plant: Plant, pop: Population, sums: np.ndarray, grid: GridSpec, ir: np.ndarray
                ) -> list[dict[str, Any]]:
    """Presence-weighted individual risk per annum (IRPA, /y) of each worker group: presence
    fraction × the mean over the group's area of (1 − indoor) × P_outdoors + indoor × P_indoors
    (societal vulnerabilities, the weather of the shift's period), from the tasks' ``worker_sum``;
    and an upper bound for the most exposed place: presence × the largest location-specific risk
    (unprotected, outdoors) in the area."""
    out = []
    for k, g in enumerate(pop.workers):
        row = 0 if g.period == "day" else 2
        p_out, p_in = float(sums[row, k]), float(sums[row + 1, k])
        mean = (1.0 - g.indoor_fraction) * p_out + g.indoor_fraction * p_in
        out.append({"id": g.id, "shift": g.shift, "area": g.area, "headcount": g.headcount, "period": g.period,
                    "shift_hours": g.shift_hours, "presence_fraction": g.presence_fraction,
                    "indoor_fraction": g.indoor_fraction, "risk_outdoors_per_year": p_out,
                    "risk_indoors_per_year": p_in, "irpa_per_year": g.presence_fraction * mean,
                    "irpa_upper_per_year": g.presence_fraction * max_ir_in(grid, ir, plant.areas[g.area].geometry)})
    return out


def run_qra(plant: Plant | str | Path, *, grid_m: float = 2.0, margin_m: float = 500.0,
            out_dir: str | Path = "var/qra", scheduler: Any = None, n_workers: int = 2, resume: bool = True,
            progress: bool | Callable[[int, int, str], None] = True, config_path: str | Path | None = None,
            overrides: dict[str, Any] | None = None, criteria: str = "GB36894", installation: str | None = None,
            max_tasks: int | None = None, write: bool = True) -> QraResult:
    """Run the QRA of a plant (folder path or loaded :class:`Plant`).

    ``grid_m`` grid spacing (m) over the site plus ``margin_m`` (m) around it; ``scheduler``: ``None``
    (local Dask cluster of ``n_workers`` processes), a scheduler address, a ``distributed.Client``, or
    ``"serial"``; ``resume`` reuses finished task results kept under ``out_dir/cache/<run key>/``;
    ``progress`` ``True`` prints a bar, or give a callback ``(done, total, task_id)``; ``criteria``
    names a section of ``data/criteria.yaml``; ``max_tasks`` stops after that many computed tasks
    (the result is then ``complete=False`` and no reports are written). Writes the outputs listed in
    :func:`.report.write_outputs` when ``write``.
    """
    t0 = time.perf_counter()
    plant, cfg, scenarios, ctx, pop, key = prepare(plant, grid_m=grid_m, margin_m=margin_m, config_path=config_path,
                                                    overrides=overrides)
    out = Path(out_dir)
    cb = print_progress if progress is True else (progress or None)
    results, stats = execute(scenarios, ctx, out / "cache" / key, scheduler=scheduler, n_workers=n_workers,
                             resume=resume, progress=cb, max_tasks=max_tasks)
    ir, cf, cn, pll, wsums = reduce_results(results, scenarios, ctx.grid, len(pop.workers))
    fn_n, fn_f = fn_curve(cf, cn)
    contours = risk_contours(ctx.grid, ir, CONTOUR_LEVELS_PER_YEAR)
    workers = worker_risk(plant, pop, wsums, ctx.grid, ir)
    crit = check_criteria(ctx.grid, ir, fn_n, fn_f, pop.targets, cfg["criteria"], criteria, installation,
                          workers=workers)
    n_cases = sum(int(r["n_cases"]) for r in results.values())
    stats.wall_s = time.perf_counter() - t0
    res = QraResult(plant.id, ctx.grid, ir, fn_n, fn_f, pll, contours, crit, scenarios, stats, n_cases, key,
                    stats.complete, workers)
    if write and stats.complete:
        from .report import write_outputs
        res.outputs = write_outputs(res, plant, out)
    return res
