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
    pytest.importorskip("jupedsim")
    bench = _bench()
    bench.warm_up(0.05)
    ratios = []
    for _ in range(3):   # wall-clock ratio of a 150-agent run: best of up to 3 (the suite shares 2 cores)
        out = bench.compare("room", 150, dt=0.05, max_time=300.0, verbose=False)
        st, jp = out["safetwin"], out["jupedsim"]
        assert st.remaining == 0 and jp.remaining == 0
        assert abs(out["evac_time_rel_diff"]) < 0.25
        assert math.isfinite(out["throughput_ratio"])
        ratios.append(out["throughput_ratio"])
        if ratios[-1] > 1.0:
            break
    assert max(ratios) > 1.0, ratios
