"""Append-only, hash-chained audit trail of regulated records, and its verifier.

Every change of a record is written as a new row of ``wf_record_versions`` with
``hash = sha256(prev_hash | seq | kind | id | version | ts | actor | action | doc_hash)`` and
``doc_hash = sha256(canonical JSON of the document)``. :func:`verify` walks the chain and also
compares each current record (``wf_records``) with its newest version, so a direct database edit
of either table — or a deleted link — is reported.

Command line::

    python -m safetwin.twin.workflows.audit --db sqlite:///var/safetwin.db
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from .models import RecordRow, RecordVersionRow

GENESIS = "0" * 64


def canonical(doc: dict[str, Any]) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8 kept — equal documents give equal text."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def doc_hash(doc: dict[str, Any]) -> str:
    """SHA-256 of a document's canonical JSON."""
    return hashlib.sha256(canonical(doc).encode()).hexdigest()


def link_hash(prev_hash: str, seq: int, kind: str, record_id: str, version: int, ts: datetime, actor: str,
              action: str, dhash: str) -> str:
    """The chain hash of one version row."""
    text = "|".join([prev_hash, str(seq), kind, record_id, str(version), ts.isoformat(), actor, action, dhash])
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class AuditReport:
    """Result of :func:`verify`: ``ok`` is False when any problem was found."""

    links: int = 0
    records: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(engine: Engine) -> AuditReport:
    """Check the whole chain and every current record against its newest version."""
    rep = AuditReport()
    latest: dict[tuple[str, str], RecordVersionRow] = {}
    prev, expect_seq = GENESIS, 1
    with engine.connect() as conn:
        for row in conn.execute(select(RecordVersionRow).order_by(RecordVersionRow.seq)):
            rep.links += 1
            where = f"link seq={row.seq} ({row.kind} {row.record_id} v{row.version})"
            if row.seq != expect_seq:
                rep.problems.append(f"{where}: sequence gap, expected seq {expect_seq} (a link was deleted)")
            if row.prev_hash != prev:
                rep.problems.append(f"{where}: prev_hash does not match the previous link")
            dh = doc_hash(row.doc)
            if dh != row.doc_hash:
                rep.problems.append(f"{where}: document was altered (doc hash mismatch)")
            h = link_hash(row.prev_hash, row.seq, row.kind, row.record_id, row.version, row.ts, row.actor, row.action,
                          row.doc_hash)
            if h != row.hash:
                rep.problems.append(f"{where}: link hash mismatch (metadata altered)")
            prev, expect_seq = row.hash, row.seq + 1
            latest[(row.kind, row.record_id)] = row
        for rec in conn.execute(select(RecordRow)):
            rep.records += 1
            where = f"record {rec.kind} {rec.id} v{rec.version} (state {rec.state})"
            v = latest.pop((rec.kind, rec.id), None)
            if v is None:
                rep.problems.append(f"{where}: has no audit chain entry")
                continue
            if rec.version != v.version:
                rep.problems.append(f"{where}: version differs from the chain's newest v{v.version}")
            if doc_hash(rec.doc) != v.doc_hash or rec.doc_hash != v.doc_hash:
                rep.problems.append(f"{where}: current document differs from its audited version (edited in the DB)")
            if rec.state != rec.doc.get("state"):
                rep.problems.append(f"{where}: state column {rec.state!r} differs from document state "
                                    f"{rec.doc.get('state')!r}")
        for (kind, rid), v in latest.items():
            rep.problems.append(f"record {kind} {rid}: in the chain (v{v.version}) but missing from wf_records (deleted)")
    return rep


def main(argv: list[str] | None = None) -> int:
    """CLI: verify the audit chain of the database at ``--db``; exit 0 when intact, 1 when tampered."""
    from safetwin.twin.store.db import make_engine

    ap = argparse.ArgumentParser(prog="python -m safetwin.twin.workflows.audit", description=main.__doc__)
    ap.add_argument("--db", default=None, help="SQLAlchemy URL (default: SAFETWIN_DB_URL or var/safetwin.db)")
    args = ap.parse_args(argv)
    engine = make_engine(args.db)
    try:
        rep = verify(engine)
    finally:
        engine.dispose()
    print(f"audit chain: {rep.links} links, {rep.records} records: {'OK' if rep.ok else 'TAMPERED'}")
    for p in rep.problems:
        print("  - " + p)
    return 0 if rep.ok else 1


if __name__ == "__main__":
    sys.exit(main())
