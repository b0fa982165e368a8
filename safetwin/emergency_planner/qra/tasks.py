"""One QRA task: every outcome × weather class × wind direction of one LOC scenario.

:func:`run_task` is a pure function of a :class:`~.scenarios.Scenario` and a :class:`TaskContext`
(no I/O), so the same code runs in-process or on any Dask worker. It returns plain numpy arrays:
the scenario's individual-risk contribution (/y) on the block of the plant grid it reaches, the
societal-risk cases (frequency /y, expected fatalities N) and the potential loss of life.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import resource
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from safetwin.emergency_planner.physics.grid import GridSpec

from .config import WeatherClass, direction_weights
from .ignition import IgnitionPoints, delayed_ignition_by_direction
from .lethality import flammable_envelope, lethality, reach_m, weather_key
from .polar import PolarGrid, bin_population, convolve_rose, correlate_population, rfft_theta, sample_polar, to_grid
from .scenarios import Scenario


@dataclass(frozen=True)
class TaskContext:
    """Inputs shared by all tasks: plant grid, weather classes and day/night fractions, angular
    resolution (``n_theta`` bearing bins; ``smear`` spreads each sector uniformly), lethality settings,
    populated nodes (``pop_xy_m`` (n, 2), ``pop_counts`` (4, n): day out/in, night out/in), polar
    ring spacing ``dr_m`` (m), the smallest N kept as a societal case, the plant's ignition sources
    (:mod:`.ignition`) and the worker groups' nodes (``worker_xy_m``, each node's group and weight
    1/nodes of its group; :mod:`.population`)."""

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
    ignition: IgnitionPoints = field(default_factory=lambda: IgnitionPoints(np.zeros((0, 2)), np.zeros(0, np.int64),
                                                                           np.zeros(0), ()))
    worker_xy_m: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    worker_group: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    worker_weight: np.ndarray = field(default_factory=lambda: np.zeros(0))
    n_worker_groups: int = 0


def _r_cap(scn: Scenario, grid: GridSpec) -> float:
    cx = np.array([grid.x_min_m, grid.x_max_m]) - scn.x_m
    cy = np.array([grid.y_min_m, grid.y_max_m]) - scn.y_m
    return float(np.sqrt(np.max(cx**2) + np.max(cy**2)))


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc <malloc.h>
_MMAP_THRESHOLD_B = 32 * 1024 * 1024  # glibc's own ceiling for its dynamic threshold (64-bit)
_malloc_tuned = False


def tune_malloc() -> bool:
    """Let this process reuse freed heap memory for the task's large numpy temporaries (once per process).

    ``dask.distributed`` starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``
    (``distributed.nanny.pre-spawn-environ``). Setting any glibc malloc tunable switches off glibc's
    dynamic mmap threshold, so every array above 128 kB is a fresh ``mmap`` whose pages fault in on
    first touch and go back to the kernel on ``free``. The pool-fire view factor allocates ~10 MB
    temporaries thousands of times per task: on a worker that meant ~60× the page faults and 1.6–3×
    the CPU time of the same task in a plain process. Here the threshold is fixed at glibc's own
    dynamic ceiling (32 MiB) and the trim threshold at twice that, i.e. what an untuned process
    converges to. Works the same on a local or a remote worker (no environment needed). Returns
    whether the settings were applied (glibc only; elsewhere a no-op)."""
    global _malloc_tuned
    if _malloc_tuned:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        ok = bool(libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_B)) and bool(
            libc.mallopt(_M_TRIM_THRESHOLD, 2 * _MMAP_THRESHOLD_B))
    except (OSError, AttributeError):
        return False
    _malloc_tuned = ok
    return ok


_RUSAGE = getattr(resource, "RUSAGE_THREAD", resource.RUSAGE_SELF)


class _Meter:
    """Wall time, CPU time of the calling thread and of the whole process (s) and minor page faults
    of the calling thread, from construction to :meth:`read` (the per-task profile carried in every
    result: ``seconds``, ``cpu_s``, ``process_cpu_s``, ``minor_faults``; start/end epoch times
    ``t_start``/``t_end`` and the process id ``pid`` for timelines)."""

    def __init__(self) -> None:
        self.t, self.c, self.p = time.perf_counter(), time.thread_time(), time.process_time()
        self.f = resource.getrusage(_RUSAGE).ru_minflt
        self.t_epoch = time.time()

    def read(self) -> dict[str, float]:
        return {"seconds": time.perf_counter() - self.t, "cpu_s": time.thread_time() - self.c,
                "process_cpu_s": time.process_time() - self.p,
                "minor_faults": float(resource.getrusage(_RUSAGE).ru_minflt - self.f),
                "t_start": self.t_epoch, "t_end": time.time(), "pid": float(os.getpid())}


def empty_result(scn: Scenario, n_cases: int, meter: _Meter, n_groups: int = 0) -> dict[str, Any]:
    return {"j0": 0, "j1": 0, "i0": 0, "i1": 0, "ir": np.zeros((0, 0)), "case_f": np.zeros(0), "case_n": np.zeros(0),
            "pll": 0.0, "n_cases": n_cases, "reach_m": 0.0, "worker_sum": np.zeros((4, n_groups)), **meter.read()}


def _ignition_weights(o: Any, wc: WeatherClass, polar: PolarGrid, nro: int, scn: Scenario, ctx: TaskContext,
                      cache: dict[tuple[Any, ...], np.ndarray]) -> np.ndarray | float:
    """Factor on the wind-rose weights of outcome ``o``: 1 (ignition is in its frequency), or for a
    delayed-ignition branch P_ign per bearing bin from the ignition sources in the cloud's envelope
    (cached per cloud and weather key), or ``p_delayed`` when the plant declares no sources."""
    if o.params.get("ignition") != "delayed":
        return 1.0
    if ctx.ignition.empty:
        return float(o.params["p_delayed"])
    key = (repr(sorted(o.params["cloud"].items())), weather_key(o.kind, wc), nro)
    if key not in cache:
        x, y = polar.offsets(nro)
        env = flammable_envelope(o.params["cloud"], wc, x, y, ctx.lethality)
        cache[key] = delayed_ignition_by_direction(env, polar, scn.x_m, scn.y_m, ctx.ignition)
    return cache[key]


def run_task(scn: Scenario, ctx: TaskContext) -> dict[str, Any]:
    """Individual-risk block, societal cases, PLL and worker-group sums of one scenario (see the
    module docstring).

    Each outcome's lethality is computed once per weather class on the polar grid in the canonical
    frame (wind from north) and rotated to all bearing bins by FFT along the bearing axis. A
    delayed-ignition branch weights the bearings by the probability that the cloud is ignited
    (:func:`_ignition_weights`). ``worker_sum`` (4, groups): Σ over each worker group's nodes of
    weight × P(death) for a person there all the time, outdoors and indoors (societal
    vulnerabilities), given day and given night: rows day_out, day_in, night_out, night_in."""
    tune_malloc()
    meter = _Meter()
    lc = ctx.lethality
    n_sec = len(ctx.classes[0].rose) if ctx.classes else 0
    n_cases = len(scn.outcomes) * len(ctx.classes) * n_sec
    r_cap = _r_cap(scn, ctx.grid)
    # fields and reaches depend only on the weather attributes the outcome's model reads
    # (lethality.weather_key): compute each distinct one once, reuse it for the other classes
    wkey = {(o.id, wc.name): (o.id, weather_key(o.kind, wc)) for o in scn.outcomes for wc in ctx.classes}
    reach_by_key: dict[tuple[Any, ...], float] = {}
    for o in scn.outcomes:
        for wc in ctx.classes:
            k = wkey[(o.id, wc.name)]
            if k not in reach_by_key:
                reach_by_key[k] = reach_m(o.kind, o.params, wc, lc, r_cap, ctx.dr_m)
    reach = {ow: reach_by_key[k] for ow, k in wkey.items()}
    uses = Counter(wkey.values())
    r_top = max(reach.values(), default=0.0)
    if r_top <= 0:
        return empty_result(scn, n_cases, meter, ctx.n_worker_groups)
    nr = int(np.ceil(r_top / ctx.dr_m)) + 1
    polar = PolarGrid(ctx.dr_m, nr, ctx.n_theta)
    nf = ctx.n_theta // 2 + 1
    pop_hat = rfft_theta(bin_population(polar, scn.x_m, scn.y_m, ctx.pop_xy_m, ctx.pop_counts)) \
        if ctx.pop_counts.size else np.zeros((4, nr, nf), complex)
    fd, fn = ctx.day_fraction, 1.0 - ctx.day_fraction
    # per weather class, Σ over outcomes of f·field·weights: IR (unprotected outdoors), and for the worker
    # groups the societal outdoor / indoor vulnerabilities; combined by period at the end
    n_cls = len(ctx.classes)
    ir_cls = np.zeros((n_cls, nr, nf), complex)
    with_workers = ctx.n_worker_groups > 0
    person_cls = np.zeros((n_cls, 2, nr, nf) if with_workers else (0, 2, 0, 0), complex)
    case_f: list[np.ndarray] = []
    case_n: list[np.ndarray] = []
    pll = 0.0
    fields_hat: dict[tuple[Any, ...], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    ignition_cache: dict[tuple[Any, ...], np.ndarray] = {}
    for c, wc in enumerate(ctx.classes):
        w_rose = direction_weights(wc.rose, ctx.n_theta, ctx.smear)
        w_rose_hat = np.fft.rfft(w_rose)
        for o in scn.outcomes:
            r_o = reach[(o.id, wc.name)]
            if r_o <= 0 or fd * wc.p_day + fn * wc.p_night <= 0:
                continue
            nro = min(int(np.ceil(r_o / ctx.dr_m)) + 1, nr)
            fk = wkey[(o.id, wc.name)]
            if fk in fields_hat:
                l_ir_hat, out_hat, in_hat = fields_hat[fk]
            else:
                x, y = polar.offsets(nro)
                l_ir_hat, out_hat, in_hat = (rfft_theta(f) for f in lethality(o.kind, o.params, wc, x, y, lc))
                if uses[fk] > 1:  # kept only when another class will reuse it
                    fields_hat[fk] = (l_ir_hat, out_hat, in_hat)
            p_ign = _ignition_weights(o, wc, polar, nro, scn, ctx, ignition_cache)
            w = w_rose * p_ign
            w_hat = w_rose_hat * p_ign if np.isscalar(p_ign) else np.fft.rfft(w)
            fw_hat = o.frequency_per_year * w_hat
            ir_cls[c, :nro] += l_ir_hat * fw_hat
            if with_workers:
                person_cls[c, 0, :nro] += out_hat * fw_hat
                person_cls[c, 1, :nro] += in_hat * fw_hat
            for frac, p_per, k in ((fd, wc.p_day, 0), (fn, wc.p_night, 1)):
                if frac * p_per <= 0:
                    continue
                n_dir = (correlate_population(out_hat, pop_hat[2 * k, :nro], ctx.n_theta)
                         + correlate_population(in_hat, pop_hat[2 * k + 1, :nro], ctx.n_theta))
                f_dir = o.frequency_per_year * frac * p_per * w
                pll += float(np.sum(f_dir * n_dir))
                keep = (f_dir > 0) & (n_dir >= ctx.min_case_n)
                case_f.append(f_dir[keep])
                case_n.append(n_dir[keep])
    p_day = np.array([wc.p_day for wc in ctx.classes])
    p_night = np.array([wc.p_night for wc in ctx.classes])
    ir_hat = np.tensordot(fd * p_day + fn * p_night, ir_cls, axes=1)
    win = to_grid(convolve_rose(ir_hat, 1.0, ctx.n_theta), polar, scn.x_m, scn.y_m, ctx.grid)
    worker_sum = np.zeros((4, ctx.n_worker_groups))
    if with_workers:
        near = np.hypot(ctx.worker_xy_m[:, 0] - scn.x_m, ctx.worker_xy_m[:, 1] - scn.y_m) <= polar.r_max_m
        if near.any():
            # given day / given night all year: rows day_out, day_in, night_out, night_in
            person_hat = np.concatenate([np.tensordot(p_day, person_cls, axes=1),
                                         np.tensordot(p_night, person_cls, axes=1)])
            vals = sample_polar(convolve_rose(person_hat, 1.0, ctx.n_theta), polar, scn.x_m, scn.y_m,
                                ctx.worker_xy_m[near])
            for row in range(4):
                worker_sum[row] = np.bincount(ctx.worker_group[near], weights=vals[row] * ctx.worker_weight[near],
                                              minlength=ctx.n_worker_groups)
    return {"j0": win.j0, "j1": win.j1, "i0": win.i0, "i1": win.i1, "ir": win.values,
            "case_f": np.concatenate(case_f) if case_f else np.zeros(0),
            "case_n": np.concatenate(case_n) if case_n else np.zeros(0),
            "pll": pll, "n_cases": n_cases, "reach_m": r_top, "worker_sum": worker_sum, **meter.read()}
