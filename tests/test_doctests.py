"""Every public module's docstring examples run as written (PyVista-style runnable docs)."""
from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest


PACKAGES = ["safetwin"]   # every module below the package (each layer is a subpackage)
# alembic env needs alembic's runtime; generators write files; __main__ runs the CLI
SKIP = ("migrations", ".tools.", ".__main__")


def _modules() -> list[str]:
    names = set()
    for pkg_name in PACKAGES:
        pkg = importlib.import_module(pkg_name)
        names.add(pkg_name)
        for info in pkgutil.walk_packages(pkg.__path__, prefix=pkg_name + "."):
            names.add(info.name)
    return sorted(n for n in names if not any(s in n + "." for s in SKIP))


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    monkeypatch.setenv("SAFETWIN_DATA_DIR", str(tmp_path))
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
