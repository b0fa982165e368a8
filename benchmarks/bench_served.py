"""API latency at a fixed request rate against the served ``safetwin demo`` process, beside a bare
FastAPI route measured in the same run.

Two servers, each its own process: ``python -m safetwin demo`` on the demo plant (its store,
workflows, due-job scheduler, web UI, live incident monitor; ``--live`` adds the live bridge and
the simulated plant on the broker of the settings), and a bare FastAPI app with one route
returning a constant (uvicorn, same options) — the floor of this machine at that moment. The
demo is seeded through its own API (users; permits and hazards as their owners create them).

The load is bench_api's open-loop generator (request k is due at t0 + k/rate, latency measured
from the due time, no coordinated omission) at ``--rate`` requests/s, with a mix a control room
and field users make: lists and single records of permits and hazards, the live state (readings,
alarms, occupancy), the user's tasks, the risk map, ``/kpi`` (5 %), and 5 % writes (a hazard
reported). The bare route gets the same schedule. Reports p50/p99 per route and overall, the
ratio demo/bare, and whether the demo's p99 is within the 50 ms target.

Usage::

    .venv/bin/python benchmarks/bench_served.py --rate 200 --seconds 20
    .venv/bin/python benchmarks/bench_served.py --live          # with the bridge and simulated plant
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from bench_api import TARGET_P99_MS, load, pct  # noqa: E402
from served_demo import ServedDemo, free_port  # noqa: E402

PASSWORD = "bench-password"
USERS = {"ann": ["applicant"], "bob": ["worker"], "gus": ["guardian"], "sue": ["safety_engineer", "manager"]}
BARE_APP = """
import uvicorn
from fastapi import FastAPI

app = FastAPI()


@app.get("/bare")
def bare() -> dict:
    return {"ok": True}


