"""Thin HTTP routes over :class:`~safetwin.twin.workflows.service.WorkflowService`.

Each route checks the roles it admits (403), hands the validated body to the service and
returns the record; every refusal is an :class:`~.errors.ErrorOut` (``{"detail", "code"}``) with
401/403/404/409/422/429, as the OpenAPI documents for each operation.

Reads hand out the stored JSON text as it is (it was written by the validated model), so a list
costs one indexed SQL query and no per-document parsing or re-validation; ``view=summary``
returns the projection columns only. Records are serialised by pydantic (``model_dump_json``)
and returned as raw responses, skipping FastAPI's generic encoder.
"""
from __future__ import annotations

import time
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from safetwin.twin.workflows.domain import AlarmCase, Certificate, Hazard, Permit, RiskUnit
from safetwin.twin.workflows.roles import Actor
from safetwin.twin.workflows.service import WorkflowService

from . import schemas as S
from .auth import current_actor, issue_token, require_roles
from .errors import ApiError
from .paths import action_segment, id_segment

ANY = require_roles()
PERMIT_ACTORS = require_roles("worker", "applicant", "approver", "guardian", "safety_engineer", "operator", "manager")
GAS_TESTERS = require_roles("guardian", "safety_engineer", "operator", "applicant")
MONITOR_FEEDERS = require_roles("guardian", "safety_engineer", "operator", "applicant", "worker")
SAFETY = require_roles("safety_engineer", "manager")
STAFF = require_roles("operator", "safety_engineer", "manager")
ADMIN = require_roles("admin")
ENGINEER = require_roles("safety_engineer")
PEOPLE = require_roles("worker", "operator", "approver", "safety_engineer", "manager")

router = APIRouter()
USER_ID = id_segment("user_id", "me")     # /users/me is the signed-in user's own (read-only) view
PermitAction = Literal["submit", "approve", "reject", "start", "pause", "suspend", "resume", "complete",
                       "fire_watch_done", "close", "cancel"]
HazardAction = Literal["confirm", "invalidate", "plan", "assign", "reassign", "accept", "extend", "decide_extension",
                       "rectify", "verify", "close"]
AlarmActionName = Literal["acknowledge", "act", "close"]


def svc(request: Request) -> WorkflowService:
    """The app's workflow service (503 when the app runs without one)."""
    s = getattr(request.app.state, "workflows", None)
    if s is None:
        raise HTTPException(503, "workflows are not configured on this server")
    return s


ListView = Literal["full", "summary"]


def _doc(rec: BaseModel, status_code: int = 200) -> Response:
    """A record as a JSON response (pydantic's serialiser)."""
    return Response(rec.model_dump_json(), status_code=status_code, media_type="application/json")


def _raw(text: str) -> Response:
    """Stored JSON text as a response, untouched."""
    return Response(text, media_type="application/json")


def _list(request: Request, kind: str, view: str, **filters: Any) -> Response:
    """A list route's answer: stored documents (``full``) or projection columns (``summary``)."""
    if view == "summary":
        return JSONResponse(svc(request).list_summary(kind, **filters))
    return _raw(svc(request).list_json(kind, **filters))


# ------------------------------------------------------------------ auth and users

