"""Browser tests: each page in headless Chromium (Playwright), behind the login, with live MQTT data.

Screenshots (1280×800) go to docs/screenshots/.
"""
from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pytest

from conftest import PASSWORD, day_shift, login, rgb, save_screenshot, settled_image
from waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.mqtt]


def _normal_values(plant) -> dict[str, float]:
    return {s.id: (0.0 if s.type.value == "flame" else 0.2 * (s.alarm.warning if s.alarm else 1.0))
            for s in plant.meta.sensors if s.type.value != "weather"}


def test_ui_routes_need_login(served_ui):
    """Without the UI cookie a page redirects to the login page, and a bad token is refused."""
    r = httpx.get(served_ui.url + "/ui/control-room", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/ui/login")
    r = httpx.post(served_ui.url + "/ui/session", json={"token": "forged"})
    assert r.status_code == 401
    r = httpx.get(served_ui.url + "/ui/manager/report.html", follow_redirects=False)
    assert r.status_code == 303
    tok = httpx.post(served_ui.url + "/auth/token", data={"username": "max", "password": PASSWORD}).json()["access_token"]
    r = httpx.get(served_ui.url + "/ui/manager/report.html", cookies={"safetwin_ui": tok})
    assert r.status_code == 200 and "Safety KPI report" in r.text


def test_control_room_plan_follows_mqtt_and_3d_tab(served_ui, new_page):
    """Positions arriving over MQTT move the people on the live plan; the 3D tab draws the plant."""
    ui = served_ui
    ids, xy = day_shift(ui.plant)
    ui.pub.positions(ids, xy)
    ui.pub.readings(_normal_values(ui.plant))
    assert wait_until(lambda: ui.state.head_count >= 250 and len(ui.state.readings()) >= 40, 120), "bridge did not apply data"
    page, log = new_page()
    login(page, ui.url, "/ui/control-room", "ola")
    page.wait_for_function(PEOPLE_N_JS, arg=ui.state.head_count, polling=200)
    mp = np.array(ui.plant.muster_points["MP-S"].position)
    far = int(np.argmax(np.abs(mp[0] - xy[:, 0])))          # the person who moves furthest east-west
    ui.pub.positions(ids, xy + 0.6 * (mp - xy))
    moved_x = float(xy[far, 0] + 0.6 * (mp[0] - xy[far, 0]))
    assert abs(moved_x - xy[far, 0]) > 10.0
    page.wait_for_function(PEOPLE_X_JS, arg=moved_x, polling=200)
    page.get_by_text("Plant (3D)", exact=True).click()
    page.locator(".plant-3d canvas").first.wait_for(state="visible")
    box = page.locator(".plant-3d").first.bounding_box()
    assert wait_until(lambda: rgb(page.screenshot(clip=box)).std(axis=(0, 1)).max() > 10, 60), "3D canvas looks blank"
    assert not log.errors, log.errors


# whether the plan draws n people
PEOPLE_N_JS = """(n) => {
  if (typeof Bokeh === 'undefined') return false;
  for (const doc of Bokeh.documents) {
    const m = doc.get_model_by_name('people-src');
    if (m !== null) return m.data.x.length === n;
  }
  return false;
}"""
# whether a person is drawn at x (m) on the plan
PEOPLE_X_JS = """(x) => {
  if (typeof Bokeh === 'undefined') return false;
  for (const doc of Bokeh.documents) {
    const m = doc.get_model_by_name('people-src');
    if (m !== null) return Array.from(m.data.x).some(v => Math.abs(v - x) < 0.05);
  }
  return false;
}"""


def test_engineer_risk_map_four_colours_and_legend(served_ui, new_page):
    """The risk map shows register zones in all four colours with a legend; consequence zones compute from the page."""
    page, log = new_page()
    login(page, served_ui.url, "/ui/engineer", "sue")
    page.locator(".risk-map canvas").first.wait_for(state="visible")
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0")
    labels = page.evaluate(LEGEND_JS)
    assert labels["risk-legend"][:4] == ["RED — major", "ORANGE — high", "YELLOW — moderate", "BLUE — low"], labels
    assert page.get_by_text("RED — major").count() == 1, "the legend is drawn twice (map and page)"
    page.get_by_role("button", name="Compute consequence zones").click()
    page.get_by_text("pool fills the bund").first.wait_for()
    # the threat zones: their own legend with thresholds, a summary table, distance rings and a scale bar
    page.locator(".threat-summary td").first.wait_for()
    page.wait_for_function("() => { for (const d of Bokeh.documents) for (const m of d.all_models) "
                           "if (m.name === 'threat-legend') return true; return false; }")
    threat = page.evaluate(LEGEND_JS)["threat-legend"]
    assert len(threat) == 3 and all("kW/m²" in label for label in threat), threat
    names = page.evaluate("() => { const n = {}; for (const d of Bokeh.documents) for (const m of d.all_models) "
                          "if (m.name) n[m.name] = (n[m.name] || 0) + 1; return n; }")
    assert names.get("distance-ring", 0) >= 2 and names.get("scale-bar", 0) >= 1, names
    box = page.locator(".risk-map").first.bounding_box()
    img = settled_image(page, box)
    save_screenshot(page, "engineer-risk-map.png")
    from safetwin.twin.workflows.risk import COLOURS

    bg = np.array([0xE8, 0xED, 0xDF])
    for level, hexcol in COLOURS.items():
        c = np.array([int(hexcol[i:i + 2], 16) for i in (1, 3, 5)])
        exact = int((np.abs(img - c).max(axis=2) <= 12).sum())          # legend swatch (opaque)
        blended = 0.55 * c + 0.45 * bg                                   # register zone over open ground
        zone = int((np.abs(img - blended).max(axis=2) <= 14).sum())
        assert exact >= 50, f"{level}: legend swatch missing ({exact} px)"
        assert zone >= 300, f"{level}: no {level} zone drawn on the map ({zone} px)"
    with page.expect_download() as dl:
        page.get_by_role("button", name="Download GeoJSON (WGS84)").click()
    import json

    fc = json.loads(open(dl.value.path(), encoding="utf-8").read())
    sources = {f["properties"]["source"] for f in fc["features"]}
    assert sources == {"register", "consequence"}
    lon, lat = fc["features"][0]["geometry"]["coordinates"][0][0][:2]
    assert 118 < lon < 119.5 and 31.5 < lat < 33, "GeoJSON is not in WGS84 near the plant"
    assert not log.errors, log.errors


# the labels of each named legend on the page's newest map
LEGEND_JS = """() => { const out = {};
  for (const doc of Bokeh.documents) for (const m of doc.all_models)
    if (m.type === 'Legend' && m.name) out[m.name] = m.items.map(i => typeof i.label === 'string' ? i.label : i.label.value);
  return out; }"""


#: the coarse QRA takes ~8 s on an idle machine and minutes on a loaded one
QRA_TIMEOUT_MS = 900_000
# the newest renderer named "qra" (the page replaces its figure when a result arrives)
QRA_JS = """() => {
  let last = null;
  for (const doc of Bokeh.documents)
    for (const m of doc.all_models) if (m.name === 'qra') last = m;
  return last === null ? null : {n: last.data_source.data.xs.length, visible: last.visible};
}"""


@pytest.mark.timeout(900)    # the page's coarse QRA (dense gas, VCE) takes minutes on 2 busy cores
def test_engineer_qra_contours_layer(served_ui, new_page):
    """A coarse QRA computed from the page draws the individual-risk contours with a legend and a toggle."""
    page, log = new_page()
    login(page, served_ui.url, "/ui/engineer", "sue")
    page.get_by_text("No QRA result loaded").first.wait_for()
    page.locator(".risk-map canvas").first.wait_for(state="visible")
    page.get_by_role("button", name="Risk contours (coarse QRA)").click()
    for exp in (4, 5, 6, 7, 8):
        page.locator(".qra-legend").get_by_text(f"IR ≥ 1e-{exp} /yr").wait_for(timeout=QRA_TIMEOUT_MS)
    assert (served_ui.qra_dir / "risk_contours_local.geojson").exists(), "the QRA outputs were not written"
    assert wait_until(lambda: page.evaluate(QRA_JS) == {"n": 5, "visible": True}, 120), page.evaluate(QRA_JS)
    legend_text = page.locator(".qra-legend").inner_text()
    assert "/tmp" not in legend_text and str(served_ui.qra_dir) not in legend_text, legend_text
    box = page.locator(".risk-map").first.bounding_box()
    img = settled_image(page, box)
    save_screenshot(page, "engineer-qra-contours.png")
    purple = np.array([0xAB, 0x47, 0xBC])  # the 1e-6 /yr contour line
    n_line = int((np.abs(img - purple).max(axis=2) <= 12).sum())
    assert n_line >= 100, f"1e-6 /yr contour not drawn ({n_line} px)"
    page.get_by_text("Individual risk contours", exact=True).click()  # the layer toggle
    assert wait_until(lambda: page.evaluate(QRA_JS)["visible"] is False, 120), "the toggle did not hide the contours"
    assert not log.errors, log.errors


def test_manager_cockpit_chinese_and_reports(served_ui, new_page):
    """The KPI cockpit renders in Chinese and the HTML and PDF reports download."""
    page, log = new_page()
    login(page, served_ui.url, "/ui/manager?lang=zh", "max")
    page.get_by_text("整改率").first.wait_for()
    page.get_by_text("管理驾驶舱").first.wait_for()
    canvas = page.locator(".kpi-trend canvas").first
    canvas.wait_for(state="visible")
    settled_image(page, canvas.bounding_box())
    save_screenshot(page, "manager-cockpit-zh.png")
    href = page.locator("#report-html").get_attribute("href")
    r = page.request.get(served_ui.url + href)
    assert r.status == 200 and "安全绩效报告" in r.text()
    assert "HZ-" in r.text(), "the open major hazard is not listed"
    r = page.request.get(served_ui.url + page.locator("#report-pdf").get_attribute("href"), timeout=180_000)
    assert r.status == 200 and r.body()[:5] == b"%PDF-"
    assert not log.errors, log.errors


def test_manager_shows_drill_evaluations_with_reports(served_ui, new_page):
    """A drill evaluated from its simulated record (small-plant chlorine drill, AQ/T 9009 indicators)
    and saved in the twin's store appears on the cockpit with its score, grade and findings; its
    HTML and PDF reports download for a manager and are refused to a worker."""
    from safetwin.emergency_planner.drill.evaluate import evaluate
    from safetwin.twin.workflows.drill_store import save_evaluation
    from safetwin.emergency_planner.drill.record import from_incident
    from safetwin.emergency_planner.incident import run_incident
    from safetwin.scenarios.loader import load_scenario

    loaded = load_scenario(Path(__file__).resolve().parents[1] / "drill" / "data" / "small_cl2_drill.yaml")
    rec = from_incident(run_incident(loaded))
    ev = evaluate(rec, loaded.plant, scenario=loaded.scenario, baseline=rec, drill_id="UI-DRILL-1")
    eid = save_evaluation(served_ui.store, ev, served_ui.workflows.site_id)
    page, log = new_page()
    login(page, served_ui.url, "/ui/manager", "max")
    table = page.locator("table.drills")
    table.wait_for()
    text = table.inner_text()
    table.scroll_into_view_if_needed()
    save_screenshot(page, "manager-drills.png")
    assert "small" in text.lower() or "UI-DRILL-1" in text, text
    assert str(ev.to_dict()["score"]) in text and str(ev.to_dict()["grade"]) in text, text
    href = page.locator(f"table.drills a[href$='/{eid}.html']").get_attribute("href")
    r = page.request.get(served_ui.url + href)
    assert r.status == 200 and "<html" in r.text().lower()
    r = page.request.get(served_ui.url + href.replace(".html", ".pdf"), timeout=180_000)
    assert r.status == 200 and r.body()[:5] == b"%PDF-"
    assert not log.errors, log.errors
    worker, _ = new_page()
    login(worker, served_ui.url, "/ui/control-room", "wim")
    assert worker.request.get(served_ui.url + href).status == 403
