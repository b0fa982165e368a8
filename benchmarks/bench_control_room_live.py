"""Benchmark: what the browser shows of the live control room, against the served demo process.

Starts ``safetwin demo`` (simulated plant: every detector at its period, the day shift's tags at
1 Hz, the weather station) as a child process on a free port and a site of its own, opens N
control-room sessions in headless Chromium (each in its own browser context, logged in with the
demo's admin token) and records, inside each page, every change of the twin clock the page shows
(``.twin-clock``: its ``data-twin-ts`` attribute where present, else its HH:MM:SS text), stamped
with the browser's wall clock at the next animation frame, and the main thread's long tasks.

Per session it prints: view updates per second (changes of the shown twin time), the longest gap
between two, the twin time's lag behind the wall clock when each update is shown (p50 / p95 /
max) and the shown clock's peak age (just before the next update replaces it), and the share of
the window the page's main thread spent in long tasks (> 50 ms).

Run::

    .venv/bin/python benchmarks/bench_control_room_live.py --seconds 60 --sessions 2
    .venv/bin/python benchmarks/bench_control_room_live.py --seconds 600 --sessions 2 --hogs 2

``--hogs N`` runs N busy-looping processes beside it (stopped at the end) to measure under load.
Targets: >= 0.9 updates/s in each session and the twin time <= 2 s behind the wall clock.
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from browser_bench import CHROMIUM, CHROMIUM_ARGS, free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench-control-room-" + uuid.uuid4().hex[:8]
#: updates per second and lag targets of the live view
TARGET_HZ = 0.9
TARGET_LAG_S = 2.0

# Installed before the page loads: polls the shown twin clock at every animation frame (the
# element is searched through Panel's shadow roots; it is replaced when its pane re-renders) and
# keeps the long tasks of the main thread.
PROBE_JS = r"""
(() => {
  const rec = window.__stview = {changes: [], longtasks: [], t0: Date.now()};
  try {
    new PerformanceObserver(l => { for (const e of l.getEntries()) rec.longtasks.push([e.startTime, e.duration]); })
      .observe({type: 'longtask', buffered: true});
  } catch (e) {}
  const deep = (root, sel) => {
    const hit = root.querySelector(sel);
    if (hit) return hit;
    for (const el of root.querySelectorAll('*')) if (el.shadowRoot) { const h = deep(el.shadowRoot, sel); if (h) return h; }
    return null;
  };
  let el = null, last = null, lastSearch = 0;
  const frame = () => {
    const now = Date.now();
    if ((el === null || !el.isConnected) && now - lastSearch > 200) { lastSearch = now; el = deep(document, '.twin-clock'); }
    if (el !== null && el.isConnected) {
      const v = el.getAttribute('data-twin-ts') || el.textContent;
      if (v !== last) { last = v; rec.changes.push([now, v]); }
    }
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
})();
"""


def _twin_ts(value: str, wall_ms: float) -> float | None:
    """The twin time (s, epoch) a clock value shows: ``data-twin-ts`` or HH:MM:SS of the wall's day."""
    try:
        return float(value)
    except ValueError:
        pass
    m = re.search(r"(\d\d):(\d\d):(\d\d)", value)
    if m is None:
        return None
    day = (wall_ms / 1000.0) // 86400 * 86400
    ts = day + int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3])
    return ts - 86400 if ts > wall_ms / 1000.0 + 3600 else ts


def _pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


def summarise(rec: dict, t_start_ms: float, t_end_ms: float) -> dict[str, float]:
    """Updates/s, longest gap (s), lag stats (s) and long-task share of one page's record."""
    changes = [(w, v) for w, v in rec["changes"] if t_start_ms <= w <= t_end_ms]
    window_s = (t_end_ms - t_start_ms) / 1000.0
    walls = [w for w, _ in changes]
    edges = [t_start_ms, *walls, t_end_ms]
    gaps = [(b - a) / 1000.0 for a, b in zip(edges, edges[1:])]
    shown = [(w / 1000.0, ts) for w, v in changes if (ts := _twin_ts(v, w)) is not None]
    lags = [w - ts for w, ts in shown]
    # the shown clock's largest age at any instant: just before the next update replaced it (a
    # frozen view grows it); with 1 Hz data and 1 Hz updates it is about the lag when shown + 1 s
    nexts = [w for w, _ in shown[1:]] + [t_end_ms / 1000.0]
    peak = max((n - ts for (_, ts), n in zip(shown, nexts)), default=float("nan"))
    page_t0 = rec["t0"]
    busy_ms = sum(min(t_end_ms, page_t0 + s + d) - max(t_start_ms, page_t0 + s)
                  for s, d in rec["longtasks"] if page_t0 + s + d > t_start_ms and page_t0 + s < t_end_ms)
    return {"updates": len(changes), "hz": len(changes) / window_s, "max_gap_s": max(gaps),
            "lag_p50_s": _pct(lags, 0.5), "lag_p95_s": _pct(lags, 0.95), "lag_max_s": max(lags, default=float("nan")),
            "peak_s": peak, "busy_pct": 100.0 * busy_ms / (t_end_ms - t_start_ms)}


