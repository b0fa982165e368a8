"""Routes that oversee the workflows: the KPI cockpit, the scheduled jobs, the audit trail.

Each route names the roles it admits (admin always); the work is done by the workflow service
(:class:`~safetwin.twin.workflows.service.WorkflowService`: ``kpis``, ``run_due_jobs``, ``audit``).
"""
from __future__ import annotations

import tempfile
from datetime import timedelta

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.background import BackgroundTask

from .auth import require_roles
from .workflow_routes import svc

KPI_READERS = require_roles("manager", "safety_engineer", "planner")
AUDITORS = require_roles("safety_engineer", "manager")
JOB_RUNNERS = require_roles("safety_engineer", "manager")

router = APIRouter()


@router.get("/kpi", tags=["kpi"], dependencies=[Depends(KPI_READERS)])
def kpi(request: Request, days: int = Query(30, ge=1, le=3660)) -> dict:
    """Cockpit KPIs over the last ``days`` days (definitions in :mod:`safetwin.twin.workflows.kpi`)."""
    s = svc(request)
    now = s.clock()
    end = now + timedelta(microseconds=1)   # the half-open period [start, end) includes the present instant
    return JSONResponse(s.kpis(end - timedelta(days=days), end, now))


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
