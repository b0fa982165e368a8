"""The ``safetwin`` command line: plant tools, the demo/serve main job, and the models.

Examples::

    safetwin plant validate demo_plant
    safetwin plant info demo_plant
    safetwin plant export demo_plant --gpkg out/demo.gpkg --geojson out/geojson
    safetwin demo                      # the main job on embedded defaults
"""
from __future__ import annotations

import json
import secrets
import sys
import time
from pathlib import Path

import typer

from safetwin.plant_models.loader import PlantValidationError, load_plant

app = typer.Typer(help="SafeTwin: safety digital twin for industrial plants.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
plant_app = typer.Typer(help="Check, describe and export plant models.", no_args_is_help=True)
app.add_typer(plant_app, name="plant")


def _add_subapps() -> None:
    from safetwin.live_bridge.cli import app as bridge_app

    from safetwin.emergency_planner.cli import app as consequence_app

    app.add_typer(bridge_app, name="bridge", help="The live MQTT bridge: run it, a broker, a simulated plant.")
    app.add_typer(consequence_app, name="consequence", help="Threat zones at equipment; domino escalation.")
    from safetwin.emergency_planner.evacuation_cli import app as evacuate_app
    from safetwin.emergency_planner.qra.cli import app as qra_app
    from safetwin.emergency_planner.scenario_cli import app as scenario_app

    app.add_typer(scenario_app, name="scenario", help="Scenario drills: list, validate, run.")

    app.add_typer(evacuate_app, name="evacuate", help="Evacuate a plant's people with agents; verification table.")

    app.add_typer(qra_app, name="qra", help="Quantitative risk assessment: individual and societal risk, contours.")
    from safetwin.emergency_planner.drill.cli import app as drill_app  # drill evaluation, plan, calendar

    app.add_typer(drill_app, name="drill", help="Drill evaluation (HTML/PDF report), drill plan and calendar.")


_add_subapps()


def _load_or_exit(path: Path):
    try:
        return load_plant(path)
    except PlantValidationError as err:
        typer.echo(f"INVALID {path}: {len(err.issues)} error(s)", err=True)
        for issue in err.issues:
            typer.echo(f"  - {issue}", err=True)
        raise typer.Exit(code=1) from None


@plant_app.command("validate")
def plant_validate(path: Path = typer.Argument(..., help="plant folder")) -> None:
    """Validate a plant folder; list every error with file, feature id and field."""
    plant = _load_or_exit(path)
    s = plant.summary()
    typer.echo(f"OK {path}: {s['name']} ({s['crs']}), " +
               ", ".join(f"{n} {k}" for k, n in s["layers"].items()) +
               f", {len(plant.meta.sensors)} sensors, {len(plant.meta.muster_points)} muster points")


@plant_app.command("info")
def plant_info(path: Path = typer.Argument(..., help="plant folder"),
               as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Describe a plant: extent, layers, equipment, sensors, people per shift."""
    s = _load_or_exit(path).summary()
    if as_json:
        typer.echo(json.dumps(s, indent=2, ensure_ascii=False))
        return
    for key, value in s.items():
        if isinstance(value, dict):
            typer.echo(f"{key}:")
            for k, v in value.items():
                typer.echo(f"  {k}: {v}")
        else:
            typer.echo(f"{key}: {value}")


@plant_app.command("export")
def plant_export(path: Path = typer.Argument(..., help="plant folder"),
                 gpkg: Path | None = typer.Option(None, help="GeoPackage file to write (plant CRS)"),
                 geojson: Path | None = typer.Option(None, help="folder for GeoJSON files (WGS84)")) -> None:
    """Export a plant for GIS tools (QGIS): GeoPackage in the plant CRS, GeoJSON in WGS84."""
    from safetwin.plant_models.export import write_geojson, write_geopackage

    if gpkg is None and geojson is None:
        typer.echo("nothing to do: give --gpkg and/or --geojson", err=True)
        raise typer.Exit(code=2)
    plant = _load_or_exit(path)
    if gpkg is not None:
        typer.echo(f"wrote {write_geopackage(plant, gpkg)} ({plant.crs})")
    if geojson is not None:
        files = write_geojson(plant, geojson)
        typer.echo(f"wrote {len(files)} GeoJSON files (EPSG:4326) to {geojson}")


@app.command("demo")
def demo(plant_path: Path | None = typer.Option(None, "--plant", help="plant folder (default: the demo plant)"),
         port: int | None = typer.Option(None, help="API port (default SAFETWIN_API_PORT or 8000)"),
         duration: float = typer.Option(0.0, help="stop after this many seconds (0 = run until Ctrl-C)"),
         shift: str = typer.Option("day", help="shift whose people are placed on site at start"),
         site: str = typer.Option("site1", help="site id in the MQTT topics"),
         live: bool = typer.Option(True, help="start the live MQTT bridge (and a broker where none runs)"),
         simulate: bool = typer.Option(True, help="publish a simulated plant's traffic (detectors, tags) to the bridge")) -> None:
    """The main job on embedded defaults: load the plant, start the twin and its store, serve the API."""
    import uvicorn

    from safetwin.logging import configure_logging
    from safetwin.settings import get_settings
    from safetwin.twin.api.app import create_app
    from safetwin.twin.population import shift_population
    from safetwin.twin.state import TwinState

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    plant = _load_or_exit(plant_path or settings.plant_path)
    state = TwinState(plant)
    store, store_note = _open_store(settings)
    bridge, broker, bridge_note = _start_bridge(plant, state, settings, site) if live else (None, None, "")
    sim_stop, sim_note = _start_simulator(plant, settings, site) if (bridge is not None and simulate) else (None, "off")
    if sim_stop is None:  # no live traffic: place the shift where it works so the twin is not empty
        ids, xy, _ = shift_population(plant, shift, seed=0) if shift in plant.shifts else ([], None, [])
        if ids:
            state.update_positions(ids, xy[:, 0], xy[:, 1], ts=time.time())
    token = settings.api_token or secrets.token_urlsafe(24)
    tokens = {token: "admin", **settings.api_tokens}
    port = port or settings.api_port
    base = f"http://{settings.api_host}:{port}"
    s = plant.summary()
    typer.echo(f"SafeTwin — plant {s['name']} ({plant.crs}, {s['extent_m'][0]:.0f} m x {s['extent_m'][1]:.0f} m, "
               f"{len(plant.meta.sensors)} sensors, {state.head_count} people on the {shift} shift)")
    typer.echo(f"store: {store_note}")
    typer.echo(f"live bridge: {bridge_note if live else 'off (--no-live)'}")
    typer.echo(f"simulated plant: {sim_note}")
    typer.echo("serving:")
    typer.echo(f"  {base}/health          liveness (no token)")
    typer.echo(f"  {base}/plant           plant summary")
    typer.echo(f"  {base}/plant/layers/…  GeoJSON layers (WGS84)")
    typer.echo(f"  {base}/state/readings  /state/occupancy  /state/alarms")
    typer.echo(f"  {base}/permits, /hazards, /risk/map, /kpi …  safety workflows (POST /auth/token to log in)")
    typer.echo(f"  {base}/docs            OpenAPI")
    typer.echo(f"  {base}/ui/control-room  /ui/engineer  /ui/manager   web UI (log in with the admin token)")
    typer.echo(f"admin token (Authorization: Bearer …): {token if not settings.api_token else '<SAFETWIN_API_TOKEN>'}")
    sys.stdout.flush()
    from safetwin.twin.workflows.service import WorkflowService
    from safetwin.ui import mount_ui

    workflows = WorkflowService(store.engine, plant, site_id=site)
    workflows.attach(state)
    app_ = create_app(state, tokens, workflows=workflows)
    ui_ctx = mount_ui(app_, state, workflows=workflows, bridge=bridge)
    monitor, live_note = _start_live_mode(state, app_, bridge, settings.live_wind, ui_ctx)
    typer.echo(f"live incident mode: {live_note}")
    config = uvicorn.Config(app_, host=settings.api_host, port=port, log_level="warning")
    server = uvicorn.Server(config)
    if duration > 0:
        import threading

        threading.Timer(duration, lambda: setattr(server, "should_exit", True)).start()
    try:
        server.run()
    finally:
        if sim_stop is not None:
            sim_stop.set()
        if monitor is not None:
            monitor.stop()
        workflows.close()
        store.close()
        if bridge is not None:
            bridge.stop()
        if broker is not None:
            broker.stop()


def _start_bridge(plant, state, settings, site: str):
    """Start a broker where none runs, then the live bridge feeding ``state``.

    Returns (bridge or None, broker we started or None, a line describing the outcome). Where no
    broker runs and Mosquitto is not installed the demo goes on without the live path and says so.
    """
    from safetwin.live_bridge.bridge import BridgeConfig, LiveBridge
    from safetwin.live_bridge.broker import ensure_broker

    try:
        broker = ensure_broker(settings.mqtt_host, settings.mqtt_port, settings.data_dir / "mosquitto")
    except (FileNotFoundError, OSError, RuntimeError) as exc:
        return None, None, f"off — {exc}"
    try:
        bridge = LiveBridge(plant, BridgeConfig.from_settings(site=site), state=state).start()
    except ConnectionError as exc:
        if broker is not None:
            broker.stop()
        return None, None, f"off — broker unreachable: {exc}"
    where = "SafeTwin's own mosquitto" if broker is not None else "the running broker"
    return bridge, broker, (f"mqtt://{settings.mqtt_host}:{settings.mqtt_port} ({where}), "
                            f"topics pst/v1/{site}/… (see docs/mqtt-topics.md)")


def _start_live_mode(state, app_, bridge, wind_text: str, ui_ctx=None):
    """Attach the live incident monitor: on a gas alarm it estimates the source from the live
    readings, predicts the plume, and publishes recommendations to the API
    (``GET /planner/recommendations``), per-area MQTT instructions and the control room (forecast
    AEGL zones and evacuation routes). Returns (monitor or None, note)."""
    from safetwin.emergency_planner.live import LiveIncidentMonitor, WindInput
    from safetwin.emergency_planner.live.view import evacuation_routes, forecast_zones
    from safetwin.emergency_planner.recommend.publish import publish_instructions
    from safetwin.twin.api.planner_routes import set_latest

    try:
        speed, frm, cls = (p.strip() for p in wind_text.split(","))
        wind = WindInput(float(speed), float(frm), cls.upper())
    except (ValueError, TypeError) as exc:
        return None, f"off — SAFETWIN_LIVE_WIND={wind_text!r} is not 'speed,from_deg,class': {exc}"

    def on_update(upd) -> None:
        if upd.recommendations is None:
            return
        est, verdict = upd.estimate, upd.declaration
        # declared only when healthy detectors agree on one source, never on two alarms alone
        confirmed = upd.declared
        set_latest(app_, upd.recommendations, f"live estimate ({est.kind} {est.equipment_id or ''}) "
                   f"+{upd.since_alarm_s:.0f} s after the first alarm; "
                   + (f"incident declared: {verdict.reason}" if confirmed else
                      f"not declared ({verdict.reason if verdict else 'no verdict'}), not sent to the site"))
        if confirmed and bridge is not None and bridge.publisher is not None:
            publish_instructions(bridge.publisher, upd.recommendations)
        if ui_ctx is not None and est.wind is not None:
            view = forecast_zones(est, est.wind, state.plant.boundary.bounds)
            ui_ctx.source.set_incident(view, routes=evacuation_routes(upd.recommendations), declared=confirmed,
                                       title=f"live: {est.equipment_id or 'release'}"
                                             + ("" if confirmed else " (forecast, not declared)"))

    monitor = LiveIncidentMonitor(state, wind, recommend_every=1, on_update=on_update).start()
    return monitor, (f"armed (wind {wind.speed_m_s:g} m/s from {wind.from_deg:g}°, class {wind.stability}); on a gas "
                     "alarm: source estimate, /planner/recommendations, pst/v1/<site>/twin/evac/<area>")


def _start_simulator(plant, settings, site: str):
    """Publish a simulated plant's traffic (every detector at its period, every tag walking the
    roads) in a background thread; returns (stop event, a line describing it)."""
    import threading

    from safetwin.live_bridge.simulator import PlantSimulator

    stop = threading.Event()
    sim = PlantSimulator(plant, site)
    threading.Thread(target=sim.run, args=(settings.mqtt_host, settings.mqtt_port), kwargs={"stop": stop},
                     name="safetwin-simulated-plant", daemon=True).start()
    return stop, (f"{len(plant.meta.sensors)} detectors and the day shift's tags publishing to pst/v1/{site}/… "
                  "(--no-simulate to listen to real traffic only)")


def _open_store(settings):
    """Open (and migrate) the configured store; returns it and a line describing it."""
    from safetwin.twin.store import Store

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    from safetwin.twin.api.server import engine_options

    url = settings.database_url
    store = Store.open(url, **engine_options(url))
    safe = url.split("@")[-1] if "@" in url else url
    return store, f"{safe} (migrated to head)"


if __name__ == "__main__":
    app()
