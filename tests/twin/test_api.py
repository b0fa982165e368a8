"""The HTTP API: /health is open, every data route needs a token with a sufficient role."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from safetwin.app.api import build_api
from safetwin.twin.state import TwinState


@pytest.fixture()
def client(small_plant):
    state = TwinState(small_plant)
    state.update_position("p1", 50.0, 30.0, ts=1.0)
    state.apply_reading("CL-01", 0.2, ts=1.0)
    return TestClient(build_api(state, tokens={"view-token": "viewer", "admin-token": "admin"}))


def test_health_is_open(client):
    r = client.get("/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"


@pytest.mark.parametrize("route", ["/plant", "/plant/layers/buildings", "/state/readings", "/state/occupancy", "/state/alarms"])
def test_data_routes_need_a_valid_token(client, route):
    assert client.get(route).status_code == 401
    assert client.get(route, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get(route, headers={"Authorization": "Bearer view-token"}).status_code == 200


def test_plant_and_state_content(client):
    h = {"Authorization": "Bearer view-token"}
    assert client.get("/plant", headers=h).json()["id"] == "small_plant"
    fc = client.get("/plant/layers/gates", headers=h).json()
    assert {f["properties"]["id"] for f in fc["features"]} == {"G-MAIN", "G-EAST"}
    assert client.get("/state/occupancy", headers=h).json()["A-STORE"] == 1
    assert client.get("/state/readings", headers=h).json()["CL-01"]["value"] == 0.2
    assert client.get("/plant/layers/nope", headers=h).status_code == 404


def test_every_route_except_health_is_protected(client):
    """Guard against a new route landing without authentication: the auth dependency itself
    (``current_actor``) must be in the route's dependency tree, not just any dependency."""
    from fastapi.routing import APIRoute

    from safetwin.twin.api.auth import current_actor

    def calls(dependant) -> set:
        return {d.call for d in dependant.dependencies} | {c for d in dependant.dependencies for c in calls(d)}

    unguarded = {r.path for r in client.app.routes if isinstance(r, APIRoute) and current_actor not in calls(r.dependant)}
    assert unguarded == {"/health", "/auth/token"}
