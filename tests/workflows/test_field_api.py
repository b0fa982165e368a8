"""The field API over HTTP: photo uploads judged by content, phone captures applied once, permit gates."""
from __future__ import annotations

import io
import threading
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from safetwin.app.api import build_api
from safetwin.twin.state import TwinState
from safetwin.twin.workflows.photos import PhotoStore
from wfhelpers import PASSWORD, T0, certify


@pytest.fixture()
def client(svc, small_plant, tmp_path):
    svc.field.photos = PhotoStore(tmp_path / "photos", max_bytes=200_000)
    return TestClient(build_api(TwinState(small_plant), workflows=svc))


def login(client, user):
    r = client.post("/auth/token", data={"username": user, "password": PASSWORD})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def jpeg(w=64, h=48, quality=85) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (200, 40, 40)).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def test_photo_uploads_are_judged_by_content_and_refusals_counted(client):
    bob = login(client, "bob")
    ok = client.post("/field/photos", content=jpeg(), headers={**bob, "X-Filename": "leak.png", "Content-Type": "image/png"})
    assert ok.status_code == 201 and ok.json()["media_type"] == "image/jpeg"      # the name and header do not matter
    again = client.post("/field/photos", content=jpeg(), headers=bob)
    assert again.status_code == 200 and again.json()["id"] == ok.json()["id"] and again.json()["duplicate"]
    pdf = client.post("/field/photos", content=b"%PDF-1.7\n" + b"x" * 500, headers={**bob, "X-Filename": "leak.jpg",
                                                                                     "Content-Type": "image/jpeg"})
    assert pdf.status_code == 415 and pdf.json()["code"] == "wrong_type"
    assert "leak.jpg: not a JPEG, PNG or WebP image (the content looks like PDF)" in pdf.json()["detail"]
    noise = Image.effect_noise((400, 400), 90).convert("RGB")
    buf = io.BytesIO()
    noise.save(buf, "PNG")
    big = client.post("/field/photos", content=buf.getvalue(), headers={**bob, "X-Filename": "big.png"})
    assert big.status_code == 413 and big.json()["code"] == "too_large" and "the limit is 0.2 MB" in big.json()["detail"]
    truncated = jpeg(640, 480)[:3000]
    bad = client.post("/field/photos", content=truncated, headers={**bob, "X-Filename": "cut.jpg"})
    assert bad.status_code == 422 and bad.json()["code"] == "malformed"
    assert "cut.jpg: a JPEG header but not a decodable image" in bad.json()["detail"]
    fake_png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
    assert client.post("/field/photos", content=fake_png, headers=bob).json()["code"] == "malformed"
    stats = client.get("/field/photo-stats", headers=login(client, "sue")).json()["counts"]
    assert stats == {"accepted": 1, "duplicate": 1, "wrong_type": 1, "too_large": 1, "malformed": 2}
    got = client.get(f"/field/photos/{ok.json()['id']}", headers=bob)
    assert got.status_code == 200 and got.content == jpeg() and got.headers["content-type"] == "image/jpeg"


