"""API latency at a fixed request rate against the real server (uvicorn), SQLite and PostgreSQL.

The server runs in one process; the load generator in another sends an open-loop schedule of
``--rate`` requests/s (mix: GET /permits, GET /permits/{id}, GET /hazards, POST /hazards) and
reports p50/p99 per route. Usage::

    .venv/bin/python benchmarks/bench_api.py --db sqlite --seconds 10
    .venv/bin/python benchmarks/bench_api.py --db postgres --seconds 10
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone

PASSWORD = "bench-password"
USERS = {"ann": ["applicant"], "bob": ["worker"], "gus": ["guardian"], "sue": ["safety_engineer"]}


def serve(db_url: str, port: int) -> None:
    """Server process: migrate, seed users and permits, run uvicorn."""
    import uvicorn

    from safetwin.plant_models.loader import bundled_plant_path, load_plant
    from safetwin.twin.api.app import create_app
    from safetwin.twin.state import TwinState
    from safetwin.twin.store import Store
    from safetwin.twin.workflows.roles import Actor
    from safetwin.twin.workflows.service import WorkflowService

    plant = load_plant(bundled_plant_path("small_plant"))
    store = Store.open(db_url)
    with store.engine.begin() as conn:
        from sqlalchemy import text
        for t in ("wf_records", "wf_record_versions", "wf_users"):
            conn.execute(text(f"DELETE FROM {t}"))
    svc = WorkflowService(store.engine, plant)
    for u, r in USERS.items():
        svc.users.create(u, PASSWORD, r)
    now = datetime.now(timezone.utc)
    ann = Actor("ann", frozenset({"applicant"}))
    for i in range(200):
        x = (i % 20) * 9.0
        svc.create_permit(ann, type="hot_work", level="second", title=f"job {i}", holder="bob", guardian="gus",
                          work_polygon=[(x, 10), (x + 4, 10), (x + 4, 14)], jha="x", planned_start=now,
                          planned_end=now + timedelta(hours=8))
    app = create_app(TwinState(plant), workflows=svc)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def load(port: int, rate: float, seconds: float) -> dict[str, list[float]]:
    """Open-loop load: request k is sent at t0 + k/rate (latency includes any queueing)."""
    import httpx

    base = f"http://127.0.0.1:{port}"
    tok = httpx.post(f"{base}/auth/token", data={"username": "sue", "password": PASSWORD}).json()["access_token"]
    h = {"Authorization": f"Bearer {tok}"}
    pid = httpx.get(f"{base}/permits?limit=1", headers=h).json()[0]["id"]
    mix = [("GET /permits", "GET", "/permits?limit=20", None), ("GET /permits/{id}", "GET", f"/permits/{pid}", None),
           ("GET /hazards", "GET", "/hazards?limit=20", None),
           ("POST /hazards", "POST", "/hazards", {"title": "leak", "category": "equipment", "level": "general",
                                                  "x": 10.0, "y": 10.0})]
    out: dict[str, list[float]] = {m[0]: [] for m in mix}
    errors = [0]
    lock = threading.Lock()
    clients = threading.local()

    def one(name: str, method: str, path: str, body: dict | None) -> None:
        c = getattr(clients, "c", None)
        if c is None:
            c = clients.c = httpx.Client(base_url=base, headers=h, timeout=10)
        t = time.perf_counter()
        r = c.request(method, path, json=body)
        dt = time.perf_counter() - t
        with lock:
            out[name].append(dt)
            if r.status_code >= 400:
                errors[0] += 1

    from concurrent.futures import ThreadPoolExecutor

    n = int(rate * seconds)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=64) as pool:
        for k in range(n):
            delay = t0 + k / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one, *mix[k % len(mix)])
    out["_errors"] = [float(errors[0])]
    return out


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000 if xs else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", default="sqlite", help="sqlite | postgres | a SQLAlchemy URL")
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    if args.serve:
        serve(args.db, args.port)
        return 0
    if args.db == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    elif args.db == "postgres":
        url = os.environ.get("SAFETWIN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    else:
        url = args.db
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, __file__, "--serve", "--db", url, "--port", str(port)])
    try:
        import httpx

        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        res = load(port, args.rate, args.seconds)
    finally:
        server.terminate()
        server.wait(10)
    print(f"backend={url.split(':')[0]} rate={args.rate:g}/s seconds={args.seconds:g} errors={int(res.pop('_errors')[0])}")
    allv = [v for vs in res.values() for v in vs]
    for name, xs in list(res.items()) + [("ALL", allv)]:
        print(f"  {name:20s} n={len(xs):5d}  p50={pct(xs, 0.5):7.2f} ms  p99={pct(xs, 0.99):7.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
