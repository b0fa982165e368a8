"""TwinState.apply_readings on long bursts (the vectorised grouped path) gives exactly the
result of applying the same readings in short batches (the per-reading loop)."""
from __future__ import annotations

import random

from safetwin.twin import state as state_mod
from safetwin.twin.state import TwinState


def _burst(rng: random.Random, sids: list[str], t0: float, n: int, disorder: float) -> tuple[list, list, list, list]:
    ids, vals, ts, qs = [], [], [], []
    t = t0
    for _ in range(n):
        t += rng.uniform(0.0, 0.01)
        ids.append(rng.choice(sids))
        vals.append(None if rng.random() < 0.02 else round(rng.uniform(0.0, 5.0), 3))
        ts.append(t - (rng.uniform(0.05, 2.0) if rng.random() < disorder else 0.0))   # some arrive late
        qs.append(rng.choice(["ok", "ok", "ok", "out_of_range", "fault"]))
    return ids, vals, ts, qs


def test_grouped_apply_equals_one_by_one(small_plant):
    rng = random.Random(5)
    sids = sorted(s for s in small_plant.sensors)
    a, b = TwinState(small_plant), TwinState(small_plant)
    step = state_mod._VECTOR_MIN // 2          # b: chunks short enough for the loop
    t0 = 1.7e9
    results: list = []
    grouped = a._apply_grouped
    a._apply_grouped = lambda *args: results.append(grouped(*args)) or results[-1]   # spy on the path taken
    for k in range(60):
        ids, vals, ts, qs = _burst(rng, sids, t0 + k * 10.0, rng.randint(64, 600), 0.0 if k % 2 else 0.03)
        skipped_a = a.apply_readings(ids, vals, ts, qs, t0 + k * 10.0 + 5)
        skipped_b = []
        for s in range(0, len(ids), step):
            skipped_b += [s + i for i in b.apply_readings(ids[s:s + step], vals[s:s + step], ts[s:s + step],
                                                          qs[s:s + step], t0 + k * 10.0 + 5)]
        assert skipped_a == skipped_b
        assert {k2: (repr(r.value), r.ts, r.quality, r.received_ts) for k2, r in a.readings().items()} == \
               {k2: (repr(r.value), r.ts, r.quality, r.received_ts) for k2, r in b.readings().items()}
    assert results.count([]) >= 25       # the in-order bursts were settled by the grouped path
    assert results.count(None) >= 10     # bursts with late readings fell back to the loop


def test_grouped_apply_rejects_like_the_loop(small_plant):
    st = TwinState(small_plant)
    n = state_mod._VECTOR_MIN
    try:
        st.apply_readings(["GD-01"] * (n - 1) + ["NOPE"], [1.0] * n, [1.0] * n, ["ok"] * n, 2.0)
    except KeyError as exc:
        assert "NOPE" in str(exc)
    else:
        raise AssertionError("unknown sensor accepted")
    assert st.reading("GD-01") is None           # nothing applied
    try:
        st.apply_readings(["GD-01"] * n, [1.0] * n, [1.0] * n, ["ok"] * (n - 1) + ["great"], 2.0)
    except ValueError as exc:
        assert "great" in str(exc)
    else:
        raise AssertionError("bad quality accepted")
