"""Serving the workflow API: database pool, thread pool and uvicorn in one place.

The blocking routes run on AnyIO's worker threads (``api_threads`` of the workflow settings, set
when the app starts); the database pool is sized to match so a request never waits for a
connection while a thread is free, and connections are kept rather than opened per request
(a new SQLite connection costs its PRAGMAs; a new PostgreSQL one a round trip and a backend).

Example::

    >>> from safetwin.twin.workflows.settings import WorkflowSettings
    >>> engine_options("postgresql+psycopg://u@h/db", WorkflowSettings(api_threads=16))["pool_size"]
    20
"""
from __future__ import annotations

from typing import Any

from sqlalchemy.engine import make_url

from ..workflows.settings import WorkflowSettings


def engine_options(url: str, settings: WorkflowSettings | None = None) -> dict[str, Any]:
    """``create_engine`` options for the API's database at ``url``: a pool of ``api_threads + 4``
    kept connections (in-memory SQLite keeps its single shared connection)."""
    st = settings or WorkflowSettings()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        return {}
    return {"pool_size": st.api_threads + 4, "max_overflow": 8, "pool_timeout": 10}


def open_store(url: str, settings: WorkflowSettings | None = None) -> Any:
    """The :class:`~safetwin.twin.store.Store` at ``url`` (migrated) with the API's pool options."""
    from ..store import Store

    return Store.open(url, **engine_options(url, settings))


def freeze_startup_heap() -> int:
    """Keep what start-up built out of every later garbage collection; returns the objects frozen.

    A served process holds millions of long-lived objects after start-up (the plant, its geometry,
    the web UI's libraries); CPython's full collections walk them all, which took 250-740 ms every
    few seconds on the request path. Collected once here, then frozen (``gc.freeze``), they are
    never walked again: a collection only visits what was made since."""
    import gc

    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def run(app: Any, host: str = "127.0.0.1", port: int = 8000, log_level: str = "warning") -> None:
    """Serve ``app`` with uvicorn in this process (one worker: the audit chain and SIMOPS guards
    are serialised in-process; several workers need a shared ``SAFETWIN_JWT_SECRET`` and PostgreSQL)."""
    import uvicorn

    freeze_startup_heap()
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