@router.post("/auth/token", tags=["auth"], response_model=S.TokenOut)
def login(request: Request, form: OAuth2PasswordRequestForm = Depends()) -> dict:
    """OAuth2 password flow: user id + password → bearer JWT.

    Failed logins are counted per account and per client address: too many lock the account or the
    address for a while (429, ``Retry-After``), without any password being checked; password
    checks run one at a time so that a flood of logins cannot slow the other routes."""
    throttle = request.app.state.login_throttle
    address = request.client.host if request.client else "unknown"
    refused = throttle.refusal(form.username, address, now=time.monotonic())
    if refused is not None:
        why, seconds = refused
        raise ApiError(429, f"{why} after too many failed logins; try again in {int(seconds) + 1} s",
                       "login_locked", headers={"Retry-After": str(int(seconds) + 1)})
    users = svc(request).users
    with throttle.checking() as got_slot:
        if not got_slot:
            raise ApiError(429, "too many logins at once; try again in a few seconds", "login_busy",
                           headers={"Retry-After": "2"})
        actor = users.authenticate(form.username, form.password)
    if actor is None:
        throttle.failed(form.username, address, now=time.monotonic())
        raise ApiError(401, "wrong user or password", "unauthorized", headers={"WWW-Authenticate": "Bearer"})
    throttle.succeeded(form.username)
    state = users.current(actor.user_id)
    st = request.app.state.auth_settings
    token = issue_token(actor, st.jwt_secret, st.jwt_ttl_min, st.jwt_algorithm,
                        version=state.token_version if state is not None else 0)
    return {"access_token": token, "token_type": "bearer", "roles": sorted(actor.roles)}


@router.get("/auth/locks", tags=["auth"], response_model=list[S.LockOut], dependencies=[Depends(ADMIN)])
def login_locks(request: Request) -> list[dict]:
    """Accounts and client addresses locked after failed logins (this server process)."""
    return request.app.state.login_throttle.locks(now=time.monotonic())


@router.delete("/auth/locks/{kind}/{key}", tags=["auth"], status_code=204, dependencies=[Depends(ADMIN)])
def unlock(request: Request, kind: Literal["account", "address"], key: str) -> Response:
    """Lift a lock after failed logins (an administrator's decision)."""
    if not request.app.state.login_throttle.unlock(kind, key):
        raise ApiError(404, f"no lock on {kind} {key!r}", "not_found")
    return Response(status_code=204)


@router.get("/users/me", tags=["auth"], response_model=S.MeOut)
def me(actor: Actor = Depends(current_actor)) -> dict:
    """Who the token belongs to, with the roles the user holds now."""
    return {"id": actor.user_id, "roles": sorted(actor.roles)}


@router.get("/users", tags=["users"], response_model=list[S.UserOut],
            dependencies=[Depends(require_roles("admin", "manager"))])
def list_users(request: Request) -> list[dict]:
    """Every user, active or not (no password hashes)."""
    return svc(request).users.list()


@router.post("/users", tags=["users"], status_code=201, response_model=S.UserOut)
def create_user(request: Request, body: S.UserIn, actor: Actor = Depends(ADMIN)) -> dict:
    """A new active user."""
    return svc(request).create_user(actor, user_id=body.id, password=body.password, roles=list(body.roles),
                                    full_name=body.full_name)


@router.get("/users/" + USER_ID, tags=["users"], response_model=S.UserOut,
            dependencies=[Depends(require_roles("admin", "manager"))])
def get_user(request: Request, user_id: str) -> dict:
    """One user (no password hash)."""
    return svc(request).users.describe(user_id)


@router.patch("/users/" + USER_ID, tags=["users"], response_model=S.UserChangeOut)
def change_user(request: Request, user_id: str, body: S.UserPatch, actor: Actor = Depends(ADMIN)) -> dict:
    """Re-role, deactivate/reactivate or rename a user. Acts on the user's next request: a
    deactivated user's tokens are refused, a demoted user's old rights are gone. A deactivated
    user's open records are listed (``open_assignments``) for reassignment."""
    return svc(request).change_user(actor, user_id, roles=None if body.roles is None else list(body.roles),
                                    active=body.active, full_name=body.full_name)


@router.post("/users/" + USER_ID + "/password", tags=["users"], response_model=S.UserOut)
def reset_password(request: Request, user_id: str, body: S.PasswordIn, actor: Actor = Depends(ADMIN)) -> dict:
    """Set a new password; every token issued to the user before is refused from the next request on."""
    return svc(request).reset_password(actor, user_id, body.password)


