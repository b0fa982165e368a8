"""The API as served: the twin's app (:func:`safetwin.twin.api.app.create_app`) with the routes of
the layers above it (the planner's recommendations, :mod:`.planner_routes`; the live weather,
:mod:`.weather_routes`).

Example::

    >>> from fastapi.testclient import TestClient
    >>> from safetwin.plant_models.loader import load_plant
    >>> from safetwin.twin.state import TwinState
    >>> api = build_api(TwinState(load_plant("small_plant")), tokens={"t": "operator"})
    >>> TestClient(api).get("/planner/recommendations", headers={"Authorization": "Bearer t"}).status_code
    404
"""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from safetwin.twin.api.app import create_app
from safetwin.twin.state import TwinState
from safetwin.twin.workflows.settings import WorkflowSettings

from .planner_routes import router as planner_router
from .weather_routes import router as weather_router

__all__ = ["build_api"]


def build_api(state: TwinState, tokens: dict[str, str] | None = None, *, workflows: Any | None = None,
              settings: WorkflowSettings | None = None) -> FastAPI:
    """The twin's API over ``state`` plus the planner and live-weather routes (arguments as in ``create_app``)."""
    return create_app(state, tokens, workflows=workflows, settings=settings, routers=[planner_router, weather_router])
