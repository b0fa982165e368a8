"""Benchmark: server time per planner playback frame (2D update; optionally with the 3D view).

Serves the API + UI (``mount_ui``) with uvicorn in this process, runs a scenario through the planner's
own worker process (``PlannerRuns``, as the page does), opens ``/ui/planner`` in headless Chromium
and steps the time slider through ``--frames`` frames; every frame's server time (people and field
sources replaced, clock updated; with ``--with-3d`` also the PyVista scene and ``VTK.synchronize()``)
is recorded by the page in ``planner.FRAME_TIMES_S``, and up to the next event-loop tick (the
handler plus Panel serialising the changes for the browser) in ``planner.FRAME_DISPATCH_S``. A second figure is the same frame update
without a browser (no document attached): the floor set by the numpy work alone.

Run::

    .venv/bin/python benchmarks/bench_planner_ui.py                       # h2s_confined_space, 268 people
    .venv/bin/python benchmarks/bench_planner_ui.py --frames 60 --with-3d

Prints the run's wall time, then ms per frame (mean / p50 / p95 / max) with the browser and without.
"""
from __future__ import annotations

import argparse
import os
import statistics
import threading
import time

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

from browser_bench import CHROMIUM, CHROMIUM_ARGS, free_port, wait_for_port  # noqa: E402

TOKEN = "bench-planner-token"


def _stats(ms: list[float]) -> str:
    ms = sorted(ms)
    p = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]
    return f"mean {statistics.fmean(ms):.1f}  p50 {p(0.5):.1f}  p95 {p(0.95):.1f}  max {ms[-1]:.1f}  (n={len(ms)})"


def main() -> None:
    """Run the benchmark and print the results."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="h2s_confined_space", help="library scenario to run and play back")
    ap.add_argument("--frames", type=int, default=40, help="slider positions visited in the browser")
    ap.add_argument("--with-3d", action="store_true", help="tick the 3D view before stepping")
    args = ap.parse_args()

    import numpy as np
    import uvicorn
    from playwright.sync_api import sync_playwright
    from safetwin.plant_models.loader import bundled_plant_path, load_plant
    from safetwin.twin.api.app import create_app
    from safetwin.twin.state import TwinState
    from safetwin.ui import mount_ui
    from safetwin.ui.planner import FRAME_DISPATCH_S, FRAME_TIMES_S, PlanMap

    load_before = os.getloadavg()
    plant = load_plant(bundled_plant_path("demo_plant"))
    state = TwinState(plant)
    app = create_app(state, {TOKEN: "admin"})
    ctx = mount_ui(app, state)
    runs = ctx.extra["planner_runs"]
    t0 = time.time()
    rec = runs.submit("bench", args.scenario, label=args.scenario)
    while not rec.done or rec.routes_pending:
        runs.poll()
        time.sleep(0.2)
    if rec.status != "done":
        raise SystemExit(f"run failed: {rec.error}")
    pb = rec.playback
    print(f"scenario {args.scenario}: {pb.metrics.get('people')} people, {pb.n_frames} frames, "
          f"{len(pb.field_times_s)} field snapshots {pb.field_x_m.size}×{pb.field_y_m.size}; run wall "
          f"{pb.wall_time_s:.1f} s (incident), {time.time() - t0:.1f} s to results + routes (worker start included)")
    # floor: the same frame update with no document (numpy + Bokeh property sets only)
    pm = PlanMap(plant, pb, None, "en")
    floor = []
    for k in np.linspace(0, pb.n_frames - 1, args.frames).astype(int):
        t = time.perf_counter()
        pm.show(float(pb.frame_times_s[k]))
        floor.append(1e3 * (time.perf_counter() - t))

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    wait_for_port(port)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        page.goto(f"http://127.0.0.1:{port}/ui/planner")
        page.fill("#t", TOKEN)
        page.click("#go")
        page.locator(".planner-map-a canvas:visible").first.wait_for(timeout=60_000)
        if args.with_3d:
            page.locator(".pl-3d input").first.check()
            page.locator(".planner-3d canvas").first.wait_for(state="visible", timeout=60_000)
        page.wait_for_timeout(2000)
        slider = page.locator(".planner-player input[type=range]").first
        FRAME_TIMES_S.clear()
        FRAME_DISPATCH_S.clear()
        t_start = time.time()
        for k in np.linspace(1, pb.n_frames - 1, args.frames).astype(int):
            slider.fill(str(int(k)))
            page.wait_for_timeout(150)
        page.wait_for_timeout(1500)
        elapsed = time.time() - t_start
        served = [1e3 * t for t in FRAME_TIMES_S]
        dispatched = [1e3 * t for t in FRAME_DISPATCH_S]
        browser.close()
    server.should_exit = True
    runs.close()
    label = "2D + 3D" if args.with_3d else "2D"
    print(f"planner playback frame, served ({label}, 1 browser session), handler [ms]: {_stats(served)}")
    if dispatched:
        print(f"  handler + serialisation, until the next event-loop tick [ms]: {_stats(dispatched)}")
    print(f"planner playback frame, no browser (2D, floor) [ms]: {_stats(floor)}")
    print(f"frames handled {len(served)} of {args.frames} in {elapsed:.1f} s")
    load_after = os.getloadavg()
    print(f"load average (1/5/15 min) before {' '.join(f'{x:.2f}' for x in load_before)}, after "
          f"{' '.join(f'{x:.2f}' for x in load_after)} on {os.cpu_count()} CPUs (shared machine)")


if __name__ == "__main__":
    main()
