"""Thin HTTP routes of the field workflows (``WorkflowService.field``): people and training,
contractors, inspection checkpoints / routes / rounds, the equipment register, and the phone
routes under ``/field`` — photo uploads and captures that are applied once per idempotency key.

Every route needs a valid token (401) and names the roles it admits (403); the phone routes admit
any signed-in user and the rules check the role of each action (refusals come back as
``{"detail", "code"}``). A phone capture answers ``{"status": "applied" | "duplicate" | "refused",
"kind", "id", "detail", "code"}`` with 201, 200 or the refusal's status; 409 ``in_progress`` means
send it again shortly.
"""
from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from safetwin.twin.sensor_health import assess_sensors
from safetwin.twin.workflows.domain import Permit
from safetwin.twin.workflows.errors import WorkflowError
from safetwin.twin.workflows.roles import Actor

from . import field_schemas as F
from .auth import require_roles
from .oversight_routes import KPI_READERS
from .paths import action_segment
from .workflow_routes import svc

ANY = require_roles()
SAFETY = require_roles("safety_engineer", "manager")
STAFF = require_roles("operator", "safety_engineer", "manager")
RECORDERS = require_roles("operator", "safety_engineer", "manager")

router = APIRouter()


def _doc(rec: Any, status_code: int = 200) -> Response:
    return Response(rec.model_dump_json(), status_code=status_code, media_type="application/json")


def _docs(recs: list[Any]) -> Response:
    return Response("[" + ",".join(r.model_dump_json() for r in recs) + "]", media_type="application/json")


def _field(request: Request) -> Any:
    return svc(request).field


# ------------------------------------------------------------------ people and training

@router.post("/people", tags=["people"], status_code=201)
def register_person(request: Request, body: F.PersonIn, actor: Actor = Depends(SAFETY)) -> Response:
    """Register a person (employee, or a contractor's person with ``employer`` = the company id) and their RTLS tag."""
    return _doc(_field(request).people.register_person(actor, **body.model_dump()), 201)


@router.get("/people", tags=["people"], dependencies=[Depends(STAFF)])
def list_people(request: Request, employer: str | None = Query(None, max_length=64)) -> Response:
    """Registered people, optionally of one employer (``own`` or a contractor id)."""
    return _docs(_field(request).people.list_people(employer))


@router.post("/people/{person_id}/entry", tags=["people"])
def grant_entry(request: Request, person_id: str, body: F.EntryIn, actor: Actor = Depends(SAFETY)) -> Response:
    """Let a person enter restricted areas in a time window."""
    return _doc(_field(request).people.grant_entry(actor, person_id, **body.model_dump()))


@router.get("/training/courses", tags=["training"], dependencies=[Depends(ANY)])
def list_courses(request: Request) -> Response:
    """The courses: the field pack's and the site's own."""
    return _docs(_field(request).training.courses())


@router.post("/training/courses", tags=["training"], status_code=201)
def add_course(request: Request, body: F.CourseIn, actor: Actor = Depends(SAFETY)) -> Response:
    """Define a site course (or the site's version of a pack course)."""
    return _doc(_field(request).training.add_course(actor, **body.model_dump()), 201)


@router.post("/training/records", tags=["training"], status_code=201)
def record_training(request: Request, body: F.TrainingIn, actor: Actor = Depends(SAFETY)) -> Response:
    """Record an attendance and exam score (0-100); passed and expiry follow from the course."""
    return _doc(_field(request).training.record_training(actor, **body.model_dump()), 201)


@router.get("/training/people/{person_id}", tags=["training"])
def person_training(request: Request, person_id: str, actor: Actor = Depends(ANY)) -> JSONResponse:
    """A person's training records and three-level induction; others' need a staff role."""
    if person_id != actor.user_id and not actor.has("operator", "safety_engineer", "manager"):
        raise HTTPException(403, "only staff may read other people's training")
    f = _field(request)
    now = svc(request).clock()
    return JSONResponse({"person": person_id, "induction": f.training.induction(person_id, now),
                         "records": [r.model_dump(mode="json") for r in f.training.records(person_id)]})