@router.delete("/users/" + USER_ID, tags=["users"], status_code=204)
def delete_user(request: Request, user_id: str, actor: Actor = Depends(ADMIN)) -> Response:
    """Delete a user who holds no open record (409 lists what to reassign first)."""
    svc(request).delete_user(actor, user_id)
    return Response(status_code=204)


# ------------------------------------------------------------------ permits

@router.get("/permits", tags=["permits"], dependencies=[Depends(ANY)],
            response_model=list[Permit] | list[S.RecordSummary])
def list_permits(request: Request, state: str | None = Query(None, max_length=32),
                 type: str | None = Query(None, max_length=32), limit: int = Query(100, ge=1, le=1000),
                 offset: int = Query(0, ge=0, le=10**9), view: ListView = "full") -> list[dict]:
    """Permits, newest change first; ``view=summary`` gives id, state, type, level, holder, title, times."""
    return _list(request, "permit", view, state=state, subtype=type, limit=limit, offset=offset)


@router.post("/permits", tags=["permits"], status_code=201, response_model=Permit)
def create_permit(request: Request, body: S.PermitIn, actor: Actor = Depends(require_roles("applicant"))) -> dict:
    """A new draft permit (work polygon in local plant metres); its holder, workers, guardian and
    fire watch must be active users holding their roles."""
    return _doc(svc(request).create_permit(actor, **body.model_dump()), 201)


@router.get("/permits/{permit_id}", tags=["permits"], dependencies=[Depends(ANY)], response_model=Permit)
def get_permit(request: Request, permit_id: str) -> dict:
    """One permit as stored."""
    return _raw(svc(request).record_json("permit", permit_id))


@router.get("/permits/{permit_id}/history", tags=["permits", "audit"], dependencies=[Depends(ANY)])
def permit_history(request: Request, permit_id: str) -> list[dict]:
    """Every audited version of the permit."""
    svc(request).repo.get_json("permit", permit_id)
    return svc(request).repo.history("permit", permit_id)


@router.post("/permits/{permit_id}/gas-tests", tags=["permits"], response_model=Permit)
def add_gas_test(request: Request, permit_id: str, body: S.GasTestIn, actor: Actor = Depends(GAS_TESTERS)) -> dict:
    """A gas test from a live detector (``sensor_id``) or a portable instrument: one gas (``gas``
    by substance id or alias, ``value``, ``unit``) or a multi-gas instrument's ``readings``, with
    ``sampled_at``. Every gas is judged by what it is (flammable: GB 30871 5.3.2 by its LEL; toxic:
    GBZ 2.1 MAC/PC-TWA; oxygen 19.5–21 %vol); the test passes only when every reading passes."""
    b = body.model_dump(exclude={"readings"})
    readings = [(r.gas, r.value, r.unit) for r in body.readings] if body.readings else None
    return _doc(svc(request).add_gas_test(actor, permit_id, readings=readings, **b))


@router.post("/permits/{permit_id}/monitor", tags=["permits"], response_model=Permit)
def monitor_reading(request: Request, permit_id: str, body: S.MonitorIn, actor: Actor = Depends(MONITOR_FEEDERS)) -> dict:
    """One reading of the portable monitor watching the job for its whole duration (GB 30871-2022
    6.5 confined space; 5.3.1 d special hot work): judged like a gas test; a failing reading
    suspends the active permit; the readings are logged on the permit every 2 h and when failing."""
    readings = [(r.gas, r.value, r.unit) for r in body.readings]
    return _doc(svc(request).monitor_reading(actor, permit_id, instrument_id=body.instrument_id, readings=readings,
                                             sampled_at=body.sampled_at))


