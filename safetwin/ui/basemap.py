"""An optional basemap from tiles on the server's own disk, drawn beneath the engineer's map.

Core objects: :class:`XYZTiles` (a folder of ``{z}/{x}/{y}.png`` tiles in Web Mercator,
EPSG:3857, the OpenStreetMap scheme, y counted from the north; what QGIS "Generate XYZ tiles",
``gdal2tiles.py --xyz`` or ``safetwin basemap tiles`` write) and :class:`PlantBasemap`, which makes
tiles of the plant's local frame from them.

The engineer's map is drawn in the plant's local frame (x east, y north, metres from the plant's
origin in its projected CRS, e.g. UTM). That frame is neither Web Mercator's scale (1/cos(latitude),
about 1.18 at 32° N) nor aligned with it (the grid convergence, about 1° in the demo plant's UTM zone),
so Mercator tiles cannot be laid on it as they are. The page asks for tiles of a square grid of the
local frame instead (:data:`GRID_HALF_M`, :data:`TILE_PX`; the Bokeh tile source of
:func:`tile_source`), and the server makes each one: for every pixel centre its position in the
plant's CRS, then in Web Mercator (pyproj), then the source pixel there (nearest neighbour, from the
source zoom whose ground resolution is at least as fine as the tile's, else the finest there is).
Everything stays on the machine: no request leaves it.

Example::

    >>> local_tile_bounds(10, 512, 511)      # x0, y0, x1, y1 (m, plant frame): 1 m pixels
    (0.0, 0.0, 256.0, 256.0)
"""
from __future__ import annotations

import io
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from safetwin.plant_models.loader import Plant

__all__ = ["XYZTiles", "PlantBasemap", "local_tile_bounds", "tile_source", "make_xyz_tiles", "read_world_file",
           "GRID_HALF_M", "TILE_PX", "MAX_ZOOM", "MERCATOR_HALF_M"]

#: half the side (m) of the local tile grid, centred on the plant's origin: tile (0, 0, 0) covers ±131 km
GRID_HALF_M = 2.0 ** 17
#: tile side (px), local grid and XYZ source alike
TILE_PX = 256
#: finest zoom of the local grid: 1024 m / 2**14 = 0.0625 m per pixel
MAX_ZOOM = 14
#: half the side (m) of the Web Mercator square (EPSG:3857), π × 6 378 137 m
MERCATOR_HALF_M = math.pi * 6378137.0
#: local tiles kept (PNG bytes) and source tiles kept (decoded RGBA) by one basemap
RENDERED_CACHE = 1024
SOURCE_CACHE = 96


def local_tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """Bounds (x0, y0, x1, y1; m, plant frame) of the local grid's tile ``z/x/y`` (y counted from the north)."""
    side = 2.0 * GRID_HALF_M / 2 ** z
    x0 = -GRID_HALF_M + x * side
    y1 = GRID_HALF_M - y * side
    return (x0, y1 - side, x0 + side, y1)


def _lru_get(cache: OrderedDict, key: Any) -> Any:
    value = cache.get(key)
    if value is not None:
        cache.move_to_end(key)
    return value


def _lru_put(cache: OrderedDict, key: Any, value: Any, size: int) -> None:
    cache[key] = value
    while len(cache) > size:
        cache.popitem(last=False)


def _png(rgba: np.ndarray) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(out, format="PNG", optimize=False)
    return out.getvalue()


def sample_rgba(image: np.ndarray, col: np.ndarray, row: np.ndarray) -> np.ndarray:
    """Nearest-neighbour samples of an (h, w, 4) image at fractional pixel positions (``col`` from the
    left, ``row`` from the top, 0 = the first pixel's edge); transparent outside the image."""
    h, w = image.shape[:2]
    c = np.floor(col).astype(np.int64)
    r = np.floor(row).astype(np.int64)
    inside = (c >= 0) & (c < w) & (r >= 0) & (r < h)
    out = np.zeros(col.shape + (4,), np.uint8)
    out[inside] = image[r[inside], c[inside]]
    return out


