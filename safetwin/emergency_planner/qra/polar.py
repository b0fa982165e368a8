"""Polar frame around a release point and the wind-rose sum by index arithmetic.

A field computed once in the canonical frame (wind FROM north) on a polar grid — radius
``r_i = i·dr`` (m), bearing ``β_j = j·Δθ`` (degrees clockwise from north) — is rotated to a wind
from bearing ``φ_k = k·Δθ`` by shifting the bearing index by ``k``. The rose-weighted sum over all
directions, ``IR(r, β) = Σ_k w_k·L(r, β − φ_k)``, is a circular convolution along the bearing axis
and is evaluated for all directions at once with real FFTs; the number of fatalities for every
direction, ``N(φ_k) = Σ_{r,β} pop(r, β)·L(r, β − φ_k)``, is the matching circular cross-correlation.
The summed polar field is then resampled once onto the plant grid (``scipy.ndimage.map_coordinates``,
bilinear in r and β).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import map_coordinates

from safetwin.emergency_planner.physics.grid import GridSpec


@dataclass(frozen=True)
class PolarGrid:
    """``nr`` radii spaced ``dr_m`` (m) from 0, ``n_theta`` bearings spaced 360/n_theta degrees."""

    dr_m: float
    nr: int
    n_theta: int

    @property
    def r_m(self) -> np.ndarray:
        return self.dr_m * np.arange(self.nr, dtype=float)

    @property
    def beta_deg(self) -> np.ndarray:
        return np.arange(self.n_theta, dtype=float) * (360.0 / self.n_theta)

    @property
    def r_max_m(self) -> float:
        return self.dr_m * (self.nr - 1)

    def offsets(self, nr: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Plant-frame offsets (east, north) in m of the first ``nr`` rings, each (nr, n_theta)."""
        r = self.r_m[: (self.nr if nr is None else nr), None]
        b = np.deg2rad(self.beta_deg)[None, :]
        return r * np.sin(b), r * np.cos(b)


def rfft_theta(field: np.ndarray) -> np.ndarray:
    """Real FFT along the bearing axis (last axis)."""
    return np.fft.rfft(field, axis=-1)


def convolve_rose(field_hat: np.ndarray, weights_hat: np.ndarray, n_theta: int) -> np.ndarray:
    """``Σ_k w_k L(·, β − φ_k)`` from the transforms of L (…, n_theta/2+1) and w; clipped at 0
    (FFT round-off)."""
    return np.maximum(np.fft.irfft(field_hat * weights_hat, n=n_theta, axis=-1), 0.0)


def correlate_population(field_hat: np.ndarray, pop_hat: np.ndarray, n_theta: int) -> np.ndarray:
    """Expected fatalities for a wind from every bearing bin: ``N[k] = Σ_{r,m} pop[r,m]·L[r, m−k]``.

    ``field_hat`` (nr, nf), ``pop_hat`` (…, nr, nf) → (…, n_theta); clipped at 0."""
    spec = np.sum(pop_hat * np.conj(field_hat), axis=-2)
    return np.maximum(np.fft.irfft(spec, n=n_theta, axis=-1), 0.0)


def polar_index(polar: PolarGrid, x0_m: float, y0_m: float, points_xy_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest ring and bearing bin (int arrays) of plant-frame points around (x0, y0); rings may
    exceed ``polar.nr - 1`` (beyond the grid)."""
    dx = points_xy_m[:, 0] - x0_m
    dy = points_xy_m[:, 1] - y0_m
    ir = np.rint(np.hypot(dx, dy) / polar.dr_m).astype(np.int64)
    jt = np.rint(np.mod(np.degrees(np.arctan2(dx, dy)), 360.0) / (360.0 / polar.n_theta)).astype(np.int64) % polar.n_theta
    return ir, jt


def bin_population(polar: PolarGrid, x0_m: float, y0_m: float, cells_xy_m: np.ndarray,
                   counts: np.ndarray) -> np.ndarray:
    """People per polar bin (nearest ring and bearing) around (x0, y0): ``counts`` (k, n_cells) →
    (k, nr, n_theta). People beyond the last ring are dropped (no lethality reaches them)."""
    ir, jt = polar_index(polar, x0_m, y0_m, cells_xy_m)
    keep = ir < polar.nr
    flat = ir[keep] * polar.n_theta + jt[keep]
    out = np.zeros((counts.shape[0], polar.nr * polar.n_theta))
    for k in range(counts.shape[0]):
        out[k] = np.bincount(flat, weights=counts[k, keep], minlength=polar.nr * polar.n_theta)
    return out.reshape(counts.shape[0], polar.nr, polar.n_theta)


@dataclass(frozen=True)
class Window:
    """A block ``[j0:j1, i0:i1]`` (rows = y, columns = x) of the plant grid and its values."""

    j0: int
    j1: int
    i0: int
    i1: int
    values: np.ndarray


def sample_polar(fields: np.ndarray, polar: PolarGrid, x0_m: float, y0_m: float, points_xy_m: np.ndarray) -> np.ndarray:
    """Polar fields (k, nr, n_theta) around (x0, y0) at plant-frame points (n, 2), bilinear in r and
    bearing as :func:`to_grid`; 0 beyond the last ring. Returns (k, n)."""
    dx = points_xy_m[:, 0] - x0_m
    dy = points_xy_m[:, 1] - y0_m
    r = np.hypot(dx, dy)
    t = np.mod(np.degrees(np.arctan2(dx, dy)), 360.0) / (360.0 / polar.n_theta)
    out = np.zeros((fields.shape[0], len(r)))
    near = r <= polar.r_max_m
    for k in range(fields.shape[0]):
        padded = np.concatenate([fields[k], fields[k][:, :1]], axis=1)  # bearing 360° = 0°
        out[k, near] = map_coordinates(padded, [r[near] / polar.dr_m, t[near]], order=1, mode="nearest",
                                       prefilter=False)
    return out


def to_grid(field: np.ndarray, polar: PolarGrid, x0_m: float, y0_m: float, grid: GridSpec) -> Window:
    """Resample a polar field around (x0, y0) onto the plant-grid nodes within ``polar.r_max_m``
    (bilinear in r and bearing; 0 beyond the last ring)."""
    r_max = polar.r_max_m
    i0 = max(int(np.floor((x0_m - r_max - grid.x_min_m) / grid.dx_m)), 0)
    i1 = min(int(np.ceil((x0_m + r_max - grid.x_min_m) / grid.dx_m)) + 1, grid.nx)
    j0 = max(int(np.floor((y0_m - r_max - grid.y_min_m) / grid.dy_m)), 0)
    j1 = min(int(np.ceil((y0_m + r_max - grid.y_min_m) / grid.dy_m)) + 1, grid.ny)
    if i1 <= i0 or j1 <= j0:
        return Window(0, 0, 0, 0, np.zeros((0, 0)))
    dx = grid.x_m[i0:i1][None, :] - x0_m
    dy = grid.y_m[j0:j1][:, None] - y0_m
    r = np.hypot(dx, dy)
    t = np.mod(np.degrees(np.arctan2(dx, dy)), 360.0) / (360.0 / polar.n_theta)
    padded = np.concatenate([field, field[:, :1]], axis=1)  # bearing 360° = 0°
    vals = map_coordinates(padded, [r / polar.dr_m, t], order=1, mode="nearest", prefilter=False)
    vals[r > r_max] = 0.0
    return Window(j0, j1, i0, i1, vals)