# ------------------------------------------------------------------ contractors

@router.post("/contractors", tags=["contractors"], status_code=201)
def register_contractor(request: Request, body: F.ContractorIn, actor: Actor = Depends(SAFETY)) -> Response:
    """A new contractor company with its qualifications (licences and their expiry)."""
    b = body.model_dump()
    return _doc(_field(request).contractors.register_contractor(actor, **b), 201)


@router.get("/contractors", tags=["contractors"], dependencies=[Depends(STAFF)])
def list_contractors(request: Request) -> Response:
    """Every contractor company."""
    return _docs(_field(request).contractors.list_contractors())


@router.post("/contractors/{contractor_id}/qualifications", tags=["contractors"])
def add_qualification(request: Request, contractor_id: str, body: F.QualificationIn,
                      actor: Actor = Depends(SAFETY)) -> Response:
    return _doc(_field(request).contractors.add_qualification(actor, contractor_id, **body.model_dump()))


@router.post("/contractors/{contractor_id}/evaluations", tags=["contractors"])
def evaluate_contractor(request: Request, contractor_id: str, body: F.EvaluationIn,
                        actor: Actor = Depends(SAFETY)) -> Response:
    """A performance evaluation; below the pack's threshold the company is blacklisted."""
    return _doc(_field(request).contractors.evaluate(actor, contractor_id, **body.model_dump()))


@router.post("/contractors/{contractor_id}/blacklist", tags=["contractors"])
def blacklist_contractor(request: Request, contractor_id: str, body: F.BlacklistIn,
                         actor: Actor = Depends(SAFETY)) -> Response:
    return _doc(_field(request).contractors.set_blacklist(actor, contractor_id, **body.model_dump()))


@router.get("/contractors/clearance/{person_id}", tags=["contractors"], dependencies=[Depends(STAFF)])
def clearance(request: Request, person_id: str, area_id: str | None = Query(None, max_length=64)) -> JSONResponse:
    """Why a contractor's person may not work (or enter ``area_id``) now; empty ``problems`` when cleared."""
    f = _field(request)
    p = f.people.person(person_id)
    problems = f.contractors.problems(p, svc(request).clock(), area_id=area_id,
                                      permit_areas=f.entry._permit_areas(p.id) if area_id else ())
    return JSONResponse({"person": person_id, "cleared": not problems, "problems": problems})


# ------------------------------------------------------------------ inspections

@router.post("/inspections/checkpoints", tags=["inspections"], status_code=201)
def add_checkpoint(request: Request, body: F.CheckpointIn, actor: Actor = Depends(SAFETY)) -> Response:
    """A checkpoint at plant equipment, a sensor or an area; ``code`` is what its QR label / NFC tag holds."""
    return _doc(_field(request).inspections.add_checkpoint(actor, **body.model_dump()), 201)


@router.get("/inspections/checkpoints", tags=["inspections"], dependencies=[Depends(STAFF)])
def list_checkpoints(request: Request) -> Response:
    return _docs(_field(request).inspections.checkpoints())


@router.post("/inspections/routes", tags=["inspections"], status_code=201)
def add_route(request: Request, body: F.RouteIn, actor: Actor = Depends(SAFETY)) -> Response:
    """A route of checkpoints walked every ``interval_h`` hours (rounds are generated by the due jobs)."""
    return _doc(_field(request).inspections.add_route(actor, **body.model_dump()), 201)


@router.get("/inspections/routes", tags=["inspections"], dependencies=[Depends(STAFF)])
def list_routes(request: Request) -> Response:
    return _docs(_field(request).inspections.routes())


@router.get("/inspections/rounds", tags=["inspections"], dependencies=[Depends(STAFF)])
def list_rounds(request: Request, state: str | None = Query(None, max_length=32),
                limit: int = Query(100, ge=1, le=1000)) -> Response:
    """Rounds, newest change first (with scans, RTLS evidence and flags)."""
    return _docs(_field(request).inspections.rounds(state, limit))


