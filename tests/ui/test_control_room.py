"""The control room in headless Chromium: ISA-101 colours sampled from the rendered plan against
the legend, the alarm list's states with acknowledge and shelve, who is at risk within 5 s of the
recommendations, and the staleness banner when the bridge stops.

Every wait is on a condition the page or the twin reaches (no fixed sleeps), so the tests hold on
a loaded machine.
"""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from conftest import ServedUI, Traffic, day_shift, login, rgb, save_screenshot
from waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.mqtt]

# the rows of a named Bokeh data source as the browser holds them
SOURCE_LEN_JS = """(name) => {
  if (typeof Bokeh === 'undefined') return -1;
  for (const doc of Bokeh.documents) {
    const m = doc.get_model_by_name(name);
    if (m !== null) { const d = m.data; const k = Object.keys(d)[0]; return k === undefined ? 0 : d[k].length; }
  }
  return -1;
}"""
SOURCE_COLUMN_JS = """([name, column]) => {
  if (typeof Bokeh === 'undefined') return [];
  for (const doc of Bokeh.documents) {
    const m = doc.get_model_by_name(name);
    if (m !== null) return Array.from(m.data[column]);
  }
  return [];
}"""
# the k-th swatch of the control room's legend, scrolled into view: its declared colour and centre
# (or null past the last one)
SWATCH_JS = """(k) => {
  const all = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll('.swatch')) all.push(el);
    for (const el of root.querySelectorAll('*')) if (el.shadowRoot) walk(el.shadowRoot);
  };
  walk(document);
  if (k >= all.length) return null;
  all[k].scrollIntoView({block: 'center'});
  const r = all[k].getBoundingClientRect();
  return {colour: all[k].dataset.colour, x: r.x + r.width / 2, y: r.y + r.height / 2};
}"""


def _hex(colour: str) -> np.ndarray:
    return np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])


def _count(img: np.ndarray, colour: str, tol: int = 6) -> int:
    return int((np.abs(img - _hex(colour)).max(axis=2) <= tol).sum())


def _normal_values(plant) -> dict[str, float]:
    return {s.id: (0.0 if s.type.value == "flame" else 0.2 * (s.alarm.warning if s.alarm else 1.0))
            for s in plant.meta.sensors if s.type.value != "weather"}


def _open_room(ui, new_page, people: int):
    page, log = new_page()
    login(page, ui.url, "/ui/control-room", "ola")
    page.wait_for_function(SOURCE_LEN_JS, arg="people-src", polling=200)
    page.wait_for_function(f"(n) => ({SOURCE_LEN_JS})('people-src') === n", arg=people, polling=200)
    return page, log


def _plan(page) -> np.ndarray:
    """The plan's drawing (its canvas, without the toolbar) as RGB."""
    box = page.locator(".plan-view canvas").first.bounding_box()
    return rgb(page.screenshot(clip=box))


def _detector_levels(plant):
    """Four detectors with alarm levels and the value putting each at warning, high and high-high."""
    with_levels = [s for s in plant.meta.sensors if s.alarm is not None and s.alarm.warning and s.alarm.high
                   and s.alarm.high_high and s.type.value in ("toxic_gas", "flammable_gas")]
    w, h, hh = with_levels[:3]
    return {w.id: (w.alarm.warning + w.alarm.high) / 2, h.id: (h.alarm.high + h.alarm.high_high) / 2,
            hh.id: hh.alarm.high_high * 1.2}


def test_isa101_colours_legend_equals_rendered_and_alarm_list(served_ui, new_page):
    """Normal operation draws the plan in greys only; in an incident every legend colour is drawn as
    the legend shows it (pixels sampled from the screenshot); the alarm list shows priority, state,
    time and area, and an alarm can be acknowledged and shelved from the page."""
    ui = served_ui
    ids, xy = day_shift(ui.plant)
    with Traffic(ui.pub, _normal_values(ui.plant), ids, xy) as traffic:
        _colours_and_alarms(ui, new_page, traffic)