def test_hazard_capture_sent_twice_or_concurrently_arrives_once(client, svc):
    bob = login(client, "bob")
    photo = client.post("/field/photos", content=jpeg(), headers=bob).json()["id"]
    body = {"client_key": "9f2c1a9e-0000-4000-8000-000000000001", "captured_at": T0.isoformat(), "title": "oil on stairs",
            "category": "environment", "x": 40, "y": 70, "photos": [photo]}
    first = client.post("/field/hazards", json=body, headers=bob)
    assert first.status_code == 201 and first.json()["status"] == "applied"
    second = client.post("/field/hazards", json=body, headers=bob)
    assert second.status_code == 200 and second.json()["status"] == "duplicate"
    assert second.json()["id"] == first.json()["id"]
    assert [h.photos for h in svc.list_hazards()] == [[photo]]
    # eight concurrent sends of a new key: one hazard
    body2 = {**body, "client_key": "9f2c1a9e-0000-4000-8000-000000000002"}
    codes: list[int] = []
    threads = [threading.Thread(target=lambda: codes.append(client.post("/field/hazards", json=body2, headers=bob).status_code))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(svc.list_hazards()) == 2 and codes.count(201) == 1 and set(codes) <= {200, 201, 409}
    # the same key from another user is another capture
    assert client.post("/field/hazards", json=body, headers=login(client, "ola")).json()["status"] == "applied"
    unknown = {**body, "client_key": "9f2c1a9e-0000-4000-8000-000000000003", "photos": ["sha256:" + "0" * 64]}
    r = client.post("/field/hazards", json=unknown, headers=bob)
    assert r.status_code == 422 and r.json()["status"] == "refused" and r.json()["code"] == "unknown_photo"


def test_refused_capture_is_recorded_and_answered_the_same_again(client, svc, actors):
    f = svc.field.inspections
    sue = actors["sue"]
    cp = f.add_checkpoint(sue, name="Store", kind="area", target_id="A-STORE", code="AREA-S")
    f.add_route(sue, name="Area round", checkpoint_ids=[cp.id], interval_h=4, first_due_at=T0)
    svc.run_due_jobs()
    rnd = min(f.rounds(), key=lambda r: r.due_at).id
    body = {"client_key": "scan-key-000001", "code": "AREA-S", "scanned_at": T0.isoformat(),
            "answers": [{"item_id": i, "ok": True} for i in ("ar-housekeeping", "ar-fire", "ar-signs")]}
    pia = login(client, "pia")            # a planner may not walk an operator's round
    r1 = client.post(f"/field/rounds/{rnd}/scans", json=body, headers=pia)
    r2 = client.post(f"/field/rounds/{rnd}/scans", json=body, headers=pia)
    assert r1.status_code == r2.status_code == 403 and r1.json() == r2.json()
    assert r1.json()["status"] == "refused" and "needs one of ['operator', 'safety_engineer']" in r1.json()["detail"]
    ola = login(client, "ola")
    assert next(x["id"] for x in client.get("/field/rounds", headers=ola).json()) == rnd     # earliest due first
    assert "code" not in client.get("/field/rounds", headers=ola).json()[0]["checkpoints"][0]
    assert client.post(f"/field/rounds/{rnd}/scans", json=body, headers=ola).json()["status"] == "applied"
    assert client.post(f"/inspections/rounds/{rnd}/complete", headers=ola).json()["state"] == "completed"


def test_gas_test_and_signature_from_a_phone(client, svc, actors, clock):
    for who, ct in (("bob", "hot_work"), ("gus", "guardian")):
        certify(svc, actors, who, ct)
    p = svc.create_permit(actors["ann"], type="hot_work", level="second", title="weld", holder="bob", guardian="gus",
                          work_polygon=[(40, 40), (45, 40), (45, 45)], jha="sparks", planned_start=T0,
                          planned_end=T0 + timedelta(hours=4))
    svc.permit_action(actors["ann"], p.id, "submit")
    al = login(client, "al")
    mine = client.get("/field/permits", headers=al).json()
    assert [(x["id"], x["next_step"]) for x in mine] == [(p.id, "approver")]
    sign = {"client_key": "sign-0000000001", "action": "approve", "captured_at": T0.isoformat()}
    assert client.post(f"/field/permits/{p.id}/sign", json=sign, headers=al).json()["status"] == "applied"
    assert client.post(f"/field/permits/{p.id}/sign", json=sign, headers=al).json()["status"] == "duplicate"
    assert svc.permit(p.id).approvals[0].note.startswith("signed on a phone at 2025-06-02T08:00:00")
    svc.permit_action(actors["ola"], p.id, "approve")
    gus = login(client, "gus")
    gas = {"client_key": "gas-00000000001", "gas": "methane", "value": 0.1, "unit": "%vol",
           "sampled_at": T0.isoformat(), "instrument_id": "PGD-7"}
    r = client.post(f"/field/permits/{p.id}/gas-tests", json=gas, headers=gus)
    assert r.status_code == 201 and client.post(f"/field/permits/{p.id}/gas-tests", json=gas, headers=gus).status_code == 200
    tests = svc.permit(p.id).gas_tests
    assert len(tests) == 1 and tests[0].passed and tests[0].instrument_id == "PGD-7" and tests[0].source == "portable"
    bob = login(client, "bob")
    start = {"client_key": "sign-0000000002", "action": "start"}
    assert client.post(f"/field/permits/{p.id}/sign", json=start, headers=bob).json()["status"] == "applied"
    assert svc.permit(p.id).state == "active"


def test_contractor_with_lapsed_induction_named_on_a_permit_is_403_with_the_reason(client, svc, actors):
    sue = login(client, "sue")
    co = client.post("/contractors", headers=sue, json={"name": "Acme", "qualifications": [
        {"type": "safety_production_license", "number": "SP-1", "expires_at": (T0 + timedelta(days=300)).isoformat()},
        {"type": "business_license", "number": "BL-1", "expires_at": (T0 + timedelta(days=300)).isoformat()}]}).json()
    assert client.post("/people", headers=sue, json={"id": "li", "name": "Li Wei", "employer": co["id"],
                                                      "rtls_id": "tag-li"}).status_code == 201
    for c in ("induction_company", "induction_workshop", "induction_team"):
        r = client.post("/training/records", headers=sue, json={"person_id": "li", "course_id": c, "exam_score": 92,
                                                                 "attended_at": (T0 - timedelta(days=380)).isoformat()})
        assert r.status_code == 201, r.text
    body = {"type": "confined_space", "title": "tank entry", "work_polygon": [[40, 40], [45, 40], [45, 45]],
            "holder": "bob", "guardian": "gus", "workers": ["li"], "jha": "O2", "planned_start": T0.isoformat(),
            "planned_end": (T0 + timedelta(hours=4)).isoformat()}
    r = client.post("/permits", headers=login(client, "ann"), json=body)
    assert r.status_code == 403 and r.json()["code"] == "person_not_cleared"
    assert "li: training induction_company: expired on" in r.json()["detail"]
    induction = client.get("/training/people/li", headers=sue).json()["induction"]
    assert induction["complete"] is False and len(induction["missing"]) == 3


def test_sensor_health_shows_a_detector_past_calibration_as_suspect(client, svc, actors):
    svc.field.equipment.register(actors["sue"], kind="gas_detector", name="GD-02", target_id="GD-02",
                                 last_done={"calibration": T0 - timedelta(days=500)})
    state = client.app.state.twin
    svc.attach(state)
    state.apply_reading("GD-02", 1.0, ts=T0.timestamp())
    h = client.get("/state/sensor-health", headers=login(client, "bob")).json()["GD-02"]
    assert h["status"] == "suspect" and h["votes"] is False and "calibration overdue" in h["reason"]


def test_a_phone_sized_photo_passes_the_apis_body_limit(svc, small_plant, tmp_path):
    """The API refuses bodies over 1 MB in general; a 2-3 MB phone photo still reaches the photo route."""
    svc.field.photos = PhotoStore(tmp_path / "photos")           # the default 8 MB limit
    client = TestClient(build_api(TwinState(small_plant), workflows=svc))
    buf = io.BytesIO()
    Image.effect_noise((1400, 1000), 80).convert("RGB").save(buf, "JPEG", quality=95)
    assert buf.tell() > 1_200_000                                   # over the 1 MB API limit
    r = client.post("/field/photos", content=buf.getvalue(), headers=login(client, "bob"))
    assert r.status_code == 201, r.text
    assert r.json()["size_bytes"] == buf.tell() and (r.json()["width"], r.json()["height"]) == (1400, 1000)