@router.post("/permits/{permit_id}/" + action_segment("permit_action", PermitAction), tags=["permits"], response_model=Permit)
def permit_action(request: Request, permit_id: str, action: PermitAction, body: S.ActionIn | None = None,
                  actor: Actor = Depends(PERMIT_ACTORS)) -> dict:
    """One life-cycle step; the rules check the actor's role for that step and segregation of duties.

    ``pause`` is an interruption by the holder (a new gas test only after the pack's re-test gap),
    ``suspend`` a stop for a cause (a new gas test before ``resume``); ``fire_watch_done`` is the
    fire watch confirming, after its time, that no embers remain (hot work closes only then)."""
    b = body or S.ActionIn()
    return _doc(svc(request).permit_action(actor, permit_id, action, reason=b.reason, note=b.note))


@router.post("/permits-expire", tags=["permits"], dependencies=[Depends(require_roles("operator", "safety_engineer"))])
def expire_permits(request: Request) -> dict:
    return {"expired": svc(request).expire_due()}


@router.post("/incidents", tags=["permits"])
def incident(request: Request, body: S.IncidentIn,
             actor: Actor = Depends(require_roles("operator", "safety_engineer", "manager", "guardian"))) -> dict:
    """An incident at a point: active permits within ``radius_m`` or in its area are suspended."""
    return {"suspended": svc(request).report_incident(actor, body.x, body.y, body.radius_m, body.description)}


# ------------------------------------------------------------------ certificates

@router.get("/certificates", tags=["certificates"], dependencies=[Depends(ANY)], response_model=list[S.CertificateOut])
def list_certificates(request: Request, person_id: str | None = Query(None, max_length=64),
                      state: str | None = Query(None, max_length=32), limit: int = Query(1000, ge=1, le=10000),
                      offset: int = Query(0, ge=0, le=10**9)) -> list[dict]:
    """Certificates, optionally of one person, each with its ``status`` computed from its dates now
    (an expired certificate is never listed as valid)."""
    return JSONResponse(svc(request).certificates_with_status(person_id=person_id, state=state, limit=limit,
                                                              offset=offset))


@router.get("/certificates/{certificate_id}", tags=["certificates"], dependencies=[Depends(ANY)],
            response_model=S.CertificateOut)
def get_certificate(request: Request, certificate_id: str) -> dict:
    """One certificate with its ``status`` computed from its dates now."""
    return JSONResponse(svc(request).certificate(certificate_id))


@router.post("/certificates", tags=["certificates"], status_code=201, response_model=Certificate)
def add_certificate(request: Request, body: S.CertificateIn, actor: Actor = Depends(SAFETY)) -> dict:
    """Register a person's certificate (issued/expiry times timezone-aware)."""
    return _doc(svc(request).add_certificate(actor, **body.model_dump()), 201)


@router.post("/certificates-reminders", tags=["certificates"], dependencies=[Depends(SAFETY)])
def certificate_reminders(request: Request) -> dict:
    """Send the due 90/60/30-day reminders now (the scheduler does this periodically)."""
    return {"sent": [{"certificate": c, "days": d} for c, d in svc(request).send_certificate_reminders()]}


# ------------------------------------------------------------------ hazards

@router.get("/hazards", tags=["hazards"], dependencies=[Depends(ANY)],
            response_model=list[Hazard] | list[S.RecordSummary])
def list_hazards(request: Request, state: str | None = Query(None, max_length=32),
                 category: str | None = Query(None, max_length=32), limit: int = Query(100, ge=1, le=1000),
                 offset: int = Query(0, ge=0, le=10**9), view: ListView = "full") -> list[dict]:
    """Hazards, newest change first, filtered by state and category."""
    return _list(request, "hazard", view, state=state, subtype=category, limit=limit, offset=offset)


@router.post("/hazards", tags=["hazards"], status_code=201, response_model=Hazard)
def report_hazard(request: Request, body: S.HazardIn, actor: Actor = Depends(ANY)) -> dict:
    """Anyone may report a hazard (隐患) at (x, y) in local plant metres; repeats of the same kind at
    the same place (same equipment) within the repeat window are flagged."""
    return _doc(svc(request).report_hazard(actor, **body.model_dump()), 201)


