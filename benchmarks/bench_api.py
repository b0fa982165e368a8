"""API latency at a fixed request rate against the real server (uvicorn), SQLite and PostgreSQL.

The server runs in one process (``twin.api.server``: pooled engine, sized thread pool); the load
generator in another sends an open-loop schedule of ``--rate`` requests/s — request k is due at
t0 + k/rate whatever happened before — with the mix GET /permits, GET /permits/{id},
GET /hazards, POST /hazards (a quarter each). Latency is measured from the *due* time to the end
of the response, so any queueing in the generator or the server counts (no coordinated omission).
Each worker thread of the generator holds one keep-alive connection opened before the run
(``http.client``: cheap per request, so the generator does not steal the CPU it measures); two
warm-up seconds at the same rate are not recorded (the server's first second, while its worker
threads and pooled connections are created, is much slower). Reports p50/p99 per route in ms.

Usage::

    .venv/bin/python benchmarks/bench_api.py --db sqlite --seconds 10
    .venv/bin/python benchmarks/bench_api.py --db postgres --seconds 10
    .venv/bin/python benchmarks/bench_api.py            # both, one after the other
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone

PASSWORD = "bench-password"
USERS = {"ann": ["applicant"], "bob": ["worker"], "gus": ["guardian"], "sue": ["safety_engineer"]}
WORKERS = 32
TARGET_P99_MS = 50.0


def serve(db_url: str, port: int) -> None:
    """Server process: migrate, seed users and permits, run uvicorn."""
    from sqlalchemy import text

    from safetwin.plant_models.loader import bundled_plant_path, load_plant
    from safetwin.twin.api import server
    from safetwin.twin.api.app import create_app
    from safetwin.twin.state import TwinState
    from safetwin.twin.workflows.roles import Actor
    from safetwin.twin.workflows.service import WorkflowService
    from safetwin.twin.workflows.settings import WorkflowSettings

    plant = load_plant(bundled_plant_path("small_plant"))
    settings = WorkflowSettings()
    store = server.open_store(db_url, settings)
    with store.engine.begin() as conn:
        for t in ("wf_records", "wf_record_versions", "wf_users"):
            conn.execute(text(f"DELETE FROM {t}"))
    svc = WorkflowService(store.engine, plant, settings=settings)
    for u, r in USERS.items():
        svc.users.create(u, PASSWORD, r)
    now = datetime.now(timezone.utc)
    ann = Actor("ann", frozenset({"applicant"}))
    for i in range(200):
        x = (i % 20) * 9.0
        svc.create_permit(ann, type="hot_work", level="second", title=f"job {i}", holder="bob", guardian="gus",
                          work_polygon=[(x, 10), (x + 4, 10), (x + 4, 14)], jha="x", planned_start=now,
                          planned_end=now + timedelta(hours=8))
    server.run(create_app(TwinState(plant), workflows=svc), port=port)


class Conn:
    """One keep-alive HTTP/1.1 connection with the bearer token."""

    def __init__(self, port: int, token: str) -> None:
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.h = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        """Send one request; returns (status, body)."""
        self.c.request(method, path, body=body, headers=self.h)
        r = self.c.getresponse()
        return r.status, r.read()


def _login(port: int) -> str:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("POST", "/auth/token", body=f"username=sue&password={PASSWORD}",
              headers={"Content-Type": "application/x-www-form-urlencoded"})
    return json.loads(c.getresponse().read())["access_token"]


def default_mix(port: int, token: str) -> list[tuple[str, str, str, bytes | None]]:
    """GET /permits, GET /permits/{id}, GET /hazards, POST /hazards: (name, method, path, body)."""
    status, body = Conn(port, token).request("GET", "/permits?limit=1")
    pid = json.loads(body)[0]["id"]
    hazard = json.dumps({"title": "leak", "category": "equipment", "level": "general", "x": 10.0,
                         "y": 10.0}).encode()
    return [("GET /permits", "GET", "/permits?limit=20", None), ("GET /permits/{id}", "GET", f"/permits/{pid}", None),
            ("GET /hazards", "GET", "/hazards?limit=20", None), ("POST /hazards", "POST", "/hazards", hazard)]


def load(port: int, rate: float, seconds: float, warmup_s: float = 2.0, workers: int = WORKERS, *,
         mix: list[tuple[str, str, str, bytes | None]] | None = None, token: str | None = None
         ) -> dict[str, list[float]]:
    """Open-loop load cycling through ``mix`` (default :func:`default_mix`, as user sue); returns
    latencies (s) per route name plus ``_errors`` (count) and ``_late`` (s)."""
    token = token or _login(port)
    mix = mix or default_mix(port, token)
    out: dict[str, list[float]] = {m[0]: [] for m in mix}
    errors, late = [0], [0.0]
    lock = threading.Lock()
    jobs: queue.Queue = queue.Queue()
    conns = [Conn(port, token) for _ in range(workers)]
    for c in conns:                       # open every connection before the clock starts
        c.request("GET", "/health")

    def worker(conn: Conn) -> None:
        while (job := jobs.get()) is not None:
            due, record, (name, method, path, payload) = job
            status, _ = conn.request(method, path, payload)
            done = time.perf_counter()
            if record:
                with lock:
                    out[name].append(done - due)
                    if status >= 400:
                        errors[0] += 1

    threads = [threading.Thread(target=worker, args=(c,), daemon=True) for c in conns]
    for t in threads:
        t.start()
    n_warm, n = int(rate * warmup_s), int(rate * (warmup_s + seconds))
    t0 = time.perf_counter()
    for k in range(n):
        due = t0 + k / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        else:
            late[0] = max(late[0], -delay)
        jobs.put((due, k >= n_warm, mix[k % len(mix)]))
    for _ in threads:
        jobs.put(None)
    for t in threads:
        t.join()
    out["_errors"] = [float(errors[0])]
    out["_late"] = [late[0]]
    return out


def pct(xs: list[float], q: float) -> float:
    """The ``q`` quantile of ``xs`` (s) in ms (nearest rank)."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000 if xs else float("nan")


