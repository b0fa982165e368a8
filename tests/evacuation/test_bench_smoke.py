"""Smoke version of benchmarks/bench_evacuation.py: same code path, small crowds."""
from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_evacuation.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_evacuation", BENCH)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def test_bench_smoke_room():
    """Both engines evacuate the same room with the same parameters and agree on the evacuation time;
    the speed ratio is printed here and asserted in ``benchmarks/bench_evacuation.py`` (not on the
    shared cores of the test suite)."""
    pytest.importorskip("jupedsim")
    bench = _bench()
    bench.warm_up(0.05)
    out = bench.compare("room", 150, dt=0.05, max_time=300.0, verbose=False)
    safetwin_run, jupedsim_run = out["safetwin"], out["jupedsim"]
    assert safetwin_run.remaining == 0 and jupedsim_run.remaining == 0
    assert abs(out["evac_time_rel_diff"]) < 0.25
    assert math.isfinite(out["throughput_ratio"]) and out["throughput_ratio"] > 0
    print(f"throughput ratio SafeTwin/JuPedSim (150 agents, not a gate): {out['throughput_ratio']:.2f}")
