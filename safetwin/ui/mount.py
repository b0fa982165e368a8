"""Serve the Panel pages from the API's own FastAPI app, behind the API's login.

Example::

    from safetwin.twin.api.app import create_app
    from safetwin.ui import mount_ui

    app = create_app(state, tokens, workflows=service)
    ui = mount_ui(app, state, workflows=service, bridge=bridge)   # before uvicorn starts
    uvicorn.run(app)          # then open http://host:port/ui/control-room

Routes (``prefix`` defaults to ``/ui``): ``/ui/login`` (public), ``/ui/control-room``,
``/ui/planner``, ``/ui/engineer``, ``/ui/manager``, ``/ui/plant-check``, ``/ui/field`` (the phone page of
field work, :mod:`.field`), ``/ui/manager/report.html`` and
``/ui/manager/report.pdf`` (report downloads), ``/ui/basemap/{z}/{x}/{y}.png`` (local basemap tiles,
:mod:`.basemap`), ``/ui/logout``. The planner's runs go to one worker
process shared by its sessions (``ctx.extra["planner_runs"]``, :class:`~.planner_runs.PlannerRuns`).
"""
from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from .auth import COOKIE, UIAuthMiddleware, actor_for_token, add_login_routes
from .common import UIContext
from .field import FieldApiForward, add_field_routes
from .i18n import normalise_lang
from .snapshot import SnapshotSource
from .ws_guard import WebSocketDisconnectGuard

#: how long (ms) a session may wait for its browser's WebSocket, and outlives a closed tab
SESSION_LIFETIME_MS = 60_000
#: who may download KPI and drill reports
REPORT_ROLES = ("manager", "safety_engineer", "planner")

if TYPE_CHECKING:
    from safetwin.twin.state import TwinState


def bridge_hooks(bridge: Any | None) -> dict[str, Any]:
    """The :class:`SnapshotSource` hooks of a running ``LiveBridge``: acknowledge and shelve through
    its ISA-18.2 alarm engine, and its count of received messages as the live feed (empty without
    a bridge)."""
    if bridge is None:
        return {}

    def shelve(alarm_id: str, by: str, duration_s: float) -> None:
        bridge.engine.command("shelve", alarm_id, time.time(), by, duration_s)

    def feed() -> int:
        ingestor = bridge.ingestor
        return ingestor.messages if ingestor is not None else 0

    return {"acknowledge": bridge.acknowledge, "shelve": shelve, "feed": feed}


