"""Identity that ends: every request checks the user's current state; users managed through the API;
login throttling with lockout; nobody waits on a person who cannot act.

* a deactivated, deleted or password-reset user's token is refused (401) on the next request; a
  demoted user's old rights are refused (403) on the next request (the roles that count are the
  current ones, not the token's);
* 30 bad logins lock the account and the client address (429 without a password check), and the
  locks are in the audit trail;
* records are given only to active users holding the role.
"""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from safetwin.twin.api.app import create_app
from safetwin.twin.state import TwinState
from safetwin.twin.workflows.errors import GuardFailed
from wfhelpers import PASSWORD, T0, certify


@pytest.fixture()
def client(svc, small_plant):
    return TestClient(create_app(TwinState(small_plant), workflows=svc))


def login(client, user, password=PASSWORD):
    return client.post("/auth/token", data={"username": user, "password": password})


def bearer(client, user, password=PASSWORD):
    r = login(client, user, password)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_deactivated_users_token_is_refused_on_the_next_request(client):
    root, sue = bearer(client, "root"), bearer(client, "sue")
    assert client.get("/kpi", headers=sue).status_code == 200
    r = client.patch("/users/sue", headers=root, json={"active": False})
    assert r.status_code == 200 and r.json()["active"] is False, r.text
    r = client.get("/kpi", headers=sue)
    assert r.status_code == 401 and r.json()["code"] == "unauthorized" and "deactivated" in r.json()["detail"]
    assert login(client, "sue").status_code == 401                   # no new token either
    client.patch("/users/sue", headers=root, json={"active": True})
    assert client.get("/kpi", headers=sue).status_code == 401        # the old token stays ended
    assert client.get("/kpi", headers=bearer(client, "sue")).status_code == 200


def test_demoted_users_old_rights_are_refused_on_the_next_request(client):
    root, sue = bearer(client, "root"), bearer(client, "sue")
    assert client.get("/audit/verify", headers=sue).status_code == 200
    r = client.patch("/users/sue", headers=root, json={"roles": ["worker"]})
    assert r.status_code == 200 and r.json()["roles"] == ["worker"]
    r = client.get("/audit/verify", headers=sue)
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert client.get("/users/me", headers=sue).json() == {"id": "sue", "roles": ["worker"]}
    client.patch("/users/sue", headers=root, json={"roles": ["safety_engineer", "manager"]})   # promotion: at once
    assert client.get("/audit/verify", headers=sue).status_code == 200


def test_deleted_and_reset_users_tokens_are_refused(client, svc):
    root = bearer(client, "root")
    assert client.post("/users", headers=root, json={"id": "tmp", "password": "temporary-pw", "roles": ["worker"]}
                       ).status_code == 201
    tmp = bearer(client, "tmp", "temporary-pw")
    assert client.post("/users/tmp/password", headers=root, json={"password": "another-long-pw"}).status_code == 200
    assert client.get("/permits", headers=tmp).status_code == 401
    tmp = bearer(client, "tmp", "another-long-pw")
    assert client.get("/permits", headers=tmp).status_code == 200
    assert client.delete("/users/tmp", headers=root).status_code == 204
    r = client.get("/permits", headers=tmp)
    assert r.status_code == 401 and "no longer exists" in r.json()["detail"]
    assert client.get("/users/tmp", headers=root).status_code == 404


def test_only_an_admin_manages_users_and_the_last_admin_stays(client):
    sue, root = bearer(client, "sue"), bearer(client, "root")
    assert client.patch("/users/bob", headers=sue, json={"active": False}).status_code == 403
    assert client.post("/users", headers=sue, json={"id": "x", "password": "long-enough", "roles": ["worker"]}
                       ).status_code == 403
    r = client.patch("/users/root", headers=root, json={"roles": ["worker"]})
    assert r.status_code == 409 and r.json()["code"] == "last_admin"
    assert client.get("/users", headers=bearer(client, "max")).status_code == 200     # managers read the list
    r = client.post("/users", headers=root, json={"id": "x", "password": "short", "roles": ["worker"]})
    assert r.status_code == 422 and r.json()["code"] == "invalid_request"


