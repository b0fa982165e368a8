"""Restricted-area entry watch: a contractor's tag entering a restricted area without clearance
raises an alarm in the live twin.

Restricted areas are the plant areas whose kind is in the field pack's
``contractors.restricted_area_kinds``. On each ``PersonEnteredArea`` of the twin whose person is
a contractor's (by tag, :meth:`PersonService.by_track_id`), a worker thread checks the person's
clearance (:meth:`ContractorService.problems`: company standing, induction, an entry permission
or a live permit naming them that covers the area). Not cleared → the twin raises
``ENTRY-<person>-<area>`` at the pack's ``entry_alarm_level`` with the reasons (the workflows open
an alarm case for it like for any alarm) and the operators and the company contact are notified;
leaving the area clears it. The due-job pass checks again who is inside (a permission may lapse
while they are there). The bus handler only filters and queues, so the twin's publisher is never
held up by database reads.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from safetwin.background import EventQueue

from ..domain import Permit
from ..field_domain import Person
from ..fieldpack import FieldPack
from ..notify import Notification
from .context import RecordService, WorkflowContext
from .contractors import ContractorService
from .people import PersonService

log = logging.getLogger("safetwin.workflows")
LIVE_PERMIT_STATES = ("approved", "active", "suspended")


def entry_alarm_id(person_id: str, area_id: str) -> str:
    """The twin alarm id of a person's unauthorised entry into an area."""
    return f"ENTRY-{person_id}-{area_id}"


class EntryWatch(RecordService):
    """Contractors entering restricted areas → alarms (see the module docstring)."""

    def __init__(self, ctx: WorkflowContext, field_pack: FieldPack, people: PersonService,
                 contractors: ContractorService) -> None:
        super().__init__(ctx)
        self.field_pack = field_pack
        self.people = people
        self.contractors = contractors
        kinds = set(field_pack.contractors.restricted_area_kinds)
        self.restricted = frozenset(aid for aid, a in self.plant.areas.items() if a.kind in kinds)
        self._events = EventQueue("workflow-entry-watch", self._handle, logger=log)
        self._unsubscribe: list[Callable[[], None]] = []
        self.raised: list[str] = []

    def attach(self, state: Any) -> None:
        """Watch ``state``'s area changes; check who is already inside a restricted area."""
        from safetwin.twin.events import PersonEnteredArea, PersonLeftArea

        self._unsubscribe += [state.bus.subscribe(PersonEnteredArea, self._on_area_event),
                              state.bus.subscribe(PersonLeftArea, self._on_area_event)]
        self._events.start()
        self._events.put("sweep")

    def close(self) -> None:
        """Stop watching."""
        for u in self._unsubscribe:
            u()
        self._unsubscribe.clear()
        self._events.stop()

    def drain(self, timeout_s: float = 60.0) -> bool:
        """Wait until the events queued so far are handled (tests); False when ``timeout_s`` (s)
        passed first."""
        return self._events.drain(timeout_s)

    def _on_area_event(self, ev: Any) -> None:
        if ev.area_id in self.restricted:            # cheap filter on the publisher's thread
            self._events.put(ev)

    def _handle(self, ev: Any) -> None:
        from safetwin.twin.events import PersonEnteredArea

        if ev == "sweep":
            self.sweep()
        elif isinstance(ev, PersonEnteredArea):
            self.on_entered(ev.person_id, ev.area_id, ev.ts)
        else:
            self.on_left(ev.person_id, ev.area_id, ev.ts)

    def _contractor(self, track_id: str) -> Person | None:
        p = self.people.by_track_id(track_id)
        return p if p is not None and p.employer != "own" else None

    def _permit_areas(self, person_id: str) -> set[str]:
        live = self.repo.list("permit", Permit, state=list(LIVE_PERMIT_STATES), limit=100000)
        return {a for p in live if person_id in (p.holder, p.guardian, *p.workers) for a in p.area_ids}

    def on_entered(self, track_id: str, area_id: str, ts: float) -> str | None:
        """Check a person who entered ``area_id`` at ``ts`` (s); the alarm id raised, or None when cleared."""
        p = self._contractor(track_id)
        if p is None or area_id not in self.restricted or self.state is None:
            return None
        at = datetime.fromtimestamp(ts, timezone.utc)
        problems = self.contractors.problems(p, at, area_id=area_id, permit_areas=self._permit_areas(p.id))
        if not problems:
            return None
        alarm = entry_alarm_id(p.id, area_id)
        area = self.plant.areas[area_id]
        text = (f"contractor {p.name} ({p.id}, {p.employer}) entered restricted area {area.name or area_id}: "
                + "; ".join(problems))
        if alarm not in {a.alarm_id for a in self.state.active_alarms()}:
            self.state.raise_alarm(alarm, track_id, self.field_pack.contractors.entry_alarm_level, ts, text)
            self.raised.append(alarm)
            company = self.contractors.contractor(p.employer) if p.employer != "own" else None
            who = ("role:operator", "role:safety_engineer", *((company.contact,) if company and company.contact else ()))
            self.notifier.send(Notification(who, f"people/{p.id}", "restricted_entry", text, self.site_id,
                                            {"person": p.id, "area": area_id, "problems": problems}))
        return alarm

    def on_left(self, track_id: str, area_id: str, ts: float) -> None:
        """A person left ``area_id``: clear their entry alarm for it."""
        p = self._contractor(track_id)
        if p is not None and self.state is not None:
            self.state.clear_alarm(entry_alarm_id(p.id, area_id), ts)

    def sweep(self, now: datetime | None = None) -> list[str]:
        """Check every contractor now inside a restricted area (on attach and each due-job pass)."""
        if self.state is None or not self.restricted:
            return []
        people = self.state.people()
        ts = (now or self.clock()).timestamp()
        out = []
        for pid, area in zip(people["id"], people["area"]):
            if area in self.restricted and self._contractor(str(pid)) is not None:
                alarm = self.on_entered(str(pid), str(area), ts)
                if alarm:
                    out.append(alarm)
        return out
