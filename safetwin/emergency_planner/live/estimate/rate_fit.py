"""The robust fit of the release rate of each hypothesis.

The model is linear in the rate Q: a hypothesis predicts ``Q·a_i`` for observation ``i`` (a bin
of one detector), with ``a_i`` its unit prediction divided by the detector's noise scale
``c_k``. Residuals are taken in ``asinh`` space::

    r_i = (asinh(y_i / c_k) − asinh(Q·a_i)) / log_sigma

linear (absolute noise) near zero and logarithmic (relative model error ``log_sigma``) for
large readings, so a detector reading ~0 rules out locations whose plume would cover it. The
loss is Student-t, ``ρ(r) = (ν+1)/2 · ln(1 + r²/ν)`` (ν = ``student_nu``), so a faulty detector
is an outlier, not a disaster. Over-range readings may be censored (a reading at the top of the
range only says "at least this much": under-predicting it costs, over-predicting does not).

:func:`fit_log_rates` finds the best ``ln Q`` of every hypothesis: a decade scan from the lower
rate bound to the hypothesis's cap, then Gauss–Newton / iteratively reweighted least squares in
``ln Q`` with step control — a numba loop over the hypotheses, with no temporaries per pair. It
returns, per hypothesis, ``ln Q``, the loss change against predicting zero everywhere, and the
standard deviation of ``ln Q`` from the Gauss–Newton curvature (for the Laplace evidence).

Example (one detector reading 10 noise scales; the unit prediction is 2 noise scales per kg/s)::

    >>> import numpy as np
    >>> fit = fit_log_rates(np.array([[2.0]]), np.array([0]), np.arcsinh(np.array([10.0])), np.array([False]),
    ...                     np.array([1.0]), log_rate_cap=np.array([np.log(1e3)]), rate_bounds_kg_s=(1e-4, 1e3),
    ...                     log_sigma=0.5, student_nu=4.0, iterations=14)
    >>> round(float(np.exp(fit.log_rate[0, 0])), 3)
    5.0
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from .binning import BinnedReadings
from .detectors import DetectorArrays


def robust_loss(residual: np.ndarray, nu: float) -> np.ndarray:
    """Student-t loss ``(ν+1)/2 · ln(1 + r²/ν)`` of scaled residuals ``r``."""
    return 0.5 * (nu + 1.0) * np.log1p(residual * residual / nu)


@dataclass(frozen=True)
class FitSpaceData:
    """The binned readings in the fit's space: arrays (detector_count, bin_count)."""

    data: np.ndarray               # asinh(bin value / c_k); the range top where censored
    censored: np.ndarray           # bool: the bin reads at or above the range top (censoring on)
    null_loss: float               # total loss of predicting zero everywhere


def fit_space_data(bins: BinnedReadings, detectors: DetectorArrays, *, over_range: str, log_sigma: float,
                   student_nu: float) -> FitSpaceData:
    """Transform the bins to ``asinh(y / c_k)``; ``over_range="censor"`` censors bins at or
    above the top of the detector's range."""
    noise_scale = detectors.noise_scale
    data = np.arcsinh(bins.bin_values / noise_scale[:, None])
    censor = over_range == "censor"
    censored = (bins.bin_values >= detectors.range_max[:, None]) if censor else np.zeros_like(bins.has_reading)
    if censor:
        data = np.where(censored, np.arcsinh(detectors.range_max / noise_scale)[:, None], data)
    null_per_detector = (robust_loss(data / log_sigma, student_nu) * bins.has_reading).sum(axis=1)
    return FitSpaceData(data=data, censored=censored, null_loss=float(null_per_detector.sum()))


@numba.njit(cache=True, nogil=True, fastmath=False)
def _hypothesis_loss(unit_prediction, height, first_pair, end_pair, data, censored, weight, null_loss, log_rate,
                     log_sigma, nu, want_gradient):  # pragma: no cover - numba
    """Loss (relative to predicting 0), gradient and Gauss–Newton curvature in ln Q of one
    hypothesis (release height index ``height``, pairs ``first_pair … end_pair−1``)."""
    rate = math.exp(log_rate)
    loss = 0.0
    gradient = 0.0
    curvature = 0.0
    for i in range(first_pair, end_pair):
        predicted = rate * unit_prediction[height, i]
        residual = (data[i] - math.asinh(predicted)) / log_sigma
        is_censored = censored[i] and residual < 0.0
        if is_censored:
            residual = 0.0
        loss += (0.5 * (nu + 1.0) * math.log1p(residual * residual / nu) - null_loss[i]) * weight[i]
        if want_gradient and not is_censored:
            jacobian = -(predicted / math.sqrt(1.0 + predicted * predicted)) / log_sigma
            irls_weight = (nu + 1.0) / (nu + residual * residual) * weight[i]
            gradient += irls_weight * residual * jacobian
            curvature += irls_weight * jacobian * jacobian
    return loss, gradient, curvature


