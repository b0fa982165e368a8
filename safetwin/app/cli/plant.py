"""``safetwin plant …``: check, describe and export plant models.

    safetwin plant validate demo_plant
    safetwin plant info demo_plant --json
    safetwin plant export demo_plant --gpkg out/demo.gpkg --geojson out/geojson
    safetwin plant import site_import.yaml plants/my_site            # a new plant, or the changes only
    safetwin plant import site_import.yaml plants/my_site --apply    # replace it (the old one kept as .previous)
    safetwin plant check plants/my_site --html check.html --png check.png
"""
from __future__ import annotations

import json
from pathlib import Path

import typer

from safetwin.errors import MissingExtraError, require_extra

from .common import ExitCode, fail, plant_or_exit

app = typer.Typer(help="Check, describe, export and import plant models.", no_args_is_help=True)


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


@app.command("import")
def plant_import(mapping: Path = typer.Argument(..., help="import mapping file (YAML): plant header and sources"),
                 out: Path = typer.Argument(..., help="plant folder to write"),
                 apply: bool = typer.Option(False, "--apply", help="replace an existing plant (after reading the diff)"),
                 limit: int = typer.Option(40, help="items listed per section (the report file has them all)")) -> None:
    """Import a plant from CAD (DXF), GIS layers, an OSM extract and the detector tag list.

    Writes a plant folder and its import-report.json, runs the plant validation and lists what could
    not be mapped. An existing plant is replaced only with --apply; without it the changes are shown.
    Exit code 1 when the imported plant is not valid or the mapping file is unreadable, 2 when the
    plant folder exists (give --apply).
    """
    from safetwin.plant_models.importers import MappingError, import_plant

    try:
        outcome = import_plant(mapping, out, apply=apply)
    except MappingError as err:          # the mapping file is input: unreadable or wrong
        fail(ExitCode.INVALID, str(err))
    except FileExistsError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(code=2) from None
    for line in outcome.summary_lines(limit=limit):
        typer.echo(line)
    if outcome.diff is not None and not outcome.replaced and not outcome.validation and not outcome.diff.empty:
        typer.echo(f"not applied: run again with --apply to replace {out}")
    if outcome.validation:
        raise typer.Exit(code=1)


@app.command("check")
def plant_check(path: Path = typer.Argument(..., help="plant folder"),
                html: Path | None = typer.Option(None, help="HTML report to write (self-contained)"),
                png: Path | None = typer.Option(None, help="PNG map to write"),
                as_json: bool = typer.Option(False, "--json", help="print the findings as JSON"),
                lang: str = typer.Option("en", help="language of the HTML report: en or zh")) -> None:
    """Check a plant's layout: unreachable muster points, areas without exit, equipment out of every
    detector's reach. Exit code 1 when there are errors to fix."""
    from safetwin.emergency_planner.plant_check import check_plant

    if html is not None or png is not None:
        try:
            require_extra("panel", extra="ui", purpose="writing plant-check reports")
        except MissingExtraError as missing:
            fail(ExitCode.UNAVAILABLE, str(missing))
    plant = plant_or_exit(path)
    check = check_plant(plant)
    if as_json:
        typer.echo(json.dumps([vars(f) for f in check.findings], indent=2, ensure_ascii=False))
    else:
        for f in check.findings:
            typer.echo(f"{f.severity.upper():7s} {f.rule:26s} {f.item:12s} {f.message}")
        typer.echo(f"{len(check.findings)} finding(s) on {plant.name}")
    if html is not None or png is not None:
        from safetwin.ui.plant_check import report_html, report_png

        if html is not None:
            html.parent.mkdir(parents=True, exist_ok=True)
            html.write_text(report_html(plant, check, lang), encoding="utf-8")
            typer.echo(f"wrote {html}")
        if png is not None:
            png.parent.mkdir(parents=True, exist_ok=True)
            typer.echo(f"wrote {report_png(plant, png, check)}")
    if any(f.severity == "error" for f in check.findings):
        raise typer.Exit(code=1)