@router.get("/hazards/{hazard_id}", tags=["hazards"], dependencies=[Depends(ANY)], response_model=Hazard)
def get_hazard(request: Request, hazard_id: str) -> dict:
    """One hazard as stored."""
    return _raw(svc(request).record_json("hazard", hazard_id))


@router.post("/hazards/{hazard_id}/" + action_segment("hazard_action", HazardAction), tags=["hazards"], response_model=Hazard)
def hazard_action(request: Request, hazard_id: str, action: HazardAction, body: S.HazardActionIn | None = None,
                  actor: Actor = Depends(require_roles("worker", "approver", "safety_engineer", "manager",
                                                       "operator", "guardian"))) -> dict:
    """One step of the hazard's closed loop. ``assign`` and ``reassign`` take a ``rectifier`` who
    must be an active user who may rectify; ``reassign`` (with a ``reason``) hands an assigned
    hazard to someone else, who must accept it."""
    b = (body or S.HazardActionIn()).model_dump()
    if action == "extend" and b.get("new_deadline") is None:
        raise ApiError(422, "extend needs new_deadline", "incomplete")
    if action == "plan" and b.get("plan") is None:
        raise ApiError(422, "plan needs the 五定 plan", "incomplete")
    return _doc(svc(request).hazard_action(actor, hazard_id, action, **b))


@router.post("/hazards-escalate", tags=["hazards"], dependencies=[Depends(SAFETY)])
def escalate(request: Request) -> dict:
    return {"escalated": [{"hazard": h, "layer": lv} for h, lv in svc(request).escalate_overdue()]}


# ------------------------------------------------------------------ alarm cases

@router.get("/alarm-cases", tags=["alarms"], dependencies=[Depends(STAFF)],
            response_model=list[AlarmCase] | list[S.RecordSummary])
def list_alarm_cases(request: Request, state: str | None = Query(None, max_length=32),
                     limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=10**9),
                     view: ListView = "full") -> list[dict]:
    """Alarm cases, newest change first."""
    return _list(request, "alarm_case", view, state=state, limit=limit, offset=offset)


@router.get("/alarm-cases/{case_id}", tags=["alarms"], dependencies=[Depends(STAFF)], response_model=AlarmCase)
def get_alarm_case(request: Request, case_id: str) -> dict:
    """One alarm case as stored."""
    return _raw(svc(request).record_json("alarm_case", case_id))


@router.post("/alarm-cases/{case_id}/" + action_segment("alarm_action", AlarmActionName), tags=["alarms"],
             response_model=AlarmCase)
def alarm_action(request: Request, case_id: str, action: AlarmActionName, body: S.AlarmActionIn | None = None,
                 actor: Actor = Depends(STAFF)) -> dict:
    """``acknowledge`` (also acknowledges the alarm in the alarm engine: one that returned to normal
    then stops holding permits at its place), ``act`` (record an action taken), ``close`` (a review
    note)."""
    return _doc(svc(request).alarm_action(actor, case_id, action, (body or S.AlarmActionIn()).text))


# ------------------------------------------------------------------ risk register

@router.get("/risk/units", tags=["risk"], dependencies=[Depends(ANY)],
            response_model=list[RiskUnit] | list[S.RecordSummary])
def list_risk_units(request: Request, limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=10**9),
                    view: ListView = "full") -> list[dict]:
    """Risk units, newest change first (``view=summary``: id, name, current level, owner …)."""
    return _list(request, "risk_unit", view, limit=limit, offset=offset)


@router.post("/risk/units", tags=["risk"], status_code=201, response_model=RiskUnit)
def create_risk_unit(request: Request, body: S.RiskUnitIn, actor: Actor = Depends(ENGINEER)) -> dict:
    """A risk unit (风险分析单元): a plant area or a polygon in local metres."""
    return _doc(svc(request).create_risk_unit(actor, **body.model_dump()), 201)


