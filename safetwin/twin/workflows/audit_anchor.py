"""Signed checkpoints of the audit chain, kept outside the database.

A checkpoint says "on ``time`` the chain of ``site`` had ``rows`` links and ended at link ``seq``
with hash ``head_hash``", with a MAC under the audit key. They are appended as JSON lines to one
file per day, ``<directory>/<site>/<YYYY-MM-DD>.jsonl`` (fsync'd; mode 0600, directories 0700),
so they can be shipped to another machine or write-once storage like any log. A chain whose
newest links were deleted together with their records is still a valid chain; the checkpoint
taken before the deletion is what shows it (:func:`safetwin.twin.workflows.audit.verify`).

Example::

    >>> import tempfile
    >>> from datetime import datetime, timezone
    >>> from safetwin.twin.workflows.audit import AuditKey
    >>> key = AuditKey.generate()
    >>> folder = CheckpointDir(tempfile.mkdtemp(), "site1")
    >>> cp = folder.write(Checkpoint.make(key, site="site1", seq=7, rows=7, head_hash="ab" * 32,
    ...                                   time=datetime(2025, 6, 2, 8, 0, tzinfo=timezone.utc)))
    >>> [(c.seq, c.problem(key)) for c in folder.read()[0]]
    [(7, '')]
"""
from __future__ import annotations

import hmac
import json
import os
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from .audit import AuditKey, canonical


@dataclass(frozen=True)
class Checkpoint:
    """One signed statement of the chain's length and head (``time``: UTC ISO text)."""

    site: str
    seq: int
    rows: int
    head_hash: str
    time: str
    key_id: str
    mac: str = ""
    #: where it was read from (file:line), not part of the signed body
    source: str = field(default="", compare=False)

    def body(self) -> str:
        """The signed text: every field but ``mac`` and ``source``, as canonical JSON."""
        fields = asdict(self)
        fields.pop("mac")
        fields.pop("source")
        return canonical(fields)

    @classmethod
    def make(cls, key: AuditKey, *, site: str, seq: int, rows: int, head_hash: str, time: datetime) -> Checkpoint:
        """A checkpoint signed with ``key``."""
        unsigned = cls(site=site, seq=seq, rows=rows, head_hash=head_hash,
                       time=time.astimezone(timezone.utc).isoformat(), key_id=key.key_id)
        return replace(unsigned, mac=key.mac("checkpoint|" + unsigned.body()))

    def problem(self, key: AuditKey) -> str:
        """Why this checkpoint cannot be trusted under ``key`` ("" when it can)."""
        if self.key_id != key.key_id:
            return f"checkpoint of {self.time} ({self.source}): signed with another key ({self.key_id})"
        if not hmac.compare_digest(self.mac, key.mac("checkpoint|" + self.body())):
            return f"checkpoint of {self.time} ({self.source}): bad signature (the file was edited)"
        return ""


class CheckpointDir:
    """The checkpoint files of one site under ``root`` (see the module docstring)."""

    def __init__(self, root: str | Path, site: str) -> None:
        self.root = Path(root)
        self.site = site
        self.folder = self.root / site

    def write(self, cp: Checkpoint) -> Checkpoint:
        """Append ``cp`` to the file of its day (created 0600) and sync it to disk."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.folder / f"{cp.time[:10]}.jsonl"
        line = json.dumps({k: v for k, v in asdict(cp).items() if k != "source"}, sort_keys=True) + "\n"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        return replace(cp, source=f"{path.name}")

    def files(self) -> list[Path]:
        """The day files, oldest first."""
        return sorted(self.folder.glob("*.jsonl")) if self.folder.is_dir() else []

    def read(self) -> tuple[list[Checkpoint], list[str]]:
        """Every checkpoint of the site, oldest first, and the lines that are not checkpoints (located)."""
        found: list[Checkpoint] = []
        problems: list[str] = []
        for path in self.files():
            for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
                if not line.strip():
                    continue
                where = f"{path.name}:{number}"
                try:
                    fields = json.loads(line)
                    found.append(Checkpoint(**{**fields, "source": where}))
                except (ValueError, TypeError) as exc:
                    problems.append(f"checkpoint file {where}: not a checkpoint ({exc})")
        found.sort(key=lambda cp: (cp.seq, cp.time))
        return found, problems

    def exists(self) -> bool:
        """True when the site has any checkpoint file."""
        return bool(self.files())


@dataclass(frozen=True)
class AuditSetup:
    """How the workflows audit themselves: the key and where the checkpoints go (None: nowhere —
    tests and tools; the chain is then checked against this process's newest link only)."""

    key: AuditKey
    checkpoint_dir: Path | None = None
