"""FastAPI application factory: ``create_app(state)`` serves one plant's twin.

Routes of the layers above the twin (the planner's recommendations) are not imported here: the
wiring layer passes them in as ``routers`` (``safetwin.app.api.build_api``). Every route they
bring must carry the auth dependencies of :mod:`.auth`, like the twin's own.

Example::

    >>> from fastapi.testclient import TestClient
    >>> from safetwin.plant_models.loader import load_plant, bundled_plant_path
    >>> from safetwin.twin.state import TwinState
    >>> app = create_app(TwinState(load_plant(bundled_plant_path("small_plant"))), tokens={"t": "viewer"})
    >>> TestClient(app).get("/plant", headers={"Authorization": "Bearer t"}).json()["id"]
    'small_plant'
"""
from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI, HTTPException
from fastapi.responses import JSONResponse

from safetwin.plant_models.export import plant_frames
from safetwin.plant_models.schema import LAYERS
from safetwin.version import __version__

from ..state import TwinState
from ..workflows.scheduler import DueJobScheduler
from ..workflows.settings import WorkflowSettings
from .auth import current_actor, require_role
from .errors import BodyLimit, install_error_handlers
from .login_throttle import LoginThrottle
from .openapi import install_docs
from .field_routes import router as field_router
from .oversight_routes import router as oversight_router
from .workflow_routes import router as workflow_router

VIEW = Depends(require_role("viewer"))

if TYPE_CHECKING:
    from ..workflows.service import WorkflowService


def create_app(state: TwinState, tokens: dict[str, str] | None = None, *, workflows: WorkflowService | None = None,
               settings: WorkflowSettings | None = None, routers: Sequence[APIRouter] = ()) -> FastAPI:
    """The API over ``state``.

    ``tokens`` maps static service tokens to legacy roles (see :mod:`.auth`); ``workflows`` is a
    :class:`~safetwin.twin.workflows.service.WorkflowService` whose users log in with the OAuth2
    password flow (JWT). At least one of the two must be given. ``settings`` carries the JWT secret.
    ``routers`` are more routes (from the layers above), added flat like the workflow routes.

    With ``workflows``, the app's lifespan runs a :class:`~safetwin.twin.workflows.scheduler.DueJobScheduler`
    every ``job_interval_s`` seconds of the workflow settings (0 turns it off): permit expiry,
    certificate reminders and hazard escalation happen without any endpoint being called.
    """
    if not tokens and workflows is None:
        raise ValueError("the API needs a WorkflowService (users) or at least one token (SAFETWIN_API_TOKEN)")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if workflows is not None:   # threads for the blocking routes (the DB pool is sized to match)
            anyio.to_thread.current_default_thread_limiter().total_tokens = workflows.settings.api_threads
        interval = workflows.settings.job_interval_s if workflows is not None else 0
        sched = DueJobScheduler(workflows, interval).start() if interval > 0 else None
        app.state.scheduler = sched
        try:
            yield
        finally:
            if sched is not None:
                sched.stop()

    app = FastAPI(title="SafeTwin API", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="The safety digital twin of one plant: plant data, live state, and the safety "
                              "workflows (permits to work, gas tests, hazards, certificates, alarm cases, risk "
                              "register, KPIs). Sign in with `POST /auth/token`; each operation names the roles "
                              "it admits (`x-required-roles`) and every refusal has the `ErrorOut` shape.")
    app.state.scheduler = None
    app.state.twin = state
    app.state.tokens = dict(tokens or {})
    app.state.workflows = workflows
    auth = app.state.auth_settings = settings or (workflows.settings if workflows is not None else WorkflowSettings())
    app.state.login_throttle = LoginThrottle(
        max_failures_account=auth.login_max_failures_account, max_failures_address=auth.login_max_failures_address,
        window_s=auth.login_window_s, lockout_s=auth.login_lockout_s, concurrency=auth.login_concurrency,
        on_lock=(workflows.record_login_lock if workflows is not None else None))
    app.router.routes.extend(workflow_router.routes)  # flat APIRoutes: visible to route audits and OpenAPI
    app.router.routes.extend(oversight_router.routes)
    app.router.routes.extend(field_router.routes)     # field workflows: rounds, training, contractors, phones
    for router in routers:
        app.router.routes.extend(router.routes)
    install_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=auth.api_max_body_bytes,
                       own_limit_paths=frozenset({"/field/photos"}))   # photos: counted refusals in the route
    service_routes = [*workflow_router.routes, *oversight_router.routes, *field_router.routes]
    install_docs(app, auth_call=current_actor, workflow_routes={id(r) for r in service_routes},
                 extra_statuses={("POST", "/auth/token"): [401, 429]})

    started = time.time()

    @app.get("/health")
    def health() -> dict:
        """Liveness: reveals no plant data, so no token is needed."""
        return {"status": "ok", "version": __version__, "uptime_s": round(time.time() - started, 1)}

    @app.get("/plant", dependencies=[VIEW])
    def plant() -> dict:
        """Summary of the loaded plant: extent, layers, sensors, muster points, shifts."""
        return state.plant.summary()

    @app.get("/plant/layers/{layer}", dependencies=[VIEW])
    def plant_layer(layer: str) -> JSONResponse:
        """One plant layer as GeoJSON in WGS84 (``buildings``, ``equipment``, ``sensors`` …)."""
        known = set(LAYERS) | {"boundary", "sensors", "muster_points", "resources"}
        if layer not in known:
            raise HTTPException(404, f"unknown layer {layer!r}; known: {sorted(known)}")
        frame = plant_frames(state.plant)[layer].to_crs("EPSG:4326")
        return JSONResponse(frame.__geo_interface__ if len(frame) else {"type": "FeatureCollection", "features": []})

    @app.get("/state/readings", dependencies=[VIEW])
    def readings() -> dict:
        """Latest reading of every sensor: value, source time (s, UTC epoch), quality."""
        return {k: {"value": r.value, "ts": r.ts, "quality": r.quality} for k, r in state.readings().items()}

    @app.get("/state/occupancy", dependencies=[VIEW])
    def occupancy() -> dict:
        """People per named area (key ``outside`` for people in no area)."""
        return {("outside" if k is None else k): v for k, v in state.occupancy().items()}

    @app.get("/state/alarms", dependencies=[VIEW])
    def alarms() -> list[dict]:
        """Active alarms."""
        return [{"alarm_id": a.alarm_id, "source_id": a.source_id, "level": a.level, "ts": a.ts,
                 "message": a.message, "acknowledged": a.acknowledged} for a in state.active_alarms()]

    return app
