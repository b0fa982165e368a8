"""Corrective actions: turn a drill evaluation's findings into tracked hazards (隐患) in the
WorkflowService, so they run the same closed loop (confirm → assign → rectify → verify → close),
with deadlines, escalation and the KPI figures.

The hazard rules accept the categories person / equipment / environment / management; a drill
finding is a management-system defect, so it is reported as ``management`` with the title prefixed
``[演练<severity>]`` and the drill id, finding id, capability element, owner and due date in the
description. Findings are 一般 (general) hazards: a drill deficiency is not a 重大事故隐患 by the
121号 criteria. With a ``rectifier`` the hazard is confirmed and assigned with the finding's due date.

Example (SQLite, in memory)::

    >>> from safetwin.plant_models.loader import load_plant, bundled_plant_path
    >>> from safetwin.twin.store import Store
    >>> from safetwin.twin.workflows.service import WorkflowService
    >>> from safetwin.twin.workflows.roles import Actor
    >>> store = Store.open("sqlite://")
    >>> svc = WorkflowService(store.engine, load_plant(bundled_plant_path("small_plant")))
    >>> ev = {"drill_id": "D-1", "findings": [{"id": "F1", "severity": "不足项", "text": "1 person missing",
    ...       "action": "fix roll-call", "capability_element": "organization", "owner": "wardens",
    ...       "due": "2030-01-31", "module_name": "evacuation", "capability": "Mass Care", "indicator": "x"}]}
    >>> out = create_corrective_actions(svc, Actor("eng", frozenset({"safety_engineer"})), ev)
    >>> svc.hazard(out[0]["hazard_id"]).category, out[0]["state"]
    ('management', 'reported')
    >>> store.close()
"""
from __future__ import annotations

from datetime import datetime, time, timezone
from typing import Any

__all__ = ["create_corrective_actions", "HAZARD_CATEGORY"]

HAZARD_CATEGORY = "management"


def create_corrective_actions(service: Any, actor: Any, evaluation: Any, *, severities: tuple[str, ...] = (
        "不足项", "整改项"), rectifier: str | None = None, x: float | None = None,
        y: float | None = None) -> list[dict[str, Any]]:
    """Report one hazard per finding of the given ``severities`` (default 不足项 and 整改项; 改进项 are
    optional) and, with ``rectifier``, confirm and assign it with the finding's due date. The place is
    (``x``, ``y``) or the finding's evidence (last seen position of a missing person) or the site's
    centre (m). Returns rows {finding, hazard_id, state, due}."""
    doc = evaluation.to_dict() if hasattr(evaluation, "to_dict") else evaluation
    c = service.plant.boundary.centroid
    out = []
    for f in doc["findings"]:
        if f["severity"] not in severities:
            continue
        missing = (f.get("evidence") or {}).get("missing") or []
        px = x if x is not None else (missing[0]["x_m"] if missing else c.x)
        py = y if y is not None else (missing[0]["y_m"] if missing else c.y)
        title = f"[演练{f['severity']}] {doc.get('drill_id') or doc.get('scenario') or ''} {f['id']}: {f['text']}"[:200]
        desc = (f"Drill finding {f['id']} ({f['severity']}) of drill {doc.get('drill_id') or '-'} "
                f"(scenario {doc.get('scenario') or '-'}), module {f.get('module_name', '')} / capability "
                f"{f.get('capability', '')}.\nFinding: {f['text']}\nCorrective action: {f['action']}\n"
                f"Capability element: {f['capability_element']}; owner: {f['owner']}; due: {f['due']}")
        h = service.report_hazard(actor, title=title, category=HAZARD_CATEGORY, level="general", x=float(px),
                                  y=float(py), description=desc)
        if rectifier is not None:
            deadline = datetime.combine(datetime.fromisoformat(f["due"]).date(), time(23, 59), tzinfo=timezone.utc)
            service.hazard_action(actor, h.id, "confirm")
            h = service.hazard_action(actor, h.id, "assign", rectifier=rectifier, deadline=deadline)
        out.append({"finding": f["id"], "severity": f["severity"], "hazard_id": h.id, "state": h.state,
                    "due": f["due"]})
    return out
