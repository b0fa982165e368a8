"""``safetwin consequence …``: threat zones at a plant's equipment and the bund-fire domino timeline."""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import typer

from .common import ExitCode, fail, plant_or_exit

app = typer.Typer(help="Consequence models: threat zones at equipment, domino escalation.", no_args_is_help=True,
                  pretty_exceptions_enable=False)


@app.command("zones")
def zones(plant_path: Path = typer.Argument(..., help="plant folder"),
          equipment: str = typer.Option(..., "--equipment", "-e", help="equipment id holding the inventory"),
          kind: str | None = typer.Option(None, help="toxic_gas | flammable_gas | pool_fire | jet_fire | fireball | "
                                          "flash_fire | vce (default by substance)"),
          model: str = typer.Option("auto", "--model", help="cloud model: auto (dense gas or Gaussian by the source "
                                    "Richardson number) | dense | passive (the Gaussian plume)"),
          explosion_model: str = typer.Option("multi_energy", "--explosion-model",
                                              help="vapour cloud explosion: multi_energy (TNO, GAME) | bst "
                                              "(Baker-Strehlow-Tang)"),
          hole_mm: float = typer.Option(25.0, help="hole diameter, mm"),
          wind_speed: float = typer.Option(3.0, help="wind speed at 10 m, m/s"),
          wind_from: float = typer.Option(270.0, help="direction the wind blows FROM, degrees from north"),
          stability: str | None = typer.Option("D", help="Pasquill class A-F; 'auto' derives it from --time and --cloud"),
          time: str | None = typer.Option(None, help="UTC time (ISO 8601) for stability 'auto'"),
          cloud: float = typer.Option(0.5, help="cloud cover fraction 0..1 for stability 'auto'"),
          exposure_min: float = typer.Option(60.0, help="toxic exposure duration, min (AEGL 10/30/60)"),
          frame: str = typer.Option("wgs84", help="output coordinates: wgs84 (GIS) or local (plant metres)"),
          out: Path = typer.Option(..., "--out", "-o", help="GeoJSON file to write")) -> None:
    """Threat zones (RED/ORANGE/YELLOW) of a release at a piece of equipment, written as GeoJSON."""
    from pyproj import Transformer

    from safetwin.plant_models.export import local_geojson_to_wgs84

    from safetwin.emergency_planner.physics.consequence import Weather
    from safetwin.emergency_planner.plant_consequence import zones_at_equipment

    from safetwin.emergency_planner.physics.consequence import OUTCOMES

    plant = plant_or_exit(plant_path)
    if frame not in ("wgs84", "local"):
        raise typer.BadParameter("frame must be wgs84 or local")
    dispersion = {"auto": "auto", "dense": "dense", "passive": "gaussian", "gaussian": "gaussian"}.get(model)
    if dispersion is None:
        raise typer.BadParameter(f"--model must be auto, dense or passive, not {model!r}")
    if explosion_model not in ("multi_energy", "bst"):
        raise typer.BadParameter(f"--explosion-model must be multi_energy or bst, not {explosion_model!r}")
    if kind is not None and kind not in OUTCOMES:
        raise typer.BadParameter(f"--kind {kind!r} is not a consequence outcome; known: {', '.join(sorted(OUTCOMES))}")
    lat = lon = when = None
    if stability == "auto":
        if time is None:
            raise typer.BadParameter("--stability auto needs --time")
        when = datetime.fromisoformat(time)
        o = plant.meta.origin
        lon, lat = Transformer.from_crs(plant.crs, "EPSG:4326", always_xy=True).transform(o.easting, o.northing)
    weather = Weather(wind_speed, wind_from, None if stability == "auto" else stability, cloud_fraction=cloud,
                      time=when, latitude_deg=lat, longitude_deg=lon)
    try:
        result = zones_at_equipment(plant, equipment, weather, kind=kind, hole_diameter_m=hole_mm / 1000.0,
                                    exposure_duration_s=exposure_min * 60.0, dispersion_model=dispersion,
                                    explosion_model=explosion_model)
    except (KeyError, ValueError) as exc:    # an unknown id (with the closest ones) or an unusable input
        fail(ExitCode.INVALID, f"error: {str(exc).strip(chr(34))}")
    fc = result.to_geojson()
    if frame == "wgs84":
        fc = local_geojson_to_wgs84(plant, fc)
    fc["properties"] = {"plant": plant.id, "equipment": equipment, "kind": result.kind, "model": result.model,
                        "stability": result.stability, "valid": result.valid, "notes": result.notes,
                        "frame": "EPSG:4326" if frame == "wgs84" else f"local metres from {plant.crs} origin"}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(fc))
    c = result.release
    typer.echo(f"{result.kind} of {c.substance} at {equipment} ({result.model}, class {result.stability}):")
    for z in result.zones:
        typer.echo(f"  {z.level:<6} {z.label:<28} ≥ {z.threshold:g} {z.units:<6} reaches "
                   f"{z.max_distance_m(c.x_m, c.y_m):7.0f} m, area {z.area_m2 / 1e4:8.2f} ha")
    for note in result.notes + ([] if result.valid else ["outside the Gaussian model's validity (dense gas)"]):
        typer.echo(f"  note: {note}")
    typer.echo(f"wrote {out}")


@app.command("domino")
def domino(plant_path: Path = typer.Argument(..., help="plant folder"),
           tank: str = typer.Option(..., help="leaking tank whose bund catches fire"),
           wind_speed: float = typer.Option(0.0, help="wind speed, m/s"),
           wind_from: float = typer.Option(270.0, help="direction the wind blows FROM, degrees"),
           hours: float = typer.Option(1.0, help="simulated time, h"),
           out: Path | None = typer.Option(None, "--out", "-o", help="JSON timeline to write")) -> None:
    """Escalation timeline after a pool fire in a tank's bund (which neighbours ignite, when)."""
    from safetwin.emergency_planner.plant_consequence import bund_fire_domino

    plant = plant_or_exit(plant_path)
    try:
        result = bund_fire_domino(plant, tank, wind_speed, wind_from, t_end_s=hours * 3600.0)
    except (KeyError, ValueError) as exc:
        fail(ExitCode.INVALID, f"error: {str(exc).strip(chr(34))}")
    rows = [{"equipment_id": e.equipment_id, "time_s": e.time_s, "cause": e.cause,
             "flux_kw_m2": None if e.flux_kw_m2 != e.flux_kw_m2 else e.flux_kw_m2,
             "ttf_s": None if e.ttf_s != e.ttf_s else e.ttf_s, "probability": e.probability} for e in result.events]
    for r in rows:
        flux = f"{r['flux_kw_m2']:.1f} kW/m²" if r["flux_kw_m2"] is not None else "initiating fire"
        typer.echo(f"  t = {r['time_s']:6.0f} s  {r['equipment_id']:<10} {r['cause']:<10} {flux}")
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"plant": plant.id, "tank": tank, "events": rows}, indent=1))
        typer.echo(f"wrote {out}")
