"""User accounts managed by an administrator: create, re-role, deactivate, reset, delete.

Each change goes to the user table (:class:`~safetwin.twin.workflows.users.Users`, which ends the
user's sessions where it must, and names who made the change). Nothing is left
waiting on a person who can no longer act: deactivating a user answers with the open records
still assigned to them (to reassign), and a user who still holds any cannot be deleted. The last
active administrator cannot be removed, deactivated or demoted.

Locks after failed logins (:mod:`safetwin.twin.api.login_throttle`) are recorded here too.
"""
from __future__ import annotations

from typing import Any

from .. import simops
from ..domain import Hazard, LoginLock, Permit
from ..errors import InvalidTransition
from ..hazards import OPEN_STATES as OPEN_HAZARD_STATES
from ..roles import Actor
from .context import RecordService


class AccountService(RecordService):
    """User administration of one site (see the module docstring)."""

    def _keep_an_admin(self, user_id: str, *, losing_admin: bool) -> None:
        if not losing_admin:
            return
        others = [u for u in self.users.list() if u["active"] and "admin" in u["roles"] and u["id"] != user_id]
        if not others:
            raise InvalidTransition(f"{user_id} is the last active administrator; create another first",
                                    "last_admin")

    def create_user(self, actor: Actor, *, user_id: str, password: str, roles: list[str],
                    full_name: str = "") -> dict[str, Any]:
        """A new active user (administrators only)."""
        actor.require("admin", action="create users")
        self.users.create(user_id, password, roles, full_name, by=actor.user_id)
        return self.users.describe(user_id)

    def change_user(self, actor: Actor, user_id: str, *, roles: list[str] | None = None,
                    active: bool | None = None, full_name: str | None = None) -> dict[str, Any]:
        """Re-role, (de)activate or rename a user; the answer lists the open records of a deactivated
        user (``open_assignments``) so that they can be reassigned."""
        actor.require("admin", action="change users")
        before = self.users.describe(user_id)
        losing_admin = "admin" in before["roles"] and before["active"] and (
            (roles is not None and "admin" not in roles) or active is False)
        self._keep_an_admin(user_id, losing_admin=losing_admin)
        user = before
        if roles is not None:
            user = self.users.set_roles(user_id, roles, by=actor.user_id)
        if full_name is not None:
            user = self.users.set_full_name(user_id, full_name, by=actor.user_id)
        if active is not None and active != before["active"]:
            user = self.users.set_active(user_id, active, by=actor.user_id)
        out = dict(user)
        out["open_assignments"] = self.open_assignments(user_id) if not user["active"] else []
        return out

    def reset_password(self, actor: Actor, user_id: str, password: str) -> dict[str, Any]:
        """A new password set by an administrator; the user's earlier tokens stop working."""
        actor.require("admin", action="reset passwords")
        return self.users.reset_password(user_id, password, by=actor.user_id)

    def delete_user(self, actor: Actor, user_id: str) -> None:
        """Delete a user who holds no open record (deactivate and reassign first)."""
        actor.require("admin", action="delete users")
        before = self.users.describe(user_id)
        self._keep_an_admin(user_id, losing_admin="admin" in before["roles"] and before["active"])
        still = self.open_assignments(user_id)
        if still:
            raise InvalidTransition(f"user {user_id} still holds {len(still)} open record(s) "
                                    f"({', '.join(a['id'] for a in still[:5])}); reassign them first", "has_assignments")
        self.users.delete(user_id, by=actor.user_id)

    def open_assignments(self, user_id: str) -> list[dict[str, Any]]:
        """Open records waiting on ``user_id``: hazards they rectify, live permits they hold, guard or
        work on."""
        out = [{"kind": "hazard", "id": h.id, "role": "rectifier", "state": h.state}
               for h in self.repo.list("hazard", Hazard, state=list(OPEN_HAZARD_STATES), owner=user_id, limit=1000)]
        for p in self.repo.list("permit", Permit, state=list(simops.LIVE_STATES) + ["draft", "completed"],
                                limit=100000):
            for role, people in (("holder", [p.holder]), ("guardian", [p.guardian]), ("fire_watch", [p.fire_watch]),
                                 ("worker", p.workers)):
                if user_id in people:
                    out.append({"kind": "permit", "id": p.id, "role": role, "state": p.state})
                    break
        return out

    def record_login_lock(self, kind: str, key: str, seconds: float) -> None:
        """Record in the audit trail that an account or a client address was locked (failed logins)."""
        now = self.clock()
        lock = LoginLock(id=self.repo.new_id("LOCK"), site_id=self.site_id, state="locked", created_at=now,
                         created_by="system", kind=kind, key=key[:128], locked_for_s=seconds)  # type: ignore[arg-type]
        self.repo.save("login_lock", lock, actor="system", action=f"lock_{kind}", expected_version=None,
                       subtype=kind, owner=key[:128], now=now)
