"""``safetwin demo``: the main job on embedded defaults (see :mod:`safetwin.app.demo`)."""
from __future__ import annotations

from pathlib import Path

import typer


def demo(plant_path: Path | None = typer.Option(None, "--plant", help="plant folder (default: the demo plant)"),
         port: int | None = typer.Option(None, help="API port (default SAFETWIN_API_PORT or 8000)"),
         duration: float = typer.Option(0.0, help="stop after this many seconds (0 = run until Ctrl-C)"),
         shift: str = typer.Option("day", help="shift whose people are placed on site at start"),
         site: str = typer.Option("site1", help="site id in the MQTT topics"),
         live: bool = typer.Option(True, help="start the live MQTT bridge (and a broker where none runs)"),
         simulate: bool = typer.Option(True, help="publish a simulated plant's traffic (detectors, tags) to the bridge")
         ) -> None:
    """The main job on embedded defaults: load the plant, start the twin and its store, serve the API."""
    from ..demo import run_demo

    run_demo(plant_path=plant_path, port=port, duration_s=duration, shift=shift, site=site, live=live,
             simulate=simulate, say=typer.echo)
