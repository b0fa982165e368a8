"""A RECORDED drill end to end: the simulated drill's tracks, degraded (five people late, one tag
that never reaches a muster point), are published as omlox location batches with source times in
drill time, with the detector readings that raise the gas alarm, through the real broker
(127.0.0.1:1883) into a LiveBridge with a SQLite store; the drill is then evaluated from the store
with its manual log, compared with the simulated baseline, reported (HTML + PDF rendered to PNG)
and stored."""
from __future__ import annotations

import json
import socket
import time
import uuid
from datetime import datetime, timedelta, timezone

import numpy as np
import paho.mqtt.client as mqtt
import pytest

from safetwin.emergency_planner.drill.evaluate import DELAY_S, evaluate
from safetwin.emergency_planner.drill.exposure import exposure_from_incident
from safetwin.emergency_planner.drill.metrics import muster_arrivals, muster_polygons
from safetwin.twin.workflows.drill_store import evaluation_summary, get_evaluation, list_evaluations, save_evaluation
from safetwin.app.drill_records import from_store
from safetwin.emergency_planner.drill.record import DrillRecord, parse_drill_log
from safetwin.emergency_planner.drill.report import report_html, report_pdf
from safetwin.live_bridge.bridge import BridgeConfig, LiveBridge
from safetwin.live_bridge.broker import clear_retained
from safetwin.live_bridge.ingest import IngestConfig
from safetwin.live_bridge.payloads import iso_ms
from safetwin.live_bridge.topics import Topics
from safetwin.app.settings import get_settings
from safetwin.twin.store import Store
from waiting import wait_until

pytestmark = [pytest.mark.mqtt, pytest.mark.browser]

DELAY = 90.0          # s the late people start late
N_LATE = 5
ENGINE = "rtls-drill"


def degrade(base: DrillRecord, plant) -> tuple[DrillRecord, list[str], str]:
    """Five people (the first to muster among those who start away from a muster point) start DELAY s
    late (they stay where they are first); the last person's tag stops half-way (never accounted for)."""
    arrival, _ = muster_arrivals(base, muster_polygons(plant))
    t_first = np.array([base.t_s[base.person == p].min() for p in range(base.n_people)])
    away = np.flatnonzero(np.isfinite(arrival) & (arrival > t_first + 30.0))
    by_arrival = [base.person_ids[p] for p in away[np.argsort(arrival[away])]]
    late, missing = by_arrival[:N_LATE], by_arrival[-1]
    pid, t, x, y = [], [], [], []
    for k, name in enumerate(base.person_ids):
        sel = base.person == k
        tk, xk, yk = base.t_s[sel], base.x_m[sel], base.y_m[sel]
        if name in late:
            hold = np.arange(0.0, DELAY, 5.0)
            tk, xk, yk = np.r_[hold, tk + DELAY], np.r_[np.full(hold.size, xk[0]), xk], np.r_[np.full(hold.size, yk[0]), yk]
        if name == missing:
            keep = tk < 0.5 * tk.max()
            tk, xk, yk = tk[keep], xk[keep], yk[keep]
        pid += [name] * tk.size
        t += tk.tolist()
        x += xk.tolist()
        y += yk.tolist()
    rec = DrillRecord.from_arrays(base.scenario, pid, t, x, y)
    return rec, late, missing


