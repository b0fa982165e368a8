"""Planner routes: the latest recommendations and a run of a library scenario.

* ``GET /planner/recommendations`` — the latest :class:`Recommendations` as JSON (roles operator,
  planner, safety_engineer, manager; 404 before any run).
* ``POST /planner/recommendations/run`` — body ``{"scenario": NAME, "t0_s": S | null}`` (roles
  planner, operator): runs the scenario's timeline without the agents, builds the recommendations
  and keeps them in memory on the app (``app.state.planner_recommendations``). Only scenario *names*
  of the library (or of ``app.state.planner_scenario_dir``) are accepted, never paths.

:func:`safetwin.app.api.build_api` passes ``router`` to the twin's ``create_app``. The live mode
stores its own result with :func:`set_latest`. The role guards are the twin API's own
(:func:`safetwin.twin.api.auth.require_roles`).
"""
from __future__ import annotations

import math
import re
import threading
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import Field

from safetwin.emergency_planner.recommend.scenario import recommend_scenario
from safetwin.scenarios.loader import LIBRARY, ScenarioValidationError, list_scenarios, load_scenario
from safetwin.twin.api.auth import require_roles
from safetwin.twin.api.schemas import StrictIn

READERS = require_roles("operator", "planner", "safety_engineer", "manager")
RUNNERS = require_roles("planner", "operator")
NAME_RE = re.compile(r"^[A-Za-z0-9_\-]{1,80}$")

router = APIRouter()
_LOCK = threading.Lock()


class RunIn(StrictIn):
    scenario: str = Field(min_length=1, max_length=80, pattern=NAME_RE.pattern,
                          description="scenario name in the library")
    t0_s: float | None = Field(default=None, ge=0, description="time of the recommendation (s); default: alarm time")


def set_latest(app: Any, rec: Any, source: str, *, document: dict | None = None) -> dict:
    """Store ``rec`` (a Recommendations) as the app's latest, with where it came from; returns the
    document. ``document``: the whole evaluation that ``rec`` belongs to (the live mode's, with the
    incident, the estimate, the weather and the per-area instructions), served as it is."""
    doc = document if document is not None else {"source": source, "computed_at": time.time(),
                                                  "recommendations": rec.to_dict()}
    app.state.planner_recommendations = doc
    return doc


@router.get("/planner/recommendations", tags=["planner"], dependencies=[Depends(READERS)],
            responses={404: {"description": "no recommendations yet"}})
def latest(request: Request) -> dict:
    """The latest recommendations (routes, muster points, shelter advice, responders, people at risk)."""
    doc = getattr(request.app.state, "planner_recommendations", None)
    if doc is None:
        raise HTTPException(404, "no recommendations yet: POST /planner/recommendations/run or start the live mode")
    return doc


@router.post("/planner/recommendations/run", tags=["planner"], dependencies=[Depends(RUNNERS)],
             responses={404: {"description": "no scenario of this name in the library"}})
def run(request: Request, body: RunIn) -> dict:
    """Run a library scenario's timeline (no agents), recommend at ``t0_s`` and keep the result."""
    extra = getattr(request.app.state, "planner_scenario_dir", None)
    folders = [Path(extra)] if extra else []
    folders.append(LIBRARY)
    path = next((f / f"{body.scenario}.yaml" for f in folders if body.scenario in list_scenarios(f)), None)
    if path is None:
        raise HTTPException(404, f"scenario: unknown scenario {body.scenario!r}")
    try:
        loaded = load_scenario(path)
    except ScenarioValidationError as err:
        raise HTTPException(422, str(err)) from None
    twin = getattr(request.app.state, "twin", None)
    if twin is not None and loaded.plant.id != twin.plant.id:
        raise HTTPException(422, f"scenario {body.scenario}: plant {loaded.plant.id!r} is not this twin's plant "
                                 f"{twin.plant.id!r}")
    if body.t0_s is not None and not math.isfinite(body.t0_s):
        raise HTTPException(422, "t0_s: must be finite")
    with _LOCK:  # one run at a time (CPU bound)
        _, rec = recommend_scenario(loaded, body.t0_s)
        doc = set_latest(request.app, rec, f"scenario:{body.scenario}")
    return {"source": doc["source"], "computed_at": doc["computed_at"], "summary": doc["recommendations"]["summary"],
            "t0_s": rec.t0_s}
