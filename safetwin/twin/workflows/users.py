"""Users: argon2-hashed passwords and roles (no plaintext is ever stored).

Every change of a user is a link of the keyed audit chain, written in the change's transaction
(:meth:`~.audit_chain.AuditChain.append_user`), so roles and activity are audited like records.

>>> h = hash_password("correct horse")
>>> verify_password("correct horse", h), verify_password("wrong", h)
(True, False)
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone

from pwdlib import PasswordHash
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from .audit import AuditKey
from .audit_chain import AuditChain
from .errors import GuardFailed, NotFound
from .models import UserRow
from .roles import ROLES, Actor

_hasher = PasswordHash.recommended()
#: a hash to verify against when the user does not exist, so timing does not reveal user names
_DUMMY = _hasher.hash("not-a-real-password")
MIN_PASSWORD_LEN = 8


def hash_password(password: str) -> str:
    """The argon2 hash of ``password``."""
    return _hasher.hash(password)


def verify_password(password: str, hashed: str) -> bool:
    """True when ``password`` matches ``hashed``."""
    try:
        return _hasher.verify(password, hashed)
    except Exception:
        return False


class Users:
    """The user table: create, authenticate, list."""

    def __init__(self, engine: Engine, hasher: PasswordHash | None = None, *, chain: AuditChain | None = None) -> None:
        """``hasher`` defaults to pwdlib's recommended argon2 settings (tests may pass cheaper ones);
        ``chain`` is the audit chain of the workflow records (a chain with a fresh key when None)."""
        self.engine = engine
        self.hasher = hasher or _hasher
        self.chain = chain or AuditChain(engine, AuditKey.generate())

    def create(self, user_id: str, password: str, roles: Iterable[str], full_name: str = "", *,
               by: str = "system") -> Actor:
        """Create a user (``by``: who did, for the audit chain); roles must be known and the password
        at least 8 characters."""
        roles = sorted(set(roles))
        bad = [r for r in roles if r not in ROLES]
        if bad or not roles:
            raise GuardFailed(f"unknown or missing roles {bad or roles}; known: {list(ROLES)}", "bad_roles")
        if len(password) < MIN_PASSWORD_LEN:
            raise GuardFailed(f"password must have at least {MIN_PASSWORD_LEN} characters", "weak_password")
        password_hash = self.hasher.hash(password)
        now = datetime.now(timezone.utc)
        with self.chain.transaction() as conn, Session(bind=conn) as s:
            if s.get(UserRow, user_id) is not None:
                raise GuardFailed(f"user {user_id!r} exists", "user_exists")
            s.add(UserRow(id=user_id, full_name=full_name, password_hash=password_hash, roles=roles,
                          active=True, created_at=now))
            s.flush()
            self.chain.append_user(conn, user_id, ts=now, actor=by, action="create")
        return Actor(user_id, frozenset(roles))

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

    def get(self, user_id: str) -> Actor:
        """The actor of an active user; :class:`NotFound` otherwise."""
        with Session(self.engine) as s:
            row = s.get(UserRow, user_id)
            if row is None or not row.active:
                raise NotFound(f"no active user {user_id!r}", "not_found")
            return Actor(row.id, frozenset(row.roles))

    def exists(self, user_id: str) -> bool:
        with Session(self.engine) as s:
            return s.get(UserRow, user_id) is not None

    def list(self) -> list[dict]:
        """All users (no hashes)."""
        with Session(self.engine) as s:
            return [{"id": r.id, "full_name": r.full_name, "roles": r.roles, "active": r.active}
                    for r in s.scalars(select(UserRow).order_by(UserRow.id))]
