"""``safetwin plant …``: check, describe and export plant models.

    safetwin plant validate demo_plant
    safetwin plant info demo_plant --json
    safetwin plant export demo_plant --gpkg out/demo.gpkg --geojson out/geojson
"""
from __future__ import annotations

import json
from pathlib import Path

import typer

from .common import plant_or_exit

app = typer.Typer(help="Check, describe and export plant models.", no_args_is_help=True)


@app.command("validate")
def plant_validate(path: Path = typer.Argument(..., help="plant folder")) -> None:
    """Validate a plant folder; list every error with file, feature id and field."""
    plant = plant_or_exit(path)
    summary = plant.summary()
    typer.echo(f"OK {path}: {summary['name']} ({summary['crs']}), " +
               ", ".join(f"{n} {k}" for k, n in summary["layers"].items()) +
               f", {len(plant.meta.sensors)} sensors, {len(plant.meta.muster_points)} muster points")


@app.command("info")
def plant_info(path: Path = typer.Argument(..., help="plant folder"),
               as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Describe a plant: extent, layers, equipment, sensors, people per shift."""
    summary = plant_or_exit(path).summary()
    if as_json:
        typer.echo(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    for key, value in summary.items():
        if isinstance(value, dict):
            typer.echo(f"{key}:")
            for k, v in value.items():
                typer.echo(f"  {k}: {v}")
        else:
            typer.echo(f"{key}: {value}")


@app.command("export")
def plant_export(path: Path = typer.Argument(..., help="plant folder"),
                 gpkg: Path | None = typer.Option(None, help="GeoPackage file to write (plant CRS)"),
                 geojson: Path | None = typer.Option(None, help="folder for GeoJSON files (WGS84)")) -> None:
    """Export a plant for GIS tools (QGIS): GeoPackage in the plant CRS, GeoJSON in WGS84."""
    from safetwin.plant_models.export import write_geojson, write_geopackage

    if gpkg is None and geojson is None:
        typer.echo("nothing to do: give --gpkg and/or --geojson", err=True)
        raise typer.Exit(code=2)
    plant = plant_or_exit(path)
    if gpkg is not None:
        typer.echo(f"wrote {write_geopackage(plant, gpkg)} ({plant.crs})")
    if geojson is not None:
        files = write_geojson(plant, geojson)
        typer.echo(f"wrote {len(files)} GeoJSON files (EPSG:4326) to {geojson}")
