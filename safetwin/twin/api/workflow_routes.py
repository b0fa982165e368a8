"""Thin HTTP routes over :class:`~safetwin.twin.workflows.service.WorkflowService`.

Each route checks the roles it admits (403), hands the validated body to the service and
returns the record; rule refusals come back as JSON ``{"detail", "code"}`` with 403/404/409/422.

Reads hand out the stored JSON text as it is (it was written by the validated model), so a list
costs one indexed SQL query and no per-document parsing or re-validation; ``view=summary``
returns the projection columns only. Records are serialised by pydantic (``model_dump_json``)
and returned as raw responses, skipping FastAPI's generic encoder.
"""
from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from safetwin.twin.workflows.roles import Actor
from safetwin.twin.workflows.service import WorkflowService

from . import schemas as S
from .auth import current_actor, issue_token, require_roles

ANY = require_roles()
PERMIT_ACTORS = require_roles("worker", "applicant", "approver", "guardian", "safety_engineer", "operator", "manager")
GAS_TESTERS = require_roles("guardian", "safety_engineer", "operator", "applicant")
SAFETY = require_roles("safety_engineer", "manager")
STAFF = require_roles("operator", "safety_engineer", "manager")
ADMIN = require_roles("admin")

router = APIRouter()
PermitAction = Literal["submit", "approve", "reject", "start", "suspend", "resume", "complete", "close", "cancel"]
HazardAction = Literal["confirm", "invalidate", "plan", "assign", "accept", "extend", "decide_extension", "rectify",
                       "verify", "close"]
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

@router.post("/auth/token", tags=["auth"])
def login(request: Request, form: OAuth2PasswordRequestForm = Depends()) -> dict:
    """OAuth2 password flow: user id + password → bearer JWT."""
    actor = svc(request).users.authenticate(form.username, form.password)
    if actor is None:
        raise HTTPException(401, "wrong user or password", headers={"WWW-Authenticate": "Bearer"})
    st = request.app.state.auth_settings
    return {"access_token": issue_token(actor, st.jwt_secret, st.jwt_ttl_min, st.jwt_algorithm), "token_type": "bearer",
            "roles": sorted(actor.roles)}


@router.get("/users/me", tags=["auth"])
def me(actor: Actor = Depends(current_actor)) -> dict:
    """Who the token belongs to."""
    return {"id": actor.user_id, "roles": sorted(actor.roles)}


@router.get("/users", tags=["auth"], dependencies=[Depends(require_roles("admin", "manager"))])
def list_users(request: Request) -> list[dict]:
    return svc(request).users.list()


@router.post("/users", tags=["auth"], status_code=201, dependencies=[Depends(ADMIN)])
def create_user(request: Request, body: S.UserIn) -> dict:
    a = svc(request).users.create(body.id, body.password, body.roles, body.full_name)
    return {"id": a.user_id, "roles": sorted(a.roles)}


# ------------------------------------------------------------------ permits

@router.get("/permits", tags=["permits"], dependencies=[Depends(ANY)])
def list_permits(request: Request, state: str | None = Query(None, max_length=32),
                 type: str | None = Query(None, max_length=32), limit: int = Query(100, ge=1, le=1000),
                 offset: int = Query(0, ge=0, le=10**9), view: ListView = "full") -> list[dict]:
    """Permits, newest change first; ``view=summary`` gives id, state, type, level, holder, title, times."""
    return _list(request, "permit", view, state=state, subtype=type, limit=limit, offset=offset)


@router.post("/permits", tags=["permits"], status_code=201)
def create_permit(request: Request, body: S.PermitIn, actor: Actor = Depends(require_roles("applicant"))) -> dict:
    """A new draft permit (work polygon in local plant metres)."""
    return _doc(svc(request).create_permit(actor, **body.model_dump()), 201)


@router.get("/permits/{permit_id}", tags=["permits"], dependencies=[Depends(ANY)])
def get_permit(request: Request, permit_id: str) -> dict:
    """One permit as stored."""
    return _raw(svc(request).record_json("permit", permit_id))


@router.get("/permits/{permit_id}/history", tags=["permits", "audit"], dependencies=[Depends(ANY)])
def permit_history(request: Request, permit_id: str) -> list[dict]:
    """Every audited version of the permit."""
    svc(request).repo.get_json("permit", permit_id)
    return svc(request).repo.history("permit", permit_id)


@router.post("/permits/{permit_id}/gas-tests", tags=["permits"])
def add_gas_test(request: Request, permit_id: str, body: S.GasTestIn, actor: Actor = Depends(GAS_TESTERS)) -> dict:
    """A gas test from a live sensor (``sensor_id``) or a portable instrument (gas, value, unit, sampled_at)."""
    return _doc(svc(request).add_gas_test(actor, permit_id, **body.model_dump()))


@router.post("/permits/{permit_id}/{action}", tags=["permits"])
def permit_action(request: Request, permit_id: str, action: PermitAction, body: S.ActionIn | None = None,
                  actor: Actor = Depends(PERMIT_ACTORS)) -> dict:
    """One life-cycle step; the rules check the actor's role for that step and segregation of duties."""
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