def mount_ui(app: FastAPI, state: TwinState, *, workflows: Any | None = None, bridge: Any | None = None,
             source: SnapshotSource | None = None, prefix: str = "/ui", expected_shift: str | None = "day",
             websocket_origin: list[str] | None = None, qra_dir: str | None = None,
             chromium: str | None = None, basemap_tiles_dir: str | Path | None = None) -> UIContext:
    """Mount the control-room, planner, engineer and manager pages on ``app`` behind its login.

    Args:
        app: the API app (``safetwin.twin.api.app.create_app``); its token/JWT rules guard the UI.
        state: the live twin the pages show.
        workflows: the WorkflowService (risk register, KPIs, permits), or None.
        bridge: the running ``LiveBridge``; alarm acknowledgements and shelving then go through its
            ISA-18.2 engine (otherwise only the TwinState's flag is set, and nothing can be shelved),
            and the control room's staleness banner watches its received messages.
        source: a ready snapshot source (e.g. shared with a benchmark); built from ``state`` if None.
        prefix: URL prefix of the UI.
        expected_shift: the shift whose head-count is the expected count per area.
        websocket_origin: allowed WebSocket origins (``host:port``); None allows the page's own.
        qra_dir: a ``run_qra`` output folder; the engineer page draws its risk contours
            (``risk_contours_local.geojson``). The page's "compute" button writes its coarse QRA there.
        chromium: the Chromium executable printing PDF reports (default: found on the machine).
        basemap_tiles_dir: a folder of XYZ tiles ``{z}/{x}/{y}.png`` (Web Mercator) on this machine;
            the engineer's map draws them beneath its zones, reprojected to the plant's frame and
            served at ``{prefix}/basemap/{z}/{x}/{y}.png`` behind the login (:mod:`.basemap`).
            None: no basemap (that route answers 404).

    Raises:
        ValueError: ``basemap_tiles_dir`` is not a folder of XYZ tiles.

    Returns:
        The :class:`UIContext`; ``ctx.source.set_incident(result, routes=...)`` shows a
        consequence result (``zones_at_equipment``) and routes on the live views.
    """
    import panel as pn
    from panel.io.fastapi import add_applications

    from .control_room import control_room_page
    from .engineer import engineer_page
    from .manager import manager_page, report_html, report_pdf
    from .planner import planner_page, planner_runs_for
    from .plant_check import plant_check_page

    pn.extension("vtk")
    prefix = "/" + prefix.strip("/")
    if source is None:
        source = SnapshotSource(state, expected_shift=expected_shift, **bridge_hooks(bridge))
    ctx = UIContext(source=source, app=app, workflows=workflows, prefix=prefix)
    if qra_dir is not None:
        ctx.extra["qra_dir"] = str(qra_dir)
    if basemap_tiles_dir is not None:
        from .basemap import PlantBasemap

        ctx.extra["basemap"] = PlantBasemap(ctx.plant, basemap_tiles_dir)
    ctx.extra["basemap_rejected"] = 0
    planner_runs_for(ctx)  # planner: the shared run manager (its worker process starts on first use)
    ttl_min = getattr(app.state, "auth_settings", None)
    max_age = int(getattr(ttl_min, "jwt_ttl_min", 60.0) * 60)
    open_paths = add_login_routes(app, prefix, max_age) | add_field_routes(app, prefix, ctx.plant)
    app.add_middleware(UIAuthMiddleware, fastapi_app=app, prefix=prefix, open_paths=open_paths)
    app.add_middleware(WebSocketDisconnectGuard, prefix=prefix)   # a closed tab ends its session
    app.add_middleware(FieldApiForward, prefix=prefix)   # outside the login: an expired cookie gets the API's 401

    @app.get(prefix, include_in_schema=False)
    @app.get(prefix + "/", include_in_schema=False)
    def ui_index(request: Request) -> RedirectResponse:
        lang = normalise_lang(request.query_params.get("lang"))
        return RedirectResponse(f"{prefix}/control-room?lang={lang}", status_code=303)

    if not any(getattr(r, "path", None) == "/favicon.ico" for r in app.router.routes):
        from panel.io.resources import DIST_DIR

        @app.get("/favicon.ico", include_in_schema=False)
        def favicon() -> FileResponse:
            return FileResponse(DIST_DIR / "images" / "favicon.ico")

    def _period(request: Request) -> tuple[datetime, datetime, str]:
        q = request.query_params
        try:
            end = datetime.fromisoformat(q["end"]) if "end" in q else datetime.now(timezone.utc)
            start = datetime.fromisoformat(q["start"]) if "start" in q else end.replace(day=1, hour=0, minute=0,
                                                                                         second=0, microsecond=0)
        except ValueError as exc:
            raise HTTPException(422, f"start/end must be ISO 8601 dates: {exc}") from None
        if start.tzinfo is None:
            start = start.replace(tzinfo=timezone.utc)
        if end.tzinfo is None:
            end = end.replace(tzinfo=timezone.utc)
        return start, end, normalise_lang(q.get("lang"))

    def _require(request: Request, *roles: str) -> None:
        """403 unless the logged-in UI user holds one of ``roles`` (admin holds all)."""
        actor = actor_for_token(app, request.cookies.get(COOKIE))
        if actor is None or not actor.has(*roles):
            raise HTTPException(403, f"needs one of the roles {list(roles)}")

    @app.get(prefix + "/manager/report.html", include_in_schema=False)
    def ui_report_html(request: Request) -> HTMLResponse:
        _require(request, *REPORT_ROLES)
        start, end, lang = _period(request)
        return HTMLResponse(report_html(ctx, start, end, lang),
                            headers={"Content-Disposition": 'attachment; filename="safetwin-kpi-report.html"'})

    @app.get(prefix + "/manager/report.pdf", include_in_schema=False)
    def ui_report_pdf(request: Request) -> Response:
        _require(request, *REPORT_ROLES)
        start, end, lang = _period(request)
        try:
            pdf = report_pdf(report_html(ctx, start, end, lang), chromium=chromium)
        except RuntimeError as exc:
            raise HTTPException(503, str(exc)) from None
        return Response(pdf, media_type="application/pdf",
                        headers={"Content-Disposition": 'attachment; filename="safetwin-kpi-report.pdf"'})

    @app.get(prefix + "/manager/drill/{evaluation_id}.{fmt}", include_in_schema=False)
    def ui_drill_report(evaluation_id: int, fmt: str, request: Request) -> Response:
        """One stored drill evaluation's report (HTML or PDF)."""
        _require(request, *REPORT_ROLES)
        from safetwin.twin.workflows.drill_store import get_evaluation
        from safetwin.emergency_planner.drill.report import report_html as drill_html
        from safetwin.emergency_planner.drill.report import report_pdf as drill_pdf

        if fmt not in ("html", "pdf") or workflows is None:
            raise HTTPException(404, "no such report")
        doc = get_evaluation(workflows.repo.engine, evaluation_id)
        if doc is None:
            raise HTTPException(404, f"no drill evaluation {evaluation_id}")
        name = f'attachment; filename="safetwin-drill-{evaluation_id}.{fmt}"'
        if fmt == "html":
            return HTMLResponse(drill_html(doc), headers={"Content-Disposition": name})
        try:
            return Response(drill_pdf(doc, chromium=chromium), media_type="application/pdf",
                            headers={"Content-Disposition": name})
        except RuntimeError as exc:
            raise HTTPException(503, str(exc)) from None

    @app.get(prefix + "/basemap/{z}/{x}/{y}.png", include_in_schema=False)
    def ui_basemap_tile(z: int, x: int, y: int) -> Response:
        """One tile of the local basemap grid (PNG); 404 without a basemap or outside the grid."""
        basemap = ctx.extra.get("basemap")
        if basemap is None:
            raise HTTPException(404, "no basemap: set basemap_tiles_dir (SAFETWIN_BASEMAP_TILES_DIR)")
        try:
            png = basemap.png(z, x, y)
        except ValueError as exc:
            ctx.extra["basemap_rejected"] += 1
            raise HTTPException(404, str(exc)) from None
        return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})

    pages = {
        f"{prefix}/control-room": lambda: control_room_page(ctx),
        f"{prefix}/planner": lambda: planner_page(ctx),
        f"{prefix}/engineer": lambda: engineer_page(ctx),
        f"{prefix}/manager": lambda: manager_page(ctx),
        f"{prefix}/plant-check": lambda: plant_check_page(ctx),
    }
    # A session lives this long unused: the page's HTTP GET creates it and its WebSocket must connect
    # within it. On a loaded 2-core machine loading the page's scripts took longer than 8 s, the
    # session was gone when the browser connected (a blank page and a Bokeh traceback), so it is
    # generous; a closed tab's periodic callbacks meanwhile send nothing (``session_connected``).
    kwargs: dict[str, Any] = {"check_unused_sessions_milliseconds": 2000,
                              "unused_session_lifetime_milliseconds": SESSION_LIFETIME_MS}
    if websocket_origin:
        kwargs["websocket_origin"] = websocket_origin
    add_applications(pages, app=app, title=dict.fromkeys(pages, "SafeTwin"), **kwargs)
    for route in app.router.routes:   # web pages (HTML, Bokeh sessions), not operations of the API
        if getattr(route, "path", "").startswith(prefix + "/") and hasattr(route, "include_in_schema"):
            route.include_in_schema = False
    app.openapi_schema = None
    return ctx
