"""The ``safetwin`` command: one typer app with a group per job (one module each).

Examples::

    safetwin plant validate demo_plant
    safetwin plant info demo_plant
    safetwin plant export demo_plant --gpkg out/demo.gpkg --geojson out/geojson
    safetwin demo                      # the main job on embedded defaults
    safetwin scenario run chlorine_drum_leak_wind_shift --out var/scenarios/cl2
    safetwin bridge broker --port 18830
    safetwin audit verify              # the keyed audit trail of the configured store
    safetwin basemap tiles site.png --crs EPSG:32650 --out var/basemap   # offline basemap tiles

``python -m safetwin …`` runs the same command. Each group imports its models only when one of
its commands runs, so ``safetwin --help`` stays fast.
"""
from __future__ import annotations

import typer

from . import audit, basemap, bridge, consequence, drill, evacuate, plant, qra, scenario
from .demo import demo as demo_command

__all__ = ["app"]

app = typer.Typer(help="SafeTwin: safety digital twin for industrial plants.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
app.add_typer(plant.app, name="plant", help="Check, describe and export plant models.")
app.command("demo")(demo_command)
app.add_typer(bridge.app, name="bridge", help="The live MQTT bridge: run it, a broker, a simulated plant.")
app.add_typer(consequence.app, name="consequence", help="Threat zones at equipment; domino escalation.")
app.add_typer(scenario.app, name="scenario", help="Scenario drills: list, validate, run.")
app.add_typer(evacuate.app, name="evacuate", help="Evacuate a plant's people with agents; verification table.")
app.add_typer(qra.app, name="qra", help="Quantitative risk assessment: individual and societal risk, contours.")
app.add_typer(drill.app, name="drill", help="Drill evaluation (HTML/PDF report), drill plan and calendar.")
app.add_typer(audit.app, name="audit", help="The keyed audit trail: verify it, export its evidence.")
app.add_typer(basemap.app, name="basemap", help="Basemap tiles for the engineer's map, from a local raster.")
