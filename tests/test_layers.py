"""The layers hold: import-linter's contracts (``[tool.importlinter]`` in pyproject.toml) pass.

import-linter reads every import statement of the package — inside functions ("lazy") and under
``TYPE_CHECKING`` too — so an upward import anywhere fails this test, with the chain that breaks
the contract in the message.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _lint_imports() -> list[str]:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.fail("lint-imports not found next to this Python: install the test extra (pip install -e '.[test]')")
    return [exe, "--no-cache"]


def test_import_contracts_are_kept():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run(_lint_imports(), cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert " 0 broken" in proc.stdout, proc.stdout[-2000:]
