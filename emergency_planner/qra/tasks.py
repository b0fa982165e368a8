"""One QRA task: every outcome × weather class × wind direction of one LOC scenario.

:func:`run_task` is a pure function of a :class:`~.scenarios.Scenario` and a :class:`TaskContext`
(no I/O), so the same code runs in-process or on any Dask worker. It returns plain numpy arrays:
the scenario's individual-risk contribution (/y) on the block of the plant grid it reaches, the
societal-risk cases (frequency /y, expected fatalities N) and the potential loss of life.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from safetwin.emergency_planner.physics.grid import GridSpec

from .config import WeatherClass, direction_weights
from .lethality import lethality, reach_m
from .polar import PolarGrid, bin_population, convolve_rose, correlate_population, rfft_theta, to_grid
from .scenarios import Scenario


@dataclass(frozen=True)
class TaskContext:
    """Inputs shared by all tasks: plant grid, weather classes and day/night fractions, angular
    resolution (``n_theta`` bearing bins; ``smear`` spreads each sector uniformly), lethality settings,
    populated nodes (``pop_xy_m`` (n, 2), ``pop_counts`` (4, n): day out/in, night out/in), polar
    ring spacing ``dr_m`` (m) and the smallest N kept as a societal case."""

    grid: GridSpec
    classes: tuple[WeatherClass, ...]
    day_fraction: float
    n_theta: int
    smear: bool
    lethality: dict[str, Any]
    pop_xy_m: np.ndarray
    pop_counts: np.ndarray
    dr_m: float
    min_case_n: float = 0.01


def _r_cap(scn: Scenario, grid: GridSpec) -> float:
    cx = np.array([grid.x_min_m, grid.x_max_m]) - scn.x_m
    cy = np.array([grid.y_min_m, grid.y_max_m]) - scn.y_m
    return float(np.sqrt(np.max(cx**2) + np.max(cy**2)))


def empty_result(scn: Scenario, n_cases: int, seconds: float) -> dict[str, Any]:
    return {"j0": 0, "j1": 0, "i0": 0, "i1": 0, "ir": np.zeros((0, 0)), "case_f": np.zeros(0), "case_n": np.zeros(0),
            "pll": 0.0, "n_cases": n_cases, "seconds": seconds, "reach_m": 0.0}


def run_task(scn: Scenario, ctx: TaskContext) -> dict[str, Any]:
    """Individual-risk block, societal cases and PLL of one scenario (see the module docstring).

    Each outcome's lethality is computed once per weather class on the polar grid in the canonical
    frame (wind from north) and rotated to all bearing bins by FFT along the bearing axis."""
    t0 = time.perf_counter()
    lc = ctx.lethality
    n_sec = len(ctx.classes[0].rose) if ctx.classes else 0
    n_cases = len(scn.outcomes) * len(ctx.classes) * n_sec
    r_cap = _r_cap(scn, ctx.grid)
    reach = {(o.id, wc.name): reach_m(o.kind, o.params, wc, lc, r_cap, ctx.dr_m) for o in scn.outcomes
             for wc in ctx.classes}
    r_top = max(reach.values(), default=0.0)
    if r_top <= 0:
        return empty_result(scn, n_cases, time.perf_counter() - t0)
    nr = int(np.ceil(r_top / ctx.dr_m)) + 1
    polar = PolarGrid(ctx.dr_m, nr, ctx.n_theta)
    nf = ctx.n_theta // 2 + 1
    pop_hat = rfft_theta(bin_population(polar, scn.x_m, scn.y_m, ctx.pop_xy_m, ctx.pop_counts)) \
        if ctx.pop_counts.size else np.zeros((4, nr, nf), complex)
    ir_hat = np.zeros((nr, nf), complex)
    fd, fn = ctx.day_fraction, 1.0 - ctx.day_fraction
    case_f: list[np.ndarray] = []
    case_n: list[np.ndarray] = []
    pll = 0.0
    for wc in ctx.classes:
        w = direction_weights(wc.rose, ctx.n_theta, ctx.smear)
        w_hat = np.fft.rfft(w)
        p_class = fd * wc.p_day + fn * wc.p_night
        for o in scn.outcomes:
            r_o = reach[(o.id, wc.name)]
            if r_o <= 0 or p_class <= 0:
                continue
            nro = min(int(np.ceil(r_o / ctx.dr_m)) + 1, nr)
            x, y = polar.offsets(nro)
            l_ir, l_out, l_in = lethality(o.kind, o.params, wc, x, y, lc)
            ir_hat[:nro] += (o.frequency_per_year * p_class) * rfft_theta(l_ir) * w_hat
            out_hat, in_hat = rfft_theta(l_out), rfft_theta(l_in)
            for frac, p_per, k in ((fd, wc.p_day, 0), (fn, wc.p_night, 2)):
                if frac * p_per <= 0:
                    continue
                n_dir = (correlate_population(out_hat, pop_hat[k, :nro], ctx.n_theta)
                         + correlate_population(in_hat, pop_hat[k + 1, :nro], ctx.n_theta))
                f_dir = o.frequency_per_year * frac * p_per * w
                pll += float(np.sum(f_dir * n_dir))
                keep = (f_dir > 0) & (n_dir >= ctx.min_case_n)
                case_f.append(f_dir[keep])
                case_n.append(n_dir[keep])
    ir_polar = convolve_rose(ir_hat, 1.0, ctx.n_theta)
    win = to_grid(ir_polar, polar, scn.x_m, scn.y_m, ctx.grid)
    return {"j0": win.j0, "j1": win.j1, "i0": win.i0, "i1": win.i1, "ir": win.values,
            "case_f": np.concatenate(case_f) if case_f else np.zeros(0),
            "case_n": np.concatenate(case_n) if case_n else np.zeros(0),
            "pll": pll, "n_cases": n_cases, "seconds": time.perf_counter() - t0, "reach_m": r_top}
