"""Writing the keyed audit chain: one link per change, in the change's own transaction.

:class:`AuditChain` serialises the appends (a process lock, plus a PostgreSQL advisory lock so
several server processes keep one chain) and remembers the newest link this process committed
(:attr:`AuditChain.high_water`), which the scheduled verification holds against the database.
What a link is and how it is checked: :mod:`.audit`.

Usage (the repository and the user table do this)::

    with chain.transaction() as conn:
        ...write the row...
        chain.append_row(conn, "wf_records", kind="permit", record_id="PTW-1", version=2, ts=now,
                         actor="al", action="approve", doc=doc)
"""
from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, insert, select

from .audit import (GENESIS, RECORDS, USER_KIND, USERS, VERSIONS, AuditKey, doc_hash, link_mac, row_hash, row_image,
                    user_doc)

CHAIN_LOCK_KEY = 0x5AFE7202
_ADVISORY = select(func.pg_advisory_xact_lock(CHAIN_LOCK_KEY))
_LAST_LINK = select(VERSIONS.c.seq, VERSIONS.c.hash).order_by(VERSIONS.c.seq.desc()).limit(1)
_LAST_VERSION = select(func.max(VERSIONS.c.version)).where(VERSIONS.c.kind == bindparam("b_kind"),
                                                           VERSIONS.c.record_id == bindparam("b_id"))
_INSERT_LINK = insert(VERSIONS)
#: the stored row, every column but the document (read back inside the writing transaction)
_ROW_OF = {
    "wf_records": select(*[c for c in RECORDS.c if c.name != "doc"]).where(
        RECORDS.c.kind == bindparam("b_kind"), RECORDS.c.id == bindparam("b_id")),
    "wf_users": select(USERS).where(USERS.c.id == bindparam("b_id")),
}


class AuditChain:
    """Appends links to the audit chain of one database with ``key`` (see the module docstring)."""

    def __init__(self, engine: Engine, key: AuditKey) -> None:
        self.engine = engine
        self.key = key
        self._lock = threading.Lock()
        self._pending: tuple[int, str] | None = None
        #: (seq, hash) of the newest link this process committed, None before the first
        self.high_water: tuple[int, str] | None = None

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction that may append links; committed on leaving, rolled back on error."""
        with self._lock:
            self._pending = None
            with self.engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(_ADVISORY)
                yield conn
            if self._pending is not None and (self.high_water is None or self._pending[0] > self.high_water[0]):
                self.high_water = self._pending

    def stored_row(self, conn: Connection, table: str, *, kind: str, record_id: str) -> dict[str, Any] | None:
        """The row as the database holds it now (every column but the document), None when absent."""
        row = conn.execute(_ROW_OF[table], {"b_kind": kind, "b_id": record_id}).mappings().first()
        return None if row is None else dict(row)

    def append(self, conn: Connection, *, kind: str, record_id: str, version: int, ts: datetime, actor: str,
               action: str, doc: Mapping[str, Any], image: Mapping[str, Any] | None) -> int:
        """Append one link inside :meth:`transaction`; returns its seq."""
        last = conn.execute(_LAST_LINK).first()
        seq, prev = (1, GENESIS) if last is None else (last.seq + 1, last.hash)
        dhash, rhash = doc_hash(doc), row_hash(image)
        mac = link_mac(self.key, prev, seq, kind, record_id, version, ts, actor, action, dhash, rhash)
        conn.execute(_INSERT_LINK, {
            "seq": seq, "kind": kind, "record_id": record_id, "version": version, "ts": ts, "actor": actor,
            "action": action, "doc": dict(doc), "doc_hash": dhash, "prev_hash": prev, "hash": mac,
            "row": None if image is None else dict(image), "row_hash": rhash, "key_id": self.key.key_id})
        self._pending = (seq, mac)
        return seq

    def append_row(self, conn: Connection, table: str, *, kind: str, record_id: str, version: int | None,
                   ts: datetime, actor: str, action: str, doc: Mapping[str, Any] | None = None) -> int:
        """Append the link of a row just written (or deleted) in ``conn``'s transaction: the row is
        read back so the image holds every column as stored. ``version`` None = the next version of
        this (kind, id) in the chain; ``doc`` None = the row image (users)."""
        stored = self.stored_row(conn, table, kind=kind, record_id=record_id)
        image = None if stored is None else row_image(table, stored, self.key)
        if version is None:
            version = int(conn.execute(_LAST_VERSION, {"b_kind": kind, "b_id": record_id}).scalar() or 0) + 1
        if doc is None:
            doc = {} if image is None else user_doc(image)
        return self.append(conn, kind=kind, record_id=record_id, version=version, ts=ts, actor=actor, action=action,
                           doc=doc, image=image)

    def append_user(self, conn: Connection, user_id: str, *, ts: datetime, actor: str, action: str) -> int:
        """The link of a change of user ``user_id`` (created, re-roled, deactivated, deleted …)."""
        return self.append_row(conn, "wf_users", kind=USER_KIND, record_id=user_id, version=None, ts=ts, actor=actor,
                               action=action)

    def head(self) -> tuple[int, str]:
        """(seq, hash) of the newest link in the database ((0, GENESIS) when empty)."""
        with self.engine.connect() as conn:
            last = conn.execute(_LAST_LINK).first()
        return (0, GENESIS) if last is None else (int(last.seq), str(last.hash))
