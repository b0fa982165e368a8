"""The live weather the estimator, the recommendations and the control room use: the site's met
station when it is current, a visible fallback when it is not.

:func:`live_weather` turns the twin's latest record of the plant's weather station
(:class:`safetwin.twin.weather.MetObservation`) into a :class:`LiveWeather`: the one weather
description of the consequence models (:class:`~safetwin.emergency_planner.physics.weather.Weather`,
wind at the station's height, the Pasquill class, σθ), the wind's uncertainty, where it came from
and how old it is.

**Stability** from what the station measures, by the methods of the US EPA *Meteorological
Monitoring Guidance for Regulatory Modeling Applications* (EPA-454/R-99-005), in its order of
preference [PUB-mem]: the solar radiation / ΔT method (SRDT, §6.4.2: solar radiation by day, the
sign of ΔT at night) when the station measures them, else the σA method (§6.4.4: σθ scaled for the
site's roughness, adjusted for the wind speed by day and night,
:func:`~safetwin.emergency_planner.physics.stability.sigma_a_class`), else the fallback's class.
Day and night as the guidance defines them, from the sun's position at the site
(:func:`~safetwin.emergency_planner.physics.stability.is_epa_night`). The wind speed of the
methods is the 10 m wind (the station's, moved to 10 m by the power law when it stands elsewhere).

**Fallback**, always named in :attr:`LiveWeather.note` (every estimate and recommendation carries
it): a station that is ``ok`` or ``suspect`` is used as measured; a ``stale`` station's last
record is used while it is at most ``hold_s`` (15 min) old, its direction uncertainty growing with
its age; otherwise (``missing``, ``fault``, older records) the configured fallback weather
(``SAFETWIN_LIVE_WIND``) with a wide direction uncertainty.

**Uncertainty of the wind** that will carry the cloud over the next minutes, as one standard
deviation (:attr:`LiveWeather.from_sigma_deg`, :attr:`LiveWeather.speed_sigma_m_s`):

* direction: ``√(σ_vane² + σθ²)`` — the wind-direction system accuracy of ±5° the guidance asks of a
  monitoring system (EPA-454/R-99-005 §5, [PUB-mem]) and σθ, the spread of the direction over the
  averaging period (the direction of the next minutes is another draw of it); a station without σθ
  uses the centre of its class's σA band. ×1.5 for a ``suspect`` record; for a held stale record
  ``+ 15° per 10 min`` of age in quadrature; 45° for the configured fallback;
* speed: ``√((0.2 m/s)² + (0.05·u)² + (σθ·u)²)`` — the guidance's cup-anemometer accuracy
  (±0.2 m/s + 5 %, [PUB-mem]) and the turbulent spread of the speed, taken equal to that of the
  cross-wind component (σ_u ≈ σ_v = σθ·u, σθ in radians); 50 % of the speed for the fallback.

Example::

    >>> from safetwin.plant_models.loader import load_plant, bundled_plant_path
    >>> from safetwin.twin.weather import MetObservation
    >>> plant = load_plant(bundled_plant_path("demo_plant"))
    >>> noon = 1_750_046_400.0          # 2025-06-16 04:00 UTC = 12:00 at the plant (UTC+8)
    >>> obs = MetObservation("MET-01", ts=noon, wind_speed_m_s=3.0, wind_from_deg=270.0, sigma_theta_deg=10.0,
    ...                      solar_w_m2=450.0, delta_t_k=-0.3)
    >>> w = live_weather(obs, plant, now_ts=noon + 5.0, fallback=Weather(2.0, 90.0, "F"))
    >>> w.weather.pasquill_class(), w.stability_method, w.source, round(w.from_sigma_deg, 1)
    ('C', 'SRDT', 'MET-01', 11.2)
    >>> late = live_weather(obs, plant, now_ts=noon + 3600.0, fallback=Weather(2.0, 90.0, "F"))
    >>> late.source, late.weather.wind_from_deg, late.note.split(";")[0]
    ('fallback', 90.0, 'wind: fallback 2 m/s from 90°, class F (MET-01 stale: no observation for 3600 s)')
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from safetwin.plant_models.export import site_latlon_deg
from safetwin.plant_models.loader import Plant
from safetwin.twin.weather import MetObservation, station_status

from ..physics.stability import (SIGMA_A_CLASS_CENTRE_DEG, is_epa_night, resolve_class, sigma_a_class, srdt_class,
                                 wind_speed_at_height)
from ..physics.weather import Weather
from .observations import WindInput

#: wind-direction system accuracy (deg) and cup-anemometer accuracy (m/s, fraction) of the guidance
VANE_SIGMA_DEG = 5.0
CUP_SIGMA_M_S, CUP_SIGMA_FRACTION = 0.2, 0.05
#: a stale station's last record is used up to this age (s), its direction uncertainty growing by
#: ``STALE_SIGMA_DEG_PER_600_S`` per 10 minutes of age
HOLD_S = 900.0
STALE_SIGMA_DEG_PER_600_S = 15.0
#: uncertainty of the configured fallback wind: direction (deg), speed (fraction)
FALLBACK_SIGMA_DEG, FALLBACK_SPEED_FRACTION = 45.0, 0.5


@dataclass(frozen=True)
class LiveWeather:
    """The weather in force (``weather``: the wind at the station's height and the class), its
    ``source`` (the station id, or ``fallback``), the station's ``status`` and the ``age_s`` of the
    record used, how the class was found (``stability_method``: ``SRDT``, ``sigma-A``, ``fallback``),
    the wind's uncertainty (1 σ: direction deg, speed m/s), the 10 m ``wind_speed_10m_m_s`` and
    ``note``: one line saying all of it (what every estimate and recommendation shows)."""

    weather: Weather
    source: str
    status: str
    age_s: float
    stability_method: str
    from_sigma_deg: float
    speed_sigma_m_s: float
    wind_speed_10m_m_s: float
    note: str
    station_id: str | None = None
    observation: MetObservation | None = None
    classes: dict[str, str] = field(default_factory=dict)

    @property
    def fallback(self) -> bool:
        """True when the weather is not the station's current record."""
        return self.source == "fallback" or self.status != "ok"

    def wind_input(self) -> WindInput:
        """The estimator's wind: the 10 m speed, the direction, the class and their uncertainty."""
        return WindInput(self.wind_speed_10m_m_s, self.weather.wind_from_deg, self.weather.pasquill_class(),
                         from_sigma_deg=self.from_sigma_deg, speed_sigma_m_s=self.speed_sigma_m_s, source=self.note)

    def summary(self) -> dict[str, Any]:
        """JSON-able: what the API and the control room show."""
        obs = self.observation
        return {"source": self.source, "station": self.station_id, "status": self.status,
                "fallback": self.fallback, "age_s": None if not math.isfinite(self.age_s) else round(self.age_s, 1),
                "wind_speed_m_s": round(self.weather.wind_speed_m_s, 2), "wind_height_m": self.weather.wind_height_m,
                "wind_speed_10m_m_s": round(self.wind_speed_10m_m_s, 2),
                "wind_from_deg": round(self.weather.wind_from_deg, 1),
                "stability": self.weather.pasquill_class(), "stability_method": self.stability_method,
                "classes": dict(self.classes), "sigma_theta_deg": self.weather.sigma_theta_deg,
                "from_sigma_deg": round(self.from_sigma_deg, 1), "speed_sigma_m_s": round(self.speed_sigma_m_s, 2),
                "temperature_k": self.weather.temperature_k, "note": self.note,
                "observation": None if obs is None else obs.to_dict()}


def wind_uncertainty(speed_10m_m_s: float, sigma_theta_deg: float | None, stability: str) -> tuple[float, float]:
    """(direction σ deg, speed σ m/s) of a station's wind (see the module docstring): the vane's
    accuracy and σθ (the centre of the class's σA band when the station does not measure it), the
    cup's accuracy and the turbulent spread of the speed.

    >>> [round(v, 2) for v in wind_uncertainty(3.0, None, "D")]
    [11.18, 0.58]
    """
    cls = stability if stability in "ABCDEF" else "F"
    spread_deg = sigma_theta_deg if sigma_theta_deg is not None else SIGMA_A_CLASS_CENTRE_DEG[cls]
    turbulence = math.radians(spread_deg) * speed_10m_m_s
    speed_sigma = math.sqrt(CUP_SIGMA_M_S ** 2 + (CUP_SIGMA_FRACTION * speed_10m_m_s) ** 2 + turbulence ** 2)
    return math.hypot(VANE_SIGMA_DEG, spread_deg), speed_sigma


def live_weather(obs: MetObservation | None, plant: Plant, *, now_ts: float, fallback: Weather,
                 hold_s: float = HOLD_S) -> LiveWeather:
    """The live weather from the plant's weather station's latest record ``obs`` at ``now_ts``
    (s since the Unix epoch), or the ``fallback`` (see the module docstring)."""
    sid = plant.meta.weather_station
    station = plant.sensors[sid] if sid and sid in plant.sensors else None
    if station is None:
        return _fallback(fallback, "missing", math.inf, "the plant has no weather station", None, None)
    status, age, reason = station_status(obs, now_ts=now_ts, report_period_s=station.period_s)
    if obs is None or status in ("missing", "fault") or (status == "stale" and age > hold_s):
        return _fallback(fallback, status, age, reason, sid, obs)
    height = station.height_m if station.height_m > 0 else 10.0
    speed = float(obs.wind_speed_m_s)  # type: ignore[arg-type]
    when = datetime.fromtimestamp(obs.ts, timezone.utc)
    night = is_epa_night(when, *site_latlon_deg(plant))
    classes = _classes(obs, speed, height, night, fallback)
    method = "SRDT" if "SRDT" in classes else "sigma-A" if "sigma-A" in classes else "fallback"
    cls = classes.get(method, resolve_class(fallback.pasquill_class()))
    speed_10 = float(wind_speed_at_height(speed, 10.0, cls, z_ref_m=height)) if abs(height - 10.0) > 1e-6 else speed
    sigma_theta = obs.sigma_theta_deg
    from_sigma, speed_sigma = wind_uncertainty(speed_10, sigma_theta, cls)
    held = ""
    if status == "suspect":
        from_sigma *= 1.5
        held = f" (suspect: {reason}; direction uncertainty x1.5)"
    elif status == "stale":
        from_sigma = math.hypot(from_sigma, STALE_SIGMA_DEG_PER_600_S * age / 600.0)
        held = f" (stale: last record {age:.0f} s old, held up to {hold_s:.0f} s)"
    weather = Weather(speed, float(obs.wind_from_deg), cls, wind_height_m=height,  # type: ignore[arg-type]
                      temperature_k=obs.temperature_k or fallback.temperature_k, roughness_m=fallback.roughness_m,
                      sigma_theta_deg=sigma_theta if sigma_theta else None,
                      sigma_theta_period_s=obs.period_s, time=when, latitude_deg=None, longitude_deg=None)
    note = (f"wind: {sid} {speed:.1f} m/s at {height:g} m from {obs.wind_from_deg:.0f}° ±{from_sigma:.0f}°, "
            f"class {cls} ({method}{', night' if night else ', day'}), record {age:.0f} s old{held}")
    return LiveWeather(weather, sid, status, age, method, from_sigma, speed_sigma, speed_10, note, sid, obs, classes)


def _classes(obs: MetObservation, speed: float, height_m: float, night: bool, fallback: Weather) -> dict[str, str]:
    """The class by each method the record allows (keys ``SRDT``, ``sigma-A``)."""
    out: dict[str, str] = {}
    # the methods take the 10 m wind; the neutral profile moves a station at another height there
    speed_10 = float(wind_speed_at_height(speed, 10.0, "D", z_ref_m=height_m)) if abs(height_m - 10.0) > 1e-6 else speed
    if not night and obs.solar_w_m2 is not None:
        out["SRDT"] = srdt_class(speed_10, solar_radiation_w_m2=obs.solar_w_m2)
    elif night and obs.delta_t_k is not None:
        out["SRDT"] = srdt_class(speed_10, delta_t_dz_k_m=obs.delta_t_k, is_night=True)
    if obs.sigma_theta_deg is not None:
        out["sigma-A"] = sigma_a_class(obs.sigma_theta_deg, speed_10, is_night=night, roughness_m=fallback.roughness_m)
    return out


def _fallback(fallback: Weather, status: str, age: float, reason: str, sid: str | None,
              obs: MetObservation | None) -> LiveWeather:
    cls = resolve_class(fallback.pasquill_class())
    speed_10 = fallback.wind_speed_at(10.0)
    why = f"{sid} {status}: {reason}" if sid else reason
    note = (f"wind: fallback {fallback.wind_speed_m_s:g} m/s from {fallback.wind_from_deg:g}°, class {cls} ({why}); "
            f"direction uncertainty ±{FALLBACK_SIGMA_DEG:g}°")
    return LiveWeather(fallback, "fallback", status, age, "fallback", FALLBACK_SIGMA_DEG,
                       FALLBACK_SPEED_FRACTION * speed_10, speed_10, note, sid, obs)


class LiveWeatherSource:
    """The live weather of a twin (``state``: anything with ``plant`` and ``met_observation()``,
    a :class:`~safetwin.twin.state.TwinState`) with its ``fallback``, at an instant: call it with
    the source time (s since the epoch), or use :meth:`wind_at` on a monitor's clock."""

    def __init__(self, state: Any, fallback: Weather, *, hold_s: float = HOLD_S,
                 clock: Callable[[], float] | None = None) -> None:
        self.state = state
        self.fallback = fallback
        self.hold_s = hold_s
        self.clock = clock

    def __call__(self, now_ts: float | None = None) -> LiveWeather:
        import time

        now = now_ts if now_ts is not None else (self.clock or time.time)()
        return live_weather(self.state.met_observation(), self.state.plant, now_ts=now, fallback=self.fallback,
                            hold_s=self.hold_s)

    def with_fallback(self, fallback: Weather) -> LiveWeatherSource:
        return LiveWeatherSource(self.state, fallback, hold_s=self.hold_s, clock=self.clock)


def weather_from_wind(wind: WindInput) -> Weather:
    """A :class:`Weather` (10 m wind) from the estimator's wind input."""
    return Weather(wind.speed_m_s, wind.from_deg, wind.stability)


__all__ = ["LiveWeather", "LiveWeatherSource", "live_weather", "weather_from_wind", "wind_uncertainty"]