@router.get("/inspections/rounds/{round_id}", tags=["inspections"], dependencies=[Depends(ANY)])
def get_round(request: Request, round_id: str) -> Response:
    return Response(svc(request).record_json("inspection_round", round_id), media_type="application/json")


RoundAction = Literal["start", "complete"]


@router.post("/inspections/rounds/{round_id}/" + action_segment("round_action", RoundAction), tags=["inspections"])
def round_action(request: Request, round_id: str, action: RoundAction, actor: Actor = Depends(ANY)) -> Response:
    """``start`` or ``complete`` a round (the inspector: the route's role or its assignee)."""
    f = _field(request).inspections
    if action == "start":
        return _doc(f.start_round(actor, round_id))
    return _doc(f.complete_round(actor, round_id))


# ------------------------------------------------------------------ equipment due dates

@router.post("/equipment", tags=["equipment"], status_code=201)
def register_equipment(request: Request, body: F.EquipmentIn, actor: Actor = Depends(SAFETY)) -> Response:
    """Register a pressure vessel, safety valve, pressure gauge or gas detector with its due activities."""
    return _doc(_field(request).equipment.register(actor, **body.model_dump()), 201)


@router.get("/equipment", tags=["equipment"], dependencies=[Depends(STAFF)])
def list_equipment(request: Request, kind: str | None = Query(None, max_length=64)) -> Response:
    return _docs(_field(request).equipment.items(kind))


@router.post("/equipment/{item_id}/done", tags=["equipment"])
def equipment_done(request: Request, item_id: str, body: F.DoneIn, actor: Actor = Depends(RECORDERS)) -> Response:
    """Record an inspection or calibration done; the next due date follows (and the twin learns it)."""
    return _doc(_field(request).equipment.record_done(actor, item_id, **body.model_dump()))


@router.get("/state/sensor-health", tags=["equipment"], dependencies=[Depends(ANY)])
def sensor_health(request: Request) -> JSONResponse:
    """Each detector's health now: ok, saturated, fault, stale, silent or suspect (calibration overdue); and whether it votes."""
    state = request.app.state.twin
    now = svc(request).clock().timestamp()
    return JSONResponse({sid: {"status": h.status, "reason": h.reason, "votes": h.votes,
                               "calibration_due": state.calibration_due(sid)}
                         for sid, h in assess_sensors(state, now).items()})


@router.get("/kpi/field", tags=["kpi"], dependencies=[Depends(KPI_READERS)])
def field_kpis(request: Request, days: int = Query(30, ge=1, le=3660)) -> JSONResponse:
    """Inspection, training, contractor and equipment KPIs over the last ``days`` days (with drill-down rows)."""
    s = svc(request)
    now = s.clock()
    end = now + timedelta(microseconds=1)
    return JSONResponse(s.field.kpis(end - timedelta(days=days), end, now))


# ------------------------------------------------------------------ phone routes

#: the answers of a phone capture besides its refusals
CAPTURED: dict[int | str, dict[str, Any]] = {
    201: {"description": "applied: `{status: applied, kind, id}`"},
    200: {"description": "already applied under this `client_key`: `{status: duplicate, kind, id}`"}}


def _outcome(o: Any) -> JSONResponse:
    code = {"applied": 201, "duplicate": 200}.get(o.status, o.http_status)
    return JSONResponse(o.to_dict(), status_code=code)


@router.post("/field/photos", tags=["field"], status_code=201,
             responses={200: {"description": "the same photo was stored before (its id)"}})