class Pub:
    def __init__(self, host: str, port: int) -> None:
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="drillpub-" + uuid.uuid4().hex[:8],
                             protocol=mqtt.MQTTv5)
        self.c.connect(host, port)
        self.c.loop_start()

    def send(self, topic: str, doc: dict) -> None:
        self.c.publish(topic, json.dumps(doc).encode(), qos=1).wait_for_publish(10)

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, small_plant, drill_scenario, baseline, baseline_run):
    s = get_settings()
    try:
        socket.create_connection((s.mqtt_host, s.mqtt_port), timeout=2).close()
    except OSError as exc:
        pytest.fail(f"MQTT broker {s.mqtt_host}:{s.mqtt_port} unreachable ({exc}); this test needs it")
    site = "drill" + uuid.uuid4().hex[:8]
    db_url = f"sqlite:///{tmp_path_factory.mktemp('drill') / 'twin.db'}"
    rec, late, missing = degrade(baseline, small_plant)
    t0 = datetime.fromtimestamp(int(time.time()) - 3600, timezone.utc)   # the drill took place an hour ago
    t0s = t0.timestamp()
    det = baseline.first("detection")
    topics = Topics(site)
    # the bridge treats an hour-old drill as live (alarms evaluated) instead of history only
    cfg = BridgeConfig(site=site, host=s.mqtt_host, port=s.mqtt_port, db_url=db_url, publish_period_s=5.0,
                       restore_timeout_s=1.0, ingest=IngestConfig(max_live_age_s=7200.0))
    order = np.argsort(rec.t_s, kind="stable")
    pub = Pub(s.mqtt_host, s.mqtt_port)
    try:
        with LiveBridge(small_plant, cfg) as bridge:
            # the first detector's readings: clean air, then above its high-high level at the baseline's detection time
            for seq, tr in enumerate(np.arange(0.0, det.t_s + 1e-9, 5.0), 1):
                v = 3.5 if tr >= det.t_s else 0.0
                pub.send(topics.reading("A-STORE", "U1", det.source),
                         {"sid": det.source, "seq": seq, "ts": iso_ms(t0s + tr), "v": v})
            locs = [{"provider_id": f"tag-{rec.person[i]}", "position": {"type": "Point",
                     "coordinates": [round(float(rec.x_m[i]), 2), round(float(rec.y_m[i]), 2)]},
                     "crs": "local", "timestamp_generated": iso_ms(t0s + float(rec.t_s[i])),
                     "trackables": [rec.person_ids[rec.person[i]]]} for i in order]
            for seq, k in enumerate(range(0, len(locs), 400), 1):
                pub.send(topics.locations(ENGINE), {"engine": ENGINE, "seq": seq, "locations": locs[k:k + 400]})
            assert wait_until(lambda: bridge.store.count_positions() >= len(locs), 60), (len(locs), bridge.stats())
            assert wait_until(lambda: bridge.events is not None and bridge.events.written >= 1, 60), bridge.stats()
            bridge.writer.flush()
    finally:
        pub.close()
        clear_retained(s.mqtt_host, s.mqtt_port, site)
    log = parse_drill_log({
        "drill": {"id": "DR-T1", "scenario": drill_scenario.scenario.name, "expected_headcount": baseline.n_people},
        "events": [{"t_s": det.t_s + 45, "kind": "alarm_raised", "by": "control room"},
                   {"t_s": det.t_s + 120, "kind": "response_started", "by": "shift leader"},
                   {"time": (t0 + timedelta(seconds=det.t_s + 500)).isoformat(), "kind": "reported_to_authority"},
                   {"t_s": 400, "kind": "headcount_reported", "count": baseline.n_people, "by": "muster warden"}]})
    store = Store.open(db_url)
    drill = from_store(store, small_plant, t0, t0 + timedelta(seconds=900),
                       scenario=drill_scenario.scenario.name).with_log(log)
    exposure = exposure_from_incident(baseline_run, drill)   # load along the recorded tracks in the simulated plume
    ev = evaluate(drill, small_plant, scenario=drill_scenario.scenario, baseline=baseline, drill_id="DR-T1",
                  exposure=exposure)
    yield {"store": store, "drill": drill, "ev": ev, "late": late, "missing": missing, "rec": rec, "det": det,
           "t0": t0, "site": site}
    store.close()


def test_store_holds_the_replayed_drill(recorded, baseline):
    drill, rec = recorded["drill"], recorded["rec"]
    assert drill.source == "recorded" and drill.n_people == baseline.n_people
    assert drill.t_s.size == rec.t_s.size                          # every fix went through broker → bridge → SQLite
    assert np.allclose(np.sort(drill.t_s), np.sort(rec.t_s), atol=1e-3)   # source times kept (drill time)
    det = drill.first("detection")                                  # the alarm the bridge raised, from the store
    assert det is not None and det.source == recorded["det"].source
    assert abs(det.t_s - recorded["det"].t_s) < 1.0
    assert drill.first("alarm").t_s == pytest.approx(recorded["det"].t_s + 45)


