"""Errors shared across SafeTwin's input formats."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class LocatedValidationError(ValueError):
    """An input (plant, scenario, …) with every problem found, each located by file and field."""

    kind = "input"

    def __init__(self, path: Path | str, issues: Sequence[object]):
        self.path = path
        self.issues = list(issues)
        lines = "\n".join(f"  - {i}" for i in self.issues)
        super().__init__(f"{self.kind} {path} has {len(self.issues)} error(s):\n{lines}")