async def upload_photo(request: Request, actor: Actor = Depends(ANY)) -> JSONResponse:
    """Upload one photo as the raw request body (JPEG, PNG or WebP, judged by its bytes; ``X-Filename``
    optional). Refusals: 413 too large, 415 wrong type, 422 malformed — counted by reason."""
    store = _field(request).photos
    if store is None:
        raise HTTPException(503, "photo storage is not configured on this server (WorkflowService photo_dir)")
    filename = request.headers.get("x-filename")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > store.max_bytes:          # stop reading: never hold an oversized body in memory
            exc = store.refuse_oversized(size, uploader=actor.user_id, filename=filename)
            return JSONResponse({"detail": str(exc), "code": exc.code}, status_code=exc.status)
        chunks.append(chunk)
    ref = store.put(b"".join(chunks), uploader=actor.user_id, filename=filename)
    return JSONResponse({"id": ref.id, "media_type": ref.media_type, "size_bytes": ref.size_bytes,
                         "width": ref.width, "height": ref.height, "duplicate": ref.duplicate},
                        status_code=200 if ref.duplicate else 201)


@router.get("/field/photos/{photo_id}", tags=["field"], dependencies=[Depends(ANY)])
def get_photo(request: Request, photo_id: str) -> FileResponse:
    """A stored photo (content-addressed id ``sha256:<hex>``)."""
    store = _field(request).photos
    found = store.find(photo_id) if store is not None else None
    if found is None:
        raise HTTPException(404, f"no photo {photo_id!r}")
    path, media = found
    return FileResponse(path, media_type=media, headers={"Cache-Control": "private, max-age=31536000, immutable"})


@router.get("/field/photo-stats", tags=["field"], dependencies=[Depends(SAFETY)])
def photo_stats(request: Request) -> dict:
    """Uploads accepted, duplicates, and refusals by reason since the server started."""
    store = _field(request).photos
    return {"counts": dict(store.counts) if store is not None else {},
            "max_bytes": store.max_bytes if store is not None else None}


@router.post("/field/hazards", tags=["field"], responses=CAPTURED)
def field_hazard(request: Request, body: F.FieldHazardIn, actor: Actor = Depends(ANY)) -> JSONResponse:
    """Report a hazard (隐患) from a phone, with uploaded photos; applied once per ``client_key``."""
    s = svc(request)
    f = s.field
    hid = "HZ-" + hashlib.sha256(f"{s.site_id}|{actor.user_id}|{body.client_key}".encode()).hexdigest()[:12].upper()

    def apply() -> tuple[str, str]:
        if s.repo.version("hazard", hid) is None:
            if f.photos is not None:
                f.photos.check_ids(body.photos)
            elif body.photos:
                raise WorkflowError("photo storage is not configured on this server", "no_photo_store")
            s.hazards.report_hazard(actor, title=body.title, category=body.category, level=body.level, x=body.x,
                                    y=body.y, description=body.description, photos=body.photos, record_id=hid)
        return "hazard", hid

    return _outcome(f.captures.once(actor, body.client_key, "hazard", apply, captured_at=body.captured_at))


@router.get("/field/rounds", tags=["field"])
def my_rounds(request: Request, actor: Actor = Depends(ANY)) -> JSONResponse:
    """The open rounds the user may walk, with each checkpoint's name and checklist (not its code)."""
    f = _field(request)
    cps = {c.id: c for c in f.inspections.checkpoints()}
    out = []
    for r in f.inspections.rounds_for(actor):
        scanned = {sc.checkpoint_id for sc in r.scans}
        points = []
        for cid in r.checkpoint_ids:
            c = cps.get(cid)
            if c is None:
                continue
            points.append({"id": c.id, "name": c.name, "scanned": cid in scanned, "x": c.x, "y": c.y,
                           "checklist": [i.model_dump() for i in f.pack.checklist(c.checklist)]})
        out.append({"id": r.id, "route": r.route_name, "state": r.state, "due_at": r.due_at.isoformat(),
                    "deadline": r.deadline.isoformat(), "checkpoints": points})
    return JSONResponse(out)


