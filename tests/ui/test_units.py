"""Unit tests of the UI building blocks, no server and no browser."""
from __future__ import annotations

import time

import numpy as np

from safetwin.twin.state import TwinState
from safetwin.ui.common import UIContext
from safetwin.ui.control_room import ControlRoom
from safetwin.ui.i18n import _LABELS, tr
from safetwin.ui.risk_map import risk_figure, zone_features
from safetwin.ui.snapshot import PERSON_STATES, SnapshotSource


class _Zone:
    def __init__(self, level, geometry):
        self.level, self.label, self.geometry = level, f"{level} test", geometry


class _Result:
    def __init__(self, zones):
        self.zones, self.notes, self.kind = zones, ["test"], "toxic_gas"


def test_every_label_has_english_and_chinese():
    """Every label has a non-empty English and Chinese text."""
    assert all(en and zh and en != zh for en, zh in _LABELS.values() if en != "SafeTwin")
    assert tr("alarms", "zh") == "活动报警" and tr("no-such-key", "zh") == "no-such-key"


def test_snapshot_codes_follow_alarms_and_zones(small_plant):
    """Detector codes come from the twin's alarms; people in a RED zone are in danger; seq moves only on change."""
    from shapely.geometry import box

    state = TwinState(small_plant)
    now = [100.0]
    src = SnapshotSource(state, clock=lambda: now[0], min_interval_s=0.0)
    state.update_positions(["a", "b"], [50.0, 120.0], [30.0, 20.0], ts=99.0)
    s1 = src.latest()
    assert s1.sensor_code.tolist() == [4] * len(s1.sensor_ids)          # no data yet
    assert [PERSON_STATES[c] for c in s1.people_code] == ["working", "mustered"]
    assert src.latest().seq == s1.seq                                   # nothing changed
    state.apply_reading("GD-01", 60.0, ts=99.5)
    state.raise_alarm("GD-01_LVL", "GD-01", "HH", 99.5)
    src.set_incident(_Result([_Zone("RED", box(40, 20, 60, 40))]))
    s2 = src.latest()
    k = s2.sensor_ids.index("GD-01")
    assert s2.seq > s1.seq and s2.sensor_code[k] == 3
    assert [PERSON_STATES[c] for c in s2.people_code] == ["in_danger", "mustered"]
    assert s2.danger_by_area["A-STORE"] == 1 and s2.evacuation_active


def test_control_room_tick_updates_plan_arrays(small_plant):
    """A tick sends positions to the plan's one people source and skips when nothing changed."""
    state = TwinState(small_plant)
    room = ControlRoom(UIContext(SnapshotSource(state, min_interval_s=0.0)), lang="zh")
    state.update_positions(["a", "b", "c"], [10.0, 20.0, 30.0], [10.0, 20.0, 30.0], ts=time.time())
    assert room.tick() is not None
    people = room.plan.people_source.data
    assert np.allclose(people["x"], [10.0, 20.0, 30.0]) and people["code"].tolist() == [0, 0, 0]
    beat = room.live.beat
    assert room.tick() is None and room.live.beat == beat + 1    # the clock beats even when nothing changed
    assert "人" in room.muster.object or "在厂人数" in room.muster.object


def test_alarm_rows_states_priority_area_and_earlier_run(small_plant):
    """Listed alarms carry the engine's priority, ISA-18.2 state and the sensor's area; an alarm
    restored from before this run (no transition seen since) is counted, not listed; a shelved
    alarm is listed apart."""
    from safetwin.twin.alarms import AlarmRules

    state = TwinState(small_plant)
    state.raise_alarm("GD-02_LVL", "GD-02", "HH", 50.0, "restored")      # as a restart's restore does
    src = SnapshotSource(state, clock=lambda: 100.0, min_interval_s=0.0,
                         shelve=lambda aid, by, s: rules.shelve(aid, 100.0, s, by))
    rules = AlarmRules(state)
    rules.evaluate("GD-01", 60.0, 95.0, "ok")                            # high-high in this run
    snap = src.latest()
    assert [(a.alarm_id, a.state, a.priority) for a in snap.alarms] == [("GD-01_LVL", "active", 1)]
    assert snap.alarms[0].area == state.area_of(*small_plant.sensors["GD-01"].position)
    assert snap.earlier_alarms == 1
    rules.acknowledge("GD-01_LVL", 96.0, by="ola")
    assert src.latest().alarms[0].state == "acked"
    assert src.shelve(["GD-01_LVL"], "ola", 600.0) == 1
    snap = src.latest()
    assert snap.alarms == () and [a.state for a in snap.shelved] == ["shelved"]


