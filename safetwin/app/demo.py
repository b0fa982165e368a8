"""The main job on embedded defaults (``safetwin demo``): one process with the twin, its store, the
live bridge (and a broker where none runs), a simulated plant, the safety workflows, the API, the
web UI and the live incident monitor.

Start order: plant → twin state → store → broker and bridge → simulated plant (or the shift's
people placed where they work) → workflows → API app → UI mount → live monitor → uvicorn. Stop
order is the reverse, whatever stopped the server (Ctrl-C, ``duration_s``).
"""
from __future__ import annotations

import secrets
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from safetwin.errors import MissingExtraError, require_extra
from safetwin.logging import configure_logging
from safetwin.twin.store import Store

from .api import build_api
from .demo_history import seed_history, store_is_empty
from .demo_users import demo_user_lines, ensure_demo_users
from .cli.common import plant_or_exit
from .live import start_bridge, start_live_mode, start_simulator
from .notify_channels import build_notifier, close_notifier
from .settings import Settings, get_settings

__all__ = ["run_demo", "open_store", "bootstrap_admin"]


def open_store(settings: Settings) -> tuple[Store, str]:
    """Open (and migrate) the configured store with the API's pool options; returns it and a line
    describing it (the URL without credentials)."""
    from safetwin.twin.api.server import engine_options

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.database_url
    store = Store.open(url, **engine_options(url, settings.workflow_settings()))
    safe = url.split("@")[-1] if "@" in url else url
    return store, f"{safe} (migrated to head)"


def bootstrap_admin(workflows: Any, password: str | None) -> str:
    """Create user ``admin`` (role admin) with ``password`` when the store has no user yet;
    returns a line saying so, or "" when nothing was done."""
    if not password or workflows.users.list():
        return ""
    workflows.users.create("admin", password, ["admin"], full_name="bootstrap administrator")
    return "created user admin (SAFETWIN_BOOTSTRAP_ADMIN_PASSWORD); log in at POST /auth/token"


#: the web UI's pages, in the order of its navigation bar
UI_PAGES = ("control-room", "planner", "engineer", "manager", "plant-check", "field")


def ui_pages(base: str, prefix: str = "/ui") -> list[str]:
    """The URL of every web UI page under ``base``.

    >>> ui_pages("http://127.0.0.1:8000")[:2]
    ['http://127.0.0.1:8000/ui/control-room', 'http://127.0.0.1:8000/ui/planner']
    """
    return [f"{base}{prefix}/{page}" for page in UI_PAGES]


def _announce_when_serving(server: Any, announce: Callable[[], None]) -> None:
    """Call ``announce`` once ``server`` (uvicorn) has bound its socket and serves (a daemon thread)."""

    def wait() -> None:
        while not server.started:
            if server.should_exit:
                return
            time.sleep(0.05)
        announce()
        sys.stdout.flush()

    threading.Thread(target=wait, name="demo-ready", daemon=True).start()


