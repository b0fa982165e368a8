"""Persistence of workflow records: current documents plus the keyed audit chain of their versions.

A save is one short transaction: it writes the current row and appends a link to the audit chain
(:class:`~.audit_chain.AuditChain`: serialised by a process lock plus a PostgreSQL advisory
lock, so several server processes keep one chain); everything that can be computed before — the
JSON document, its hash, the projection columns — is computed outside the lock.

Reads never re-validate stored documents on the hot paths: :meth:`Repository.get_json` and
:meth:`Repository.list_json` hand out the stored JSON text as it is (it was produced by the
validated model when saved), :meth:`Repository.list_summary` reads projection columns only.
Parameterised SQL only.
"""
from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import Engine, Select, String, Text, bindparam, cast, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from . import projection
from .audit import AuditKey, doc_hash
from .audit_chain import AuditChain
from .domain import dump
from .errors import InvalidTransition, NotFound
from .models import WORKFLOW_TABLES, RecordRow, RecordVersionRow

T = TypeVar("T", bound=BaseModel)
RECORDS = RecordRow.__table__
VERSIONS = RecordVersionRow.__table__

# Statements of the hot paths, built once (building a Core statement costs more than running it).
_KEY = (RECORDS.c.kind == bindparam("b_kind")) & (RECORDS.c.id == bindparam("b_id"))
_VERSION = select(RECORDS.c.version).where(_KEY)
_DOC = select(RECORDS.c.doc, RECORDS.c.version).where(_KEY)
_DOC_TEXT = select(cast(RECORDS.c.doc, Text)).where(_KEY)
_INSERT_RECORD = insert(RECORDS)
_UPDATE_RECORD = update(RECORDS).where(_KEY)


_EQUIPMENT = RECORDS.c.doc["equipment_id"].as_string()
#: records kept parsed for :meth:`Repository.list_shared` (past it the copy starts again)
SHARED_MAX = 200_000


def _spots_where() -> tuple[Any, ...]:
    """Repeat-check predicate: kind, subtype, creation window, state, ≤ r (m) away or in the area
    (when one is given), on the same equipment when both name one."""
    c = RECORDS.c
    x, y, r = bindparam("b_x"), bindparam("b_y"), bindparam("b_r")
    near = (c.x_m.between(x - r, x + r) & c.y_m.between(y - r, y + r)
            & ((c.x_m - x) * (c.x_m - x) + (c.y_m - y) * (c.y_m - y) <= r * r))
    equipment = bindparam("b_equipment", type_=String)
    return (c.kind == bindparam("b_kind"), c.subtype == bindparam("b_subtype"),
            c.created_at.between(bindparam("b_since", type_=c.created_at.type),
                                 bindparam("b_until", type_=c.created_at.type)),
            c.state.not_in(bindparam("b_exclude", expanding=True)),
            or_(near, c.area_id == bindparam("b_area", type_=String)),
            or_(equipment.is_(None), _EQUIPMENT.is_(None), _EQUIPMENT == equipment))


_SPOTS = (select(RECORDS.c.id, RECORDS.c.subtype, RECORDS.c.state, RECORDS.c.created_at, RECORDS.c.x_m,
                 RECORDS.c.y_m, RECORDS.c.area_id, _EQUIPMENT).where(*_spots_where())
          .order_by(RECORDS.c.created_at.desc(), RECORDS.c.id).limit(bindparam("b_limit")))
_SPOTS_COUNT = select(func.count()).select_from(RECORDS).where(*_spots_where())


@dataclass(frozen=True)
class Spot:
    """Where and when a hazard was found (projection columns; positions in local metres)."""

    id: str
    category: str
    state: str
    created_at: datetime
    x: float
    y: float
    area_id: str | None
    equipment_id: str | None = None


@functools.lru_cache(maxsize=64)
def _list_statement(view: str, state: bool, subtype: bool, owner: bool, due_before: bool,
                    due_after: bool) -> Select[Any]:
    """A list query (``view``: doc | text | versioned | summary) for one filter shape, built once; newest
    change first."""
    c = RECORDS.c
    cols = {"doc": [c.doc], "text": [cast(c.doc, Text)], "versioned": [c.id, c.version, cast(c.doc, Text)],
            "summary": [c[name] for name in projection.SUMMARY_COLUMNS]}[view]
    q = select(*cols).where(c.kind == bindparam("b_kind"))
    if state:
        q = q.where(c.state.in_(bindparam("b_state", expanding=True)))
    if subtype:
        q = q.where(c.subtype == bindparam("b_subtype"))
    if owner:
        q = q.where(c.owner.in_(bindparam("b_owner", expanding=True)))
    if due_before:
        q = q.where(c.due_at < bindparam("b_due_before", type_=c.due_at.type))
    if due_after:
        q = q.where(c.due_at > bindparam("b_due_after", type_=c.due_at.type))
    return q.order_by(c.updated_at.desc(), c.id).limit(bindparam("b_limit")).offset(bindparam("b_offset"))


