"""Readings averaged per detector in time bins over the fit window.

The window is the last ``window_s`` seconds before ``t_now_s`` (readings at exactly
``t_now_s − window_s`` are outside it), cut into ``ceil(window_s / bin_s)`` bins of ``bin_s``;
a bin's value is the mean of its readings and its time the mean of their times (the bin centre
if it has none).

Example::

    >>> from ..observations import Observations
    >>> obs = Observations.from_series({"GD-1": ([1.0, 3.0, 12.0], [2.0, 4.0, 9.0])})
    >>> bins = bin_readings(obs, detector_count=1, t_now_s=20.0, window_s=20.0, bin_s=10.0)
    >>> bins.bin_values.tolist(), bins.bin_times_s.tolist()
    ([[3.0, 9.0]], [[2.0, 12.0]])
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..observations import Observations


@dataclass(frozen=True)
class BinnedReadings:
    """Arrays of shape (detector_count, bin_count)."""

    bin_values: np.ndarray         # mean reading (detector unit); 0 where the bin has none
    bin_times_s: np.ndarray        # mean reading time; the bin centre where the bin has none
    has_reading: np.ndarray        # bool


def bin_readings(observations: Observations, *, detector_count: int, t_now_s: float, window_s: float,
                 bin_s: float) -> BinnedReadings:
    """Average the readings of the last ``window_s`` seconds before ``t_now_s`` per detector in
    bins of ``bin_s`` seconds."""
    t_lo = t_now_s - window_s
    bin_count = max(math.ceil(window_s / bin_s), 1)
    sensor_index, t_s, value = observations.sensor_index, observations.t_s, observations.value
    in_window = t_s > t_lo
    bin_index = np.clip(((t_s[in_window] - t_lo) / bin_s).astype(int), 0, bin_count - 1)
    detector_index = sensor_index[in_window]
    count = np.zeros((detector_count, bin_count))
    total = np.zeros((detector_count, bin_count))
    time_sum = np.zeros((detector_count, bin_count))
    np.add.at(count, (detector_index, bin_index), 1.0)
    np.add.at(total, (detector_index, bin_index), value[in_window])
    np.add.at(time_sum, (detector_index, bin_index), t_s[in_window])
    has_reading = count > 0
    bin_values = np.where(has_reading, total / np.maximum(count, 1), 0.0)
    bin_centres = t_lo + (np.arange(bin_count)[None, :] + 0.5) * bin_s
    bin_times = np.where(has_reading, time_sum / np.maximum(count, 1), bin_centres)
    return BinnedReadings(bin_values=bin_values, bin_times_s=bin_times, has_reading=has_reading)
