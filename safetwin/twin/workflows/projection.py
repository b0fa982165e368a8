"""Projection columns of ``wf_records``: the fields lists, repeat checks and scheduled jobs filter on.

Each record is stored as a JSON document; the few fields that queries need are copied into
columns when the record is saved, so a list or a due-job scan is one indexed SQL query that
never parses or re-validates the stored documents.

>>> from datetime import datetime, timezone
>>> from safetwin.twin.workflows.domain import Certificate
>>> t = datetime(2025, 1, 1, tzinfo=timezone.utc)
>>> c = Certificate(id="C1", site_id="s", state="valid", created_at=t, created_by="sue", person_id="bob",
...                 type="hot_work", number="N1", issued_at=t, expires_at=t)
>>> columns("certificate", c)["due_at"] == t, columns("certificate", c)["owner"]
(True, 'bob')
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

#: permit states in which ``valid_until`` matters (kept in step with ``permits.VALIDITY_STATES``)
_PERMIT_VALIDITY_STATES = frozenset({"approved", "active", "suspended"})
#: columns shown by the ``summary`` view of a list (no document is read)
SUMMARY_COLUMNS: tuple[str, ...] = ("kind", "id", "state", "subtype", "level", "owner", "title", "area_id",
                                    "version", "created_at", "updated_at", "due_at")


def _due(kind: str, rec: BaseModel) -> datetime | None:
    """The time a scheduled job must look at the record (UTC): validity end, deadline or expiry."""
    if kind == "permit":
        return getattr(rec, "valid_until", None) if getattr(rec, "state", "") in _PERMIT_VALIDITY_STATES else None
    if kind == "hazard":
        return getattr(rec, "deadline", None)
    if kind == "certificate":
        return getattr(rec, "expires_at", None)
    return getattr(rec, "projection_due", None)   # records that define it (field records, :mod:`.field_domain`)


def columns(kind: str, rec: BaseModel) -> dict[str, Any]:
    """Promoted column values of ``rec`` of ``kind`` (defaults; a caller's explicit values win).

    ``subtype`` is the permit type / hazard category / certificate type / alarm source;
    ``owner`` the permit holder / hazard rectifier / certificate holder; positions in local metres.
    """
    get = lambda name: getattr(rec, name, None)  # noqa: E731
    subtype = {"permit": "type", "hazard": "category", "certificate": "type", "alarm_case": "source_id"}.get(kind)
    owner = {"permit": "holder", "hazard": "rectifier", "certificate": "person_id"}.get(kind)
    title = get("title") or get("name") or get("number") or get("message")
    area = get("area_id")
    if area is None and kind == "permit" and get("area_ids"):
        area = get("area_ids")[0]
    return {
        "subtype": get(subtype) if subtype else None,
        "level": get("level"),
        "owner": get(owner) if owner else None,
        "created_at": get("created_at"),
        "title": None if title is None else str(title)[:200],
        "area_id": area,
        "x_m": get("x") if kind == "hazard" else None,
        "y_m": get("y") if kind == "hazard" else None,
        "due_at": _due(kind, rec),
    }
