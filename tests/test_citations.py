"""Comments and docs cite a source (paper, standard, a docs/ page), never a document outside the
repository: no "issue N", no "reference note §…", no path into the team's shared notes."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: pointers to documents a reader of the repository cannot open
OUTSIDE = re.compile(r"\b[Ii]ssues? #?\d+\b|reference notes?\b|shared/reference|\bnote §|\[PUB per\b")
SCANNED = ("safetwin", "tests", "benchmarks", "tools", "docs")
SUFFIXES = {".py", ".md", ".yaml", ".yml", ".toml", ".sh"}


def test_no_pointer_to_documents_outside_the_repository():
    files = [ROOT / "README.md", ROOT / "BENCHMARKS.md", ROOT / "Makefile", ROOT / "pyproject.toml"]
    for folder in SCANNED:
        files += [p for p in (ROOT / folder).rglob("*") if p.suffix in SUFFIXES and p.is_file()]
    me = Path(__file__).resolve()
    found = [f"{path.relative_to(ROOT)}:{n}: {line.strip()[:100]}"
             for path in files if path.resolve() != me
             for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
             if OUTSIDE.search(line)]
    assert found == [], "cite the paper, standard or docs/ page instead (docs/sources.md lists the main ones):\n" \
        + "\n".join(found)
