"""The detectors an estimate uses: their constants, which of them alarm, and when they rose.

* :class:`DetectorArrays` — per-detector constants as arrays, in the order of
  ``observations.sensor_ids``: the noise scale ``c_k = noise_frac × span`` (the detector's unit),
  the top of its range, its position and height (m), and its warning level.
* :func:`detector_activity` — over every reading known (not only the fit window): each
  detector's peak, the alarming detectors (peak at or above the warning level) and each
  detector's rise time, its first reading above ``rise_factor × c_k`` (``inf`` if it never rose).

Example::

    >>> from safetwin.plant_models.schema import Sensor
    >>> from ..observations import Observations
    >>> sensors = {"GD-1": Sensor(id="GD-1", type="toxic_gas", gas="chlorine", unit="ppm", position=(0, 0),
    ...                           range_max=10.0)}
    >>> detectors = DetectorArrays.from_sensors(["GD-1"], sensors, noise_frac=0.02)
    >>> detectors.noise_scale.tolist(), detectors.warning_level.tolist()
    ([0.2], [2.0])
    >>> obs = Observations.from_series({"GD-1": ([0.0, 5.0, 9.0], [0.1, 1.5, 2.5])})
    >>> activity = detector_activity(obs, detectors, rise_factor=5.0)
    >>> activity.alarming, activity.rise_time_s.tolist()
    (['GD-1'], [5.0])
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from safetwin.plant_models.schema import Sensor

from ..observations import Observations


def warning_level(sensor: Sensor, noise_scale: float) -> float:
    """The reading (detector unit) at which ``sensor`` alarms: its warning level, else 10 %LEL
    for LEL heads and ten noise scales for the others."""
    if sensor.alarm is not None:
        return float(sensor.alarm.warning)
    return 10.0 if sensor.unit == "%LEL" else 10.0 * noise_scale


@dataclass(frozen=True)
class DetectorArrays:
    """Per-detector constants, shape (detector_count,), in the observations' sensor order."""

    ids: list[str]
    sensors: list[Sensor]
    noise_scale: np.ndarray        # c_k: zero offset + drift + noise (detector unit)
    range_max: np.ndarray          # top of the measuring range (detector unit)
    x_m: np.ndarray
    y_m: np.ndarray
    z_m: np.ndarray                # detector head height above ground
    warning_level: np.ndarray      # detector unit

    @property
    def count(self) -> int:
        return len(self.ids)

    @classmethod
    def from_sensors(cls, sensor_ids: list[str], sensors: Mapping[str, Sensor], *,
                     noise_frac: float) -> DetectorArrays:
        """The detectors ``sensor_ids`` of the registry ``sensors``; ``noise_frac`` of each span
        is its noise scale."""
        chosen = [sensors[s] for s in sensor_ids]
        span = np.array([max(s.range_max - s.range_min, 1e-9) for s in chosen])
        noise_scale = noise_frac * span
        return cls(ids=list(sensor_ids), sensors=chosen, noise_scale=noise_scale,
                   range_max=np.array([s.range_max for s in chosen]),
                   x_m=np.array([s.position[0] for s in chosen], float),
                   y_m=np.array([s.position[1] for s in chosen], float),
                   z_m=np.array([s.height_m for s in chosen], float),
                   warning_level=np.array([warning_level(s, c) for s, c in zip(chosen, noise_scale)]))


@dataclass(frozen=True)
class DetectorActivity:
    """What the detectors did over every reading known."""

    peak_value: np.ndarray         # (detector_count,) highest reading, −inf without readings
    alarming: list[str]            # ids of the detectors whose peak reached the warning level
    alarming_index: np.ndarray     # their positions in the detector order
    rise_time_s: np.ndarray        # (detector_count,) first reading above rise_factor·c_k; inf if none


def detector_activity(observations: Observations, detectors: DetectorArrays, *,
                      rise_factor: float) -> DetectorActivity:
    """Peaks, alarming detectors and rise times of ``detectors`` in ``observations``."""
    sensor_index, t_s, value = observations.sensor_index, observations.t_s, observations.value
    peak = np.full(detectors.count, -np.inf)
    np.maximum.at(peak, sensor_index, value)
    alarming_index = np.flatnonzero(peak >= detectors.warning_level)
    risen = value > rise_factor * detectors.noise_scale[sensor_index]
    rise_time = np.full(detectors.count, np.inf)
    np.minimum.at(rise_time, sensor_index[risen], t_s[risen])
    return DetectorActivity(peak_value=peak, alarming=[detectors.ids[k] for k in alarming_index],
                            alarming_index=alarming_index, rise_time_s=rise_time)