def _colours_and_alarms(ui, new_page, traffic) -> None:
    from safetwin.ui.hmi import DETECTOR_COLOURS, PERSON_COLOURS

    ids, xy = traffic.ids, traffic.xy
    assert wait_until(lambda: len(ui.state.readings()) >= 40
                      and not [a for a in ui.state.active_alarms() if not a.returned], 120), \
        f"bridge did not apply data ({ui.state.active_alarms()[:3]})"
    page, log = _open_room(ui, new_page, len(ids))
    n_detectors = len(ui.ctx.source.latest().sensor_ids)
    page.wait_for_function(f"() => ({SOURCE_COLUMN_JS})(['detectors-src', 'code']).filter(c => c === 0).length === {n_detectors}",
                           polling=200)
    img = _plan(page)
    sat = img.max(axis=2) - img.min(axis=2)
    coloured = img[sat > 24]
    assert len(coloured) < 40, (f"normal operation shows colour ({len(coloured)} px, e.g. "
                                f"{np.unique(coloured, axis=0)[:6].tolist()} at {np.argwhere(sat > 24)[:3].tolist()})")
    assert _count(img, PERSON_COLOURS[0]) >= 200 and _count(img, DETECTOR_COLOURS[0]) >= 40
    save_screenshot(page, "control-room.png")

    # an incident: detectors at warning / high / high-high, a declared zone set with a route, some
    # people at the muster point, one detector silent (stale: fault colour)
    from shapely.geometry import Point

    levels = _detector_levels(ui.plant)
    hh_id = list(levels)[2]
    sx, sy = ui.plant.sensors[hh_id].position
    mp = ui.plant.meta.muster_points[0]
    moved = xy.copy()
    moved[:20] = np.array(mp.position) + np.random.default_rng(0).uniform(-3, 3, (20, 2))
    traffic.xy = moved
    traffic.readings.update(levels)

    class _Zone:
        def __init__(self, level, r, label):
            self.level, self.label, self.geometry = level, label, Point(sx, sy).buffer(r)
            self.threshold, self.units = {"RED": 60.0, "ORANGE": 8.0, "YELLOW": 1.5}[level], "mg/m3"

    class _Result:
        zones = (_Zone("RED", 25, "AEGL-3 (60 min)"), _Zone("ORANGE", 60, "AEGL-2 (60 min)"),
                 _Zone("YELLOW", 110, "AEGL-1 (60 min)"))
        notes, kind = ("test release",), "toxic_gas"

    route = [(sx, sy - 130), (sx + 150, sy - 130), mp.position]
    ui.ctx.source.set_incident(_Result(), routes=[route], title="test leak")
    silent = next(s.id for s in ui.plant.meta.sensors if s.id not in levels and s.type.value == "toxic_gas")
    del traffic.readings[silent]
    try:
        assert wait_until(lambda: {a.source_id for a in ui.state.active_alarms() if a.level != "STALE"} >= set(levels), 60), \
            "alarms not raised"
        page.wait_for_function(f"() => ({SOURCE_COLUMN_JS})(['people-src', 'code']).includes(2)", polling=200)
        page.wait_for_function(f"() => ({SOURCE_COLUMN_JS})(['detectors-src', 'code']).includes(4)", polling=200)
        page.wait_for_function(f"() => ({SOURCE_LEN_JS})('zone-RED-src') === 1", polling=200)
        page.locator(".alarm-row.st-active").first.wait_for()
        img = _plan(page)
        save_screenshot(page, "control-room-alarms.png")
        working = PERSON_COLOURS[0]      # nobody works during a declared incident: sampled above
        k = 0
        while (sw := page.evaluate(SWATCH_JS, k)) is not None:
            k += 1
            colour = sw["colour"]
            centre = rgb(page.screenshot(clip={"x": sw["x"] - 1, "y": sw["y"] - 1, "width": 3, "height": 3}))[1, 1]
            assert np.abs(centre - _hex(colour)).max() <= 6, f"legend swatch {colour} rendered as {centre}"
            if colour == working:
                continue
            need = 10 if colour in DETECTOR_COLOURS else 20
            assert _count(img, colour) >= need, f"legend colour {colour} not drawn on the plan ({_count(img, colour)} px)"
        assert k >= 13, f"{k} legend swatches"
        # the alarm list: priority, state, time, area; acknowledge and shelve
        text = page.locator(f".alarm-row[data-alarm='{hh_id}_LVL']").inner_text()
        assert "P1" in text and "ACTIVE" in text and (ui.state.area_of(sx, sy) or "—") in text, text
        page.locator(".alarm-banner").get_by_text("P1: ").wait_for()
        page.locator(".ack-select select").select_option([f"{hh_id}_LVL"])
        page.locator(".ack-button button").click()
        page.locator(f".alarm-row.st-acked[data-alarm='{hh_id}_LVL']").wait_for()
        w_id = next(iter(levels))
        page.locator(".ack-select select").select_option([f"{w_id}_LVL"])
        page.locator(".shelve-button button").click()
        page.locator(f".alarm-row.st-shelved[data-alarm='{w_id}_LVL']").wait_for()
        assert not any(a.alarm_id == f"{w_id}_LVL" for a in ui.state.active_alarms()), "shelved alarm still active"
        assert not log.errors, log.errors
    finally:
        ui.ctx.source.set_incident(None)
        traffic.readings = _normal_values(ui.plant)


