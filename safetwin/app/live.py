"""Live-mode assembly: the bridge, the simulated plant and the live incident monitor.

* :func:`start_bridge` — a broker where none runs (SafeTwin's own Mosquitto), then the live bridge
  feeding a :class:`~safetwin.twin.state.TwinState`;
* :func:`start_simulator` — a simulated plant publishing its detector and tag traffic to the bridge;
* :func:`start_live_mode` — the :class:`~safetwin.emergency_planner.live.LiveIncidentMonitor` on the
  site's weather station (:class:`~safetwin.emergency_planner.live.weather.LiveWeatherSource`, also
  served on ``GET /state/weather``); each of its evaluations (:func:`live_evaluation`) goes, as one
  document, to the API (``GET /planner/recommendations``), to the site as retained per-area MQTT
  instructions and as notifications on the configured channels (only for a declared incident,
  :class:`IncidentNotices`) and to the control room.

Each returns what it started (or None) and one line describing the outcome, for the demo's banner.
"""
from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Any

from safetwin.background import Worker
from safetwin.emergency_planner.live import LiveIncidentMonitor, WindInput
from safetwin.emergency_planner.live.view import forecast_zones
from safetwin.emergency_planner.live.weather import LiveWeatherSource, weather_from_wind
from safetwin.live_bridge.bridge import LiveBridge
from safetwin.live_bridge.broker import BRIDGE_USER, SIM_USER, EmbeddedBroker, ensure_broker
from safetwin.live_bridge.simulator import PlantSimulator
from safetwin.plant_models.loader import Plant
from safetwin.twin.state import TwinState
from safetwin.twin.workflows.notify import Notification, Notifier

from .planner_routes import set_latest
from .settings import Settings
from .weather_routes import set_weather_source

__all__ = ["parse_wind", "start_bridge", "start_simulator", "start_live_mode", "live_evaluation", "IncidentNotices"]


def parse_wind(text: str) -> WindInput:
    """``'speed m/s,from deg,Pasquill class'`` (e.g. ``'3.0,270,D'``) as a :class:`WindInput`;
    ValueError naming the expected form otherwise.

    >>> w = parse_wind("3.0, 270, d")
    >>> w.speed_m_s, w.from_deg, w.stability
    (3.0, 270.0, 'D')
    """
    try:
        speed, from_deg, stability = (part.strip() for part in text.split(","))
        return WindInput(float(speed), float(from_deg), stability.upper())
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{text!r} is not 'speed m/s,from deg,Pasquill class': {exc}") from None


def start_bridge(plant: Plant, state: TwinState, settings: Settings,
                 site: str) -> tuple[LiveBridge | None, EmbeddedBroker | None, str]:
    """Start a broker where none runs, then the live bridge feeding ``state``.

    Returns (bridge or None, broker we started or None, a line describing the outcome). Where no
    broker runs and Mosquitto is not installed the demo goes on without the live path and says so.
    """
    try:
        broker = ensure_broker(settings.mqtt_host, settings.mqtt_port, settings.data_dir / "mosquitto", site=site)
    except (FileNotFoundError, OSError, RuntimeError) as exc:
        return None, None, f"off — {exc}"
    config = settings.bridge_config(site=site)
    if broker is not None:   # our own broker: authentication and ACLs on, the bridge's own user
        ep = broker.endpoint(BRIDGE_USER)
        config = replace(config, username=ep.username, password=ep.password, tls_ca_file=ep.tls_ca_file)
    try:
        bridge = LiveBridge(plant, config, state=state).start()
    except ConnectionError as exc:
        if broker is not None:
            broker.stop()
        return None, None, f"off — broker unreachable: {exc}"
    where = ("SafeTwin's own mosquitto, authentication and ACLs on" if broker is not None
             else "the running broker")
    return bridge, broker, (f"mqtt://{settings.mqtt_host}:{settings.mqtt_port} ({where}), "
                            f"topics pst/v1/{site}/… (see docs/mqtt-topics.md)")


