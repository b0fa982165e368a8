"""Inputs of the source estimator: detector time series, the wind, and detector response.

* :class:`Observations` — readings of gas detectors as flat arrays (sensor index, time s, value
  in the detector's own unit). Times are seconds on any clock shared with the wind and the
  estimate (scenario seconds in drills, seconds since the monitor's origin live).
* :class:`WindInput` — 10 m wind speed (m/s), direction it blows FROM (deg), Pasquill class, and
  the wind's uncertainty and where it came from (:mod:`.weather`).
* :func:`response_factor` — detector units per mg/m³ of a substance (0 when the detector does
  not respond), from :mod:`safetwin.plant_models.detectors`, the conversion the incident
  timeline and the plant simulator use too.

Example::

    >>> obs = Observations.from_series({"GD-1": ([0.0, 2.0], [0.1, 5.0])})
    >>> obs.sensor_ids, obs.t_s.tolist(), obs.value.tolist()
    (['GD-1'], [0.0, 2.0], [0.1, 5.0])
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from safetwin.plant_models.detectors import response_factor as detector_response_factor
from safetwin.plant_models.schema import Sensor
from safetwin.substances import Substance

#: Sensor types whose readings are gas concentrations the estimator can use.
GAS_TYPES = ("toxic_gas", "flammable_gas")


@dataclass(frozen=True)
class WindInput:
    """Wind used by the forward model: speed at 10 m (m/s), FROM direction (deg clockwise from
    north) and Pasquill stability class (A–F); the uncertainty of the direction and of the speed
    (one standard deviation, deg and m/s; 0: taken as exact) and ``source``, the line saying where
    the wind came from (a met station, or a fallback and why)."""

    speed_m_s: float
    from_deg: float
    stability: str = "D"
    from_sigma_deg: float = 0.0
    speed_sigma_m_s: float = 0.0
    source: str = ""

    def __post_init__(self) -> None:
        if not np.isfinite(self.speed_m_s) or self.speed_m_s <= 0:
            raise ValueError(f"wind speed_m_s must be positive, got {self.speed_m_s!r}")
        if not np.isfinite(self.from_deg):
            raise ValueError(f"wind from_deg must be finite, got {self.from_deg!r}")
        if str(self.stability).upper()[:1] not in "ABCDEFG":
            raise ValueError(f"wind stability must be a Pasquill class A-F, got {self.stability!r}")
        if not (np.isfinite(self.from_sigma_deg) and self.from_sigma_deg >= 0
                and np.isfinite(self.speed_sigma_m_s) and self.speed_sigma_m_s >= 0):
            raise ValueError("wind uncertainties must be finite and >= 0, got "
                             f"{self.from_sigma_deg!r} deg, {self.speed_sigma_m_s!r} m/s")


@dataclass(frozen=True)
class Observations:
    """Detector readings as flat arrays: ``sensor_index[i]`` into ``sensor_ids``, ``t_s[i]`` (s),
    ``value[i]`` in that detector's unit. Non-finite values are dropped on construction."""

    sensor_ids: list[str]
    sensor_index: np.ndarray
    t_s: np.ndarray
    value: np.ndarray

    @classmethod
    def from_series(cls, series: Mapping[str, tuple[Iterable[float], Iterable[float]]]) -> Observations:
        """From ``{sensor_id: (times_s, values)}``."""
        ids, idx, ts, vs = [], [], [], []
        for k, (sid, (t, v)) in enumerate(series.items()):
            t = np.asarray(list(t) if not isinstance(t, np.ndarray) else t, float).ravel()
            v = np.asarray(list(v) if not isinstance(v, np.ndarray) else v, float).ravel()
            if t.shape != v.shape:
                raise ValueError(f"observations of {sid!r}: {t.size} times but {v.size} values")
            ids.append(sid)
            idx.append(np.full(t.size, k, np.int64))
            ts.append(t)
            vs.append(v)
        if not ids:
            return cls([], np.zeros(0, np.int64), np.zeros(0), np.zeros(0))
        return cls._clean(ids, np.concatenate(idx), np.concatenate(ts), np.concatenate(vs))

    @classmethod
    def from_records(cls, records: Iterable[tuple[str, float, float]]) -> Observations:
        """From ``(sensor_id, t_s, value)`` tuples."""
        ids: dict[str, int] = {}
        idx, ts, vs = [], [], []
        for sid, t, v in records:
            idx.append(ids.setdefault(sid, len(ids)))
            ts.append(t)
            vs.append(np.nan if v is None else v)
        return cls._clean(list(ids), np.asarray(idx, np.int64), np.asarray(ts, float), np.asarray(vs, float))

    @classmethod
    def _clean(cls, ids, idx, t, v) -> Observations:
        ok = np.isfinite(t) & np.isfinite(v)
        return cls(list(ids), idx[ok], t[ok], v[ok])

    def __len__(self) -> int:
        return int(self.t_s.size)

    @property
    def t_max_s(self) -> float:
        return float(self.t_s.max()) if self.t_s.size else float("nan")

    def until(self, t_s: float) -> Observations:
        """The readings at or before ``t_s`` (what was known then)."""
        m = self.t_s <= t_s
        return Observations(self.sensor_ids, self.sensor_index[m], self.t_s[m], self.value[m])


def is_gas_detector(sensor: Sensor) -> bool:
    return getattr(sensor.type, "value", sensor.type) in GAS_TYPES and sensor.unit in ("ppm", "%LEL", "mg/m3")


def response_factor(sensor: Sensor, substance: Substance) -> float:
    """Reading increment of ``sensor`` (its unit) per mg/m³ of ``substance`` for the detectors the
    estimator uses (:func:`is_gas_detector`; 0 for any other): the plant's one detector conversion,
    :func:`safetwin.plant_models.detectors.response_factor`.

    >>> from safetwin.plant_models.schema import Sensor
    >>> from safetwin.substances import get_substance
    >>> s = Sensor(id="GD", type="toxic_gas", gas="chlorine", unit="ppm", position=(0, 0))
    >>> round(response_factor(s, get_substance("chlorine")), 4), response_factor(s, get_substance("ammonia"))
    (0.3448, 0.0)
    """
    return detector_response_factor(sensor, substance) if is_gas_detector(sensor) else 0.0
