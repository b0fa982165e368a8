"""The keyed audit trail of the workflows: what a link of the chain is, and how the chain is checked.

Every change of a regulated record (``wf_records``) or of a user (``wf_users``) appends one link
to ``wf_record_versions`` in the same transaction as the change (:mod:`.audit_chain`). A link
holds the new document, an *image* of the stored row — every column but the document, so index
and projection columns (``state``, ``due_at``, ``owner`` …), roles and activity are covered; a
password hash appears only as its keyed digest — and a MAC::

    hash = HMAC-SHA256(key, prev_hash | seq | kind | id | version | ts | actor | action | doc_hash | row_hash)
    doc_hash = SHA-256(canonical JSON of the document); row_hash = SHA-256(canonical JSON of the row image)

The key lives outside the database (a key file created at first start with mode 0600, or a
setting), so whoever can write the database but not read the key cannot rewrite the chain and
recompute it (RFC 2104 HMAC; the chaining is that of Schneier & Kelsey, "Secure audit logs to
support computer forensics", ACM TISSEC 2(2), 1999). Deleting the newest links together with
their records leaves a valid shorter chain; signed checkpoints kept outside the database
(:mod:`.audit_anchor`: head hash, row count, time) and the newest link the running process wrote
catch that.

:func:`verify` walks the whole chain (sequence, links, MACs, documents) and compares every stored
row of ``wf_records`` and ``wf_users`` with the image of its newest link, naming the columns
that differ.

Example (a chain of one user, then an edit made behind the application's back)::

    >>> from sqlalchemy import text
    >>> from safetwin.twin.store import Store
    >>> from safetwin.twin.workflows.audit_chain import AuditChain
    >>> from safetwin.twin.workflows.users import Users
    >>> store = Store.open("sqlite://")
    >>> key = AuditKey.generate()
    >>> _ = Users(store.engine, chain=AuditChain(store.engine, key)).create("ann", "long enough", ["worker"])
    >>> verify(store.engine, key).ok
    True
    >>> with store.engine.begin() as conn:
    ...     _ = conn.execute(text("UPDATE wf_users SET roles='[\\"admin\\"]'"))
    >>> [p.split(": ")[1] for p in verify(store.engine, key).problems]
    ['column roles differs from its audited value (audited ["worker"], stored ["admin"]) — changed outside the application']
    >>> store.close()
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, select

from .models import RecordRow, RecordVersionRow, UserRow

if TYPE_CHECKING:
    from .audit_anchor import Checkpoint

GENESIS = "0" * 64
#: kind of the links of user changes (records use their own kinds: permit, hazard …)
USER_KIND = "user"
#: the action of a link that removes its row
DELETE_ACTION = "delete"
#: columns whose values are secrets: the row image holds their keyed digest, never the value
SECRET_COLUMNS: dict[str, frozenset[str]] = {"wf_users": frozenset({"password_hash"})}
RECORDS = RecordRow.__table__
USERS = UserRow.__table__
VERSIONS = RecordVersionRow.__table__
_KEY_HEX_LEN = 64


@dataclass(frozen=True)
class AuditKey:
    """The secret of the audit trail's MACs (≥ 32 bytes); ``key_id`` names it without revealing it."""

    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.secret) < 32:
            raise ValueError("an audit key needs at least 32 bytes (256 bits)")

    @classmethod
    def generate(cls) -> AuditKey:
        """A fresh random key (``secrets``)."""
        return cls(secrets.token_bytes(32))

    @classmethod
    def from_text(cls, text: str) -> AuditKey:
        """A key written as 64 hexadecimal digits (what :func:`load_or_create_key` stores)."""
        text = text.strip()
        try:
            secret = bytes.fromhex(text)
        except ValueError:
            raise ValueError("an audit key is 64 hexadecimal digits (32 bytes)") from None
        return cls(secret)

    @property
    def key_id(self) -> str:
        """16 hex digits derived from the key (stored with each link; not a secret)."""
        return hashlib.sha256(b"safetwin audit key id\n" + self.secret).hexdigest()[:16]

    def mac(self, text: str) -> str:
        """HMAC-SHA256 of ``text`` (UTF-8) as 64 hex digits."""
        return hmac.new(self.secret, text.encode(), hashlib.sha256).hexdigest()