uvicorn.run(app, host="127.0.0.1", port={port}, log_level="warning", access_log=False)
"""


def _call(url: str, method: str, path: str, token: str, body: object | None = None,
          form: str | None = None) -> tuple[int, object]:
    host, port = url.split("//")[1].split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=60)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    if form is not None:
        data, headers["Content-Type"] = form.encode(), "application/x-www-form-urlencoded"
    c.request(method, path, body=data, headers=headers)
    r = c.getresponse()
    raw = r.read()
    return r.status, (json.loads(raw) if raw and r.getheader("content-type", "").startswith("application/json") else raw)


def seed(demo: ServedDemo, permits: int, hazards: int) -> dict[str, str]:
    """Users, permits and hazards created through the demo's API; the users' tokens."""
    for uid, roles in USERS.items():
        status, body = _call(demo.url, "POST", "/users", demo.token, {"id": uid, "password": PASSWORD, "roles": roles})
        assert status == 201, (status, body)
    tokens = {}
    for uid in USERS:
        status, body = _call(demo.url, "POST", "/auth/token", "", form=f"username={uid}&password={PASSWORD}")
        assert status == 200, (status, body)
        tokens[uid] = body["access_token"]  # type: ignore[index]
    now = datetime.now(timezone.utc)
    for i in range(permits):
        x, y = 100.0 + (i % 20) * 30.0, 80.0 + (i // 20) * 30.0
        status, body = _call(demo.url, "POST", "/permits", tokens["ann"], {
            "type": "hot_work", "level": "second", "title": f"job {i}", "holder": "bob", "guardian": "gus",
            "work_polygon": [[x, y], [x + 4, y], [x + 4, y + 4]], "jha": "sparks",
            "planned_start": now.isoformat(), "planned_end": (now + timedelta(hours=8)).isoformat()})
        assert status in (200, 201), (status, body)
    for i in range(hazards):
        status, body = _call(demo.url, "POST", "/hazards", tokens["bob"], {
            "title": f"leak {i}", "category": "environment", "level": "general", "x": 50.0 + i % 400, "y": 60.0})
        assert status in (200, 201), (status, body)
    return tokens


def mix(demo: ServedDemo, token: str) -> list[tuple[str, str, str, bytes | None]]:
    """Twenty requests: a control room's and field users' reads, /kpi once, one write."""
    _, permits = _call(demo.url, "GET", "/permits?limit=1", token)
    _, hazards = _call(demo.url, "GET", "/hazards?limit=1", token)
    pid, hid = permits[0]["id"], hazards[0]["id"]  # type: ignore[index]
    hazard = json.dumps({"title": "oil on stairs", "category": "environment", "level": "general", "x": 10.0,
                         "y": 10.0}).encode()
    reads = [("GET /permits", "/permits?limit=20")] * 4 + [("GET /permits/{id}", f"/permits/{pid}")] * 3 + \
            [("GET /hazards", "/hazards?limit=20")] * 2 + [("GET /hazards/{id}", f"/hazards/{hid}")] * 2 + \
            [("GET /state/readings", "/state/readings")] * 2 + [("GET /state/alarms", "/state/alarms")] * 2 + \
            [("GET /state/occupancy", "/state/occupancy"), ("GET /me/tasks", "/me/tasks"),
             ("GET /risk/map", "/risk/map"), ("GET /kpi", "/kpi")]
    out: list[tuple[str, str, str, bytes | None]] = [(name, "GET", path, None) for name, path in reads]
    out.append(("POST /hazards", "POST", "/hazards", hazard))
    assert len(out) == 20
    return out


def cpu_s(pid: int) -> float:
    """CPU time (user + system, s) used so far by process ``pid`` (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(pid: int, port: int, rate: float, seconds: float, **kw: object) -> dict[str, list[float]]:
    """bench_api's load on ``port``, plus the server's CPU time per request (``_cpu_ms``)."""
    before = cpu_s(pid)
    res = load(port, rate, seconds, **kw)  # type: ignore[arg-type]
    n = int(rate * (seconds + 2.0))       # the warm-up's requests cost CPU too
    res["_cpu_ms"] = [(cpu_s(pid) - before) * 1000 / n]
    return res


def run_bare(rate: float, seconds: float) -> dict[str, list[float]]:
    """The bare FastAPI route under the same schedule."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", BARE_APP.replace("{port}", str(port))])
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                _call(f"http://127.0.0.1:{port}", "GET", "/bare", "")
                break
            except OSError:
                time.sleep(0.1)
        return measured(proc.pid, port, rate, seconds, mix=[("GET /bare", "GET", "/bare", None)], token="-")
    finally:
        proc.terminate()
        proc.wait(10)


def report(name: str, res: dict[str, list[float]]) -> float:
    """Print one server's figures; its overall p99 (ms)."""
    errors, late, cpu = int(res.pop("_errors")[0]), res.pop("_late")[0], res.pop("_cpu_ms")[0]
    allv = [v for vs in res.values() for v in vs]
    print(f"{name}: errors={errors} generator max lag={late * 1000:.1f} ms; server CPU {cpu:.2f} ms/request")
    for route, xs in sorted(res.items()):
        print(f"  {route:22s} n={len(xs):5d}  p50={pct(xs, 0.5):7.2f} ms  p99={pct(xs, 0.99):7.2f} ms  "
              f"max={max(xs) * 1000:7.1f} ms")
    p99 = pct(allv, 0.99)
    print(f"  {'ALL':22s} n={len(allv):5d}  p50={pct(allv, 0.5):7.2f} ms  p99={p99:7.2f} ms")
    return p99 if errors == 0 else float("inf")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=float, default=200.0, help="requests per second")
    ap.add_argument("--seconds", type=float, default=20.0, help="recorded duration (s), after 2 s of warm-up")
    ap.add_argument("--permits", type=int, default=200, help="permits seeded before the run")
    ap.add_argument("--hazards", type=int, default=300, help="hazards seeded before the run")
    ap.add_argument("--live", action="store_true", help="run the live bridge and the simulated plant too")
    ap.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                    help="a setting of the demo process, e.g. SAFETWIN_API_THREADS=8 (repeatable)")
    args = ap.parse_args()
    print(f"machine: {os.uname().machine}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
          f"{datetime.now(timezone.utc):%Y-%m-%dT%H:%MZ}")
    bare = run_bare(args.rate, args.seconds)
    data = Path(tempfile.mkdtemp(prefix="bench-served-"))
    extra = {"SAFETWIN_BOOTSTRAP_ADMIN_PASSWORD": "", "SAFETWIN_LOG_LEVEL": "WARNING", **dict(
        kv.split("=", 1) for kv in args.env)}
    demo = ServedDemo(data, extra_env=extra, live=args.live)
    try:
        t0 = time.monotonic()
        tokens = seed(demo, args.permits, args.hazards)
        print(f"seeded {len(USERS)} users, {args.permits} permits, {args.hazards} hazards in "
              f"{time.monotonic() - t0:.1f} s")
        served = measured(demo.proc.pid, demo.port, args.rate, args.seconds, mix=mix(demo, tokens["sue"]),
                          token=tokens["sue"])
    finally:
        demo.stop()
    print(f"rate={args.rate:g}/s seconds={args.seconds:g} load average {os.getloadavg()[0]:.1f} "
          f"live={'on' if args.live else 'off'} env={args.env}")
    bare_p99 = report("bare FastAPI route", bare)
    demo_p99 = report("safetwin demo", served)
    print(f"p99 demo/bare = {demo_p99 / bare_p99:.2f}x; target p99 <= {TARGET_P99_MS:g} ms: "
          f"{'met' if demo_p99 <= TARGET_P99_MS else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