def start_demo(port: int, data_dir: Path, site: str, log_path: Path) -> subprocess.Popen:
    """``safetwin demo`` as a child process (its own process group), logging to ``log_path``."""
    env = dict(os.environ, SAFETWIN_DATA_DIR=str(data_dir), SAFETWIN_API_TOKEN=TOKEN, PYTHONUNBUFFERED="1",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    out = open(log_path, "wb")
    return subprocess.Popen([sys.executable, "-m", "safetwin", "demo", "--port", str(port), "--site", site],
                            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def open_session(browser, base: str):
    """One logged-in control-room page with the probe installed."""
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.add_init_script(PROBE_JS)
    page.goto(base + "/ui/control-room", timeout=120_000)
    page.fill("#t", TOKEN)
    page.click("#go")
    page.wait_for_url("**/ui/control-room**", timeout=120_000)
    page.wait_for_function("() => window.__stview && window.__stview.changes.length > 1", timeout=180_000,
                           polling=500)
    return page


def main() -> None:
    """Run the benchmark and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="measured window (s)")
    ap.add_argument("--sessions", type=int, default=2)
    ap.add_argument("--warmup", type=float, default=10.0, help="seconds after the pages load, not measured")
    ap.add_argument("--hogs", type=int, default=0, help="busy-looping processes to run beside it")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    hogs = [subprocess.Popen([sys.executable, "-c", "while 1: pass"]) for _ in range(args.hogs)]
    tmp = Path(tempfile.mkdtemp(prefix="bench-cr-"))
    port = free_port()
    site = "bench" + uuid.uuid4().hex[:8]
    demo = start_demo(port, tmp / "data", site, tmp / "demo.log")
    load_before = os.getloadavg()
    try:
        wait_for_port(port, timeout_s=180.0)
        base = f"http://127.0.0.1:{port}"
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            pages = [open_session(browser, base) for _ in range(args.sessions)]
            pages[0].wait_for_timeout(args.warmup * 1000)
            t_start = time.time() * 1000
            while time.time() * 1000 - t_start < args.seconds * 1000:
                pages[0].wait_for_timeout(1000)   # keeps Playwright's loop turning
            t_end = time.time() * 1000
            recs = [p.evaluate("() => window.__stview") for p in pages]
            browser.close()
    finally:
        demo.send_signal(signal.SIGINT)   # the demo stops its own children (the log indexer)
        try:
            demo.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
        for h in hogs:
            h.kill()
            h.wait()
    load_after = os.getloadavg()
    print(f"control room of `safetwin demo` (demo plant, simulated traffic), {args.sessions} headless Chromium "
          f"sessions, {args.seconds:.0f} s measured after {args.warmup:.0f} s warm-up, {args.hogs} CPU hogs beside it")
    worst_hz, worst_lag = float("inf"), 0.0
    for k, rec in enumerate(recs):
        s = summarise(rec, t_start, t_end)
        worst_hz, worst_lag = min(worst_hz, s["hz"]), max(worst_lag, s["lag_max_s"])
        print(f"session {k + 1}: {s['updates']} view updates = {s['hz']:.2f}/s (longest gap {s['max_gap_s']:.1f} s); "
              f"twin time behind the wall clock p50 {s['lag_p50_s']:.2f} s, p95 {s['lag_p95_s']:.2f} s, "
              f"max {s['lag_max_s']:.2f} s when shown (peak age before the next update {s['peak_s']:.2f} s); "
              f"main thread in long tasks "
              f"{s['busy_pct']:.0f} %")
    ok = worst_hz >= TARGET_HZ and worst_lag <= TARGET_LAG_S
    print(f"worst session: {worst_hz:.2f} updates/s (target >= {TARGET_HZ}), lag when shown max {worst_lag:.2f} s "
          f"(target <= {TARGET_LAG_S}): {'met' if ok else 'NOT met'}")
    print(f"load average (1/5/15 min) before {' '.join(f'{x:.2f}' for x in load_before)}, after "
          f"{' '.join(f'{x:.2f}' for x in load_after)} on {os.cpu_count()} CPUs; demo log {tmp / 'demo.log'}")


if __name__ == "__main__":
    main()