def test_deactivation_lists_open_records_and_deletion_waits_for_reassignment(client, svc, actors):
    root = bearer(client, "root")
    h = svc.report_hazard(actors["bob"], title="leaking flange", category="equipment", level="general", x=40, y=40)
    svc.hazard_action(actors["sue"], h.id, "confirm")
    svc.hazard_action(actors["sue"], h.id, "assign", rectifier="cwo")
    r = client.patch("/users/cwo", headers=root, json={"active": False})
    assert r.json()["open_assignments"] == [{"kind": "hazard", "id": h.id, "role": "rectifier", "state": "assigned"}]
    r = client.delete("/users/cwo", headers=root)
    assert r.status_code == 409 and r.json()["code"] == "has_assignments" and h.id in r.json()["detail"]
    sue = bearer(client, "sue")
    r = client.post(f"/hazards/{h.id}/reassign", headers=sue, json={"rectifier": "bob", "reason": "cwo left"})
    assert r.status_code == 200 and r.json()["rectifier"] == "bob" and r.json()["state"] == "assigned", r.text
    assert client.delete("/users/cwo", headers=root).status_code == 204


def test_records_are_given_only_to_active_users_holding_the_role(svc, actors):
    a = actors
    h = svc.report_hazard(a["bob"], title="no guard", category="equipment", level="general", x=40, y=40)
    svc.hazard_action(a["sue"], h.id, "confirm")
    with pytest.raises(GuardFailed, match="no user 'ghost'") as e:
        svc.hazard_action(a["sue"], h.id, "assign", rectifier="ghost")
    assert e.value.code == "bad_assignee"
    with pytest.raises(GuardFailed, match="holds none of"):
        svc.hazard_action(a["sue"], h.id, "assign", rectifier="pia")       # a planner does not rectify
    svc.users.set_active("cwo", False)
    with pytest.raises(GuardFailed, match="deactivated"):
        svc.hazard_action(a["sue"], h.id, "assign", rectifier="cwo")
    with pytest.raises(GuardFailed, match="holder: no user 'nobody'"):
        svc.create_permit(a["ann"], type="hot_work", level="first", title="x", work_polygon=[(0, 0), (5, 0), (5, 5)],
                          holder="nobody", guardian="gus", planned_start=T0, planned_end=T0 + timedelta(hours=1))
    with pytest.raises(GuardFailed, match="guardian: user 'bob'"):
        svc.create_permit(a["ann"], type="hot_work", level="first", title="x", work_polygon=[(0, 0), (5, 0), (5, 5)],
                          holder="bob", guardian="bob", planned_start=T0, planned_end=T0 + timedelta(hours=1))


def test_thirty_bad_logins_lock_the_account_and_the_address(svc, small_plant):
    app = create_app(TwinState(small_plant), workflows=svc)
    client = TestClient(app)
    codes = [login(client, "ann", "wrong-password").status_code for _ in range(30)]
    # the account locks after 10 failures (later attempts are refused unchecked), the address after 30
    assert codes[:10] == [401] * 10 and codes[10:] == [429] * 20
    r = login(client, "ann")                                          # the right password, still refused
    assert r.status_code == 429 and r.json()["code"] == "login_locked" and int(r.headers["Retry-After"]) > 0
    r = login(client, "bob")                                          # another account, same address
    assert r.status_code == 429 and "address testclient is locked" in r.json()["detail"]
    locks = {(k["kind"], k["key"]) for k in app.state.login_throttle.locks(now=time.monotonic())}
    assert locks == {("account", "ann"), ("address", "testclient")}
    kinds = sorted(r["subtype"] + ":" + r["owner"] for r in svc.list_summary("login_lock"))
    assert kinds == ["account:ann", "address:testclient"]
    # an administrator lifts the address lock from another address
    other = TestClient(app, client=("10.9.9.9", 50000))
    root = {"Authorization": "Bearer " + other.post("/auth/token", data={"username": "root", "password": PASSWORD}
                                                    ).json()["access_token"]}
    assert other.delete("/auth/locks/address/testclient", headers=root).status_code == 204
    assert login(client, "bob").status_code == 200
    assert login(client, "ann").status_code == 429                   # the account stays locked


