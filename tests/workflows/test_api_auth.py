"""API: OAuth2 password login → JWT; every route 401 without a valid token, 403 with a wrong role."""
from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from safetwin.app.api import build_api
from safetwin.twin.api.app import create_app
from safetwin.twin.api.auth import issue_token
from safetwin.twin.state import TwinState
from safetwin.twin.workflows.roles import Actor
from wfhelpers import PASSWORD, T0

OPEN = {"/health", "/auth/token", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
#: routes any authenticated user may call (no wrong role exists for them)
ANY_ROLE = {("GET", "/plant"), ("GET", "/plant/layers/{layer}"), ("GET", "/state/readings"),
            ("GET", "/state/occupancy"), ("GET", "/state/alarms"), ("GET", "/users/me"), ("GET", "/permits"),
            ("GET", "/permits/{permit_id}"), ("GET", "/permits/{permit_id}/history"), ("GET", "/certificates"),
            ("GET", "/hazards"), ("POST", "/hazards"), ("GET", "/hazards/{hazard_id}"), ("GET", "/risk/map"),
            ("GET", "/certificates/{certificate_id}"), ("GET", "/risk/units"), ("GET", "/risk/units/{unit_id}"),
            ("GET", "/me/tasks"), ("GET", "/state/weather")}
#: field routes any signed-in user may call; the rules check each action's role (tests/workflows/test_field_api.py)
ANY_ROLE |= {("GET", "/training/courses"), ("GET", "/training/people/{person_id}"),
             ("GET", "/inspections/rounds/{round_id}"), ("POST", "/inspections/rounds/{round_id}/{action}"),
             ("GET", "/state/sensor-health"), ("POST", "/field/photos"), ("GET", "/field/photos/{photo_id}"),
             ("POST", "/field/hazards"), ("GET", "/field/rounds"), ("POST", "/field/rounds/{round_id}/scans"),
             ("GET", "/field/permits"), ("POST", "/field/permits/{permit_id}/gas-tests"),
             ("POST", "/field/permits/{permit_id}/sign"), ("GET", "/field/captures")}


@pytest.fixture()
def client(svc, small_plant):
    return TestClient(build_api(TwinState(small_plant), workflows=svc))   # with the planner routes


def token(client, user):
    r = client.post("/auth/token", data={"username": user, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _routes(app):
    for r in app.routes:
        if isinstance(r, APIRoute) and r.path not in OPEN:
            for m in r.methods:
                yield m, r.path_format


#: an action each action route knows (its path segment matches only those)
ACTIONS = {"/permits/": "submit", "/hazards/": "confirm", "/alarm-cases/": "acknowledge", "/inspections/rounds/": "start"}


def _url(path):
    action = next((a for prefix, a in ACTIONS.items() if path.startswith(prefix)), "submit")
    out = path.replace("{layer}", "areas").replace("{action}", action).replace("{kind}", "account")
    for name in ("permit_id", "hazard_id", "case_id", "unit_id", "certificate_id", "user_id", "event_id", "task_id",
                 "key"):
        out = out.replace("{" + name + "}", "X")
    return out


def _calls(dependant) -> set:
    """Every callable in a route's dependency tree (sub-dependencies included)."""
    out = set()
    for dep in dependant.dependencies:
        out.add(dep.call)
        out |= _calls(dep)
    return out


def test_every_route_depends_on_the_auth_dependency(client):
    """Guard against a route landing without authentication: each route's dependency tree holds
    ``current_actor`` (the JWT / token check) itself, not just any dependency."""
    from safetwin.twin.api.auth import current_actor

    routes = [r for r in client.app.routes if isinstance(r, APIRoute)]
    unguarded = {r.path for r in routes if current_actor not in _calls(r.dependant)}
    assert unguarded == {"/health", "/auth/token"}
    assert len(routes) >= 25


def test_login_and_wrong_password(client):
    assert client.post("/auth/token", data={"username": "ann", "password": "nope-nope"}).status_code == 401
    assert client.post("/auth/token", data={"username": "ghost", "password": PASSWORD}).status_code == 401
    h = token(client, "ann")
    assert client.get("/users/me", headers=h).json() == {"id": "ann", "roles": ["applicant"]}


def test_every_route_401_without_valid_token(client, svc):
    expired = issue_token(Actor("ann", frozenset({"admin"})), svc.settings.jwt_secret, -1)
    forged = issue_token(Actor("ann", frozenset({"admin"})), "another-secret-" + "y" * 32, 5)
    n = 0
    for method, path in _routes(client.app):
        for h in ({}, {"Authorization": "Bearer garbage"}, {"Authorization": f"Bearer {expired}"},
                  {"Authorization": f"Bearer {forged}"}):
            r = client.request(method, _url(path), headers=h)
            assert r.status_code == 401, (method, path, h, r.status_code)
        n += 1
    assert n >= 25


def test_every_restricted_route_403_with_a_wrong_role(client):
    planner = token(client, "pia")    # planner: only the KPI, read and planner routes
    worker = token(client, "bob")     # worker: none of the KPI or planner routes
    checked = 0
    for method, path in _routes(client.app):
        if (method, path) in ANY_ROLE:
            continue
        h = worker if path.startswith("/kpi") or path.startswith("/planner/") else planner
        r = client.request(method, _url(path), headers=h, json={})
        assert r.status_code == 403, (method, path, r.status_code, r.text)
        checked += 1
    assert checked >= 15


def test_permit_flow_over_http(client, svc, clock):
    ann, al = token(client, "ann"), token(client, "al")
    sue = token(client, "sue")
    for who, ct in (("bob", "hot_work"), ("gus", "guardian")):
        r = client.post("/certificates", headers=sue, json={"person_id": who, "type": ct, "number": f"N-{who}",
                        "issued_at": (T0 - timedelta(days=10)).isoformat(), "expires_at": (T0 + timedelta(days=900)).isoformat()})
        assert r.status_code == 201, r.text
    body = {"type": "hot_work", "level": "second", "title": "weld", "work_polygon": [[40, 40], [45, 40], [45, 45]],
            "holder": "bob", "guardian": "gus", "jha": "sparks", "planned_start": T0.isoformat(),
            "planned_end": (T0 + timedelta(hours=5)).isoformat()}
    assert client.post("/permits", headers=al, json=body).status_code == 403
    r = client.post("/permits", headers=ann, json=body)
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    assert client.post(f"/permits/{pid}/submit", headers=ann).json()["state"] == "submitted"
    r = client.post(f"/permits/{pid}/approve", headers=ann)
    assert r.status_code == 403 and r.json()["code"] in ("own_approval", "wrong_role")
    assert client.post(f"/permits/{pid}/approve", headers=al).status_code == 200
    r = client.post(f"/permits/{pid}/start", headers=token(client, "bob"))
    assert r.status_code == 409 and "cannot start in state 'submitted'" in r.json()["detail"]
    assert client.get("/permits/NOPE", headers=ann).status_code == 404
    assert client.get(f"/permits/{pid}/history", headers=ann).json()[0]["action"] == "create"
    v = client.get("/audit/verify", headers=sue).json()
    assert v["ok"] and v["links"] >= 5
    assert client.get("/kpi?days=3660", headers=token(client, "max")).json()["permits"]["by_type_level"]


def test_legacy_static_tokens_still_work(small_plant):
    c = TestClient(create_app(TwinState(small_plant), tokens={"view-token": "viewer"}))
    assert c.get("/plant", headers={"Authorization": "Bearer view-token"}).status_code == 200
    assert c.get("/audit/verify", headers={"Authorization": "Bearer view-token"}).status_code == 403
