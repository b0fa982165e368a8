"""Persistence of workflow records: current documents plus the hash-chained version history.

A save is one transaction: it appends a link to the audit chain and replaces the current
document. Writes are serialised (a process lock, plus a PostgreSQL advisory lock so several
server processes keep one chain). Parameterised SQL only.
"""
from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from .audit import GENESIS, doc_hash, link_hash
from .domain import dump
from .errors import InvalidTransition, NotFound
from .models import WORKFLOW_TABLES, RecordRow, RecordVersionRow

T = TypeVar("T", bound=BaseModel)
CHAIN_LOCK_KEY = 0x5AFE7202


class Repository:
    """Load and save records of any kind; every save is audited."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.RLock()

    def create_tables(self) -> None:
        """Create the workflow tables directly (tests, or a database without alembic)."""
        from .models import Base

        Base.metadata.create_all(self.engine, tables=WORKFLOW_TABLES)

    # --------------------------------------------------------------- reading

    def get(self, kind: str, record_id: str, model: type[T]) -> tuple[T, int]:
        """The current document of a record and its version; :class:`NotFound` when missing."""
        with Session(self.engine) as s:
            row = s.get(RecordRow, (kind, record_id))
            if row is None:
                raise NotFound(f"no {kind} {record_id!r}", "not_found")
            return model.model_validate(row.doc), row.version

    def list(self, kind: str, model: type[T], *, state: str | Sequence[str] | None = None,
             subtype: str | None = None, owner: str | None = None, limit: int = 1000, offset: int = 0) -> list[T]:
        """Current documents of one kind, filtered on the promoted columns, newest first."""
        q = select(RecordRow.doc).where(RecordRow.kind == kind)
        if state is not None:
            q = q.where(RecordRow.state.in_([state] if isinstance(state, str) else list(state)))
        if subtype is not None:
            q = q.where(RecordRow.subtype == subtype)
        if owner is not None:
            q = q.where(RecordRow.owner == owner)
        q = q.order_by(RecordRow.updated_at.desc(), RecordRow.id).limit(limit).offset(offset)
        with self.engine.connect() as conn:
            return [model.model_validate(d) for (d,) in conn.execute(q)]

    def count(self, kind: str) -> int:
        """How many records of ``kind`` exist."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(RecordRow).where(RecordRow.kind == kind)).scalar())

    def history(self, kind: str, record_id: str) -> list[dict[str, Any]]:
        """Every version of a record, oldest first, with who/when/what and the chain hash."""
        q = (select(RecordVersionRow).where(RecordVersionRow.kind == kind, RecordVersionRow.record_id == record_id)
             .order_by(RecordVersionRow.version))
        with Session(self.engine) as s:
            return [{"version": r.version, "ts": r.ts.isoformat(), "actor": r.actor, "action": r.action,
                     "hash": r.hash, "doc": r.doc} for r in s.scalars(q)]

    # --------------------------------------------------------------- writing

    def save(self, kind: str, record: BaseModel, *, actor: str, action: str, expected_version: int | None,
             subtype: str | None = None, level: str | None = None, owner: str | None = None,
             now: datetime | None = None) -> int:
        """Write ``record`` as a new version (``expected_version`` None = must be new); returns the version."""
        doc = dump(record)
        rid, state, site = doc["id"], doc["state"], doc["site_id"]
        ts = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
        dh = doc_hash(doc)
        with self._lock, Session(self.engine) as s, s.begin():
            if s.get_bind().dialect.name == "postgresql":
                s.execute(select(func.pg_advisory_xact_lock(CHAIN_LOCK_KEY)))
            row = s.get(RecordRow, (kind, rid), with_for_update=False)
            current = None if row is None else row.version
            if current != expected_version:
                raise InvalidTransition(f"{kind} {rid}: version conflict (expected {expected_version}, found {current}); "
                                        "reload and retry", "version_conflict")
            version = 1 if current is None else current + 1
            last = s.execute(select(RecordVersionRow.seq, RecordVersionRow.hash)
                             .order_by(RecordVersionRow.seq.desc()).limit(1)).first()
            seq, prev = (1, GENESIS) if last is None else (last.seq + 1, last.hash)
            s.add(RecordVersionRow(seq=seq, kind=kind, record_id=rid, version=version, ts=ts, actor=actor,
                                   action=action, doc=doc, doc_hash=dh, prev_hash=prev,
                                   hash=link_hash(prev, seq, kind, rid, version, ts, actor, action, dh)))
            if row is None:
                s.add(RecordRow(kind=kind, id=rid, site_id=site, state=state, subtype=subtype, level=level, owner=owner,
                                version=version, updated_at=ts, doc=doc, doc_hash=dh))
            else:
                row.state, row.subtype, row.level, row.owner = state, subtype, level, owner
                row.version, row.updated_at, row.doc, row.doc_hash = version, ts, doc, dh
        return version

    @staticmethod
    def new_id(prefix: str) -> str:
        """A new, collision-free record id ``PREFIX-<12 hex>``."""
        return f"{prefix}-{uuid.uuid4().hex[:12].upper()}"

    def _wipe(self) -> None:  # tests only
        with Session(self.engine) as s, s.begin():
            s.execute(delete(RecordRow))
            s.execute(delete(RecordVersionRow))