class Repository:
    """Load and save records of any kind; every save is audited.

    ``chain`` appends the audit links; without one, a chain with a fresh random key is made (its
    links can then only be verified with :attr:`chain`'s key, in this process)."""

    def __init__(self, engine: Engine, chain: AuditChain | None = None) -> None:
        self.engine = engine
        self.chain = chain or AuditChain(engine, AuditKey.generate())
        self._shared: dict[tuple[str, str], tuple[int, type, Any]] = {}   # (kind, id) -> (version, model, object)

    def create_tables(self) -> None:
        """Create the workflow tables directly (tests, or a database without alembic)."""
        from .models import Base

        Base.metadata.create_all(self.engine, tables=WORKFLOW_TABLES)

    # --------------------------------------------------------------- reading

    def get(self, kind: str, record_id: str, model: type[T]) -> tuple[T, int]:
        """The current document of a record, validated as ``model``, and its version; :class:`NotFound`."""
        with self.engine.connect() as conn:
            row = conn.execute(_DOC, {"b_kind": kind, "b_id": record_id}).first()
        if row is None:
            raise NotFound(f"no {kind} {record_id!r}", "not_found")
        return model.model_validate(row.doc), row.version

    def get_json(self, kind: str, record_id: str) -> str:
        """The stored JSON text of a record's current document (no parsing); :class:`NotFound`."""
        with self.engine.connect() as conn:
            text = conn.execute(_DOC_TEXT, {"b_kind": kind, "b_id": record_id}).scalar()
        if text is None:
            raise NotFound(f"no {kind} {record_id!r}", "not_found")
        return text

    def version(self, kind: str, record_id: str) -> int | None:
        """The current version of a record, None when it does not exist."""
        with self.engine.connect() as conn:
            return conn.execute(_VERSION, {"b_kind": kind, "b_id": record_id}).scalar()

    def _select(self, view: str, kind: str, *, state: str | Sequence[str] | None = None,
                subtype: str | None = None, owner: str | Sequence[str] | None = None,
                due_before: datetime | None = None, due_after: datetime | None = None,
                limit: int = 1000, offset: int = 0) -> tuple[Select[Any], dict[str, Any]]:
        """The cached list statement for this view and filter shape, and its parameters."""
        shape = (view, state is not None, subtype is not None, owner is not None, due_before is not None,
                 due_after is not None)
        params: dict[str, Any] = {"b_kind": kind, "b_limit": limit, "b_offset": offset}
        if state is not None:
            params["b_state"] = [state] if isinstance(state, str) else list(state)
        if subtype is not None:
            params["b_subtype"] = subtype
        if owner is not None:
            params["b_owner"] = [owner] if isinstance(owner, str) else list(owner)
        if due_before is not None:
            params["b_due_before"] = due_before
        if due_after is not None:
            params["b_due_after"] = due_after
        return _list_statement(*shape), params

    def list(self, kind: str, model: type[T], *, state: str | Sequence[str] | None = None,
             subtype: str | None = None, owner: str | Sequence[str] | None = None,
             due_before: datetime | None = None, due_after: datetime | None = None,
             limit: int = 1000, offset: int = 0) -> list[T]:
        """Current documents of one kind as models, filtered in SQL on the projection columns, newest first.

        For rules that need the objects; API lists use :meth:`list_json` / :meth:`list_summary`.
        """
        q, params = self._select("doc", kind, state=state, subtype=subtype, owner=owner, due_before=due_before,
                                 due_after=due_after, limit=limit, offset=offset)
        with self.engine.connect() as conn:
            docs = conn.execute(q, params).scalars().all()
        return [model.model_validate(d) for d in docs]

    def list_shared(self, kind: str, model: type[T], *, state: str | Sequence[str] | None = None,
                    owner: str | Sequence[str] | None = None, limit: int = 100000) -> list[T]:
        """As :meth:`list`, for readers that never change what they get (KPIs, "my tasks"): each
        record is parsed once per version and the same object handed out until the record changes
        (the query reads id, version and the stored text; only new versions are parsed).
        Changing a returned object would change it for every later reader: copy it first."""
        q, params = self._select("versioned", kind, state=state, owner=owner, limit=limit)
        with self.engine.connect() as conn:
            rows = conn.execute(q, params).all()
        shared, out = self._shared, []
        if len(shared) > SHARED_MAX:
            shared.clear()
        for rid, version, text in rows:
            hit = shared.get((kind, rid))
            if hit is None or hit[0] != version or hit[1] is not model:
                hit = (version, model, model.model_validate_json(text))
                shared[(kind, rid)] = hit
            out.append(hit[2])
        return out

    def list_json(self, kind: str, *, state: str | Sequence[str] | None = None, subtype: str | None = None,
                  owner: str | Sequence[str] | None = None, limit: int = 100, offset: int = 0) -> str:
        """A JSON array of the stored documents (text spliced as stored: no parse, no validation), newest first."""
        q, params = self._select("text", kind, state=state, subtype=subtype, owner=owner, limit=limit, offset=offset)
        with self.engine.connect() as conn:
            texts = conn.execute(q, params).scalars().all()
        return "[" + ",".join(texts) + "]"

    def list_summary(self, kind: str, *, state: str | Sequence[str] | None = None, subtype: str | None = None,
                     owner: str | Sequence[str] | None = None, limit: int = 100, offset: int = 0) -> list[dict]:
        """Projection columns only (:data:`projection.SUMMARY_COLUMNS`), newest first; times as ISO text."""
        q, params = self._select("summary", kind, state=state, subtype=subtype, owner=owner, limit=limit,
                                 offset=offset)
        with self.engine.connect() as conn:
            rows = conn.execute(q, params).mappings().all()
        return [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items()} for r in rows]

    def spots(self, kind: str, *, subtype: str, since: datetime, until: datetime, area_id: str | None,
              x: float, y: float, radius_m: float, equipment_id: str | None = None,
              exclude_states: Sequence[str] = ("invalid",), limit: int = 10) -> tuple[list[Spot], int]:
        """Records of ``kind``/``subtype`` created in [since, until] in ``area_id`` (None: any area
        does not count) or within ``radius_m`` (m) of (x, y), on ``equipment_id`` when both name one:
        the ``limit`` most recent ones and how many there are in all."""
        params = {"b_kind": kind, "b_subtype": subtype, "b_since": since, "b_until": until, "b_x": x, "b_y": y,
                  "b_r": radius_m, "b_exclude": list(exclude_states), "b_area": area_id,
                  "b_equipment": equipment_id, "b_limit": limit}
        with self.engine.connect() as conn:
            found = [Spot(*r) for r in conn.execute(_SPOTS, params)]
            total = len(found) if len(found) < limit else int(conn.execute(_SPOTS_COUNT, params).scalar())
        return found, total

    def count(self, kind: str) -> int:
        """How many records of ``kind`` exist."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(RECORDS).where(RECORDS.c.kind == kind)).scalar())

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
        """Write ``record`` as a new version (``expected_version`` None = must be new); returns the version.

        ``subtype``/``level``/``owner`` override the projection defaults of :func:`projection.columns`.
        """
        doc = dump(record)
        rid, state, site = doc["id"], doc["state"], doc["site_id"]
        ts = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
        dh = doc_hash(doc)
        cols = projection.columns(kind, record)
        for name, value in (("subtype", subtype), ("level", level), ("owner", owner)):
            if value is not None:
                cols[name] = value
        values = dict(site_id=site, state=state, updated_at=ts, doc=doc, doc_hash=dh, **cols)
        key = {"b_kind": kind, "b_id": rid}
        with self.chain.transaction() as conn:
            current = conn.execute(_VERSION, key).scalar()
            if current != expected_version:
                raise InvalidTransition(f"{kind} {rid}: version conflict (expected {expected_version}, found {current}); "
                                        "reload and retry", "version_conflict")
            version = 1 if current is None else current + 1
            if current is None:
                conn.execute(_INSERT_RECORD, {"kind": kind, "id": rid, "version": version, **values})
            else:
                conn.execute(_UPDATE_RECORD, {**key, "version": version, **values})
            self.chain.append_row(conn, "wf_records", kind=kind, record_id=rid, version=version, ts=ts, actor=actor,
                                  action=action, doc=doc)
        return version

    @staticmethod
    def new_id(prefix: str) -> str:
        """A new, collision-free record id ``PREFIX-<12 hex>``."""
        return f"{prefix}-{uuid.uuid4().hex[:12].upper()}"

    def _wipe(self) -> None:  # tests only
        with Session(self.engine) as s, s.begin():
            s.execute(delete(RecordRow))
            s.execute(delete(RecordVersionRow))
