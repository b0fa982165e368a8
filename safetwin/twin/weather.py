"""Live weather of the twin: the latest observation record of each meteorological station, how
good it is, and how old.

A station is a plant sensor of type ``weather`` (the demo plant's ``MET-01``) that lists what it
``measures``; it publishes one record every reporting period (``pst/v1/{site}/met/{sid}/obs``,
``docs/mqtt-topics.md``): means over its averaging period of the wind at the station's height
(speed, FROM direction), σθ (standard deviation of the wind azimuth), air temperature, total solar
radiation and ΔT = T(10 m) − T(2 m). :class:`MetObservation` holds one record in SI units.

**Quality** of a record (:func:`screen_observation`): ``fault`` when the source flags it bad, when
it lacks the wind (speed and direction) or when a value lies outside the physically possible
range of its quantity (:data:`PLAUSIBLE`: no surface wind above 75 m/s, a direction outside
0–360°, σθ above 104° — the largest value the Yamartino (1984) estimator gives, for directions
spread evenly round the compass —, solar radiation above the solar constant, air temperatures and
10 m − 2 m differences beyond any surface-layer record); ``ok`` otherwise. A record the source
calls ``uncertain`` stays ``suspect``.

**Status** of a station at an instant (:func:`station_status`): ``missing`` (never reported),
``stale`` (no record for ``stale_periods`` reporting periods: 3, as for the detectors), ``fault``
(the latest record is faulty), ``suspect``, or ``ok``; with the age (s) of the latest record.
Deriving the stability class and the wind's uncertainty from a record is the planner's job
(:mod:`safetwin.emergency_planner.live.weather`); the twin keeps what was measured.

Example::

    >>> obs = MetObservation("MET-01", ts=100.0, period_s=600.0, wind_speed_m_s=3.1, wind_from_deg=268.0,
    ...                      sigma_theta_deg=9.5)
    >>> screen_observation(obs).quality
    'ok'
    >>> station_status(obs, now_ts=112.0, report_period_s=10.0)
    ('ok', 12.0, '')
    >>> station_status(obs, now_ts=200.0, report_period_s=10.0)[0]
    'stale'
    >>> screen_observation(MetObservation("MET-01", ts=100.0, wind_speed_m_s=3.1, wind_from_deg=400.0)).reason
    'wind_from_deg 400 outside 0..360'
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Literal

MetQuality = Literal["ok", "suspect", "fault"]
StationStatus = Literal["ok", "suspect", "fault", "stale", "missing"]
STALE_PERIODS = 3.0
"""A station silent for this many reporting periods is stale (the detectors' rule, :mod:`.sensor_health`)."""

#: physically possible range of each quantity of a record (see the module docstring)
PLAUSIBLE: dict[str, tuple[float, float]] = {
    "wind_speed_m_s": (0.0, 75.0),
    "wind_from_deg": (0.0, 360.0),
    "sigma_theta_deg": (0.0, 104.0),
    "temperature_k": (213.15, 333.15),
    "solar_w_m2": (0.0, 1361.0),
    "delta_t_k": (-5.0, 10.0),
}


@dataclass(frozen=True, slots=True)
class MetObservation:
    """One observation record of station ``station_id``: means over the ``period_s`` seconds
    ending at ``ts`` (s since the Unix epoch, UTC). None where the station does not measure the
    quantity. Wind at the station's height; ``temperature_k`` in K; ``delta_t_k`` = T(10 m) − T(2 m)."""

    station_id: str
    ts: float
    period_s: float = 600.0
    wind_speed_m_s: float | None = None
    wind_from_deg: float | None = None
    sigma_theta_deg: float | None = None
    temperature_k: float | None = None
    solar_w_m2: float | None = None
    delta_t_k: float | None = None
    quality: MetQuality = "ok"
    reason: str = ""
    received_ts: float | None = None

    def to_dict(self) -> dict:
        """JSON-able copy (None where not measured)."""
        return dataclasses.asdict(self)


def screen_observation(obs: MetObservation, source_quality: str = "good") -> MetObservation:
    """``obs`` with its quality and reason set by the rules of the module docstring."""
    if source_quality == "bad":
        return dataclasses.replace(obs, quality="fault", reason="the station flags the record bad")
    if obs.wind_speed_m_s is None or obs.wind_from_deg is None:
        return dataclasses.replace(obs, quality="fault", reason="no wind in the record")
    for name, (lo, hi) in PLAUSIBLE.items():
        value = getattr(obs, name)
        if value is not None and not (math.isfinite(value) and lo <= value <= hi):
            return dataclasses.replace(obs, quality="fault", reason=f"{name} {value:g} outside {lo:g}..{hi:g}")
    if source_quality == "uncertain":
        return dataclasses.replace(obs, quality="suspect", reason="the station flags the record uncertain")
    return dataclasses.replace(obs, quality="ok", reason="")


def station_status(obs: MetObservation | None, *, now_ts: float, report_period_s: float,
                   stale_periods: float = STALE_PERIODS) -> tuple[StationStatus, float, str]:
    """``(status, age_s, reason)`` of a station whose latest record is ``obs`` at ``now_ts`` (s)."""
    if obs is None:
        return "missing", math.inf, "no observation received"
    age = max(now_ts - obs.ts, 0.0)
    if age > stale_periods * report_period_s:
        return "stale", age, f"no observation for {age:.0f} s"
    if obs.quality != "ok":
        return obs.quality, age, obs.reason
    return "ok", age, ""


__all__ = ["MetObservation", "screen_observation", "station_status", "PLAUSIBLE", "STALE_PERIODS", "MetQuality",
           "StationStatus"]
