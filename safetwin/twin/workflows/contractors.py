"""Contractors (承包商) as plain rules: a company's standing, a person's clearance for permits and
for entering restricted areas.

A contractor's person may be named on a permit, or enter a restricted area, only when

1. the company is not blacklisted and holds every required qualification unexpired;
2. the person holds the three-level induction (:mod:`.training`);
3. (areas only) an entry permission covers the area now, or a live permit naming them covers it.

Every refusal is a sentence that says which condition failed.

Example::

    >>> from datetime import datetime, timezone
    >>> from .field_domain import Contractor, Qualification
    >>> t = datetime(2025, 6, 1, tzinfo=timezone.utc)
    >>> c = Contractor(id="CO-1", site_id="s", state="active", created_at=t, created_by="sue", name="Acme",
    ...                qualifications=[Qualification(type="safety_production_license", number="L1",
    ...                                              expires_at=t.replace(year=2024), verified_by="sue")])
    >>> company_problems(c, ["safety_production_license", "business_license"], t)
    ['Acme: safety_production_license L1 expired on 2024-06-01', 'Acme: no business_license on file']
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from .field_domain import Contractor, Person


def company_problems(c: Contractor, required: Sequence[str], at: datetime) -> list[str]:
    """Why the company may not work at ``at`` (blacklisted, missing or expired qualifications)."""
    out = []
    if c.blacklisted:
        out.append(f"{c.name}: blacklisted" + (f" ({c.blacklist_reason})" if c.blacklist_reason else ""))
    for q in required:
        held = [x for x in c.qualifications if x.type == q]
        if not held:
            out.append(f"{c.name}: no {q} on file")
        elif all(at >= x.expires_at for x in held):
            newest = max(held, key=lambda x: x.expires_at)
            out.append(f"{c.name}: {q} {newest.number} expired on {newest.expires_at.date()}")
    return out


def evaluation_score(c: Contractor) -> float | None:
    """The newest evaluation's score (0-100), or None."""
    return max(c.evaluations, key=lambda e: e.at).score if c.evaluations else None


def entry_permitted(p: Person, area_id: str, at: datetime, permit_areas: Iterable[str] = ()) -> bool:
    """True when an entry permission of ``p`` covers ``area_id`` at ``at``, or a live permit naming
    them covers it (``permit_areas``)."""
    if area_id in set(permit_areas):
        return True
    return any(area_id in e.area_ids and e.valid_from <= at < e.valid_until for e in p.entry)
