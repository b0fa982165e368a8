"""Routes that oversee the workflows: the KPI cockpit, the scheduled jobs, the audit trail, the
notification delivery log.

Each route names the roles it admits (admin always); the work is done by the workflow service
(:class:`~safetwin.twin.workflows.service.WorkflowService`: ``kpis``, ``run_due_jobs``, ``audit``).
"""
from __future__ import annotations

import tempfile

from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.background import BackgroundTask

from .auth import require_roles
from .workflow_routes import svc

KPI_READERS = require_roles("manager", "safety_engineer", "planner")
AUDITORS = require_roles("safety_engineer", "manager")
JOB_RUNNERS = require_roles("safety_engineer", "manager")
DELIVERY_READERS = require_roles("safety_engineer", "manager")
ADMIN = require_roles("admin")

router = APIRouter()


@router.get("/kpi", tags=["kpi"], dependencies=[Depends(KPI_READERS)])
def kpi(request: Request, days: int = Query(30, ge=1, le=3660)) -> dict:
    """Cockpit KPIs over the last ``days`` days (definitions in :mod:`safetwin.twin.workflows.kpi`),
    computed at most ``SAFETWIN_KPI_MAX_AGE_S`` (default 5 s) before the answer; ``as_of`` says when."""
    return JSONResponse(svc(request).kpi.recent(days))


@router.post("/jobs/run-due", tags=["jobs"], dependencies=[Depends(JOB_RUNNERS)])
def run_due_jobs(request: Request) -> dict:
    """Run the scheduled jobs now (expiry, certificate reminders, hazard escalation, audit trail check);
    what changed."""
    r = svc(request).run_due_jobs()
    return {"at": r.at.isoformat(), "expired_permits": r.expired_permits,
            "certificate_reminders": [{"certificate": c, "days": d} for c, d in r.certificate_reminders],
            "escalated_hazards": [{"hazard": h, "layer": lv} for h, lv in r.escalated_hazards],
            "audit": None if r.audit is None else r.audit.as_dict()}


@router.get("/audit/verify", tags=["audit"], dependencies=[Depends(AUDITORS)])
def audit_verify(request: Request) -> dict:
    """Verify the keyed audit trail now: every link, every stored record and user, the signed
    checkpoints; lists any tampering found (``ok`` false)."""
    return svc(request).audit.verify().as_dict()


@router.get("/audit/status", tags=["audit"], dependencies=[Depends(AUDITORS)])
def audit_status(request: Request) -> dict:
    """The last scheduled check of the audit trail (null before the first) and the newest checkpoint."""
    a = svc(request).audit
    anchors, _ = a.checkpoints()
    newest = anchors[-1] if anchors else None
    return {"last_pass": None if a.last_pass is None else a.last_pass.as_dict(), "key_id": a.chain.key.key_id,
            "checkpoint": None if newest is None else {"seq": newest.seq, "rows": newest.rows, "time": newest.time,
                                                       "head_hash": newest.head_hash}}


@router.get("/audit/export", tags=["audit"], dependencies=[Depends(AUDITORS)],
            response_class=StreamingResponse,
            responses={200: {"content": {"application/zip": {}}, "description": "the evidence zip"}})
def audit_export(request: Request) -> StreamingResponse:
    """The audit trail's evidence as a zip: links, rows, checkpoints, a verification report and a
    signed manifest (:mod:`safetwin.twin.workflows.audit_export`)."""
    s = svc(request)
    spool = tempfile.SpooledTemporaryFile(max_size=16 * 2**20)
    manifest = s.audit.export(spool)
    spool.seek(0)
    name = f"safetwin-audit-{s.site_id}-{manifest['head_seq']}.zip"
    return StreamingResponse(spool, media_type="application/zip", background=BackgroundTask(spool.close),
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _outbox(request: Request):
    """The notifier's delivery log, None when this server delivers directly (no outside channels)."""
    return getattr(svc(request).notifier, "outbox", None)


@router.get("/notifications/deliveries", tags=["notifications"], dependencies=[Depends(DELIVERY_READERS)])
def list_deliveries(request: Request, state: Literal["queued", "delivered", "dead"] | None = None,
                    channel: str | None = Query(None, max_length=64), subject: str | None = Query(None, max_length=200),
                    limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=10**9)) -> list[dict]:
    """The delivery log, newest first: one row per notification and channel with its state
    (queued, delivered, dead = dead letter), attempts, next attempt and last error."""
    outbox = _outbox(request)
    if outbox is None:
        return []
    return outbox.list(state=state, channel=channel, subject=subject, limit=limit, offset=offset)


@router.get("/notifications/summary", tags=["notifications"], dependencies=[Depends(DELIVERY_READERS)])
def delivery_summary(request: Request) -> dict:
    """Deliveries per channel and state, and the channels this server notifies through."""
    notifier = svc(request).notifier
    outbox = _outbox(request)
    return {"channels": [getattr(c, "name", type(c).__name__) for c in notifier.channels],
            "deliveries": outbox.counts() if outbox is not None else {}}


@router.post("/notifications/deliveries/{delivery_id}/requeue", tags=["notifications"], dependencies=[Depends(ADMIN)])
def requeue_delivery(request: Request, delivery_id: int) -> dict:
    """Put a dead letter back in the queue with fresh attempts (409 when it is not a dead letter)."""
    outbox = _outbox(request)
    if outbox is None or not outbox.requeue(delivery_id):
        raise HTTPException(409, f"delivery {delivery_id} is not a dead letter")
    return {"requeued": delivery_id}