class XYZTiles:
    """A folder of XYZ tiles, ``{dir}/{z}/{x}/{y}.png`` (Web Mercator, EPSG:3857).

    Raises:
        ValueError: the folder does not exist or holds no zoom folder (a located message).
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder).expanduser().resolve()
        if not self.folder.is_dir():
            raise ValueError(f"basemap tiles: {self.folder}: no such folder")
        self.zooms = sorted(int(p.name) for p in self.folder.iterdir() if p.is_dir() and p.name.isdigit())
        if not self.zooms:
            raise ValueError(f"basemap tiles: {self.folder}: no zoom folders ({{z}}/{{x}}/{{y}}.png expected)")
        note = self.folder / "attribution.txt"
        #: shown in the map's corner (the tiles' licence may require it, e.g. © OpenStreetMap contributors)
        self.attribution = note.read_text(encoding="utf-8").strip() if note.is_file() else ""
        self._cache: OrderedDict[tuple[int, int, int], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def tile(self, z: int, x: int, y: int) -> np.ndarray | None:
        """The tile ``z/x/y`` as an (h, w, 4) uint8 RGBA array, or None where the folder has none
        (or an unreadable one). Cached."""
        with self._lock:
            hit = _lru_get(self._cache, (z, x, y))
        if hit is not None:
            return hit if hit.size else None
        path = self.folder / str(z) / str(x) / f"{y}.png"
        arr = np.zeros((0, 0, 4), np.uint8)
        if path.is_file():
            from PIL import Image, UnidentifiedImageError

            try:
                with Image.open(path) as im:
                    arr = np.asarray(im.convert("RGBA"), dtype=np.uint8)
            except (OSError, UnidentifiedImageError, ValueError):
                arr = np.zeros((0, 0, 4), np.uint8)
        with self._lock:
            _lru_put(self._cache, (z, x, y), arr, SOURCE_CACHE)
        return arr if arr.size else None

    def zoom_for(self, ground_m_per_px: float, latitude_deg: float) -> int:
        """The coarsest zoom of the folder at least as fine as ``ground_m_per_px`` (m) at ``latitude_deg``,
        else its finest."""
        scale = math.cos(math.radians(latitude_deg))
        for z in self.zooms:
            if 2 * MERCATOR_HALF_M / (TILE_PX * 2 ** z) * scale <= ground_m_per_px * 1.0001:
                return z
        return self.zooms[-1]

    def sample(self, mx: np.ndarray, my: np.ndarray, z: int) -> np.ndarray:
        """RGBA (…, 4) of the zoom-``z`` tiles at Web Mercator points ``mx``, ``my`` (m); transparent
        where there is no tile. One pass per source tile touched, none per pixel."""
        n = 2 ** z
        gx = (np.asarray(mx) + MERCATOR_HALF_M) / (2 * MERCATOR_HALF_M) * n * TILE_PX
        gy = (MERCATOR_HALF_M - np.asarray(my)) / (2 * MERCATOR_HALF_M) * n * TILE_PX
        tx = np.floor(gx / TILE_PX).astype(np.int64)
        ty = np.floor(gy / TILE_PX).astype(np.int64)
        out = np.zeros(gx.shape + (4,), np.uint8)
        ok = np.isfinite(gx) & np.isfinite(gy) & (tx >= 0) & (tx < n) & (ty >= 0) & (ty < n)
        if not ok.any():
            return out
        ty0 = int(ty[ok].min())
        rows = int(ty[ok].max()) - ty0 + 1
        keys = np.unique(tx[ok] * rows + (ty[ok] - ty0))      # one int per source tile touched
        for kx, ky in zip(keys // rows, keys % rows + ty0):
            img = self.tile(z, int(kx), int(ky))
            if img is None:
                continue
            sel = ok & (tx == kx) & (ty == ky)
            # a tile may be larger than TILE_PX (retina tiles): scale the position to its pixels
            f = img.shape[1] / TILE_PX
            out[sel] = sample_rgba(img, (gx[sel] - kx * TILE_PX) * f, (gy[sel] - ky * TILE_PX) * f)
        return out


class PlantBasemap:
    """Tiles of the plant's local frame made from an :class:`XYZTiles` folder (see the module docstring)."""

    def __init__(self, plant: Plant, tiles: XYZTiles | str | Path) -> None:
        from pyproj import Transformer

        from safetwin.plant_models.export import site_latlon_deg

        self.tiles = tiles if isinstance(tiles, XYZTiles) else XYZTiles(tiles)
        self.origin = (float(plant.meta.origin.easting), float(plant.meta.origin.northing))
        self.to_mercator = Transformer.from_crs(plant.crs, "EPSG:3857", always_xy=True)
        self.latitude_deg = site_latlon_deg(plant)[0]
        self._cache: OrderedDict[tuple[int, int, int], bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._empty = _png(np.zeros((TILE_PX, TILE_PX, 4), np.uint8))

    @property
    def attribution(self) -> str:
        """The tile folder's attribution text ("" without one)."""
        return self.tiles.attribution

    def rgba(self, z: int, x: int, y: int) -> np.ndarray:
        """The local tile ``z/x/y`` as a (TILE_PX, TILE_PX, 4) RGBA array (row 0 = north edge).

        Raises:
            ValueError: ``z``, ``x`` or ``y`` outside the local grid (0 ≤ z ≤ MAX_ZOOM, 0 ≤ x, y < 2**z).
        """
        if not (0 <= z <= MAX_ZOOM and 0 <= x < 2 ** z and 0 <= y < 2 ** z):
            raise ValueError(f"basemap tile {z}/{x}/{y}: outside the grid (zoom 0…{MAX_ZOOM}, x and y 0…2**zoom-1)")
        x0, _y0, x1, y1 = local_tile_bounds(z, x, y)
        res = (x1 - x0) / TILE_PX
        centres = (np.arange(TILE_PX) + 0.5) * res
        px, py = np.meshgrid(x0 + centres, y1 - centres)
        mx, my = self.to_mercator.transform(px + self.origin[0], py + self.origin[1])
        return self.tiles.sample(np.asarray(mx), np.asarray(my), self.tiles.zoom_for(res, self.latitude_deg))

    def png(self, z: int, x: int, y: int) -> bytes:
        """The local tile ``z/x/y`` as PNG bytes (transparent where the folder has no tile). Cached.

        Raises:
            ValueError: as :meth:`rgba`.
        """
        key = (z, x, y)
        with self._lock:
            hit = _lru_get(self._cache, key)
        if hit is not None:
            return hit
        img = self.rgba(z, x, y)
        data = _png(img) if img[..., 3].any() else self._empty
        with self._lock:
            _lru_put(self._cache, key, data, RENDERED_CACHE)
        return data


def tile_source(url: str, attribution: str = "") -> Any:
    """The Bokeh tile source of the local grid (plant frame, m): ``url`` has ``{Z}``, ``{X}``, ``{Y}``."""
    from bokeh.models import WMTSTileSource

    return WMTSTileSource(url=url, x_origin_offset=GRID_HALF_M, y_origin_offset=GRID_HALF_M,
                          initial_resolution=2 * GRID_HALF_M / TILE_PX, min_zoom=0, max_zoom=MAX_ZOOM,
                          wrap_around=False, attribution=attribution)


# ---------------------------------------------------------------------------- making tiles


def read_world_file(path: str | Path) -> tuple[float, float, float, float, float, float]:
    """The six numbers of an ESRI world file (``.pgw``, ``.jgw``, ``.tfw``, ``.wld``): A (pixel width),
    D, B (rotation terms), E (pixel height, negative), C, F (map position of the upper-left pixel's
    centre), in map units (m).

    Raises:
        ValueError: the file does not hold six numbers (names the file and line).
    """
    p = Path(path)
    lines = [ln.strip() for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip()]
    if len(lines) != 6:
        raise ValueError(f"{p}: a world file has 6 lines, found {len(lines)}")
    values = []
    for k, ln in enumerate(lines, 1):
        try:
            values.append(float(ln))
        except ValueError:
            raise ValueError(f"{p}:{k}: not a number: {ln!r}") from None
    a, d, b, e, c, f = values
    if a * e - b * d == 0:
        raise ValueError(f"{p}: the pixel size is zero")
    return a, d, b, e, c, f


def world_file_for(raster: Path) -> Path | None:
    """The world file beside ``raster``: ``.pgw`` for ``.png`` (first and last letter of the
    extension + w), else ``.wld``; None if there is none."""
    ext = raster.suffix.lower()
    for cand in (raster.with_suffix(f".{ext[1]}{ext[-1]}w") if len(ext) >= 3 else None, raster.with_suffix(".wld")):
        if cand is not None and cand.is_file():
            return cand
    return None


def make_xyz_tiles(raster: str | Path, crs: str, out_dir: str | Path, zooms: Iterable[int],
                   world_file: str | Path | None = None,
                   progress: Callable[[int, int, str], None] | None = None) -> dict[int, int]:
    """Cut a georeferenced raster (PNG, JPEG or TIFF read by Pillow, placed by its world file in
    ``crs``, e.g. the plant's ``EPSG:32650``) into XYZ tiles ``out_dir/{z}/{x}/{y}.png`` (Web Mercator),
    nearest neighbour, transparent outside the raster. Returns zoom → tiles written (tiles wholly
    outside the raster are not written). ``progress(done, total, what)`` is told after each tile.

    Raises:
        ValueError: no world file, a bad one, an unreadable raster or an unknown CRS.
    """
    from PIL import Image, UnidentifiedImageError
    from pyproj import Transformer
    from pyproj.exceptions import CRSError

    src = Path(raster)
    wf = Path(world_file) if world_file else world_file_for(src)
    if wf is None:
        raise ValueError(f"{src}: no world file beside it (e.g. {src.with_suffix('.pgw').name}); give --world-file")
    a, d, b, e, c, f = read_world_file(wf)
    try:
        with Image.open(src) as im:
            img = np.asarray(im.convert("RGBA"), dtype=np.uint8)
    except (OSError, UnidentifiedImageError) as exc:
        raise ValueError(f"{src}: not a readable image ({exc})") from None
    try:
        from_merc = Transformer.from_crs("EPSG:3857", crs, always_xy=True)
        to_merc = Transformer.from_crs(crs, "EPSG:3857", always_xy=True)
    except CRSError as exc:
        raise ValueError(f"unknown CRS {crs!r}: {exc}") from None
    h, w = img.shape[:2]
    # the raster's outline in Web Mercator (edges sampled: a reprojected edge bends)
    t = np.linspace(0.0, 1.0, 33)
    edge_c = np.concatenate([t * w, np.full_like(t, w), t[::-1] * w, np.zeros_like(t)])
    edge_r = np.concatenate([np.zeros_like(t), t * h, np.full_like(t, h), t[::-1] * h])
    ex = a * (edge_c - 0.5) + b * (edge_r - 0.5) + c
    ey = d * (edge_c - 0.5) + e * (edge_r - 0.5) + f
    emx, emy = (np.asarray(v) for v in to_merc.transform(ex, ey))
    inv = np.linalg.inv(np.array([[a, b], [d, e]]))
    out = Path(out_dir)
    todo: list[tuple[int, int, int]] = []
    for z in sorted({int(k) for k in zooms}):
        n = 2 ** z
        span = 2 * MERCATOR_HALF_M / n
        tx0, tx1 = (int(np.clip(np.floor((v + MERCATOR_HALF_M) / span), 0, n - 1)) for v in (emx.min(), emx.max()))
        ty0, ty1 = (int(np.clip(np.floor((MERCATOR_HALF_M - v) / span), 0, n - 1)) for v in (emy.max(), emy.min()))
        todo += [(z, tx, ty) for tx in range(tx0, tx1 + 1) for ty in range(ty0, ty1 + 1)]
    written = {z: 0 for z, _, _ in todo}
    for k, (z, tx, ty) in enumerate(todo, 1):
        span = 2 * MERCATOR_HALF_M / 2 ** z
        centres = (np.arange(TILE_PX) + 0.5) * span / TILE_PX
        mx, my = np.meshgrid(-MERCATOR_HALF_M + tx * span + centres, MERCATOR_HALF_M - ty * span - centres)
        X, Y = (np.asarray(v) for v in from_merc.transform(mx, my))
        dx, dy = X - c, Y - f
        tile = sample_rgba(img, inv[0, 0] * dx + inv[0, 1] * dy + 0.5, inv[1, 0] * dx + inv[1, 1] * dy + 0.5)
        if tile[..., 3].any():
            path = out / str(z) / str(tx) / f"{ty}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(_png(tile))
            written[z] += 1
        if progress is not None:
            progress(k, len(todo), f"zoom {z}")
    return written
