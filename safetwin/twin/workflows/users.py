"""Users: argon2-hashed passwords, roles, and sessions that end when the user's state changes.

No plaintext password is ever stored. Every login token carries the user's ``token_version``;
deactivating a user, resetting the password or deleting the user bumps (or removes) it, so a
token issued before is refused on the next request (:meth:`Users.current` is what the API checks
on every request: the user's *current* activity, roles and token version, never the roles
written in the token). Role changes act at once the same way, without ending the session.

:meth:`Users.current` keeps an in-process copy of each user's state: a change made through this
process replaces it at once; a change made by another server process on the same database is
seen after at most ``recheck_s`` seconds (0 = read the row on every request).

Every change of a user is a link of the keyed audit chain, written in the change's transaction
(:meth:`~.audit_chain.AuditChain.append_user`), so roles, activity and token versions are audited
like records.

>>> h = hash_password("correct horse")
>>> verify_password("correct horse", h), verify_password("wrong", h)
(True, False)
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

from pwdlib import PasswordHash
from sqlalchemy import Engine, bindparam, select
from sqlalchemy.orm import Session

from .audit import AuditKey
from .audit_chain import AuditChain
from .errors import AlreadyExists, GuardFailed, NotFound
from .models import UserRow
from .roles import ROLES, Actor

log = logging.getLogger("safetwin.workflows.users")
_hasher = PasswordHash.recommended()
#: a hash to verify against when the user does not exist, so timing does not reveal user names
_DUMMY = _hasher.hash("not-a-real-password")
MIN_PASSWORD_LEN = 8
_USERS = UserRow.__table__
_STATE = select(_USERS.c.active, _USERS.c.roles, _USERS.c.token_version).where(_USERS.c.id == bindparam("b_id"))


def hash_password(password: str) -> str:
    """The argon2 hash of ``password``."""
    return _hasher.hash(password)


def verify_password(password: str, hashed: str) -> bool:
    """True when ``password`` matches ``hashed``."""
    try:
        return _hasher.verify(password, hashed)
    except Exception:
        return False


@dataclass(frozen=True)
class UserState:
    """What a request needs to know about its user right now."""

    user_id: str
    roles: frozenset[str]
    active: bool
    token_version: int

    def actor(self) -> Actor:
        """The user as an :class:`Actor` with their current roles."""
        return Actor(self.user_id, self.roles)


def check_roles(roles: Iterable[str]) -> list[str]:
    """The roles sorted and de-duplicated; :class:`GuardFailed` ``bad_roles`` when empty or unknown."""
    out = sorted(set(roles))
    bad = [r for r in out if r not in ROLES]
    if bad or not out:
        raise GuardFailed(f"unknown or missing roles {bad or out}; known: {list(ROLES)}", "bad_roles")
    return out


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LEN:
        raise GuardFailed(f"password must have at least {MIN_PASSWORD_LEN} characters", "weak_password")


class Users:
    """The user table: create, authenticate, change, and the current state of each user."""

    def __init__(self, engine: Engine, hasher: PasswordHash | None = None, *, chain: AuditChain | None = None,
                 recheck_s: float = 1.0) -> None:
        """``hasher`` defaults to pwdlib's recommended argon2 settings (tests may pass cheaper ones);
        ``chain`` is the audit chain of the workflow records (a chain with a fresh key when None);
        ``recheck_s``: how old the in-process copy of a user's state may get (s)."""
        self.engine = engine
        self.hasher = hasher or _hasher
        self.chain = chain or AuditChain(engine, AuditKey.generate())
        self.recheck_s = recheck_s
        self._cache: dict[str, tuple[float, UserState | None]] = {}
        self._cache_lock = threading.Lock()

    # ------------------------------------------------------------------ reading
    def current(self, user_id: str) -> UserState | None:
        """The user's state now (None when no such user), from the in-process copy when it is fresh."""
        now = time.monotonic()
        hit = self._cache.get(user_id)
        if hit is not None and now - hit[0] <= self.recheck_s:
            return hit[1]
        with self.engine.connect() as conn:
            row = conn.execute(_STATE, {"b_id": user_id}).first()
        found = None if row is None else UserState(user_id, frozenset(row.roles), bool(row.active),
                                                   int(row.token_version or 0))
        with self._cache_lock:
            if len(self._cache) > 10_000:      # user ids come from signed tokens only; stay bounded anyway
                self._cache.clear()
            self._cache[user_id] = (now, found)
        return found

    def _forget(self, user_id: str) -> None:
        with self._cache_lock:
            self._cache.pop(user_id, None)

    def get(self, user_id: str) -> Actor:
        """The actor of an active user; :class:`NotFound` otherwise."""
        found = self.current(user_id)
        if found is None or not found.active:
            raise NotFound(f"no active user {user_id!r}", "not_found")
        return found.actor()

    def exists(self, user_id: str) -> bool:
        """True when a user of this id exists (active or not)."""
        return self.current(user_id) is not None

    def assignable(self, user_id: str, roles: Iterable[str], what: str) -> None:
        """Refuse (:class:`GuardFailed` ``bad_assignee``) to give ``what`` to anyone but an active user
        holding one of ``roles`` — so no record waits on a person who cannot act on it."""
        roles = tuple(roles)
        found = self.current(user_id)
        if found is None:
            raise GuardFailed(f"{what}: no user {user_id!r}", "bad_assignee")
        if not found.active:
            raise GuardFailed(f"{what}: user {user_id!r} is deactivated", "bad_assignee")
        if not found.actor().has(*roles):
            raise GuardFailed(f"{what}: user {user_id!r} (roles {sorted(found.roles)}) holds none of {list(roles)}",
                              "bad_assignee")

    def describe(self, user_id: str) -> dict:
        """One user (no hash); :class:`NotFound` when missing."""
        with Session(self.engine) as s:
            row = s.get(UserRow, user_id)
            if row is None:
                raise NotFound(f"no user {user_id!r}", "not_found")
            return self._public(row)

    @staticmethod
    def _public(r: UserRow) -> dict:
        return {"id": r.id, "full_name": r.full_name, "roles": list(r.roles), "active": bool(r.active),
                "created_at": r.created_at.isoformat() if r.created_at else None,
                "updated_at": r.updated_at.isoformat() if r.updated_at else None}

    def list(self) -> list[dict]:
        """All users (no hashes), by id."""
        with Session(self.engine) as s:
            return [self._public(r) for r in s.scalars(select(UserRow).order_by(UserRow.id))]

    # ------------------------------------------------------------------ logging in
    def authenticate(self, user_id: str, password: str) -> Actor | None:
        """The actor when the password matches an active user, else None (constant-ish time)."""
        with Session(self.engine) as s:
            row = s.get(UserRow, user_id)
            if row is None:
                verify_password(password, _DUMMY)
                return None
            try:
                ok = self.hasher.verify(password, row.password_hash)
            except Exception:
                ok = False
            if not ok or not row.active:
                return None
            return Actor(row.id, frozenset(row.roles))

    # ------------------------------------------------------------------ changing
    def create(self, user_id: str, password: str, roles: Iterable[str], full_name: str = "", *,
               by: str = "system") -> Actor:
        """Create a user (``by``: who does it); roles must be known and the password at least 8 characters."""
        roles = check_roles(roles)
        _check_password(password)
        if user_id == "me":
            raise GuardFailed("'me' stands for the signed-in user in the API (GET /users/me): choose another id",
                              "bad_user_id")
        password_hash = self.hasher.hash(password)
        now = datetime.now(timezone.utc)
        with self.chain.transaction() as conn, Session(bind=conn) as s:
            if s.get(UserRow, user_id) is not None:
                raise AlreadyExists(f"user {user_id!r} exists", "user_exists")
            s.add(UserRow(id=user_id, full_name=full_name, password_hash=password_hash, roles=roles,
                          active=True, created_at=now, token_version=0, updated_at=now))
            s.flush()
            self.chain.append_user(conn, user_id, ts=now, actor=by, action="create")
        self._forget(user_id)
        log.info("user %s created by %s with roles %s", user_id, by, roles)
        return Actor(user_id, frozenset(roles))

    def _change(self, user_id: str, *, by: str, action: str, bump: bool, **values: object) -> dict:
        """Change stored fields of a user (``by``: who does it; ``action``: the audit link's name);
        ``bump`` ends the user's sessions."""
        now = datetime.now(timezone.utc)
        with self.chain.transaction() as conn, Session(bind=conn) as s:
            row = s.get(UserRow, user_id, with_for_update=True)
            if row is None:
                raise NotFound(f"no user {user_id!r}", "not_found")
            for name, value in values.items():
                setattr(row, name, value)
            if bump:
                row.token_version = (row.token_version or 0) + 1
            row.updated_at = now
            s.flush()
            out = self._public(row)
            self.chain.append_user(conn, user_id, ts=now, actor=by, action=action)
        self._forget(user_id)
        log.info("user %s changed by %s: %s%s", user_id, by, ", ".join(sorted(values)),
                 " (sessions ended)" if bump else "")
        return out

    def set_roles(self, user_id: str, roles: Iterable[str], *, by: str = "system") -> dict:
        """Give the user exactly ``roles``; the next request of any of their tokens has only these."""
        return self._change(user_id, by=by, action="set_roles", bump=False, roles=check_roles(roles))

    def set_active(self, user_id: str, active: bool, *, by: str = "system") -> dict:
        """Activate or deactivate; deactivation ends every session of the user at once."""
        return self._change(user_id, by=by, action="activate" if active else "deactivate", bump=not active,
                            active=active)

    def set_full_name(self, user_id: str, full_name: str, *, by: str = "system") -> dict:
        """Change the display name."""
        return self._change(user_id, by=by, action="rename", bump=False, full_name=full_name)

    def reset_password(self, user_id: str, password: str, *, by: str = "system") -> dict:
        """Set a new password; every token issued before is refused from the next request on."""
        _check_password(password)
        return self._change(user_id, by=by, action="reset_password", bump=True, password_hash=self.hasher.hash(password))

    def delete(self, user_id: str, *, by: str = "system") -> None:
        """Remove the user (``by``: who does it); their tokens are refused from the next request on."""
        with self.chain.transaction() as conn, Session(bind=conn) as s:
            row = s.get(UserRow, user_id)
            if row is None:
                raise NotFound(f"no user {user_id!r}", "not_found")
            s.delete(row)
            s.flush()
            self.chain.append_user(conn, user_id, ts=datetime.now(timezone.utc), actor=by, action="delete")
        self._forget(user_id)
        log.info("user %s deleted by %s", user_id, by)
