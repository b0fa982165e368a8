"""The evacuation verification suite in its full form (RiMEA 4.1.1, NIST TN 1822, Seyfried
bottlenecks, SafeTwin's own rows), with the wall time of each check.

``tests/evacuation`` runs the short forms (fewer people, seeds or densities; RiMEA 9 and 15 only
under ``-m slow``); this runs every check as ``safetwin evacuate verify`` does (``--out`` writes the
same Markdown table), prints each row with its seconds, then the larger samples of the behaviour
rows that stay out of the table (NIST 3.2 over 40 placements, as the JuPedSim web-community suite
sweeps 40 seeds).

Run: ``python benchmarks/bench_verification.py [--out docs/verification.md] [--only nist32 ...]``
"""
from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

from safetwin.emergency_planner.evacuation import verification as V

EXTENDED = {"nist32": lambda: V.check_nist32(seeds=range(40))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=None, help="write the Markdown table here")
    ap.add_argument("--only", nargs="*", choices=sorted(V.ALL_CHECKS))
    a = ap.parse_args(argv)
    checks = []
    t_all = time.perf_counter()
    for name in a.only or V.ALL_CHECKS:
        t0 = time.perf_counter()
        got = V.ALL_CHECKS[name]()
        dt = time.perf_counter() - t0
        got = [replace(c, seconds=dt / len(got)) for c in got]
        checks += got
        for c in got:
            mark = "n/a" if not c.applicable else "pass" if c.passed else "FAIL"
            print(f"{dt:7.1f} s  {mark:4}  {c.test}: {c.value}  [{c.band}]", flush=True)
    n_app = sum(c.applicable for c in checks)
    print(f"total {time.perf_counter() - t_all:.1f} s wall; {sum(c.passed for c in checks if c.applicable)} of {n_app} "
          f"applicable checks pass, {len(checks) - n_app} not applicable")
    if a.out:
        Path(a.out).write_text(V.render_markdown(checks, V.NOTES.replace("{NIST27}", V.NIST27_REASON)), encoding="utf-8")
    for name, fn in EXTENDED.items():
        if a.only and name not in a.only:
            continue
        t0 = time.perf_counter()
        for c in fn():
            print(f"{time.perf_counter() - t0:7.1f} s  {'pass' if c.passed else 'FAIL'}  extended {c.test}: {c.value}  "
                  f"[{c.band}] ({c.source})", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