def start_simulator(plant: Plant, settings: Settings, site: str,
                    own_broker: EmbeddedBroker | None = None) -> tuple[Worker, str]:
    """Publish a simulated plant's traffic (every detector at its period, every tag walking the
    roads, the weather station measuring the wind of ``SAFETWIN_LIVE_WIND``) on a background worker,
    as the simulated plant's user of ``own_broker`` when the demo started the broker; returns (the
    worker — ``stop()`` ends it —, a line describing it)."""
    try:
        wind = parse_wind(settings.live_wind)
    except ValueError:
        wind = WindInput(3.0, 270.0, "D")
    sim = PlantSimulator(plant, site, wind=lambda t_s: (wind.speed_m_s, wind.from_deg), stability=wind.stability)
    broker = own_broker.endpoint(SIM_USER) if own_broker is not None else settings.broker_endpoint()
    stop = threading.Event()
    worker = Worker("safetwin-simulated-plant", lambda: sim.run(
        broker.host, broker.port, username=broker.username, password=broker.password, tls_ca_file=broker.tls_ca_file,
        stop=stop), wake=stop.set).start()
    return worker, (f"{len(plant.meta.sensors)} detectors, the weather station and the day shift's tags publishing to "
                    f"pst/v1/{site}/… (--no-simulate to listen to real traffic only)")


def live_evaluation(update: Any, weather: Any | None = None) -> dict[str, Any]:
    """One live evaluation as one document: the incident (declared or not, why), the source
    estimate, the weather it used and the recommendations (people, areas, routes, ASET/RSET), with
    ``instructions`` — the per-area messages the site receives on MQTT — and an ``evaluation_id``
    that every one of them carries. The API serves this document, MQTT publishes its
    ``instructions`` and the control room draws its routes: all say the same."""
    estimate, verdict = update.estimate, update.declaration
    rec = update.recommendations
    evaluation_id = f"{update.t_s:.1f}"
    declared = bool(update.declared)
    where = f"{estimate.kind} {estimate.equipment_id or ''}".strip()
    source = (f"live estimate ({where}) +{update.since_alarm_s:.0f} s after the first alarm; "
              + (f"incident declared: {verdict.reason}" if declared else
                 f"not declared ({verdict.reason if verdict else 'no verdict'}), not sent to the site"))
    live = update.weather or weather
    instructions = [dict(i, evaluation_id=evaluation_id) for i in rec.area_instructions()] if rec is not None else []
    return {"source": source, "evaluation_id": evaluation_id, "computed_at": time.time(),
            "incident": {"declared": declared, "since_alarm_s": round(update.since_alarm_s, 1),
                         **(verdict.summary() if verdict is not None else {})},
            "estimate": {**estimate.summary(), "notes": list(estimate.notes)},
            "weather": live.summary() if live is not None else None,
            "recommendations": rec.to_dict() if rec is not None else None,
            "instructions": instructions}


class IncidentNotices:
    """Notifications of a declared incident's per-area instructions: one per area each time its
    instruction changes (action, route or muster point), to ``area:<id>`` on every channel of
    ``notifier`` — the monitor re-estimates every few seconds, people are told once per change.

    Example::

        >>> from safetwin.twin.workflows.notify import MemoryChannel
        >>> memory = MemoryChannel()
        >>> notices = IncidentNotices(Notifier([memory]), "site1")
        >>> step = {"area_id": "U1", "action": "evacuate", "route": ["R-3", "R-7"], "muster_point": "MP-2",
        ...         "reason": "AEGL-2 in 4 min"}
        >>> notices.send([step], "release at TK-101"), notices.send([step], "release at TK-101")
        (1, 0)
        >>> memory.sent[0].subject, memory.sent[0].recipients, memory.sent[0].text
        ('evac/U1', ('area:U1',), 'EVACUATE area U1 by R-3 → R-7 to muster point MP-2 (AEGL-2 in 4 min; release at TK-101)')
    """

    def __init__(self, notifier: Notifier, site: str) -> None:
        self.notifier = notifier
        self.site = site
        self._last: dict[str, tuple[Any, ...]] = {}

    @staticmethod
    def text(step: dict[str, Any], incident: str) -> str:
        """The instruction as a person reads it."""
        verb = {"evacuate": "EVACUATE", "shelter": "SHELTER IN PLACE", "all_clear": "ALL CLEAR"}.get(
            step["action"], str(step["action"]).upper())
        way = f" by {' → '.join(step['route'])}" if step.get("route") else ""
        to = f" to muster point {step['muster_point']}" if step.get("muster_point") and step["action"] == "evacuate" \
            else ""
        return f"{verb} area {step['area_id']}{way}{to} ({step.get('reason') or 'no reason given'}; {incident})"

    def send(self, steps: list[dict[str, Any]], incident: str) -> int:
        """Notify the areas whose instruction changed; returns how many were sent."""
        sent = 0
        for step in steps:
            key = (step["action"], step.get("muster_point"), tuple(step.get("route") or ()))
            if self._last.get(step["area_id"]) == key:
                continue
            self._last[step["area_id"]] = key
            self.notifier.send(Notification((f"area:{step['area_id']}",), f"evac/{step['area_id']}", step["action"],
                                            self.text(step, incident), self.site, {"instruction": step}))
            sent += 1
        return sent


