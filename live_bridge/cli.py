"""Command line of the live bridge (a typer sub-app; wire it as ``safetwin bridge …``).

    python -m safetwin.live_bridge run --plant plant_models/small_plant --site site1
    python -m safetwin.live_bridge broker --port 18830 --data-dir var/mosquitto
    python -m safetwin.live_bridge simulate-plant --plant plant_models/small_plant --rate 1000
    python -m safetwin.live_bridge record out.jsonl --site site1 --seconds 60
    python -m safetwin.live_bridge replay out.jsonl --speed 10
"""
from __future__ import annotations

import logging
import signal
import threading
import time
from pathlib import Path

import typer

app = typer.Typer(help="SafeTwin live MQTT bridge: run it, a broker, a simulated plant, record/replay.",
                  no_args_is_help=True, pretty_exceptions_enable=False)


def _plant(path: Path | None):
    from safetwin.plant_models.loader import bundled_plant_path, load_plant
    from safetwin.settings import get_settings
    return load_plant(path or get_settings().plant_path or bundled_plant_path("demo_plant"))


@app.command("run")
def run(plant: Path = typer.Option(None, help="plant folder (default: settings.plant_path)"),
        site: str = typer.Option("site1", help="site id in the topics"),
        host: str = typer.Option(None, help="broker host (default: settings)"),
        port: int = typer.Option(None, help="broker port (default: settings)"),
        db: str = typer.Option(None, help="history database URL (default: settings.database_url)"),
        seconds: float = typer.Option(0.0, help="stop after this many seconds (0: run until SIGINT/SIGTERM)"),
        ) -> None:
    """Run the live bridge until interrupted."""
    from .bridge import BridgeConfig, LiveBridge
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cfg = BridgeConfig.from_settings(site=site)
    if host:
        cfg.host = host
    if port:
        cfg.port = port
    if db:
        cfg.db_url = db
    bridge = LiveBridge(_plant(plant), cfg)
    try:
        bridge.start()
    except ConnectionError as exc:
        typer.echo(f"live bridge not started: {exc}", err=True)
        raise typer.Exit(2) from None
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


@app.command("broker")
def broker(port: int = typer.Option(1883), data_dir: Path = typer.Option(Path("var/mosquitto")),
           auth: bool = typer.Option(False, help="password file + ACLs (credentials in data_dir/credentials.env)"),
           site: str = typer.Option("site1")) -> None:
    """Start SafeTwin's own mosquitto with the shipped config where none runs; stop with Ctrl-C."""
    from .broker import EmbeddedBroker, broker_reachable
    if broker_reachable("127.0.0.1", port):
        typer.echo(f"a broker already listens on 127.0.0.1:{port}; using it")
        return
    b = EmbeddedBroker(port=port, data_dir=data_dir, auth=auth, site=site).start()
    typer.echo(f"mosquitto pid {b.proc.pid} on 127.0.0.1:{port}, config {b.conf_path}")
    try:
        b.proc.wait()
    except KeyboardInterrupt:
        b.stop()


if __name__ == "__main__":
    app()
