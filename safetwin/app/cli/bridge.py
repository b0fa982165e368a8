"""``safetwin bridge …``: the live MQTT bridge, a broker, a simulated plant, record and replay.

    safetwin bridge run --plant small_plant --site site1
    safetwin bridge broker --port 18830 --data-dir var/mosquitto
    safetwin bridge simulate-plant --plant small_plant --rate 1000
    safetwin bridge record out.jsonl --site site1 --seconds 60
    safetwin bridge replay out.jsonl --speed 10
"""
from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path

import typer

from safetwin.live_bridge.bridge import BridgeConfig
from safetwin.live_bridge.mqtt_client import BrokerEndpoint
from safetwin.plant_models.loader import Plant

from ..settings import get_settings, host_port
from .common import ExitCode, fail, plant_or_exit

app = typer.Typer(help="SafeTwin live MQTT bridge: run it, a broker, a simulated plant, record/replay.",
                  no_args_is_help=True, pretty_exceptions_enable=False)


def _plant(path: Path | None) -> Plant:
    return plant_or_exit(path or get_settings().plant_path)


@app.command("run")
def run(plant: Path = typer.Option(None, help="plant folder (default: settings.plant_path)"),
        site: str = typer.Option("site1", help="site id in the topics"),
        host: str = typer.Option(None, help="broker host (default: settings)"),
        port: int = typer.Option(None, help="broker port (default: settings)"),
        db: str = typer.Option(None, help="history database URL (default: settings.database_url)"),
        seconds: float = typer.Option(0.0, help="stop after this many seconds (0: run until SIGINT/SIGTERM)"),
        fallback: list[str] = typer.Option([], help="another broker node HOST:PORT of a cluster (repeatable)"),
        mqtt_protocol: str = typer.Option(None, help="5, 3.1.1 or auto (default: settings)"),
        ha: bool = typer.Option(False, help="active/standby: run only while holding the site's lease in the store"),
        lease_ttl: float = typer.Option(2.5, help="--ha lease duration, s (a dead active is replaced after about this)"),
        ) -> None:
    """Run the live bridge until interrupted (with --ha: as one of an active/standby set)."""
    from safetwin.live_bridge.bridge import LiveBridge
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    overrides: dict[str, object] = {key: value for key, value in
                                    (("host", host), ("port", port), ("db_url", db), ("mqtt_protocol", mqtt_protocol))
                                    if value}
    if fallback:
        overrides["fallbacks"] = tuple(_host_port(text) for text in fallback)
    cfg = get_settings().bridge_config(site=site, **overrides)
    if ha:
        _run_ha(_plant(plant), cfg, lease_ttl, seconds)
        return
    bridge = LiveBridge(_plant(plant), cfg)
    try:
        bridge.start()
    except ConnectionError as exc:
        fail(ExitCode.UNAVAILABLE, f"live bridge not started: {exc}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    typer.echo(f"READY {bridge.client_id}", err=True)
    t0 = time.monotonic()
    while not stop.wait(1.0):
        if seconds and time.monotonic() - t0 >= seconds:
            break
    bridge.stop()
    typer.echo(f"stopped: {bridge.stats()}", err=True)


def _host_port(text: str) -> tuple[str, int]:
    try:
        return host_port(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _run_ha(plant: Plant, cfg: BridgeConfig, lease_ttl_s: float, seconds: float) -> None:
    """``run --ha``: stand by until this process holds the site's lease, then bridge; prints
    ``STANDBY <holder>`` and ``READY <client id>`` (on stderr) at each change of role."""
    from safetwin.live_bridge.bridge import LiveBridge
    from safetwin.live_bridge.ha import HaBridge, holder_id, lease_name
    from safetwin.twin.store import Store
    from safetwin.twin.store.lease import Lease
    if not cfg.db_url:
        raise typer.BadParameter("--ha needs the history database (--db or settings.database_url)")
    store = Store.open(cfg.db_url)
    holder = holder_id()
    ha = HaBridge(lambda: LiveBridge(plant, cfg, store=store),
                  Lease(store.engine, lease_name(cfg.site), holder, ttl_s=lease_ttl_s),
                  on_active=lambda b: typer.echo(f"READY {b.client_id}", err=True),
                  on_standby=lambda: typer.echo(f"STANDBY {holder}", err=True))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if seconds:
        threading.Timer(seconds, stop.set).start()
    typer.echo(f"STANDBY {holder}", err=True)
    try:
        ha.run(stop)
    finally:
        store.close()
    typer.echo(f"stopped ({ha.takeovers} takeovers)", err=True)


@app.command("broker")
def broker(port: int = typer.Option(1883), data_dir: Path = typer.Option(Path("var/mosquitto")),
           auth: bool = typer.Option(True, help="password file + ACLs (passwords made at the first start: "
                                                  "data_dir/credentials.json, mode 0600)"),
           tls: bool = typer.Option(False, help="TLS-only listener with a CA made at the first start "
                                                "(data_dir/tls/ca.pem for the clients)"),
           device: list[str] = typer.Option([], help="a device user (gateway, sensor, RTLS engine id); repeat"),
           site: str = typer.Option("site1")) -> None:
    """Start SafeTwin's own mosquitto with the shipped config where none runs; stop with Ctrl-C."""
    from safetwin.live_bridge.broker import EmbeddedBroker, broker_reachable
    if broker_reachable("127.0.0.1", port):
        typer.echo(f"a broker already listens on 127.0.0.1:{port}; using it")
        return
    b = EmbeddedBroker(port=port, data_dir=data_dir, auth=auth, tls=tls, devices=device, site=site).start()
    typer.echo(f"mosquitto pid {b.proc.pid} on 127.0.0.1:{port}, config {b.conf_path}"
               + (f", users in {b.data_dir / 'credentials.json'}" if auth else ", anonymous")
               + (f", CA {b.ca_file}" if tls else ""))
    try:
        b.proc.wait()
    except KeyboardInterrupt:
        b.stop()


def _broker(host: str | None, port: int | None) -> BrokerEndpoint:
    """The settings' broker (credentials, TLS) at ``host``/``port`` when given."""
    broker = get_settings().broker_endpoint()
    return replace(broker, host=host or broker.host, port=port or broker.port)


@app.command("simulate-plant")
def simulate_plant(
        plant: Path = typer.Option(None, help="plant folder (default: settings.plant_path)"),
        site: str = typer.Option("site1", help="site id in the topics"),
        host: str = typer.Option(None, help="broker host (default: settings)"),
        port: int = typer.Option(None, help="broker port (default: settings)"),
        rate: float = typer.Option(1.0, help="multiplies every detector's and tag's reporting rate"),
        seconds: float = typer.Option(0.0, help="stop after this many seconds (0: until Ctrl-C)"),
        seed: int = typer.Option(0, help="random seed"),
        faults_per_h: float = typer.Option(0.5, help="sensor faults (stuck, out of range, dropout, bad) per sensor per hour"),
        people: int = typer.Option(None, help="number of people (default: the shift headcount)"),
        shift: str = typer.Option(None, help="shift whose headcount walks the site (default: the first)"),
        plume: str = typer.Option(None, help="steady plume SUBSTANCE,X_M,Y_M,RATE_KG_S,WIND_FROM_DEG,WIND_M_S[,STABILITY]"),
        release: str = typer.Option(None, help="steady plume from this equipment's inventory (use --release-rate, --wind-*)"),
        release_rate: float = typer.Option(2.0, help="release rate for --release, kg/s"),
        wind_from: float = typer.Option(270.0, help="wind direction for --release, degrees (from)"),
        wind_speed: float = typer.Option(3.0, help="wind speed for --release, m/s"),
        plume_start: float = typer.Option(0.0, help="the release starts this many seconds into the simulation"),
) -> None:
    """Publish realistic traffic of a plant: detectors (noise, drift, faults) in gateway batches,
    every person's tag walking the roads, equipment states; optionally a gas plume read by the
    detectors."""
    from safetwin.emergency_planner.physics.dispersion import plume_as_function
    from safetwin.emergency_planner.physics.sigmas import PasquillSigmas
    from safetwin.live_bridge.simulator import PlantSimulator, SimConfig

    def steady_plume(x_m: float, y_m: float, rate_kg_s: float, wind_from_deg: float, wind_speed_m_s: float,
                     stability: str = "D", start_s: float = 0.0):
        """A steady Gaussian plume released 1 m above (x, y) from ``start_s`` (Briggs rural sigmas)."""
        return plume_as_function(source_xy_m=(x_m, y_m), wind_from_deg=wind_from_deg, rate_kg_s=rate_kg_s,
                                 wind_speed_m_s=wind_speed_m_s, sigmas=PasquillSigmas(stability),
                                 release_height_m=1.0, start_s=start_s)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    p = _plant(plant)
    conc = substance = None
    if plume:
        parts = plume.split(",")
        if len(parts) not in (6, 7):
            raise typer.BadParameter("--plume needs SUBSTANCE,X,Y,RATE,WIND_FROM,WIND_SPEED[,STABILITY]")
        substance = parts[0]
        conc = steady_plume(*map(float, parts[1:6]), stability=parts[6] if len(parts) == 7 else "D",
                            start_s=plume_start)
    elif release:
        inv = p.inventories.get(release)
        if inv is None or release not in p.equipment:
            raise typer.BadParameter(f"equipment {release!r} has no inventory in plant {p.id}")
        c = p.equipment[release].geometry.centroid
        substance = inv.substance
        conc = steady_plume(c.x, c.y, release_rate, wind_from, wind_speed, start_s=plume_start)
    cfg = SimConfig(rate=rate, seed=seed, fault_rate_per_h=faults_per_h, people=people, shift=shift)
    sim = PlantSimulator(p, site, cfg, concentration=conc, substance=substance)
    broker = _broker(host, port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    typer.echo(f"simulating {p.id}: {len(sim.detectors)} detectors, {len(sim.walkers)} people, "
               f"{len(p.equipment)} equipment items -> {broker.host}:{broker.port} site {site}", err=True)
    counts = sim.run(broker.host, broker.port, seconds or None, username=broker.username, password=broker.password,
                     tls_ca_file=broker.tls_ca_file, stop=stop)
    typer.echo(f"published: {counts}", err=True)


@app.command("record")
def record(out: Path = typer.Argument(..., help="JSONL file to write"),
           site: str = typer.Option(None, help="record pst/v1/{site}/# (default: --filter)"),
           topic_filter: str = typer.Option("pst/v1/#", "--filter", help="MQTT topic filter"),
           host: str = typer.Option(None), port: int = typer.Option(None),
           seconds: float = typer.Option(0.0, help="stop after this many seconds (0: until Ctrl-C)")) -> None:
    """Record raw MQTT traffic (topic, payload, QoS, retain, receive time) to a JSONL file."""
    from safetwin.live_bridge.recorder import Recorder
    broker = _broker(host, port)
    flt = f"pst/v1/{site}/#" if site else topic_filter
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    rec = Recorder(broker.host, broker.port, flt, out, username=broker.username, password=broker.password,
                   tls_ca_file=broker.tls_ca_file).start()
    typer.echo(f"recording {flt} from {broker.host}:{broker.port} to {out}", err=True)
    t0 = time.monotonic()
    while not stop.wait(0.2):
        if seconds and time.monotonic() - t0 >= seconds:
            break
    typer.echo(f"recorded {rec.stop()} messages", err=True)


@app.command("replay")
def replay_cmd(recording: Path = typer.Argument(..., help="JSONL file written by `record`"),
               speed: float = typer.Option(1.0, help="time scale: 1 real time, 10 ten times faster, 0 as fast as possible"),
               site: str = typer.Option(None, help="rewrite pst/v1/{site}/ topics to this site"),
               host: str = typer.Option(None), port: int = typer.Option(None)) -> None:
    """Replay a recording in order at any speed."""
    from safetwin.live_bridge.recorder import replay, site_rewriter
    broker = _broker(host, port)
    n = replay(recording, broker.host, broker.port, speed=speed, topic_map=site_rewriter(site) if site else None,
               username=broker.username, password=broker.password, tls_ca_file=broker.tls_ca_file)
    typer.echo(f"replayed {n} messages to {broker.host}:{broker.port}", err=True)
