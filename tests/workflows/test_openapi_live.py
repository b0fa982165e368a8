"""Schemathesis against the live OpenAPI of the served ``safetwin demo`` process: every operation
of ``/openapi.json`` called over HTTP with generated requests (examples, coverage and fuzzing
phases) and every check of schemathesis on — no server error, each answer's status, content type,
headers and body as the document says, schema-violating requests refused, 405 with the right
``Allow`` for undeclared methods, refusal without a token. The web pages (/ui/…) are not in the document.

One setting departs from schemathesis' defaults: a request valid by the JSON Schema may still be
refused with 422 by a rule the schema cannot state (a certificate that expires before it is issued,
equipment or areas that do not exist on the plant, a polygon with no area), so 422 counts as an
accepted answer to valid data (as 2xx, 401, 403, 404 and 409 do by default). Its body is still
checked against the error schema.

``SAFETWIN_SCHEMATHESIS_LIVE_EXAMPLES`` (default 10) sets the examples per operation and phase;
the run prints schemathesis' own report.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("schemathesis", reason="schemathesis is a test dependency (pip install schemathesis)")

from served_demo import ServedDemo

EXAMPLES = int(os.environ.get("SAFETWIN_SCHEMATHESIS_LIVE_EXAMPLES", "10"))
CONFIG = """\
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "409", "422"]
"""

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    served = ServedDemo(tmp_path_factory.mktemp("demo"))
    yield served
    served.stop()


def test_live_openapi_has_no_server_error_and_no_schema_violation(demo, tmp_path):
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    run = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run", f"{demo.url}/openapi.json",
         "-H", f"Authorization: Bearer {demo.token}", "--checks", "all", "--phases", "examples,coverage,fuzzing",
         "--max-examples", str(EXAMPLES), "--workers", "2", "--seed", "15", "--no-color"],
        capture_output=True, text=True, timeout=1200, cwd=tmp_path)   # its cache stays out of the tree
    report = run.stdout + run.stderr
    print(report[-6000:])
    assert "Operations:" in report and "generated" in report, report[-3000:]
    assert run.returncode == 0, report[-8000:]
