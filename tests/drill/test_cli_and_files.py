"""`safetwin drill …` commands and the file loaders (a `scenario run` folder, a raw MQTT recording)."""
from __future__ import annotations

import json
import time

import numpy as np
import yaml
from typer.testing import CliRunner

from safetwin.app.cli import app
from safetwin.app.drill_records import from_mqtt_recording
from safetwin.emergency_planner.drill.record import from_run_folder
from safetwin.live_bridge.payloads import iso_ms
from safetwin.live_bridge.recorder import FORMAT, Recorded

from .conftest import SCENARIO

runner = CliRunner()


def test_run_folder_round_trip(baseline_run, baseline, tmp_path):
    baseline_run.write(tmp_path / "run")
    rec = from_run_folder(tmp_path / "run")
    assert rec.person_ids == sorted(baseline.person_ids) and rec.t_s.size == baseline.t_s.size
    assert rec.expected_headcount == baseline.n_people
    assert [e.kind for e in rec.events] == [e.kind for e in baseline.events]


def test_evaluate_command_writes_json_html_pdf(baseline_run, tmp_path):
    baseline_run.write(tmp_path / "run")
    log = tmp_path / "log.yaml"
    log.write_text(yaml.safe_dump({"drill": {"id": "DR-CLI"}, "events": [
        {"t_s": 60, "kind": "alarm_raised"}, {"t_s": 700, "kind": "reported_to_authority"},
        {"t_s": 300, "kind": "headcount_reported", "count": 18}]}), encoding="utf-8")
    out = tmp_path / "out"
    db = f"sqlite:///{tmp_path / 'ev.db'}"
    res = runner.invoke(app, ["drill", "evaluate", "--scenario", str(SCENARIO), "--record", str(tmp_path / "run"),
                              "--log", str(log), "--out", str(out), "--save", "--db", db, "--site", "s9"])
    assert res.exit_code == 0, res.output
    from safetwin.twin.workflows.drill_store import list_evaluations
    from safetwin.twin.store import Store

    with Store.open(db) as store:
        (row,) = list_evaluations(store, site_id="s9")
    assert row["drill_id"] == "DR-CLI" and f"stored evaluation {row['id']}" in res.output
    doc = json.loads((out / "evaluation.json").read_text(encoding="utf-8"))
    assert doc["drill_id"] == "DR-CLI" and doc["metrics"]["headcount_error"] == 2
    assert {f["indicator"] for f in doc["findings"]} >= {"headcount_report"}
    assert doc["baseline_metrics"]["alarm_s"] < doc["metrics"]["alarm_s"] == 60.0
    assert (out / "report.html").stat().st_size > 5000 and (out / "report.pdf").read_bytes()[:5] == b"%PDF-"


def test_evaluate_command_reports_located_log_errors(tmp_path):
    log = tmp_path / "bad.yaml"
    log.write_text("events:\n  - {t_s: 5, kind: headcount_reported}\n", encoding="utf-8")
    res = runner.invoke(app, ["drill", "evaluate", "--scenario", str(SCENARIO), "--log", str(log),
                              "--out", str(tmp_path / "o")])
    assert res.exit_code == 1
    assert "events[0]" in res.output and "count" in res.output and str(log) in res.output


def test_plan_and_calendar_commands(tmp_path):
    db = f"sqlite:///{tmp_path / 'cal.db'}"
    assert runner.invoke(app, ["drill", "plan", "add-plan", "CL2", "--kind", "onsite", "--effective", "2026-01-01",
                               "--db", db]).exit_code == 0
    bad = runner.invoke(app, ["drill", "plan", "add-plan", "X", "--kind", "weekly", "--effective", "2026-01-01",
                              "--db", db])
    assert bad.exit_code == 1 and "kind" in bad.output
    gen = runner.invoke(app, ["drill", "plan", "generate", "--year", "2026", "--db", db])
    assert gen.exit_code == 0 and "2026-07-01" in gen.output
    assert runner.invoke(app, ["drill", "plan", "record", "D1", "--date", "2026-06-20", "--plan", "CL2",
                               "--db", db]).exit_code == 0
    cal = runner.invoke(app, ["drill", "calendar", "--today", "2027-01-10", "--json", "--db", db])
    assert cal.exit_code == 0, cal.output
    st = json.loads(cal.output)
    # D1 on 2026-06-20 met the 2026-07-01 due date; the next was due D1 + 6 months = 2026-12-20: overdue
    assert [(i["due_by"], i["status"]) for i in st["items"]][:2] == [("2026-07-01", "done"), ("2026-12-20", "overdue")]
    assert st["plan_completion"] == 0.5


def test_mqtt_recording_loader(small_plant, tmp_path):
    t0 = float(int(time.time()) - 600)
    site = "rec1"
    lines = [json.dumps({"format": FORMAT, "filter": f"pst/v1/{site}/#", "started": t0})]
    for k in range(10):   # two people walking east; P-2 reaches MP-1 (120, 20)
        locs = [{"provider_id": f"tag-{p}", "position": {"type": "Point", "coordinates": [70.0 + 5 * k * p, 20.0]},
                 "timestamp_generated": iso_ms(t0 + 10 * k), "trackables": [f"P-{p}"]} for p in (1, 2)]
        payload = json.dumps({"engine": "e1", "seq": k + 1, "locations": locs}).encode()
        lines.append(Recorded(t0 + 10 * k, f"pst/v1/{site}/rtls/e1/locations", payload, 1, False).to_json())
    for k, v in enumerate((0.1, 0.4, 1.2, 3.5)):    # CL-01 high level is 1.0 ppm
        payload = json.dumps({"sid": "CL-01", "seq": k + 1, "ts": iso_ms(t0 + 5 + 10 * k), "v": v}).encode()
        lines.append(Recorded(t0 + 5 + 10 * k, f"pst/v1/{site}/A-STORE/U1/sensor/CL-01/reading", payload, 1,
                              False).to_json())
    lines.append(Recorded(t0 + 99, f"pst/v1/{site}/rtls/e1/locations", b'{"engine": 5}', 1, False).to_json())
    path = tmp_path / "session.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rec = from_mqtt_recording(path, small_plant)
    assert rec.person_ids == ["P-1", "P-2"] and rec.t_s.size == 20 and rec.t_s.min() == 0.0
    assert [(e.kind, e.source, e.t_s) for e in rec.events] == [("detection", "CL-01", 25.0)]
    assert rec.metrics["skipped_messages"] == 1
    assert np.allclose(rec.x_m[rec.person == 1][-1], 70.0 + 90.0)
