"""Property-based API test: schemathesis generates requests from the OpenAPI spec; no answer may be a 5xx.

Runs in-process over ASGI as an authenticated admin (every route reachable) against a fresh
in-memory database, with a bounded number of examples per operation (``SAFETWIN_SCHEMATHESIS_EXAMPLES``,
default 25) so the whole run stays well under a minute.
"""
from __future__ import annotations

import os
import tempfile

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is a test dependency (pip install schemathesis)")
from hypothesis import HealthCheck, settings  # noqa: E402

from safetwin.plant_models.loader import bundled_plant_path, load_plant  # noqa: E402
from safetwin.twin.api.app import create_app  # noqa: E402
from safetwin.twin.api.auth import issue_token  # noqa: E402
from safetwin.twin.state import TwinState  # noqa: E402
from safetwin.twin.store import Store  # noqa: E402
from safetwin.twin.workflows.notify import MemoryChannel  # noqa: E402
from safetwin.twin.workflows.roles import Actor  # noqa: E402
from wfhelpers import T0, Clock, make_service  # noqa: E402

EXAMPLES = int(os.environ.get("SAFETWIN_SCHEMATHESIS_EXAMPLES", "25"))
_plant = load_plant(bundled_plant_path("small_plant"))
_store = Store.open("sqlite://")
_photos = tempfile.TemporaryDirectory(prefix="safetwin-schemathesis-photos-")
_svc = make_service(_store.engine, _plant, Clock(T0), MemoryChannel(), photo_dir=_photos.name)
_svc.attach(TwinState(_plant))
_app = create_app(_svc.state, workflows=_svc)
TOKEN = issue_token(Actor("root", frozenset({"admin"})), _svc.settings.jwt_secret, 60)
schema = schemathesis.openapi.from_asgi("/openapi.json", _app)
seen: dict[str, int] = {}


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_server_error(case) -> None:
    response = case.call(headers={"Authorization": f"Bearer {TOKEN}"})
    seen[case.operation.label] = seen.get(case.operation.label, 0) + 1
    assert response.status_code < 500, (case.method, case.formatted_path, case.body, response.text[:500])


def teardown_module() -> None:
    """Print how many generated requests ran (visible with ``-s``), and release the database."""
    print(f"\nschemathesis: {sum(seen.values())} requests over {len(seen)} operations, none answered 5xx")
    _svc.close()
    _store.close()
    _photos.cleanup()
