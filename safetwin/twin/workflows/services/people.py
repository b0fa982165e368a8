"""The person register: employees and contractors' people, their RTLS tags and entry permissions.

A person's ``id`` is the id permits, certificates and training records use; ``rtls_id`` the twin's
person id of their tag (default: ``id``). :meth:`PersonService.by_track_id` answers "who is this
tag?" from a cache that is rebuilt after each change here and at least every
:data:`CACHE_S` seconds (another server process may have changed the register).
"""
from __future__ import annotations

import threading
import time
from datetime import datetime

from ..errors import AlreadyExists, GuardFailed, NotFound
from ..field_domain import Contractor, EntryPermission, Person
from ..roles import Actor
from .context import RecordService, WorkflowContext

CACHE_S = 30.0
REGISTRARS = ("safety_engineer", "manager")


class PersonService(RecordService):
    """People of one site (see the module docstring)."""

    def __init__(self, ctx: WorkflowContext) -> None:
        super().__init__(ctx)
        self._cache: tuple[float, dict[str, Person]] | None = None
        self._cache_lock = threading.Lock()

    def register_person(self, actor: Actor, *, id: str, name: str, employer: str = "own", job: str = "",
                        rtls_id: str | None = None, tag_ids: list[str] | None = None,
                        started_at: datetime | None = None) -> Person:
        """Add a person to the register (safety engineer or manager); ``employer`` a contractor's id or ``own``."""
        actor.require(*REGISTRARS, action="register a person")
        if employer != "own":
            self.repo.get("contractor", employer, Contractor)        # NotFound names the unknown company
        if self.repo.version("person", id) is not None:
            raise AlreadyExists(f"person {id!r} is already registered", "duplicate")
        p = Person(id=id, site_id=self.site_id, state="active", created_at=self.clock(), created_by=actor.user_id,
                   name=name, employer=employer, job=job, rtls_id=rtls_id, tag_ids=tag_ids or [], started_at=started_at)
        self.repo.save("person", p, actor=actor.user_id, action="register", expected_version=None,
                       subtype="employee" if employer == "own" else "contractor", owner=employer)
        self._forget()
        return p

    def person(self, person_id: str) -> Person:
        """One registered person; :class:`NotFound` when not registered."""
        return self.repo.get("person", person_id, Person)[0]

    def find(self, person_id: str) -> Person | None:
        """The registered person, or None."""
        try:
            return self.person(person_id)
        except NotFound:
            return None

    def list_people(self, employer: str | None = None) -> list[Person]:
        """Registered people, optionally of one employer (``own`` or a contractor id)."""
        return self.repo.list("person", Person, owner=employer, limit=100000)

    def grant_entry(self, actor: Actor, person_id: str, *, area_ids: list[str], valid_from: datetime,
                    valid_until: datetime, reason: str = "") -> Person:
        """Let a person enter restricted ``area_ids`` in [valid_from, valid_until) (safety engineer or manager)."""
        actor.require(*REGISTRARS, action="grant entry to restricted areas")
        unknown = sorted(set(area_ids) - set(self.plant.areas))
        if unknown:
            raise GuardFailed(f"unknown areas {unknown}", "bad_area")
        if valid_until <= valid_from:
            raise GuardFailed("an entry permission must end after it starts", "bad_dates")
        with self._locks.hold("person", person_id):
            p, ver = self.repo.get("person", person_id, Person)
            p.entry.append(EntryPermission(area_ids=area_ids, valid_from=valid_from, valid_until=valid_until,
                                           granted_by=actor.user_id, reason=reason))
            self.repo.save("person", p, actor=actor.user_id, action="grant_entry", expected_version=ver,
                           subtype="employee" if p.employer == "own" else "contractor", owner=p.employer)
        self._forget()
        return p

    # ------------------------------------------------------------------ tag look-up

    def _forget(self) -> None:
        with self._cache_lock:
            self._cache = None

    def by_track(self) -> dict[str, Person]:
        """Registered people by their RTLS person id (cached, see the module docstring)."""
        with self._cache_lock:
            cached = self._cache
            if cached is not None and time.monotonic() - cached[0] < CACHE_S:
                return cached[1]
        people = {p.track_id: p for p in self.list_people()}
        with self._cache_lock:
            self._cache = (time.monotonic(), people)
        return people

    def by_track_id(self, track_id: str) -> Person | None:
        """The registered person wearing the tag the twin knows as ``track_id``, or None."""
        return self.by_track().get(track_id)