def test_feed_age_follows_the_message_counter(small_plant):
    """The feed's age is the time since its message counter last moved."""
    now, count = [100.0], [0]
    src = SnapshotSource(TwinState(small_plant), clock=lambda: now[0], min_interval_s=0.0, feed=lambda: count[0])
    assert src.latest().feed_age_s == 0.0
    now[0], count[0] = 102.0, 5
    assert src.latest().feed_age_s == 0.0
    now[0] = 106.5
    assert src.latest().feed_age_s == 4.5


def test_recommendations_list_people_at_risk_and_mark_them(small_plant):
    """The recommendations' people at risk are listed worst first with route and muster point, and
    drawn as in danger."""
    state = TwinState(small_plant)
    state.update_positions(["P-1", "P-2"], [50.0, 60.0], [30.0, 30.0], ts=99.0)
    src = SnapshotSource(state, clock=lambda: 100.0, min_interval_s=0.0)
    doc = {"evaluation_id": "7.0", "incident": {"declared": True}, "recommendations": {
        "people": [{"id": "P-1", "area": "A-STORE", "action": "evacuate", "muster_point": "MP-1", "arrival_s": 90.0,
                    "dose_ratio": 0.2, "stay_dose_ratio": 1.5, "harm_probability": 0.0, "at_risk": True},
                   {"id": "P-2", "area": "A-STORE", "action": "evacuate", "muster_point": "MP-1", "arrival_s": 95.0,
                    "dose_ratio": 0.9, "stay_dose_ratio": 4.0, "harm_probability": 0.0, "at_risk": True}],
        "areas": [{"area_id": "A-STORE", "action": "evacuate", "route": ["W-1"], "route_xy": [[50, 30], [120, 20]],
                   "muster_point": "MP-1", "reason": "AEGL-2", "people": 2}]}}
    src.set_recommendations(doc)
    snap = src.latest()
    assert [(p.id, p.route_text, p.muster_point) for p in snap.risk.people] == [("P-2", "W-1", "MP-1"),
                                                                                ("P-1", "W-1", "MP-1")]
    assert [PERSON_STATES[c] for c in snap.people_code] == ["in_danger", "in_danger"]
    from safetwin.ui.cr_panels import risk_html

    page = risk_html(snap.risk, "en")
    assert "P-1" in page and "P-2" in page and "MP-1" in page and "4.00" in page


def test_risk_figure_layers_and_features(small_plant):
    """The map has the three layers and a four-level legend; features carry their source."""
    from shapely.geometry import box

    reg = {"features": [{"type": "Feature", "geometry": box(0, 0, 10, 10).__geo_interface__,
                         "properties": {"id": "RU-1", "name": "x", "level": "ORANGE"}}]}
    fc = zone_features(reg, [_Zone("RED", box(5, 5, 8, 8))])
    assert [f["properties"]["source"] for f in fc["features"]] == ["register", "consequence"]
    fig, layers = risk_figure(small_plant, fc["features"], "en")
    assert layers["register"][0].data_source.data["level"] == ["ORANGE — high"]
    labels = [i.label["value"] for i in fig.legend[0].items]
    assert labels[:4] == ["RED — major", "ORANGE — high", "YELLOW — moderate", "BLUE — low"]


def test_qra_contours_layer_from_geojson(tmp_path):
    """A QRA contours GeoJSON (as run_qra writes it) becomes the map's 'qra' layer, one polygon per level."""
    import json

    import shapely

    from safetwin.emergency_planner.qra.risk import contours_geojson
    from safetwin.plant_models.loader import bundled_plant_path, load_plant
    from safetwin.ui.risk_map import QRA_CONTOURS_FILE, load_qra_contours, qra_label

    contours = {lv: shapely.Point(450, 300).buffer(50 * (k + 1)) for k, lv in enumerate((1e-4, 1e-5, 1e-6, 1e-7, 1e-8))}
    (tmp_path / QRA_CONTOURS_FILE).write_text(json.dumps(contours_geojson(contours, plant="demo_plant")))
    loaded = load_qra_contours(tmp_path)
    assert list(loaded) == [1e-4, 1e-5, 1e-6, 1e-7, 1e-8]
    assert abs(loaded[1e-6].area - contours[1e-6].area) < 1e-6
    assert qra_label(1e-6) == "IR ≥ 1e-6 /yr"
    fig, layers = risk_figure(load_plant(bundled_plant_path("demo_plant")), [], "en", qra=loaded)
    assert len(layers["qra"][0].data_source.data["xs"]) == 5
    labels = [it.label["value"] if isinstance(it.label, dict) else str(it.label) for it in fig.legend[0].items]
    assert all(any(qra_label(lv) in lab for lab in labels) for lv in loaded)