def run_demo(*, plant_path: Path | None = None, port: int | None = None, duration_s: float = 0.0,
             shift: str = "day", site: str = "site1", live: bool = True, simulate: bool = True,
             say: Callable[[str], None] = print) -> None:
    """Run the main job until Ctrl-C or for ``duration_s`` seconds (0 = until Ctrl-C); ``say``
    prints the banner (what is served where, the admin token)."""
    import uvicorn

    from safetwin.twin.api.server import freeze_startup_heap
    from safetwin.twin.population import shift_population
    from safetwin.twin.state import TwinState
    from safetwin.twin.workflows.service import WorkflowService

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    plant = plant_or_exit(plant_path or settings.plant_path)
    state = TwinState(plant)
    store, store_note = open_store(settings)
    bridge, broker, bridge_note = start_bridge(plant, state, settings, site) if live else (None, None, "")
    simulator, sim_note = (start_simulator(plant, settings, site, broker) if (bridge is not None and simulate)
                           else (None, "off"))
    if simulator is None and simulate:  # no live traffic (--no-live): place the shift where it works
        ids, xy, _ = shift_population(plant, shift, seed=0) if shift in plant.shifts else ([], None, [])
        if ids:
            state.update_positions(ids, xy[:, 0], xy[:, 1], ts=time.time())
    token = settings.api_token or secrets.token_urlsafe(24)
    tokens = {token: "admin", **settings.api_tokens}
    port = port or settings.api_port
    base = f"http://{settings.api_host}:{port}"
    summary = plant.summary()
    people = (f"{state.head_count} people of the {shift} shift placed" if state.head_count else
              "people from the live feed" if simulator is not None else "no simulated people")
    say(f"SafeTwin — plant {summary['name']} ({plant.crs}, {summary['extent_m'][0]:.0f} m x "
        f"{summary['extent_m'][1]:.0f} m, {len(plant.meta.sensors)} sensors, {people})")
    say(f"store: {store_note}")
    say(f"live bridge: {bridge_note if live else 'off (--no-live)'}")
    say(f"simulated plant: {sim_note}")
    say("serving:")
    say(f"  {base}/health          liveness (no token)")
    say(f"  {base}/plant           plant summary")
    say(f"  {base}/plant/layers/…  GeoJSON layers (WGS84)")
    say(f"  {base}/state/readings  /state/occupancy  /state/alarms")
    say(f"  {base}/permits, /hazards, /risk/map, /kpi …  safety workflows (POST /auth/token to log in)")
    say(f"  {base}/docs            OpenAPI")
    say(f"  {base}/ui/…         web UI (log in with a demo user below, or the admin token)")
    say(f"admin token (Authorization: Bearer …): {token if not settings.api_token else '<SAFETWIN_API_TOKEN>'}")
    sys.stdout.flush()
    notifier = build_notifier(settings, engine=store.engine, site=site, mqtt_on=settings.notify_mqtt and live
                              and bridge is not None)
    workflows = WorkflowService(store.engine, plant, settings=settings.workflow_settings(), notifier=notifier,
                                site_id=site, audit=settings.audit_setup(), photo_dir=settings.photo_store_dir())
    fresh = not workflows.users.list()
    admin_note = bootstrap_admin(workflows, settings.bootstrap_admin_password)
    if admin_note:
        say(admin_note)
    for line in demo_user_lines(ensure_demo_users(workflows.users, settings.data_dir, fresh=fresh)):
        say(line)
    if store_is_empty(workflows):
        say("history: empty store — seeding a deterministic year of safety records …")
        sys.stdout.flush()
        say(f"history: {seed_history(workflows, store, site_id=site).line()}")
    workflows.attach(state)
    if notifier.outbox is not None:    # deliveries queued by an earlier run resume here
        notifier.outbox.start()
    say(f"notifications: {', '.join(getattr(c, 'name', '?') for c in notifier.channels)} "
        "(delivery log: GET /notifications/deliveries)")
    api = build_api(state, tokens, workflows=workflows)
    try:
        require_extra("panel", extra="ui", purpose="the web UI")
    except MissingExtraError as missing:   # the core install serves the API without the web UI
        ui_ctx = None
        say(f"web UI: off — {missing}")
    else:
        from safetwin.ui import mount_ui

        ui_kwargs: dict[str, Any] = {"chromium": str(settings.chromium) if settings.chromium else None}
        if settings.basemap_tiles_dir is not None:
            try:
                from safetwin.ui.basemap import XYZTiles

                tiles = XYZTiles(settings.basemap_tiles_dir)
                ui_kwargs["basemap_tiles_dir"] = tiles.folder
                say(f"basemap: {tiles.folder} (zoom {tiles.zooms[0]}…{tiles.zooms[-1]}) beneath the engineer's map")
            except ValueError as exc:     # a wrong folder leaves the map without tiles, the server runs
                say(f"basemap: off — {exc}")
        ui_ctx = mount_ui(api, state, workflows=workflows, bridge=bridge, **ui_kwargs)
    monitor, live_note = start_live_mode(state, api, bridge, settings.live_wind, ui_ctx, notifier=notifier, site=site)
    say(f"live incident mode: {live_note}")
    server = uvicorn.Server(uvicorn.Config(api, host=settings.api_host, port=port, log_level="warning",
                                           access_log=False))
    freeze_startup_heap()
    pages = ui_pages(base) if ui_ctx is not None else [f"{base}/docs"]
    _announce_when_serving(server, lambda: say("ready — open " + "  ".join(pages)))
    if duration_s > 0:
        threading.Timer(duration_s, lambda: setattr(server, "should_exit", True)).start()
    try:
        server.run()
    finally:
        if simulator is not None:
            simulator.stop(timeout_s=30)
        if monitor is not None:
            monitor.stop()
        workflows.close()
        close_notifier(notifier)
        store.close()
        if bridge is not None:
            bridge.stop()
        if broker is not None:
            broker.stop()