def test_people_at_risk_listed_within_5_s(served_ui, new_page):
    """During a leak (the demo plant's chlorine drum leak, real recommendations) the control room
    lists every person the recommendations mark at risk with area, dose, route and muster point
    within 5 s of the recommendations; the routes on the plan are labelled."""
    from safetwin.emergency_planner.recommend.scenario import recommend_scenario
    from safetwin.scenarios.loader import load_scenario

    _, rec = recommend_scenario(load_scenario("chlorine_drum_leak_wind_shift"))   # what is known at the alarm
    at_risk = {p.id for p in rec.at_risk}
    assert at_risk, "the leak puts nobody at risk: nothing to test"
    ui = served_ui
    page, log = _open_room(ui, new_page, ui.state.head_count)
    doc = {"evaluation_id": "test-leak", "incident": {"declared": True}, "recommendations": rec.to_dict()}
    t0 = time.monotonic()
    ui.ctx.source.set_recommendations(doc)
    rows = page.locator(".risk-row")        # Playwright's locators pierce Panel's shadow roots
    assert wait_until(lambda: rows.count() >= len(at_risk), 120), f"{rows.count()} of {len(at_risk)} listed"
    elapsed = time.monotonic() - t0
    listed = set(rows.evaluate_all("rows => rows.map(r => r.dataset.person)"))
    assert listed == at_risk
    print(f"{len(at_risk)} people at risk listed {elapsed:.2f} s after the recommendations")
    assert elapsed <= 5.0, f"people at risk listed {elapsed:.1f} s after the recommendations"
    worst = rec.at_risk[0]
    row = page.locator(f".risk-row[data-person='{worst.id}']").inner_text()
    assert (worst.muster_point or "—") in row and (worst.area or "—") in row, row
    labels = page.evaluate(SOURCE_COLUMN_JS, ["route-labels", "text"])
    evacuating = [a for a in rec.areas if a.action == "evacuate" and len(a.route_xy or ()) >= 2]
    assert len(labels) == len(evacuating) and all("→" in lab for lab in labels), labels
    if evacuating:
        page.locator(".area-step").first.wait_for()
    save_screenshot(page, "control-room-at-risk.png")
    assert not log.errors, log.errors
    ui.ctx.source.set_recommendations(None)


@pytest.fixture
def own_ui(tmp_path):
    """A served UI of its own (this test stops its bridge)."""
    ui = ServedUI(tmp_path)
    try:
        yield ui
    finally:
        ui.stop()


def test_staleness_banner_when_the_bridge_stops(own_ui, new_page):
    """With live traffic the banner is hidden; once the bridge stops it shows within 5 s."""
    ui = own_ui
    ids, xy = day_shift(ui.plant)
    with Traffic(ui.pub, {}, ids[:20], xy[:20], period_s=0.5):
        page, log = new_page()
        login(page, ui.url, "/ui/control-room", "ola")
        banner = page.locator(".stale-banner")
        banner.wait_for(state="attached")
        banner.wait_for(state="hidden")
        t0 = time.monotonic()
        stopping = threading.Thread(target=ui.stop_bridge)   # its first step stops the intake; the rest
        stopping.start()                                     # (flushing history) may take seconds
        page.locator(".stale-banner", has_text="NO LIVE DATA").wait_for(state="visible")
        elapsed = time.monotonic() - t0
        stopping.join(60)
        print(f"staleness banner {elapsed:.2f} s after the bridge began to stop")
        assert elapsed <= 5.0, f"staleness banner after {elapsed:.1f} s"
        save_screenshot(page, "control-room-stale.png")
        assert not log.errors, log.errors
