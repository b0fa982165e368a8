"""The audit trail's evidence as one zip file, for an auditor or a court.

Contents:

* ``links.jsonl`` — every link of the chain, oldest first, every column (documents, row images,
  hashes, MACs, key id);
* ``rows.jsonl`` — every stored record and user as it is now: its row image and document hash;
* ``checkpoints/<day>.jsonl`` — the site's signed checkpoint files as they are;
* ``report.json`` — the verification of all of it at export time (:func:`.audit.verify`);
* ``manifest.json`` — SHA-256 of each file above, the chain's head, the key id and the time,
  with a MAC under the audit key over the manifest's other fields.

Someone holding the key can re-check each link, the checkpoints and the manifest; anyone can
check the files against the manifest's digests.
"""
from __future__ import annotations

import hashlib
import json
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine, select

from .audit import RECORDS, USER_KIND, USERS, VERSIONS, AuditKey, AuditReport, canonical, doc_hash, row_image
from .audit_anchor import CheckpointDir


def _jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(canonical(r) + "\n" for r in rows).encode()


def _links(conn: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(VERSIONS).order_by(VERSIONS.c.seq)).mappings()]


def _rows(conn: Any, key: AuditKey) -> list[dict[str, Any]]:
    out = []
    for r in conn.execute(select(RECORDS).order_by(RECORDS.c.kind, RECORDS.c.id)).mappings():
        out.append({"kind": r["kind"], "id": r["id"], "doc_hash_now": doc_hash(r["doc"]),
                    "row": row_image("wf_records", r, key)})
    for r in conn.execute(select(USERS).order_by(USERS.c.id)).mappings():
        out.append({"kind": USER_KIND, "id": r["id"], "row": row_image("wf_users", r, key)})
    return out


def export_evidence(engine: Engine, key: AuditKey, out: str | Path | IO[bytes], *, site: str,
                    report: AuditReport, anchors: CheckpointDir | None = None,
                    now: datetime | None = None) -> dict[str, Any]:
    """Write the evidence zip (see the module docstring) to ``out``; returns its manifest."""
    now = now or datetime.now(timezone.utc)
    with engine.connect() as conn:
        files: dict[str, bytes] = {"links.jsonl": _jsonl(_links(conn)), "rows.jsonl": _jsonl(_rows(conn, key))}
    for path in anchors.files() if anchors is not None else []:
        files[f"checkpoints/{path.name}"] = path.read_bytes()
    files["report.json"] = json.dumps(report.as_dict(), indent=1, ensure_ascii=False).encode()
    manifest: dict[str, Any] = {
        "site": site, "created": now.astimezone(timezone.utc).isoformat(), "key_id": key.key_id,
        "head_seq": report.head_seq, "head_hash": report.head_hash, "verified_ok": report.ok,
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())}}
    manifest["mac"] = key.mac("manifest|" + canonical(manifest))
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, data in sorted(files.items()):
            bundle.writestr(name, data)
        bundle.writestr("manifest.json", json.dumps(manifest, indent=1, ensure_ascii=False))
    return manifest