def load_or_create_key(path: Path) -> AuditKey:
    """The key in ``path``; created there (mode 0600, parents 0700) when missing.

    A key file that others may read or write is refused (``PermissionError``): it would let
    anyone on the machine recompute the chain."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = AuditKey.generate()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:     # another process created it meanwhile: read theirs
            return load_or_create_key(path)
        with os.fdopen(fd, "w") as out:
            out.write(key.secret.hex() + "\n")
            out.flush()
            os.fsync(out.fileno())
        return key
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise PermissionError(f"{path}: the audit key file has mode {mode:o}; allow its owner only (chmod 600)")
    return AuditKey.from_text(path.read_text())


# ----------------------------------------------------------------------------- canonical forms

def canonical(doc: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8 kept — equal documents give equal text."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_cell)


def doc_hash(doc: Mapping[str, Any]) -> str:
    """SHA-256 of a document's canonical JSON."""
    return hashlib.sha256(canonical(doc).encode()).hexdigest()


def _cell(value: Any) -> Any:
    """One stored value in the row image: times as UTC ISO text, the rest as JSON has it."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(timezone.utc).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return value


def row_image(table: str, row: Mapping[str, Any], key: AuditKey) -> dict[str, Any]:
    """Every column of a stored row but the document (``doc``), secrets as their keyed digest."""
    secret = SECRET_COLUMNS.get(table, frozenset())
    image: dict[str, Any] = {}
    for name, value in row.items():
        if name == "doc":
            continue
        if name in secret and value is not None:
            value = "hmac:" + key.mac(f"secret|{table}|{name}|{value}")
        image[name] = _cell(value)
    return image


def row_hash(image: Mapping[str, Any] | None) -> str:
    """SHA-256 of a row image's canonical JSON ("" for no image: legacy links, deletions)."""
    return "" if image is None else hashlib.sha256(canonical(image).encode()).hexdigest()


def link_text(prev_hash: str, seq: int, kind: str, record_id: str, version: int, ts: datetime, actor: str,
              action: str, dhash: str, rhash: str) -> str:
    """What a link's MAC covers (fields joined by ``|``)."""
    return "|".join([prev_hash, str(seq), kind, record_id, str(version), _cell(ts), actor, action, dhash, rhash])


def link_mac(key: AuditKey, prev_hash: str, seq: int, kind: str, record_id: str, version: int, ts: datetime,
             actor: str, action: str, dhash: str, rhash: str) -> str:
    """The MAC of one link (see the module docstring)."""
    return key.mac(link_text(prev_hash, seq, kind, record_id, version, ts, actor, action, dhash, rhash))


def legacy_link_hash(prev_hash: str, seq: int, kind: str, record_id: str, version: int, ts: datetime, actor: str,
                     action: str, dhash: str) -> str:
    """The unkeyed SHA-256 link hash written before the chain was keyed (checked once, when sealing)."""
    text = "|".join([prev_hash, str(seq), kind, record_id, str(version), ts.isoformat(), actor, action, dhash])
    return hashlib.sha256(text.encode()).hexdigest()


def user_doc(image: Mapping[str, Any]) -> dict[str, Any]:
    """The document a user link holds: the user's row image (roles, activity … the password's digest)."""
    return dict(image)


# ----------------------------------------------------------------------------- verification

