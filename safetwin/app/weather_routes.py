"""The live weather on the API: ``GET /state/weather`` (any signed-in role, as the twin's other
``/state`` routes).

What the estimator and the recommendations use right now
(:class:`~safetwin.emergency_planner.live.weather.LiveWeather`): the weather station's latest record
with its status and age, the stability class and the method that gave it, the wind's uncertainty,
and — when the station is stale, missing or faulty — the fallback in force and why
(``"fallback": true`` and the ``note``). The live mode puts its source on the app
(``app.state.live_weather``, :func:`set_weather_source`); without it the route judges the twin's
station against the configured fallback wind (``SAFETWIN_LIVE_WIND``).
"""
from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends, Request

from safetwin.emergency_planner.live.weather import LiveWeatherSource, weather_from_wind
from safetwin.twin.api.auth import require_role

from .settings import get_settings

router = APIRouter()


def set_weather_source(app: Any, source: LiveWeatherSource) -> None:
    """Serve ``source`` on ``GET /state/weather``."""
    app.state.live_weather = source


def weather_source(app: Any) -> LiveWeatherSource:
    """The app's live weather source, or one over its twin with the configured fallback."""
    source = getattr(app.state, "live_weather", None)
    if source is None:
        from .live import parse_wind

        source = LiveWeatherSource(app.state.twin, weather_from_wind(parse_wind(get_settings().live_wind)))
        app.state.live_weather = source
    return source


@router.get("/state/weather", tags=["state"], dependencies=[Depends(require_role("viewer"))])
def live_weather(request: Request) -> dict:
    """The weather in force: station record, status and age, class and method, uncertainty, fallback."""
    return {"computed_at": time.time(), **weather_source(request.app)().summary()}