@numba.njit(cache=True, nogil=True)
def _fit_all(unit_prediction, first_pair, end_pair, data, censored, weight, log_rate_min, log_rate_cap, log_sigma,
             nu, iterations):  # pragma: no cover - numba
    height_count = unit_prediction.shape[0]
    hypothesis_count = first_pair.size
    log_rate = np.empty((height_count, hypothesis_count))
    loss_change = np.empty((height_count, hypothesis_count))
    log_rate_sigma = np.empty((height_count, hypothesis_count))
    null_loss = np.empty(data.size)
    for i in range(data.size):
        null_residual = data[i] / log_sigma
        null_loss[i] = 0.5 * (nu + 1.0) * math.log1p(null_residual * null_residual / nu)
    decade = math.log(10.0)
    for h in range(height_count):
        for k in range(hypothesis_count):
            first, end, cap = first_pair[k], end_pair[k], log_rate_cap[k]
            best_rate = log_rate_min
            best_loss = np.inf
            trial = log_rate_min
            while True:                                   # decade scan up to the cap
                clipped = min(trial, cap)
                loss, _, _ = _hypothesis_loss(unit_prediction, h, first, end, data, censored, weight, null_loss,
                                              clipped, log_sigma, nu, False)
                if loss < best_loss:
                    best_loss, best_rate = loss, clipped
                if trial >= cap:
                    break
                trial += decade
            step_scale = 1.0
            _, gradient, curvature = _hypothesis_loss(unit_prediction, h, first, end, data, censored, weight,
                                                      null_loss, best_rate, log_sigma, nu, True)
            for _ in range(iterations):                   # Gauss–Newton / IRLS with step control
                step = -gradient / (curvature + 1e-12)
                step = min(max(step, -2.3), 2.3) * step_scale
                candidate = min(max(best_rate + step, log_rate_min), cap)
                loss_c, gradient_c, curvature_c = _hypothesis_loss(unit_prediction, h, first, end, data, censored,
                                                                   weight, null_loss, candidate, log_sigma, nu, True)
                if loss_c <= best_loss:
                    moved = abs(candidate - best_rate)
                    best_loss, best_rate, gradient, curvature = loss_c, candidate, gradient_c, curvature_c
                    step_scale = 1.0
                    if moved < 1e-3:
                        break
                else:
                    step_scale *= 0.3
                    if step_scale < 1e-3:
                        break
            log_rate[h, k] = best_rate
            loss_change[h, k] = best_loss
            log_rate_sigma[h, k] = 1.0 / math.sqrt(curvature + 1e-12)
    return log_rate, loss_change, log_rate_sigma


@dataclass(frozen=True)
class RateFit:
    """Per (release height, hypothesis): arrays (height_count, hypothesis_count)."""

    log_rate: np.ndarray           # best ln(Q / (kg/s))
    loss_change: np.ndarray        # loss at the best rate minus the loss of predicting zero
    log_rate_sigma: np.ndarray     # standard deviation of ln Q (Gauss–Newton curvature)


def fit_log_rates(unit_prediction: np.ndarray, first_pair: np.ndarray, data: np.ndarray, censored: np.ndarray,
                  weight: np.ndarray, *, log_rate_cap: np.ndarray, rate_bounds_kg_s: tuple[float, float],
                  log_sigma: float, student_nu: float, iterations: int) -> RateFit:
    """Best ln Q per hypothesis for predictions ``Q · unit_prediction``.

    Sparse form: ``unit_prediction`` (height_count, pair_count) holds the (hypothesis,
    observation) pairs worth evaluating, sorted by hypothesis, already divided by the noise
    scale c_k; ``first_pair`` (hypothesis_count,) is the first pair of each hypothesis;
    ``data`` (pair_count,) is ``asinh(y / c_k)``; ``censored`` marks censored (≥) data;
    ``weight`` weighs each pair. ``log_rate_cap`` (hypothesis_count,) caps ln Q per hypothesis
    (and ``rate_bounds_kg_s`` bounds every rate). The standard deviation of ln Q is capped at that
    of a flat prior over the bounds."""
    log_rate_min = math.log(rate_bounds_kg_s[0])
    log_width = math.log(rate_bounds_kg_s[1]) - log_rate_min
    first_pair = np.ascontiguousarray(first_pair, np.int64)
    end_pair = np.r_[first_pair[1:], unit_prediction.shape[1]].astype(np.int64)
    log_rate, loss_change, log_rate_sigma = _fit_all(
        np.ascontiguousarray(unit_prediction, float), first_pair, end_pair, np.ascontiguousarray(data, float),
        np.ascontiguousarray(censored, np.bool_), np.ascontiguousarray(weight, float), log_rate_min,
        np.ascontiguousarray(np.minimum(log_rate_cap, log_rate_min + log_width), float), float(log_sigma),
        float(student_nu), int(iterations))
    return RateFit(log_rate=log_rate, loss_change=loss_change,
                   log_rate_sigma=np.minimum(log_rate_sigma, log_width / math.sqrt(2 * math.pi)))