def test_missing_person_is_a_head_count_deficiency(recorded, baseline):
    ev = recorded["ev"]
    row = ev.indicator("headcount_accuracy")
    assert row["value"] == 1 and row["baseline_value"] == 0 and row["severity"] == "不足项"
    (f,) = [f for f in ev.findings if f["indicator"] == "headcount_accuracy"]
    assert f["severity"] == "不足项" and recorded["missing"] in f["text"]
    assert f["evidence"]["missing"][0]["id"] == recorded["missing"]
    # the reported head count (everyone) disagrees with the tracks
    assert ev.indicator("headcount_report")["value"] == 1
    assert ev.metrics["evacuation_complete_s"] == float("inf")
    # a 不足项 caps the grade at 合格, and rates the evacuation capability M at best
    assert ev.grade in ("合格", "不合格")
    assert {m["id"]: m["rating"] for m in ev.modules}["evacuation"] in ("M", "U")


def test_delays_show_in_muster_time_vs_baseline(recorded, baseline):
    ev = recorded["ev"]
    cmp_ = ev.comparison
    assert cmp_["common_people"] == baseline.n_people
    assert cmp_["delayed"] == len(recorded["late"])                 # exactly the late people, > DELAY_S later
    assert {d["id"] for d in cmp_["most_delayed"]} == set(recorded["late"])
    assert all(d["delay_s"] == pytest.approx(DELAY, abs=0.5) for d in cmp_["most_delayed"]) and DELAY > DELAY_S
    assert cmp_["missing_in_recorded"] == [recorded["missing"]]
    row = ev.indicator("muster_time_vs_plan")
    assert row["value"] > 1.0 and row["baseline_value"] == 1.0
    assert ev.metrics["muster_p90_s"] > ev.baseline_metrics["muster_p90_s"]
    assert row["score"] < 5
    # alarm 45 s after detection vs the simulated 20 s operator delay: later than the baseline
    assert ev.indicator("alarm_time")["delta"] > 0


def test_report_html_and_pdf_render(recorded, tmp_path):
    import pypdfium2 as pdfium  # test extra (pyproject)
    doc = recorded["ev"].to_dict()
    html = report_html(doc)
    low = html.lower()
    assert "<script" not in low and " src=" not in low and "href=" not in low and "url(" not in low  # self-contained
    assert "不足项" in html and recorded["missing"] in html and "<svg" in html
    pdf = report_pdf(doc)
    assert pdf[:5] == b"%PDF-"
    (tmp_path / "report.pdf").write_bytes(pdf)
    page_doc = pdfium.PdfDocument(str(tmp_path / "report.pdf"))
    try:
        page = page_doc[0]
        w_pt, h_pt = page.get_size()
        img = np.asarray(page.render(scale=1.0).to_pil().convert("L"), float)
    finally:
        page_doc.close()
    assert len(pdf) > 10_000
    assert (round(w_pt), round(h_pt)) in ((612, 792), (595, 842))    # Letter or A4 (Chromium's default)
    assert img.shape == (round(h_pt), round(w_pt))
    assert img.std() > 20                                            # text, tables and colour: not blank
    assert (img < 128).mean() > 0.01                                 # some dark ink on the page


def test_evaluation_is_stored_and_listed(recorded):
    store, ev = recorded["store"], recorded["ev"]
    eid = save_evaluation(store, ev, recorded["site"])
    rows = list_evaluations(store, site_id=recorded["site"])
    assert rows[0]["id"] == eid and rows[0]["drill_id"] == "DR-T1"
    assert rows[0]["deficiencies"] >= 1 and rows[0]["grade"] == ev.grade
    assert rows[0] == {"id": eid, "site_id": recorded["site"], **evaluation_summary(get_evaluation(store, eid))}
    assert get_evaluation(store, eid)["score"] == ev.score


def test_exposure_along_recorded_tracks(recorded, baseline, baseline_run):
    ev = recorded["ev"]
    rec_above = ev.indicator("exposure_avoided")["value"]
    assert isinstance(rec_above, int) and 0 <= rec_above <= baseline.n_people
    assert ev.indicator("exposure_avoided")["baseline_value"] == baseline_run.metrics["people_above_aegl2_dose"]
    assert {m["id"]: m["observed"] for m in ev.modules}["protection"]