def test_engineer_map_fits_zones_and_receptors_with_rings_and_threat_legend(small_plant):
    """A threat zone running far off the plant is inside the initial view, with an off-site receptor;
    rings mark distances from the source; the zone's threshold is in its own legend, the four-colour
    legend is drawn once, and a scale bar is there."""
    from bokeh.models import Legend, ScaleBar
    from shapely.geometry import Point

    src = (50.0, 50.0)
    far = Point(*src).buffer(2400.0)                      # a 2.4 km zone around a 100 m plant
    feat = {"type": "Feature", "geometry": far.__geo_interface__,
            "properties": {"source": "consequence", "level": "YELLOW", "threshold": 1.45, "units": "mg/m3",
                           "label": "AEGL-1 (60 min)"}}
    receptor = {"id": "V-1", "name": "village", "polygon": [[-2000, 0], [-1800, 0], [-1800, 200], [-2000, 200]]}
    fig, layers = risk_figure(small_plant, [feat], "en", width=740, height=560, source_xy=src, receptors=[receptor])
    assert fig.x_range.start <= src[0] - 2400 and fig.x_range.end >= src[0] + 2400
    assert fig.y_range.start <= src[1] - 2400 and fig.y_range.end >= src[1] + 2400
    legends = {m.name: [i.label.value for i in m.items] for m in fig.select(type=Legend)}
    assert legends["threat-legend"] == ["AEGL-1 (60 min): ≥ 1.45 mg/m³"]
    assert not any("AEGL" in label for label in legends["risk-legend"])
    assert len(fig.select(type=ScaleBar)) == 1
    rings = [r for r in fig.renderers if r.name == "distance-ring"]
    assert [r.glyph.radius for r in rings] == [1000.0, 2000.0, 2500.0]   # round steps to just beyond the zone
    assert any(r.name == "receptor" for r in layers["surroundings"])


def test_websocket_guard_reports_the_disconnect_and_drops_late_sends():
    """A browser leaving arrives at the app as WebSocketDisconnect (so Bokeh drops the connection and
    the session can expire), and what the app still sends afterwards is dropped, not raised."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from starlette.websockets import WebSocketDisconnect

    from safetwin.ui.ws_guard import WebSocketDisconnectGuard

    seen: list[str] = []
    sent: list[dict] = []

    async def app(scope, receive, send):   # bokeh-fastapi's loop: skips messages without text or bytes
        while True:
            try:
                message = await receive()
            except WebSocketDisconnect as exc:
                seen.append(f"disconnect {exc.code}")
                continue
            except RuntimeError:
                seen.append("ended")
                break
            if "text" in message or "bytes" in message:
                seen.append("fragment")
        await send({"type": "websocket.send", "text": "late"})

    async def receive():
        return {"type": "websocket.disconnect", "code": 1001}

    async def send(message):
        sent.append(message)

    guard = WebSocketDisconnectGuard(app, prefix="/ui")
    def run(coro) -> None:
        """A loop of its own, in its own thread: after a browser test the session's Playwright loop runs in this one."""
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, coro).result()

    run(guard({"type": "websocket", "path": "/ui/control-room/ws"}, receive, send))
    assert seen == ["disconnect 1001", "ended"] and sent == [] and guard.dropped_sends == 1
    seen.clear()

    async def one_receive(scope, receive, send):
        seen.append((await receive())["type"])
        await send({"type": "websocket.send", "text": "late"})

    run(WebSocketDisconnectGuard(one_receive, prefix="/ui")({"type": "websocket", "path": "/api/ws"}, receive, send))
    assert seen == ["websocket.disconnect"] and sent == [{"type": "websocket.send", "text": "late"}]   # not under /ui
