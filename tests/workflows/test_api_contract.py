"""What the OpenAPI document promises is what the server does (the cases schemathesis found against
the served demo, kept as fast examples): bodies read strictly by their JSON Schema, 400 for a body
that is not JSON, 405 with every method of the path in ``Allow``, a second create is 409, and the
action paths keep their enum."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from safetwin.app.api import build_api
from safetwin.twin.state import TwinState
from wfhelpers import PASSWORD


@pytest.fixture()
def client(svc, small_plant):
    return TestClient(build_api(TwinState(small_plant), workflows=svc))


@pytest.fixture()
def root(client):
    r = client.post("/auth/token", data={"username": "root", "password": PASSWORD})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.mark.parametrize("field, value", [("active", 0), ("active", "false"), ("full_name", 5)])
def test_no_lax_conversions_of_body_fields(client, root, field, value):
    r = client.patch("/users/bob", headers=root, json={field: value})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", field], r.text


def test_times_are_iso_text_and_integers_json_numbers(client, root):
    cert = {"person_id": "bob", "type": "hot_work", "number": "C-1", "issued_at": 0,
            "expires_at": "2030-01-01T00:00:00+00:00"}
    r = client.post("/certificates", headers=root, json=cert)
    assert r.status_code == 422 and "ISO 8601" in r.json()["detail"]
    course = {"id": "C1", "title": "fire", "hours": 2, "validity_months": 12.0, "pass_score": 60, "level": "general"}
    assert client.post("/training/courses", headers=root, json=course).status_code == 201     # 12.0 is 12
    for bad in ("12", True, 12.5):
        r = client.post("/training/courses", headers=root, json={**course, "id": "C2", "validity_months": bad})
        assert r.status_code == 422, (bad, r.text)


def test_a_body_that_is_not_json_is_400_and_documented(client, root):
    r = client.post("/incidents", headers={**root, "Content-Type": "application/json"}, content=b"\xff{")
    assert r.status_code == 400 and r.json()["code"] == "bad_request"
    assert "400" in client.get("/openapi.json").json()["paths"]["/incidents"]["post"]["responses"]


def test_405_names_every_method_of_the_path(client, root):
    r = client.request("OPTIONS", "/certificates", headers=root)
    assert r.status_code == 405 and set(r.headers["Allow"].split(", ")) >= {"GET", "POST"}
    r = client.post("/permits/P-1/history", headers=root)        # not taken for an action called 'history'
    assert r.status_code == 405 and "POST" not in r.headers["Allow"] and "GET" in r.headers["Allow"]
    r = client.patch("/users/me", headers=root, json={"active": False})   # not a user called 'me'
    assert r.status_code == 405 and "PATCH" not in r.headers["Allow"]


def test_a_second_create_is_a_conflict(client, root):
    r = client.post("/users", headers=root, json={"id": "bob", "password": "long-enough-pw", "roles": ["worker"]})
    assert r.status_code == 409 and r.json()["code"] == "user_exists"
    r = client.post("/users", headers=root, json={"id": "me", "password": "long-enough-pw", "roles": ["worker"]})
    assert r.status_code == 422 and r.json()["code"] == "bad_user_id"


def test_action_paths_keep_their_enum_in_the_document(client):
    doc = client.get("/openapi.json").json()
    op = doc["paths"]["/permits/{permit_id}/{action}"]["post"]
    action = next(p for p in op["parameters"] if p["name"] == "action")
    assert "approve" in action["schema"]["enum"] and "history" not in action["schema"]["enum"]