def start_live_mode(state: TwinState, api: Any, bridge: LiveBridge | None, wind_text: str,
                    ui_ctx: Any | None = None, *, notifier: Notifier | None = None,
                    site: str = "site1") -> tuple[LiveIncidentMonitor | None, str]:
    """Attach the live incident monitor: on a gas alarm it estimates the source from the live
    readings and the site's weather station (falling back visibly to ``wind_text`` —
    ``SAFETWIN_LIVE_WIND`` — while the station is stale or missing), predicts the plume and
    publishes one evaluation (:func:`live_evaluation`) to the API app ``api``
    (``GET /planner/recommendations``), its per-area instructions through ``bridge`` and as
    notifications through ``notifier`` (:class:`IncidentNotices`; both only once the incident is
    declared) and its routes and forecast zones to the control room ``ui_ctx``.
    Returns (monitor or None, a line describing it)."""
    try:
        fallback = parse_wind(wind_text)
    except ValueError as exc:
        return None, f"off — SAFETWIN_LIVE_WIND: {exc}"
    notices = IncidentNotices(notifier, site) if notifier is not None else None
    weather = LiveWeatherSource(state, weather_from_wind(fallback))
    set_weather_source(api, weather)
    if ui_ctx is not None:
        ui_ctx.source.weather = weather

    def on_update(update: Any) -> None:
        if update.recommendations is None:
            return
        doc = live_evaluation(update)
        set_latest(api, update.recommendations, doc["source"], document=doc)
        estimate = update.estimate
        if doc["incident"]["declared"] and bridge is not None and bridge.publisher is not None:
            bridge.publisher.evacuation_instructions(doc["instructions"])
        if doc["incident"]["declared"] and notices is not None:
            notices.send(doc["instructions"], f"{estimate.kind} at {estimate.equipment_id or 'an estimated source'}")
        if ui_ctx is not None and estimate.wind is not None:
            view = forecast_zones(estimate, estimate.wind, state.plant.boundary.bounds)
            routes = [a["route_xy"] for a in doc["recommendations"]["areas"]
                      if a["action"] == "evacuate" and len(a["route_xy"]) >= 2]
            ui_ctx.source.set_incident(view, routes=routes, declared=doc["incident"]["declared"],
                                       title=f"live: {estimate.equipment_id or 'release'}"
                                             + ("" if doc["incident"]["declared"] else " (forecast, not declared)"))
        if ui_ctx is not None:
            ui_ctx.source.set_recommendations(doc)   # who is at risk, per-area steps, labelled routes

    monitor = LiveIncidentMonitor(state, weather, recommend_every=1, on_update=on_update).start()
    station = state.plant.meta.weather_station or "none"
    return monitor, (f"armed (weather station {station}; fallback wind {fallback.speed_m_s:g} m/s from "
                     f"{fallback.from_deg:g}°, class {fallback.stability}, while it is stale or missing); on a gas "
                     "alarm: source estimate, /planner/recommendations, pst/v1/<site>/twin/evac/<area>")