def test_bootstrap_admin_logs_in_through_the_api(store, small_plant, clock, memory):
    from safetwin.app.demo import bootstrap_admin
    from safetwin.twin.workflows.service import WorkflowService
    from safetwin.twin.workflows.settings import WorkflowSettings

    service = WorkflowService(store.engine, small_plant, settings=WorkflowSettings(jwt_secret="s" * 40))
    try:
        assert "created user admin" in bootstrap_admin(service, "bootstrap-pass-phrase")
        c = TestClient(create_app(TwinState(small_plant), workflows=service))
        assert c.get("/users", headers=bearer(c, "admin", "bootstrap-pass-phrase")).status_code == 200
    finally:
        service.close()


def test_my_tasks_for_each_role(client, svc, actors, clock):
    a = actors
    certify(svc, a, "bob", "hot_work")
    certify(svc, a, "gus", "guardian")
    p = svc.create_permit(a["ann"], type="hot_work", level="first", title="weld", work_polygon=[(150, 20), (156, 20),
                          (156, 26)], holder="bob", guardian="gus", jha="x", planned_start=T0,
                          planned_end=T0 + timedelta(hours=4))
    assert [(t["id"], t["action"]) for t in client.get("/me/tasks", headers=bearer(client, "ann")).json()] == \
        [(p.id, "submit")]
    svc.permit_action(a["ann"], p.id, "submit")
    assert (p.id, "approve") in {(t["id"], t["action"]) for t in client.get("/me/tasks", headers=bearer(client, "al")).json()}
    assert not client.get("/me/tasks", headers=bearer(client, "ola")).json()    # step 3 (operator) not yet
    h = svc.report_hazard(a["bob"], title="oil on stairs", category="environment", level="general", x=40, y=40)
    sue_tasks = {(t["id"], t["action"]) for t in client.get("/me/tasks", headers=bearer(client, "sue")).json()}
    assert (h.id, "confirm") in sue_tasks
    svc.hazard_action(a["sue"], h.id, "confirm")
    svc.hazard_action(a["sue"], h.id, "assign", rectifier="cwo")
    cwo = client.get("/me/tasks", headers=bearer(client, "cwo")).json()
    assert [(t["id"], t["action"], t["due_at"] is not None) for t in cwo] == [(h.id, "accept", True)]


def test_the_guardian_cannot_approve_their_own_job_through_the_api(client, svc, actors):
    """Given the approver role too (promoted through the API, at once), the permit's guardian is
    still refused the approval of the job they guard (403 own_approval); another approver signs."""
    certify(svc, actors, "bob", "hot_work")
    certify(svc, actors, "gus", "guardian")
    root = bearer(client, "root")
    assert client.patch("/users/gus", headers=root, json={"roles": ["guardian", "approver"]}).status_code == 200
    p = svc.create_permit(actors["ann"], type="hot_work", level="first", title="weld", holder="bob", guardian="gus",
                          work_polygon=[(150, 20), (156, 20), (156, 26)], jha="sparks", planned_start=T0,
                          planned_end=T0 + timedelta(hours=4))
    assert client.post(f"/permits/{p.id}/submit", headers=bearer(client, "ann")).status_code == 200
    r = client.post(f"/permits/{p.id}/approve", headers=bearer(client, "gus"))
    assert r.status_code == 403 and r.json()["code"] == "own_approval", r.text
    r = client.post(f"/permits/{p.id}/approve", headers=bearer(client, "al"))
    assert r.status_code == 200 and [a["approver"] for a in r.json()["approvals"]] == ["al"], r.text