@router.get("/certificates", tags=["certificates"], dependencies=[Depends(ANY)])
def list_certificates(request: Request, person_id: str | None = Query(None, max_length=64),
                      limit: int = Query(1000, ge=1, le=10000), offset: int = Query(0, ge=0, le=10**9),
                      view: ListView = "full") -> list[dict]:
    """Certificates, optionally of one person."""
    return _list(request, "certificate", view, owner=person_id, limit=limit, offset=offset)


@router.post("/certificates", tags=["certificates"], status_code=201)
def add_certificate(request: Request, body: S.CertificateIn, actor: Actor = Depends(SAFETY)) -> dict:
    """Register a person's certificate (issued/expiry times timezone-aware)."""
    return _doc(svc(request).add_certificate(actor, **body.model_dump()), 201)


@router.post("/certificates-reminders", tags=["certificates"], dependencies=[Depends(SAFETY)])
def certificate_reminders(request: Request) -> dict:
    """Send the due 90/60/30-day reminders now (the scheduler does this periodically)."""
    return {"sent": [{"certificate": c, "days": d} for c, d in svc(request).send_certificate_reminders()]}


# ------------------------------------------------------------------ hazards

@router.get("/hazards", tags=["hazards"], dependencies=[Depends(ANY)])
def list_hazards(request: Request, state: str | None = Query(None, max_length=32),
                 category: str | None = Query(None, max_length=32), limit: int = Query(100, ge=1, le=1000),
                 offset: int = Query(0, ge=0, le=10**9), view: ListView = "full") -> list[dict]:
    """Hazards, newest change first, filtered by state and category."""
    return _list(request, "hazard", view, state=state, subtype=category, limit=limit, offset=offset)


@router.post("/hazards", tags=["hazards"], status_code=201)
def report_hazard(request: Request, body: S.HazardIn, actor: Actor = Depends(ANY)) -> dict:
    """Anyone may report a hazard (隐患) at (x, y) in local plant metres."""
    return _doc(svc(request).report_hazard(actor, **body.model_dump()), 201)


@router.get("/hazards/{hazard_id}", tags=["hazards"], dependencies=[Depends(ANY)])
def get_hazard(request: Request, hazard_id: str) -> dict:
    """One hazard as stored."""
    return _raw(svc(request).record_json("hazard", hazard_id))


@router.post("/hazards/{hazard_id}/{action}", tags=["hazards"])
def hazard_action(request: Request, hazard_id: str, action: HazardAction, body: S.HazardActionIn | None = None,
                  actor: Actor = Depends(require_roles("worker", "approver", "safety_engineer", "manager",
                                                       "operator", "guardian"))) -> dict:
    b = (body or S.HazardActionIn()).model_dump()
    if action == "extend" and b.get("new_deadline") is None:
        raise HTTPException(422, "extend needs new_deadline")
    if action == "plan" and b.get("plan") is None:
        raise HTTPException(422, "plan needs the 五定 plan")
    return _doc(svc(request).hazard_action(actor, hazard_id, action, **b))


@router.post("/hazards-escalate", tags=["hazards"], dependencies=[Depends(SAFETY)])
def escalate(request: Request) -> dict:
    return {"escalated": [{"hazard": h, "layer": lv} for h, lv in svc(request).escalate_overdue()]}


# ------------------------------------------------------------------ alarm cases

@router.get("/alarm-cases", tags=["alarms"], dependencies=[Depends(STAFF)])
def list_alarm_cases(request: Request, state: str | None = Query(None, max_length=32),
                     limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=10**9),
                     view: ListView = "full") -> list[dict]:
    """Alarm cases, newest change first."""
    return _list(request, "alarm_case", view, state=state, limit=limit, offset=offset)


@router.post("/alarm-cases/{case_id}/{action}", tags=["alarms"])
def alarm_action(request: Request, case_id: str, action: AlarmActionName, body: S.AlarmActionIn | None = None,
                 actor: Actor = Depends(STAFF)) -> dict:
    return _doc(svc(request).alarm_action(actor, case_id, action, (body or S.AlarmActionIn()).text))


# ------------------------------------------------------------------ risk register

@router.post("/risk/units", tags=["risk"], status_code=201)
def create_risk_unit(request: Request, body: S.RiskUnitIn,
                     actor: Actor = Depends(require_roles("safety_engineer"))) -> dict:
    return _doc(svc(request).create_risk_unit(actor, **body.model_dump()), 201)


@router.post("/risk/units/{unit_id}/assess", tags=["risk"])
def assess(request: Request, unit_id: str, body: S.RiskAssessIn,
           actor: Actor = Depends(require_roles("safety_engineer"))) -> dict:
    return _doc(svc(request).assess_risk(actor, unit_id, **body.model_dump()))


@router.get("/risk/map", tags=["risk"], dependencies=[Depends(ANY)])
def risk_map(request: Request, frame: Literal["wgs84", "local"] = "wgs84") -> dict:
    """The four-colour risk map as GeoJSON: WGS84 lon/lat (RFC 7946, default) or local plant metres."""
    return JSONResponse(svc(request).risk_map(frame))