@dataclass
class AuditReport:
    """Result of :func:`verify`: ``ok`` is False when any problem was found."""

    links: int = 0
    records: int = 0
    users: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    checkpoints: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (API, CLI, evidence export)."""
        return {"ok": self.ok, "links": self.links, "records": self.records, "users": self.users,
                "head_seq": self.head_seq, "head_hash": self.head_hash, "checkpoints": self.checkpoints,
                "problems": list(self.problems)}


@dataclass(frozen=True)
class _Newest:
    seq: int
    version: int
    action: str
    doc_hash: str
    row: dict[str, Any] | None


def _short(value: Any) -> str:
    text = canonical(value)
    return text if len(text) <= 80 else text[:77] + "…"


def _differences(audited: Mapping[str, Any], stored: Mapping[str, Any]) -> list[str]:
    """Columns whose stored value differs from the audited one, with both values."""
    out = []
    for name in sorted(set(audited) | set(stored)):
        if name not in stored:
            out.append(f"column {name} is gone (a schema change outside the migrations)")
        elif name not in audited:
            out.append(f"column {name} is not covered by its audited image (added outside the application)")
        elif canonical(audited[name]) != canonical(stored[name]):
            out.append(f"column {name} differs from its audited value (audited {_short(audited[name])}, "
                       f"stored {_short(stored[name])}) — changed outside the application")
    return out


def _walk_links(conn: Any, key: AuditKey, rep: AuditReport,
                after: tuple[int, str] = (0, GENESIS)) -> dict[tuple[str, str], _Newest]:
    """Check every link after ``after`` (seq, hash) in order; the newest link of each (kind, id)."""
    newest: dict[tuple[str, str], _Newest] = {}
    prev, expect_seq = after[1], after[0] + 1
    rep.head_seq, rep.head_hash = after
    for row in conn.execute(select(VERSIONS).where(VERSIONS.c.seq > after[0]).order_by(VERSIONS.c.seq)):
        rep.links += 1
        where = f"link seq={row.seq} ({row.kind} {row.record_id} v{row.version})"
        if row.seq != expect_seq:
            rep.problems.append(f"{where}: sequence gap, expected seq {expect_seq} (links were deleted)")
        if row.prev_hash != prev:
            rep.problems.append(f"{where}: prev_hash does not match the previous link (the chain was cut or reordered)")
        if doc_hash(row.doc) != row.doc_hash:
            rep.problems.append(f"{where}: document was altered (doc hash mismatch)")
        if row.key_id is None:
            rep.problems.append(f"{where}: unkeyed link (written without the audit key, or stripped of its MAC)")
        elif row.key_id != key.key_id:
            rep.problems.append(f"{where}: MAC made with another key ({row.key_id}, this key is {key.key_id})")
        else:
            rhash = row_hash(row.row)
            if row.row_hash != rhash:
                rep.problems.append(f"{where}: row image was altered (row hash mismatch)")
            expect = link_mac(key, row.prev_hash, row.seq, row.kind, row.record_id, row.version, row.ts, row.actor,
                              row.action, row.doc_hash, row.row_hash or "")
            if not hmac.compare_digest(expect, row.hash):
                rep.problems.append(f"{where}: MAC mismatch (the link was rewritten without the key)")
        prev, expect_seq = row.hash, row.seq + 1
        rep.head_seq, rep.head_hash = row.seq, row.hash
        newest[(row.kind, row.record_id)] = _Newest(row.seq, row.version, row.action, row.doc_hash, row.row)
    return newest


def _check_rows(conn: Any, key: AuditKey, newest: dict[tuple[str, str], _Newest], rep: AuditReport) -> None:
    """Every stored record and user against the image of its newest link."""
    seen: set[tuple[str, str]] = set()
    for table, kind_of in ((RECORDS, lambda m: m["kind"]), (USERS, lambda m: USER_KIND)):
        for row in conn.execute(select(table)).mappings():
            kind, rid = kind_of(row), row["id"]
            seen.add((kind, rid))
            if table is RECORDS:
                rep.records += 1
                where = f"record {kind} {rid} v{row['version']} (state {row['state']})"
            else:
                rep.users += 1
                where = f"user {rid}"
            link = newest.get((kind, rid))
            if link is None:
                rep.problems.append(f"{where}: has no audit chain entry (inserted outside the application)")
                continue
            if link.action == DELETE_ACTION:
                rep.problems.append(f"{where}: deleted at link seq={link.seq} but present again")
                continue
            if table is RECORDS:
                if row["version"] != link.version:
                    rep.problems.append(f"{where}: version differs from the chain's newest v{link.version}")
                if doc_hash(row["doc"]) != link.doc_hash:
                    rep.problems.append(f"{where}: current document differs from its audited version "
                                        "(edited in the DB)")
            if link.row is None:
                rep.problems.append(f"{where}: its newest link has no row image (unkeyed)")
                continue
            for diff in _differences(link.row, row_image(table.name, row, key)):
                rep.problems.append(f"{where}: {diff}")
    for (kind, rid), link in newest.items():
        if (kind, rid) not in seen and link.action != DELETE_ACTION:
            what = "user" if kind == USER_KIND else f"record {kind}"
            rep.problems.append(f"{what} {rid}: in the chain (v{link.version}, seq={link.seq}) but missing from "
                                f"{'wf_users' if kind == USER_KIND else 'wf_records'} (deleted outside the application)")


def _check_anchors(conn: Any, key: AuditKey, anchors: Sequence[Checkpoint], high_water: tuple[int, str] | None,
                   rep: AuditReport) -> None:
    """The signed checkpoints and this process's newest link must still be in the chain."""
    wanted = {cp.seq for cp in anchors} | ({high_water[0]} if high_water else set())
    found: dict[int, str] = {}
    if wanted:
        for seq, hsh in conn.execute(select(VERSIONS.c.seq, VERSIONS.c.hash).where(VERSIONS.c.seq.in_(sorted(wanted)))):
            found[seq] = hsh
    for cp in anchors:
        rep.checkpoints += 1
        problem = cp.problem(key)
        if problem:
            rep.problems.append(problem)
            continue
        if cp.seq > rep.head_seq:
            rep.problems.append(f"checkpoint of {cp.time} ({cp.source}): the chain had {cp.rows} links ending at "
                                f"seq={cp.seq}, it now ends at seq={rep.head_seq} (the newest links were deleted)")
        elif found.get(cp.seq) != cp.head_hash:
            rep.problems.append(f"checkpoint of {cp.time} ({cp.source}): link seq={cp.seq} is not the one "
                                "anchored (the chain was rewritten)")
    if high_water is not None:
        seq, hsh = high_water
        if seq > rep.head_seq:
            rep.problems.append(f"this process wrote link seq={seq}; the chain now ends at seq={rep.head_seq} "
                                "(the newest links were deleted)")
        elif found.get(seq) != hsh:
            rep.problems.append(f"link seq={seq} is not the one this process wrote (the chain was rewritten)")


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Any]:
    """A connection reading one snapshot of the database (REPEATABLE READ on PostgreSQL, one
    read transaction on SQLite), so writers committing meanwhile cause no false alarms."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            # pysqlite opens transactions for writes only; a read snapshot needs an explicit BEGIN
            # (not on a shared in-memory connection that is already inside one)
            if conn.dialect.name == "sqlite" and not conn.connection.dbapi_connection.in_transaction:
                conn.exec_driver_sql("BEGIN")
            yield conn


def verify(engine: Engine, key: AuditKey, *, anchors: Iterable[Checkpoint] = (),
           high_water: tuple[int, str] | None = None) -> AuditReport:
    """Check the whole chain, every stored record and user, the ``anchors`` (signed checkpoints
    read from outside the database) and ``high_water`` (seq, hash of the newest link this process
    wrote), all in one snapshot of the database."""
    rep = AuditReport()
    with _snapshot(engine) as conn:
        newest = _walk_links(conn, key, rep)
        _check_rows(conn, key, newest, rep)
        _check_anchors(conn, key, list(anchors), high_water, rep)
    return rep


def verify_tail(engine: Engine, key: AuditKey, after: tuple[int, str], *,
                high_water: tuple[int, str] | None = None) -> AuditReport:
    """Check only the links after ``after`` (seq, hash of a link already verified or anchored):
    they must continue it with valid MACs; and ``high_water`` must still be in the chain. Cheap
    enough for every scheduled pass; rows are checked by :func:`verify`."""
    rep = AuditReport()
    with _snapshot(engine) as conn:
        _walk_links(conn, key, rep, after)
        if rep.head_seq == after[0]:
            found = conn.execute(select(VERSIONS.c.hash).where(VERSIONS.c.seq == after[0])).scalar()
            if after[0] and found != after[1]:
                rep.problems.append(f"link seq={after[0]} is no longer the one verified before (the chain was cut "
                                    "or rewritten)")
        _check_anchors(conn, key, [], high_water, rep)
    return rep
