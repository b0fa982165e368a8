"""FastAPI application factory: ``create_app(state)`` serves one plant's twin.

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

from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import JSONResponse

from safetwin import __version__
from safetwin.plant_models.export import plant_frames
from safetwin.plant_models.schema import LAYERS

from ..state import TwinState
from .auth import require_role

VIEW = Depends(require_role("viewer"))


def create_app(state: TwinState, tokens: dict[str, str]) -> FastAPI:
    """The API over ``state``; ``tokens`` maps bearer tokens to roles (see :mod:`.auth`)."""
    if not tokens:
        raise ValueError("the API needs at least one token (SAFETWIN_API_TOKEN)")
    app = FastAPI(title="SafeTwin API", version=__version__)
    app.state.twin = state
    app.state.tokens = dict(tokens)
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
