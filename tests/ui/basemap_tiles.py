"""A test tile set for the basemap tests: XYZ tiles (Web Mercator) around the demo plant, light blue,
with a magenta square of ``MARK_HALF_M`` around the plant-frame point ``MARK_XY``.

The square is painted by an independent route: each tile pixel's centre goes from Web Mercator to
longitude/latitude by the spherical Mercator formulas written out here, then to the plant's CRS with
pyproj, then to the plant frame; the server goes the other way (plant frame → CRS → EPSG:3857 with
pyproj), so a wrong origin, axis order, y direction or scale shows up as a misplaced square.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

R_EARTH_M = 6378137.0
#: the marked point (m, plant frame): south of the demo site, on open ground inside the map's first view
MARK_XY = (650.0, -110.0)
MARK_HALF_M = 25.0
MAGENTA = (255, 0, 255)
GROUND = (179, 229, 252)


def write_test_tiles(plant, out: Path, zoom: int = 15, box=(-1500.0, -1000.0, 2500.0, 1600.0)) -> Path:
    """Write the tiles of zoom ``zoom`` covering the plant-frame ``box`` (m) into ``out``; returns ``out``."""
    from PIL import Image
    from pyproj import Transformer

    o = plant.meta.origin
    to_ll = Transformer.from_crs(plant.crs, "EPSG:4326", always_xy=True)
    to_crs = Transformer.from_crs("EPSG:4326", plant.crs, always_xy=True)
    lon, lat = to_ll.transform(np.array([box[0], box[2]]) + o.easting, np.array([box[1], box[3]]) + o.northing)
    n = 2 ** zoom

    def tile_xy(lo: float, la: float) -> tuple[int, int]:
        x = (lo + 180.0) / 360.0 * n
        y = (1.0 - math.asinh(math.tan(math.radians(la))) / math.pi) / 2.0 * n
        return int(x), int(y)

    (x0, y1), (x1, y0) = tile_xy(lon[0], lat[0]), tile_xy(lon[1], lat[1])
    for tx in range(x0, x1 + 1):
        for ty in range(y0, y1 + 1):
            gx = tx + (np.arange(256) + 0.5) / 256.0          # tile units, pixel centres
            gy = ty + (np.arange(256) + 0.5) / 256.0
            lo = gx / n * 360.0 - 180.0
            la = np.degrees(np.arctan(np.sinh(math.pi * (1.0 - 2.0 * gy / n))))
            LO, LA = np.meshgrid(lo, la)
            ex, ny = to_crs.transform(LO, LA)
            x, y = np.asarray(ex) - o.easting, np.asarray(ny) - o.northing
            mark = (np.abs(x - MARK_XY[0]) <= MARK_HALF_M) & (np.abs(y - MARK_XY[1]) <= MARK_HALF_M)
            img = np.empty((256, 256, 4), np.uint8)
            img[...] = (*GROUND, 255)
            img[mark] = (*MAGENTA, 255)
            path = out / str(zoom) / str(tx) / f"{ty}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img, "RGBA").save(path)
    (out / "attribution.txt").write_text("test tiles", encoding="utf-8")
    return out