@router.get("/risk/units/{unit_id}", tags=["risk"], dependencies=[Depends(ANY)], response_model=RiskUnit)
def get_risk_unit(request: Request, unit_id: str) -> dict:
    """One risk unit: its events (inherent and residual risk), control tasks and current level."""
    return _raw(svc(request).record_json("risk_unit", unit_id))


@router.patch("/risk/units/{unit_id}", tags=["risk"], response_model=RiskUnit)
def edit_risk_unit(request: Request, unit_id: str, body: S.RiskUnitPatch, actor: Actor = Depends(ENGINEER)) -> dict:
    """Rename a risk unit, move it (an area or a polygon) or give it an owner."""
    return _doc(svc(request).update_risk_unit(actor, unit_id, **body.model_dump(exclude_none=True)))


@router.post("/risk/units/{unit_id}/assess", tags=["risk"], response_model=RiskUnit)
def assess(request: Request, unit_id: str, body: S.RiskAssessIn, actor: Actor = Depends(ENGINEER)) -> dict:
    """Add a risk event graded by LEC or LS: inherent, and residual with its controls."""
    return _doc(svc(request).assess_risk(actor, unit_id, **body.model_dump()))


@router.post("/risk/units/{unit_id}/events/{event_id}/reassess", tags=["risk"], response_model=RiskUnit)
def reassess(request: Request, unit_id: str, event_id: str, body: S.ReassessIn,
             actor: Actor = Depends(ENGINEER)) -> dict:
    """Grade an event's residual risk again (its control measures changed)."""
    return _doc(svc(request).reassess_event(actor, unit_id, event_id, **body.model_dump()))


@router.post("/risk/units/{unit_id}/events/{event_id}/retire", tags=["risk"], response_model=RiskUnit)
def retire(request: Request, unit_id: str, event_id: str, actor: Actor = Depends(ENGINEER)) -> dict:
    """Retire an event that no longer exists; the unit's level follows its active events."""
    return _doc(svc(request).retire_event(actor, unit_id, event_id))


@router.post("/risk/units/{unit_id}/tasks", tags=["risk"], status_code=201, response_model=RiskUnit)
def add_control_task(request: Request, unit_id: str, body: S.ControlTaskIn, actor: Actor = Depends(ENGINEER)) -> dict:
    """A control task (管控任务): an active user checks a control measure every ``every_days`` days."""
    return _doc(svc(request).add_control_task(actor, unit_id, **body.model_dump()), 201)


@router.post("/risk/units/{unit_id}/tasks/{task_id}/check", tags=["risk"], response_model=RiskUnit)
def check_control_task(request: Request, unit_id: str, task_id: str, body: S.ControlCheckIn,
                       actor: Actor = Depends(PEOPLE)) -> dict:
    """The assignee's check of a control task (or a safety engineer's); a failed check reports a
    hazard and brings the event's inherent risk back until a check passes."""
    return _doc(svc(request).check_control_task(actor, unit_id, task_id, **body.model_dump()))


@router.get("/risk/map", tags=["risk"], dependencies=[Depends(ANY)])
def risk_map(request: Request, frame: Literal["wgs84", "local"] = "wgs84") -> dict:
    """The four-colour risk map as GeoJSON: WGS84 lon/lat (RFC 7946, default) or local plant metres."""
    return JSONResponse(svc(request).risk_map(frame))


# ------------------------------------------------------------------ my tasks

@router.get("/me/tasks", tags=["auth"], response_model=list[S.TaskOut])
def my_tasks(request: Request, actor: Actor = Depends(ANY)) -> list[dict]:
    """What waits on the signed-in user now, across permits, hazards, alarm cases, certificates and
    control tasks: the record, the action to take on it, why, and when it is due."""
    return JSONResponse(svc(request).my_tasks(actor))
