"""Shared helpers of the workflow tests (imported by name; the test folder has no package)."""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from safetwin.twin.workflows.notify import Notifier
from safetwin.twin.workflows.service import WorkflowService
from safetwin.twin.workflows.settings import WorkflowSettings
from waiting import wait_until  # noqa: F401  (re-exported for the workflow tests)

#: argon2 with test-sized cost (production uses pwdlib's recommended settings)
FAST_HASH = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
T0 = datetime(2025, 6, 2, 8, 0, tzinfo=timezone.utc)
PASSWORD = "s3cret-pass"
PEOPLE = {
    "ann": ["applicant"], "bob": ["worker"], "gus": ["guardian"], "al": ["approver"], "sue": ["safety_engineer"],
    "max": ["manager"], "ola": ["operator"], "pia": ["planner"], "root": ["admin"], "al2": ["approver"],
    "cwo": ["worker"],
}


class Clock:
    """A settable clock for the service."""

    def __init__(self, t: datetime) -> None:
        self.t = t

    def __call__(self) -> datetime:
        return self.t

    def advance(self, **kw: float) -> datetime:
        self.t += timedelta(**kw)
        return self.t


def pg_url() -> str:
    """The test PostgreSQL URL (``SAFETWIN_TEST_PG_URL`` or the local default)."""
    return os.environ.get("SAFETWIN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def service_missing(what: str, env: str, why: object) -> None:
    """A needed service is unreachable: skip only when ``env``=1 was set on purpose, else fail loudly."""
    import pytest

    msg = f"{what} is not reachable ({why}); start it (make test does) or set {env}=1 to skip on purpose"
    if os.environ.get(env) == "1":
        pytest.skip(msg)
    pytest.fail(msg, pytrace=False)


def wf_settings(pack: str = "gb30871_2022") -> WorkflowSettings:
    """The workflow settings of the tests (a fixed JWT secret)."""
    return WorkflowSettings(jwt_secret="test-secret-" + "x" * 32, rule_pack=pack)


def make_service(engine, plant, clock, memory, pack="gb30871_2022", audit=None, notifier=None,
                 site_id=None, photo_dir=None) -> WorkflowService:
    """The workflows with the test users (``audit``: an AuditSetup, default a fresh key and no
    checkpoints; ``notifier``: default one with the ``memory`` channel only)."""
    svc = WorkflowService(engine, plant, settings=wf_settings(pack), notifier=notifier or Notifier([memory]),
                          clock=clock, audit=audit, site_id=site_id, photo_dir=photo_dir)
    svc.users.hasher = FAST_HASH
    for uid, roles in PEOPLE.items():
        svc.users.create(uid, PASSWORD, roles)
    return svc


def certify(svc: WorkflowService, actors, who: str, ctype: str, *, expires: datetime | None = None) -> None:
    svc.add_certificate(actors["sue"], person_id=who, type=ctype, number=f"{who}-{ctype}",
                        issued_at=T0 - timedelta(days=400), expires_at=expires or T0 + timedelta(days=1000))


