"""Sealing a chain written before the audit trail was keyed (databases from before migration 0008).

Those links carry an unkeyed SHA-256 chain and no row images, and users were not chained at all.
At the first start with a key, :func:`seal_legacy_chain` checks the old chain as it was checked
before, then — in one transaction — recomputes every link as a keyed MAC, gives the newest link
of each record the image of its stored row, and adopts every user with one link. This trusts the
database as it is at that moment (trust on first use), exactly as much as the unkeyed chain did.

It refuses (and the scheduled verification then reports every unkeyed link) when the chain
already has keyed links, or when the site has checkpoints: a keyed, anchored chain that shows
unkeyed links was stripped of its MACs, which sealing must not launder.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from sqlalchemy import func, select, update

from .audit import (GENESIS, RECORDS, USER_KIND, USERS, VERSIONS, doc_hash, legacy_link_hash, link_mac, row_hash,
                    row_image)
from .audit_chain import AuditChain

log = logging.getLogger("safetwin.workflows.audit")
_UNKEYED = select(func.count()).select_from(VERSIONS).where(VERSIONS.c.key_id.is_(None))
_KEYED = select(func.count()).select_from(VERSIONS).where(VERSIONS.c.key_id.is_not(None))


def _legacy_problems(links: list) -> list[str]:
    problems, prev = [], GENESIS
    for expect_seq, row in enumerate(links, 1):
        if row.seq != expect_seq or row.prev_hash != prev or doc_hash(row.doc) != row.doc_hash or row.hash != \
                legacy_link_hash(row.prev_hash, row.seq, row.kind, row.record_id, row.version, row.ts, row.actor,
                                 row.action, row.doc_hash):
            problems.append(f"link seq={row.seq}")
        prev = row.hash
    return problems


def seal_legacy_chain(chain: AuditChain, *, anchored: bool, now: datetime | None = None) -> int:
    """Key the unkeyed chain of ``chain``'s database (see the module docstring); returns how many
    links were sealed (0: nothing to do, or refused — the reason is logged). ``anchored``: the
    site already has checkpoints."""
    with chain.engine.connect() as conn:
        unkeyed = int(conn.execute(_UNKEYED).scalar() or 0)
        users = conn.execute(select(USERS.c.id)).scalars().all()
        keyed = int(conn.execute(_KEYED).scalar() or 0)
    if unkeyed == 0 and (keyed or not users):
        return 0
    if keyed or anchored:
        log.error("audit chain: %d unkeyed links beside %s; not sealing them (the verification reports them)",
                  unkeyed, "keyed links" if keyed else "checkpoints of this site")
        return 0
    now = now or datetime.now(timezone.utc)
    with chain.transaction() as conn:
        links = conn.execute(select(VERSIONS).order_by(VERSIONS.c.seq)).all()
        problems = _legacy_problems(links)
        if problems:
            log.error("audit chain: the unkeyed chain is broken at %s; not sealing it", ", ".join(problems[:5]))
            return 0
        newest = {(row.kind, row.record_id): row.seq for row in links}
        records = {(r["kind"], r["id"]): r for r in conn.execute(select(RECORDS)).mappings()}
        prev = GENESIS
        for row in links:
            image = None
            stored = records.get((row.kind, row.record_id))
            if newest[(row.kind, row.record_id)] == row.seq and stored is not None \
                    and doc_hash(stored["doc"]) == row.doc_hash:
                image = row_image("wf_records", stored, chain.key)
            rhash = row_hash(image)
            mac = link_mac(chain.key, prev, row.seq, row.kind, row.record_id, row.version, row.ts, row.actor,
                           row.action, row.doc_hash, rhash)
            conn.execute(update(VERSIONS).where(VERSIONS.c.seq == row.seq).values(
                prev_hash=prev, hash=mac, row=image, row_hash=rhash, key_id=chain.key.key_id))
            prev = mac
        for user_id in users:
            chain.append_row(conn, "wf_users", kind=USER_KIND, record_id=user_id, version=None, ts=now,
                             actor="system", action="adopt")
    log.warning("audit chain: sealed %d links written before the chain was keyed and adopted %d users",
                len(links), len(users))
    return len(links)
