"""The README's Python examples run as written (doctest over its ```python blocks)."""
from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks() -> list[str]:
    return BLOCK.findall(README.read_text(encoding="utf-8"))


def test_readme_has_a_quick_start():
    blocks = python_blocks()
    assert blocks and all(">>> " in b for b in blocks), "the README's python blocks are doctests"
    assert any("import safetwin as st" in b for b in blocks)


@pytest.mark.slow
def test_readme_examples_run():
    """One namespace for all blocks, in order, as a reader types them into one session."""
    parser = doctest.DocTestParser()
    text = "\n".join(python_blocks())
    test = parser.get_doctest(text, {}, "README.md", str(README), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    failures: list[str] = []
    runner.run(test, out=failures.append)
    assert runner.failures == 0, "".join(failures)
    assert runner.tries >= 8
