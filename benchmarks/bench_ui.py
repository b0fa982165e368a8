"""Benchmark: server time per control-room update with the demo plant's day shift and two browsers.

Serves the API + UI (``mount_ui``) with uvicorn in this process, feeds the TwinState at 1 Hz (every
person moves, every detector reports, a few go into alarm and back), opens N headless Chromium
sessions on ``/ui/control-room`` and records the server time of every session tick (snapshot read,
scene arrays updated, VTK pane re-serialised, side panels updated; all on the event loop).

Run::

    .venv/bin/python benchmarks/bench_ui.py --seconds 30 --sessions 2

Prints the tick statistics, the achieved update rate per session and the snapshot build time.
"""
from __future__ import annotations

import argparse
import os
import statistics
import threading
import time

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

from browser_bench import CHROMIUM, CHROMIUM_ARGS, free_port, wait_for_port  # noqa: E402

import numpy as np

TOKEN = "bench-ui-token"


def _feed(state, plant, stop: threading.Event, period_s: float = 1.0) -> None:
    """Move everyone a few metres and report every detector once per period (alarm rules applied)."""
    from safetwin.twin.alarms import AlarmRules
    from safetwin.twin.population import shift_population

    rules = AlarmRules(state)
    ids, xy, _ = shift_population(plant, "day", seed=0)
    rng = np.random.default_rng(1)
    sensors = [s for s in plant.meta.sensors if s.type.value != "weather"]
    k = 0
    while not stop.is_set():
        now = time.time()
        xy = np.clip(xy + rng.normal(0, 2.0, xy.shape), 1, [899, 599])
        state.update_positions(ids, xy[:, 0], xy[:, 1], ts=now)
        for j, s in enumerate(sensors):
            hot = s.alarm is not None and (j + k // 10) % 17 == 0
            v = s.alarm.high_high * 1.1 if hot else 0.0
            rules.evaluate(s.id, v, now, "ok")
            state.apply_reading(s.id, v, now)
        k += 1
        stop.wait(period_s)


def main() -> None:
    """Run the benchmark and print the results."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--sessions", type=int, default=2)
    args = ap.parse_args()

    import uvicorn
    from playwright.sync_api import sync_playwright

    from safetwin.plant_models.loader import bundled_plant_path, load_plant
    from safetwin.twin.api.app import create_app
    from safetwin.twin.state import TwinState
    from safetwin.ui import mount_ui
    from safetwin.ui.control_room import TICK_TIMES_S

    load_before = os.getloadavg()
    plant = load_plant(bundled_plant_path("demo_plant"))
    state = TwinState(plant)
    stop = threading.Event()
    feeder = threading.Thread(target=_feed, args=(state, plant, stop), daemon=True)
    feeder.start()
    app = create_app(state, {TOKEN: "admin"})
    ctx = mount_ui(app, state)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    wait_for_port(port)
    base = f"http://127.0.0.1:{port}"
    detectors = len(ctx.source.latest().sensor_ids)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pages = []
        for _ in range(args.sessions):
            page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
            page.goto(base + "/ui/control-room")
            page.fill("#t", TOKEN)
            page.click("#go")
            try:
                page.locator(".plant-3d canvas").first.wait_for(state="visible", timeout=60_000)
            except Exception:
                page.screenshot(path="/tmp/bench_ui_fail.png")
                print("page did not load:", page.url)
                raise
            pages.append(page)
        time.sleep(3.0)  # warm-up: first full scene serialisation per session
        TICK_TIMES_S.clear()
        builds = []
        t0 = time.time()
        while time.time() - t0 < args.seconds:
            builds.append(ctx.source.latest().build_s)
            pages[0].wait_for_timeout(500)  # keeps the browsers' event loops turning
        elapsed = time.time() - t0
        ticks = list(TICK_TIMES_S)
        browser.close()
    stop.set()
    server.should_exit = True
    ms = sorted(1e3 * t for t in ticks)
    p = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]  # noqa: E731
    print(f"plant demo_plant: {state.head_count} people, {detectors} detectors; {args.sessions} browser sessions, "
          f"{elapsed:.0f} s")
    print(f"control-room ticks: {len(ms)} ({len(ms) / elapsed / args.sessions:.2f} Hz per session; target 1 Hz)")
    if ms:
        print(f"server time per update [ms]: mean {statistics.fmean(ms):.1f}  p50 {p(0.5):.1f}  p95 {p(0.95):.1f}  "
              f"max {ms[-1]:.1f}")
        print(f"event-loop load from updates: {sum(ms) / 1e3 / elapsed * 100:.1f} % of one core")
    print(f"snapshot build (shared by all sessions) [ms]: mean {1e3 * statistics.fmean(builds):.2f}")
    load_after = os.getloadavg()
    print(f"load average (1/5/15 min) before {' '.join(f'{x:.2f}' for x in load_before)}, after "
          f"{' '.join(f'{x:.2f}' for x in load_after)} on {os.cpu_count()} CPUs (shared machine)")


if __name__ == "__main__":
    main()