def bench(url: str, rate: float, seconds: float) -> dict[str, list[float]]:
    """Start a server process on ``url``, load it from this process, stop it; the latencies."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, __file__, "--serve", "--db", url, "--port", str(port)])
    try:
        for _ in range(600):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if server.poll() is not None:
                    raise RuntimeError(f"server exited with {server.returncode}") from None
                time.sleep(0.1)
        return load(port, rate, seconds)
    finally:
        server.terminate()
        server.wait(10)


def report(url: str, rate: float, seconds: float, res: dict[str, list[float]]) -> bool:
    """Print the figures; True when every route's p99 is within :data:`TARGET_P99_MS`."""
    errors, late = int(res.pop("_errors")[0]), res.pop("_late")[0]
    print(f"backend={url.split(':')[0]} rate={rate:g}/s seconds={seconds:g} errors={errors} "
          f"generator max lag={late * 1000:.1f} ms")
    allv = [v for vs in res.values() for v in vs]
    ok = errors == 0
    for name, xs in list(res.items()) + [("ALL", allv)]:
        p99 = pct(xs, 0.99)
        ok = ok and p99 <= TARGET_P99_MS
        print(f"  {name:20s} n={len(xs):5d}  p50={pct(xs, 0.5):7.2f} ms  p99={p99:7.2f} ms")
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default="sqlite,postgres", help="sqlite | postgres | a SQLAlchemy URL (comma-separated)")
    ap.add_argument("--rate", type=float, default=200.0, help="requests per second")
    ap.add_argument("--seconds", type=float, default=10.0, help="recorded duration (s), after 2 s of warm-up")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    if args.serve:
        serve(args.db, args.port)
        return 0
    ok = True
    for db in args.db.split(","):
        if db == "sqlite":
            url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
        elif db == "postgres":
            url = os.environ.get("SAFETWIN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
        else:
            url = db
        ok = report(url, args.rate, args.seconds, bench(url, args.rate, args.seconds)) and ok
    print(f"target p99 <= {TARGET_P99_MS:g} ms: {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
