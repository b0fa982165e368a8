"""The local basemap: tiles of the plant frame made from XYZ tiles, the tile maker, the route behind
the login, and the engineer's map drawing it in headless Chromium (no request leaves the machine)."""
from __future__ import annotations

import io
import urllib.error
import urllib.request

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from safetwin.plant_models.loader import bundled_plant_path, load_plant
from safetwin.ui.basemap import GRID_HALF_M, PlantBasemap, XYZTiles, local_tile_bounds

from basemap_tiles import GROUND, MAGENTA, MARK_HALF_M, MARK_XY, write_test_tiles
from conftest import PAGE_TIMEOUT_MS, login, rgb

from waiting import wait_until


@pytest.fixture(scope="module")
def plant():
    return load_plant(bundled_plant_path("demo_plant"))


@pytest.fixture(scope="module")
def tiles_dir(plant, tmp_path_factory):
    return write_test_tiles(plant, tmp_path_factory.mktemp("tiles"))


def tile_at(z: int, x_m: float, y_m: float) -> tuple[int, int, int]:
    """The local grid's tile holding the plant-frame point (m)."""
    side = 2 * GRID_HALF_M / 2 ** z
    return z, int((x_m + GRID_HALF_M) // side), int((GRID_HALF_M - y_m) // side)


def mark_of(img: np.ndarray) -> np.ndarray:
    return (np.abs(img[..., :3].astype(int) - MAGENTA).max(axis=-1) <= 40) & (img[..., 3] > 0)


def centre_and_size(img: np.ndarray, z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """Centre (m, plant frame) and width and height (m) of the magenta mark in a local tile."""
    x0, _, x1, y1 = local_tile_bounds(z, x, y)
    res = (x1 - x0) / img.shape[1]
    r, c = np.nonzero(mark_of(img))
    assert len(r), "no mark in the tile"
    return (x0 + (c.mean() + 0.5) * res, y1 - (r.mean() + 0.5) * res, (np.ptp(c) + 1) * res, (np.ptp(r) + 1) * res)


def test_local_tile_places_the_mark_where_the_plant_frame_says(plant, tiles_dir):
    """The plant-frame tile shows the mark at its plant-frame place and size (within a pixel)."""
    bm = PlantBasemap(plant, tiles_dir)
    for z in (8, 10):                           # 4 m and 1 m pixels (source zoom 15, ~4 m)
        key = tile_at(z, *MARK_XY)
        img = bm.rgba(*key)
        res = 1024.0 / 2 ** z
        cx, cy, w, h = centre_and_size(img, *key)
        tol = max(res, 4.1)                    # the source pixels are ~4 m on the ground
        assert abs(cx - MARK_XY[0]) <= tol and abs(cy - MARK_XY[1]) <= tol, (z, cx, cy)
        assert abs(w - 2 * MARK_HALF_M) <= 2 * tol and abs(h - 2 * MARK_HALF_M) <= 2 * tol, (z, w, h)
        ground = (np.abs(img[..., :3].astype(int) - GROUND).max(axis=-1) <= 2).mean()
        assert ground > 0.5, "the rest of the tile is the test ground colour"
    far = bm.png(*tile_at(8, 60_000.0, 60_000.0))            # no source tile there: transparent
    assert np.asarray(Image.open(io.BytesIO(far)).convert("RGBA"))[..., 3].max() == 0
    with pytest.raises(ValueError, match="outside the grid"):
        bm.png(3, 8, 0)


def test_tile_folder_is_checked(tmp_path):
    with pytest.raises(ValueError, match="no such folder"):
        XYZTiles(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="no zoom folders"):
        XYZTiles(tmp_path)


def test_basemap_tiles_command_cuts_a_raster_with_a_world_file(plant, tmp_path):
    """`safetwin basemap tiles`: a PNG + world file in the plant's CRS becomes XYZ tiles, and the plant
    frame tile made from them has the raster's mark at its place."""
    from safetwin.app.cli import app

    o = plant.meta.origin
    px = 2.0                                   # m per raster pixel; raster covers plant frame -300…1100, -200…900
    w, h = 700, 550
    x_left, y_top = -300.0, 900.0
    cols = x_left + (np.arange(w) + 0.5) * px
    rows = y_top - (np.arange(h) + 0.5) * px
    X, Y = np.meshgrid(cols, rows)
    img = np.empty((h, w, 3), np.uint8)
    img[...] = GROUND
    img[(np.abs(X - MARK_XY[0]) <= MARK_HALF_M) & (np.abs(Y - MARK_XY[1]) <= MARK_HALF_M)] = MAGENTA
    Image.fromarray(img, "RGB").save(tmp_path / "site.png")
    # world file: pixel size, rotation terms, centre of the upper-left pixel in the plant's CRS
    (tmp_path / "site.pgw").write_text(f"{px}\n0\n0\n{-px}\n{o.easting + x_left + px / 2}\n{o.northing + y_top - px / 2}\n")
    r = CliRunner().invoke(app, ["basemap", "tiles", str(tmp_path / "site.png"), "--crs", plant.crs, "--zoom", "15-16",
                                 "--out", str(tmp_path / "tiles")])
    assert r.exit_code == 0, r.output
    assert "wrote" in r.stdout and "[###" in r.stderr       # the progress bar of the other long commands
    tiles = XYZTiles(tmp_path / "tiles")
    assert tiles.zooms == [15, 16]
    bm = PlantBasemap(plant, tiles)
    key = tile_at(9, *MARK_XY)                 # 2 m pixels: drawn from zoom 16 (~2 m)
    cx, cy, w_m, h_m = centre_and_size(bm.rgba(*key), *key)
    assert abs(cx - MARK_XY[0]) <= 3 and abs(cy - MARK_XY[1]) <= 3, (cx, cy)
    assert abs(w_m - 50) <= 6 and abs(h_m - 50) <= 6, (w_m, h_m)
    r = CliRunner().invoke(app, ["basemap", "tiles", str(tmp_path / "site.png"), "--crs", "EPSG:1", "--out",
                                 str(tmp_path / "t2")])
    assert r.exit_code == 1 and "unknown CRS" in r.output, r.output
    (tmp_path / "site.pgw").write_text("2\n0\n0\nx\n1\n1\n")
    r = CliRunner().invoke(app, ["basemap", "tiles", str(tmp_path / "site.png"), "--crs", plant.crs, "--out",
                                 str(tmp_path / "t3")])
    assert r.exit_code == 1 and "site.pgw:4: not a number" in r.output, r.output


def test_without_a_basemap_the_map_has_no_tiles(plant):
    """No setting: no tile renderer, the site's ground opaque as before."""
    from bokeh.models import TileRenderer

    from safetwin.ui.risk_map import risk_figure

    fig, layers = risk_figure(plant, [], "en")
    assert "basemap" not in layers and not [r for r in fig.renderers if isinstance(r, TileRenderer)]
    fig, layers = risk_figure(plant, [], "en", basemap_url="/ui/basemap/{Z}/{X}/{Y}.png")
    assert [type(r).__name__ for r in layers["basemap"]] == ["TileRenderer"]
    assert fig.renderers[0] is layers["basemap"][0]


def _get(url: str, cookie: str | None = None) -> tuple[int, bytes, str]:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    req = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.build_opener(NoRedirect).open(req, timeout=30) as resp:
            return resp.status, resp.read(), resp.headers.get("Content-Type", "")
    except urllib.error.HTTPError as err:
        return err.code, err.read(), err.headers.get("Content-Type", "")


@pytest.fixture
def basemap_on(served_ui, tiles_dir):
    """The served UI with the test tiles as its basemap (as ``basemap_tiles_dir`` sets it), then off again."""
    served_ui.ctx.extra["basemap"] = PlantBasemap(served_ui.plant, tiles_dir)
    try:
        yield served_ui
    finally:
        served_ui.ctx.extra.pop("basemap", None)


def test_basemap_route_is_behind_the_login_and_404_without_a_basemap(served_ui, tiles_dir):
    from safetwin.ui.auth import COOKIE

    z, x, y = tile_at(8, *MARK_XY)
    url = f"{served_ui.url}/ui/basemap/{z}/{x}/{y}.png"
    status, _, _ = _get(url)
    assert status == 303, "a tile without the login cookie is redirected to the login page"
    cookie = f"{COOKIE}=ui-static-token"
    assert _get(url, cookie)[0] == 404                      # no basemap configured
    served_ui.ctx.extra["basemap"] = PlantBasemap(served_ui.plant, tiles_dir)
    try:
        status, body, ctype = _get(url, cookie)
        assert status == 200 and ctype == "image/png"
        assert mark_of(np.asarray(Image.open(io.BytesIO(body)).convert("RGBA"))).sum() > 50
        before = served_ui.ctx.extra["basemap_rejected"]
        assert _get(served_ui.url + "/ui/basemap/3/9/0.png", cookie)[0] == 404
        assert served_ui.ctx.extra["basemap_rejected"] == before + 1
    finally:
        served_ui.ctx.extra.pop("basemap", None)


# screen position (CSS px, page) of a plant-frame point on the newest risk map, from its view's scales
SCREEN_JS = """([x, y]) => {
  let fig = null;
  for (const doc of Bokeh.documents) for (const m of doc.all_models) if (m.name === 'risk-map') fig = m;
  if (fig === null) return null;
  const view = Bokeh.index.find_one(fig);
  if (view == null) return null;
  const r = view.canvas_view.el.getBoundingClientRect();
  return [r.left + view.frame.x_scale.compute(x), r.top + view.frame.y_scale.compute(y)];
}"""


def test_engineer_map_shows_local_tiles_georeferenced(basemap_on, new_page):
    """With a basemap the engineer's map loads its tiles from the server (no other host) and shows the
    test mark where the plant frame puts it; the layer is listed in the layer toggle."""
    served = basemap_on
    page, log = new_page()
    requests: list[str] = []
    page.on("request", lambda req: requests.append(req.url))
    login(page, served.url, "/ui/engineer", "sue")
    page.locator(".risk-map canvas").first.wait_for(state="visible")
    page.get_by_text("Basemap (local tiles)").first.wait_for()
    page.wait_for_function("() => performance.getEntriesByType('resource')"
                           ".filter(e => e.name.includes('/ui/basemap/')).length >= 4")
    page.wait_for_function(SCREEN_JS, arg=list(MARK_XY))
    box = page.locator(".risk-map").first.bounding_box()
    seen: dict[str, object] = {}

    def mark_on_screen() -> bool:
        sx, sy = page.evaluate(SCREEN_JS, list(MARK_XY))
        img = rgb(page.screenshot(clip=box))
        m = np.abs(img - MAGENTA).max(axis=2) <= 60
        r, c = np.nonzero(m)
        seen.update(expected=(sx - box["x"], sy - box["y"]), n=int(m.sum()), img=img,
                    found=(c.mean() + 0.5, r.mean() + 0.5) if len(r) else None)
        return len(r) >= 20

    assert wait_until(mark_on_screen, timeout=PAGE_TIMEOUT_MS / 1e3, step=0.3), "the basemap's mark is not drawn"
    (ex, ey), (cx, cy) = seen["expected"], seen["found"]
    assert abs(cx - ex) <= 3 and abs(cy - ey) <= 3, f"mark at ({cx:.1f}, {cy:.1f}) px, plant frame says ({ex:.1f}, {ey:.1f})"
    img = seen["img"]
    ground = int((np.abs(img - GROUND).max(axis=2) <= 12).sum())
    assert ground > 2000, f"the basemap's ground shows beneath the map ({ground} px)"
    assert any("/ui/basemap/" in u for u in requests)
    outside = [u for u in requests if not u.startswith(served.url) and not u.startswith(("data:", "blob:"))]
    assert not outside, f"requests that leave the machine: {outside[:5]}"
    assert not log.errors, log.errors
