"""Forward model of the source estimator: concentration per unit release rate.

The model is the steady limit of the planner's puff train (:func:`.physics.dispersion.puff_train`)
in a uniform straight wind, with the release switched on at ``t0``::

    C(x, y, z, t) / Q = 1/(2π u σy σz) · exp(−y²/2σy²) · V(z, H, σz) · [Φ(x/σ₀) − Φ((x − u(t − t0))/σy)]

x downwind and y crosswind of the source (m), σ's from the Pasquill–Briggs set at
``max(x, near_field_m)`` (the puff train starts its puffs with the spread they have at the near
field), ``V`` the ground-reflected vertical term, σ₀ = σy(near_field_m). The bracket is the
along-wind integral of the puffs released since ``t0``: ``Φ(x/σ₀)`` makes the concentration at
and just upwind of the source what the puffs give (half the near-field plume at x = 0), and the
second term is the plume front, still travelling at ``u``. It is linear in Q, which is what lets
the estimator solve the rate per candidate location in closed form.

Units: m, s, kg/s; the result is mg/m³ per kg/s.

Example::

    >>> import numpy as np
    >>> from safetwin.emergency_planner.physics.sigmas import PasquillSigmas
    >>> k = unit_concentration(np.array([[500.0]]), np.array([[0.0]]), np.array([0.0]), 0.0,
    ...                        PasquillSigmas("F"), 2.0, near_field_m=1.0)
    >>> round(float(k[0, 0, 0]) * 0.1 / 1e6 * 1e4, 4)   # reference case D1 (0.1 kg/s): 1.1722e-4 kg/m³
    1.1722
"""
from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from safetwin.emergency_planner.physics.sigmas import SigmaModel

KG_M3_TO_MG_M3 = 1e6


def wind_frame(px: np.ndarray, py: np.ndarray, dx: np.ndarray, dy: np.ndarray,
               from_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Downwind and crosswind distances (m) of detectors (dx, dy: (K,)) from sources (px, py: (P,)),
    shape (P, K)."""
    th = np.deg2rad(from_deg)
    ex, ey = -np.sin(th), -np.cos(th)
    rx = dx[None, :] - px[:, None]
    ry = dy[None, :] - py[:, None]
    return rx * ex + ry * ey, -rx * ey + ry * ex


def unit_concentration(x_m: np.ndarray, y_m: np.ndarray, z_m: np.ndarray, release_height_m: float | np.ndarray,
                       sigmas: SigmaModel, wind_speed_m_s: float, *, near_field_m: float = 15.0) -> np.ndarray:
    """Steady concentration (mg/m³ per kg/s) at wind-frame points ``x, y`` (P, K) and receptor
    heights ``z`` (K,), for each release height in ``release_height_m`` (H,): shape (H, P, K).
    Includes the source-side factor Φ(x/σ₀) but not the front (see :func:`front_factor`)."""
    H = np.atleast_1d(np.asarray(release_height_m, float))
    xs = np.maximum(x_m, near_field_m)
    sy, sz = sigmas(xs)
    sy, sz = np.asarray(sy, float), np.asarray(sz, float)
    sy0 = near_field_sigma_y_m(sigmas, near_field_m)
    base = (KG_M3_TO_MG_M3 / (2 * np.pi * wind_speed_m_s * sy * sz) * np.exp(-0.5 * (y_m / sy) ** 2)
            * ndtr(x_m / sy0))
    z = np.asarray(z_m, float)[None, None, :]
    inv = 1.0 / (2.0 * sz * sz)[None]
    h = H[:, None, None]
    v = np.exp(-((z - h) ** 2) * inv) + np.exp(-((z + h) ** 2) * inv)
    return base[None] * v


def near_field_sigma_y_m(sigmas: SigmaModel, near_field_m: float) -> float:
    """σ₀ = σy at the near field (m): the crosswind spread the puff train starts its puffs with."""
    return float(np.asarray(sigmas(np.array([near_field_m]))[0])[0])


def front_factor(x_m: np.ndarray, sigma_x_m: np.ndarray, travel_m: np.ndarray, sy0_m: float) -> np.ndarray:
    """Fraction of the steady plume present at downwind distance ``x`` when the release has run
    for a travel distance ``u·(t − t0)`` (broadcast arrays); in [0, 1]."""
    full = ndtr(x_m / sy0_m)
    out = 1.0 - ndtr((x_m - travel_m) / sigma_x_m) / np.maximum(full, 1e-300)
    return np.clip(np.where(travel_m > 0, out, 0.0), 0.0, 1.0)
