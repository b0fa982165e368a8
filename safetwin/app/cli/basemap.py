"""``safetwin basemap …``: basemap tiles for the engineer's map, made on this machine (no internet).

    safetwin basemap tiles site.png --crs EPSG:32650 --zoom 15-18 --out var/basemap
    SAFETWIN_BASEMAP_TILES_DIR=var/basemap safetwin demo

The raster is a PNG, JPEG or TIFF with an ESRI world file beside it (``site.pgw`` for ``site.png``;
``gdal_translate -of PNG -co WORLDFILE=YES ortho.tif site.png`` makes one from a GeoTIFF).
"""
from __future__ import annotations

from pathlib import Path

import typer

from .common import ExitCode, fail

app = typer.Typer(help="Basemap tiles for the engineer's map, from a local raster.", no_args_is_help=True,
                  pretty_exceptions_enable=False)


@app.callback()
def main() -> None:
    """Basemap tiles (keeps ``tiles`` a sub-command when mounted as ``safetwin basemap``)."""


def zoom_range(text: str) -> list[int]:
    """``"15-18"`` → [15, 16, 17, 18]; ``"17"`` → [17]; zooms 0…24.

    >>> zoom_range("15-17"), zoom_range("12")
    ([15, 16, 17], [12])
    """
    lo, _, hi = text.partition("-")
    try:
        zs = list(range(int(lo), int(hi or lo) + 1))
    except ValueError:
        raise typer.BadParameter(f"{text!r}: expected a zoom or a range such as 15-18") from None
    if not zs or zs[0] < 0 or zs[-1] > 24:
        raise typer.BadParameter(f"{text!r}: zooms run from 0 to 24, low to high")
    return zs


@app.command("tiles")
def tiles(raster: Path = typer.Argument(..., help="georeferenced raster: PNG, JPEG or TIFF with a world file"),
          crs: str = typer.Option(..., "--crs", help="CRS of the world file's coordinates, e.g. the plant's "
                                                     "EPSG:32650"),
          zoom: str = typer.Option("15-18", "--zoom", help="zoom levels to write, e.g. 15-18 (18: ~0.5 m pixels)"),
          out: Path = typer.Option(Path("var/basemap"), "--out", "-o", help="tile folder to write "
                                                                       "(SAFETWIN_BASEMAP_TILES_DIR)"),
          world_file: Path | None = typer.Option(None, "--world-file", help="world file (default: beside the "
                                                                             "raster, .pgw/.jgw/.tfw/.wld)")) -> None:
    """Cut a local raster into XYZ tiles (Web Mercator, {z}/{x}/{y}.png) for the engineer's map."""
    from safetwin.emergency_planner.qra.executor import print_progress
    from safetwin.ui.basemap import make_xyz_tiles

    zooms = zoom_range(zoom)
    if not raster.is_file():
        fail(ExitCode.INVALID, f"error: {raster}: no such file")
    try:
        written = make_xyz_tiles(raster, crs, out, zooms, world_file=world_file, progress=print_progress)
    except ValueError as exc:
        fail(ExitCode.INVALID, f"error: {exc}")
    per_zoom = ", ".join(f"zoom {z}: {n}" for z, n in written.items())
    typer.echo(f"wrote {sum(written.values())} tiles to {out} ({per_zoom}); serve them with "
               f"SAFETWIN_BASEMAP_TILES_DIR={out}")