@router.post("/field/rounds/{round_id}/scans", tags=["field"], responses=CAPTURED)
def field_scan(request: Request, round_id: str, body: F.ScanIn, actor: Actor = Depends(ANY)) -> JSONResponse:
    """A checkpoint scanned on a round (QR, NFC or the code typed), with the checklist answers and photos."""
    f = _field(request)

    def apply() -> tuple[str, str]:
        if f.photos is not None:
            f.photos.check_ids(body.photos)
        f.inspections.scan(actor, round_id, code=body.code, client_key=body.client_key, scanned_at=body.scanned_at,
                           method=body.method, answers=[a.model_dump() for a in body.answers], photos=body.photos)
        return "inspection_round", round_id

    return _outcome(f.captures.once(actor, body.client_key, "scan", apply, captured_at=body.scanned_at,
                                    target_id=round_id))


@router.get("/field/permits", tags=["field"])
def my_permits(request: Request, actor: Actor = Depends(ANY)) -> JSONResponse:
    """Live permits the user is named on, or whose next approval step their role may sign."""
    out = []
    for p in svc(request).repo.list("permit", Permit, state=["submitted", "approved", "active", "suspended"], limit=1000):
        step = p.chain[len(p.approvals)] if p.state == "submitted" and len(p.approvals) < len(p.chain) else None
        named = actor.user_id in (p.holder, p.guardian, p.applicant, *p.workers)
        if named or (step and actor.has(step)):
            out.append({"id": p.id, "title": p.title, "type": p.type, "level": p.level, "state": p.state,
                        "next_step": step, "holder": p.holder, "guardian": p.guardian,
                        "gas_tests": len(p.gas_tests), "valid_until": p.valid_until.isoformat() if p.valid_until else None})
    return JSONResponse(out)


@router.post("/field/permits/{permit_id}/gas-tests", tags=["field"], responses=CAPTURED)
def field_gas_test(request: Request, permit_id: str, body: F.FieldGasTestIn, actor: Actor = Depends(ANY)) -> JSONResponse:
    """A portable gas test entered on the phone (judged by the rule pack); applied once per ``client_key``."""
    s = svc(request)

    def apply() -> tuple[str, str]:
        p = s.permit(permit_id)
        same = [t for t in p.gas_tests if t.analyst == actor.user_id and t.sampled_at == body.sampled_at
                and t.gas == body.gas and t.value == body.value]
        if not same:                       # a take-over after a crash finds its own test already there
            s.add_gas_test(actor, permit_id, gas=body.gas, value=body.value, unit=body.unit,
                           sampled_at=body.sampled_at, instrument_id=body.instrument_id)
        return "permit", permit_id

    return _outcome(s.field.captures.once(actor, body.client_key, "gas_test", apply, captured_at=body.sampled_at,
                                          target_id=permit_id))


@router.post("/field/permits/{permit_id}/sign", tags=["field"], responses=CAPTURED)
def field_sign(request: Request, permit_id: str, body: F.SignIn, actor: Actor = Depends(ANY)) -> JSONResponse:
    """Sign a permit step on the phone: ``approve`` the current approval step, ``start`` or ``complete``
    the work (the rules check role, segregation of duties, gas tests); applied once per ``client_key``.
    A drawn signature is an uploaded photo named in the step's note."""
    s = svc(request)

    def apply() -> tuple[str, str]:
        if body.signature is not None and s.field.photos is not None:
            s.field.photos.check_ids([body.signature])
        p = s.permit(permit_id)
        if body.action == "approve" and any(a.approver == actor.user_id for a in p.approvals):
            return "permit", permit_id     # a take-over after a crash: this signature is already on
        signed = f"signed on a phone at {(body.captured_at or s.clock()).isoformat()}"
        if body.signature:
            signed += f", signature {body.signature}"
        note = f"{body.note} ({signed})" if body.note else signed
        s.permit_action(actor, permit_id, body.action, note=note)
        return "permit", permit_id

    return _outcome(s.field.captures.once(actor, body.client_key, f"sign:{body.action}", apply,
                                          captured_at=body.captured_at, target_id=permit_id))


@router.get("/field/captures", tags=["field"])
def my_captures(request: Request, actor: Actor = Depends(ANY), limit: int = Query(100, ge=1, le=1000)) -> Response:
    """The user's own captures and what became of each (applied, refused with the reason)."""
    return _docs(_field(request).captures.captures(actor, limit))
