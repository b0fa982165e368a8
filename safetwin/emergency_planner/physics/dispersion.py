"""Gaussian plume and puff dispersion of a passive (neutrally buoyant) gas.

Formulas (Turner 1970, CCPS 1999, Crowl & Louvar, Slade 1968):

* plume, total ground reflection:
  ``C = Q/(2π u σy σz)·exp(−y²/2σy²)·[exp(−(z−H)²/2σz²) + exp(−(z+H)²/2σz²)]``
  plus image terms for a reflecting mixing lid at ``z_i`` (Beychok; ISC3), switching to the
  well-mixed form ``Q/(√(2π) u σy z_i)·exp(−y²/2σy²)`` once ``σz > 1.6 z_i`` (ISC3 practice).
* puff: ``C = M/((2π)^{3/2} σx σy σz)·exp(−dx²/2σx²)·exp(−dy²/2σy²)·[vertical terms]``, σx = σy,
  sigmas evaluated at the puff's travel distance.
* puff train: puffs released at regular intervals carrying the mass released in their
  interval, each advected by the (spatially uniform, time-varying) wind history — the plume
  therefore bends when the wind turns, which a straight-line plume model (ALOHA) cannot show.

Units: x, y, z, H in m; u in m/s; rates in kg/s, masses in kg; concentrations returned by the
low-level kernels in kg/m³; the result objects carry mg/m³ (``concentration_mg_m3``).

Validity: Gaussian sigmas are nominal for 100 m < x < 10 km; the result objects flag a near
field. Whether a cloud is dense (Britter–McQuaid, with the droplets it carries) is decided by
:func:`dense_gas_check`; dense clouds are modelled by :mod:`.dense_gas`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from collections.abc import Callable

import numba
import numpy as np
from scipy.special import erf

from .grid import GridSpec, downwind_unit, to_wind_frame
from .sigmas import PasquillSigmas, SigmaModel

G = 9.80665
R_GAS = 8.314462618
KG_M3_TO_MG_M3 = 1e6


# ---------------------------------------------------------------------------------------------
# vertical term
# ---------------------------------------------------------------------------------------------
def vertical_factor(z_m: np.ndarray | float, release_height_m: float, sz_m: np.ndarray,
                    mixing_height_m: float | None = None, n_images: int = 6) -> np.ndarray:
    """Vertical term ``V`` of the Gaussian formulas (dimensionless).

    ``V = exp(−(z−H)²/2σz²) + exp(−(z+H)²/2σz²)`` (+ lid images). With a lid at ``z_i`` and
    ``σz > 1.6 z_i`` returns the well-mixed value ``√(2π)·σz/z_i``.
    """
    sz = np.asarray(sz_m, dtype=float)
    z = np.asarray(z_m, dtype=float)
    H = float(release_height_m)
    inv = 1.0 / (2.0 * sz * sz)
    v = np.exp(-((z - H) ** 2) * inv) + np.exp(-((z + H) ** 2) * inv)
    if mixing_height_m is None or not np.isfinite(mixing_height_m):
        return v
    zi = float(mixing_height_m)
    for n in range(1, n_images + 1):
        for s in (z - H - 2 * n * zi, z + H - 2 * n * zi, z - H + 2 * n * zi, z + H + 2 * n * zi):
            v = v + np.exp(-(s**2) * inv)
    mixed = np.sqrt(2 * np.pi) * sz / zi
    return np.where(sz > 1.6 * zi, mixed, v)


# ---------------------------------------------------------------------------------------------
# validity checks
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DenseGasCheck:
    """Britter & McQuaid (1988) criterion for passive vs dense dispersion.

    ``richardson_number`` is the bulk source Richardson number: continuous
    ``Ri = g0'·q0/(Dc·u³)`` with ``Dc = √(q0/u)``; instantaneous ``Ri = g0'·V0^{1/3}/u²``, where
    ``g0' = g·(ρ_cloud − ρ_air)/ρ_air`` and ``q0``/``V0`` the volume flow/volume of the source cloud.
    The cloud is treated as dense when ``Ri^{1/3} ≥ 0.15`` (continuous) or ``Ri^{1/2} ≥ 0.2``
    (instantaneous), i.e. B&M's criteria for passive behaviour are not met.
    ``gas_density_kg_m3`` is the density of the source cloud (vapour and the droplets it carries).
    """

    richardson_number: float
    threshold: float
    is_dense: bool
    gas_density_kg_m3: float
    air_density_kg_m3: float
    liquid_fraction: float = 0.0


def cloud_density_kg_m3(*, molar_mass_kg_mol: float, temperature_k: float, liquid_fraction: float = 0.0,
                        liquid_density_kg_m3: float = 1000.0, pressure_pa: float = 101325.0) -> float:
    """Density (kg/m³) of released material at ``temperature_k`` carrying a mass fraction
    ``liquid_fraction`` of droplets (homogeneous mixture, ideal-gas vapour):
    ``1/ρ = (1 − m_l)/ρ_v + m_l/ρ_l`` (SLAB's undiluted source density, Ermak 1990 EQ 10).

    >>> round(cloud_density_kg_m3(molar_mass_kg_mol=0.017031, temperature_k=239.8,
    ...                           liquid_fraction=0.5, liquid_density_kg_m3=682.0), 2)   # ammonia aerosol
    1.73
    """
    if not 0.0 <= liquid_fraction < 1.0:
        raise ValueError(f"liquid_fraction must be in [0, 1), got {liquid_fraction}")
    rho_v = pressure_pa * molar_mass_kg_mol / (R_GAS * temperature_k)
    return float(1.0 / ((1.0 - liquid_fraction) / rho_v + liquid_fraction / liquid_density_kg_m3))


def dense_gas_check(*, molar_mass_kg_mol: float, temperature_k: float, wind_speed_m_s: float,
                    rate_kg_s: float | None = None, mass_kg: float | None = None,
                    pressure_pa: float = 101325.0, air_temperature_k: float = 293.15,
                    liquid_fraction: float = 0.0, liquid_density_kg_m3: float = 1000.0) -> DenseGasCheck:
    """Richardson-number check of the Gaussian model's validity for a release of gas.

    Give ``rate_kg_s`` for a continuous release or ``mass_kg`` for an instantaneous one. The
    cloud density is that of the undiluted released material at ``temperature_k`` (e.g. the
    boiling point after flashing) with the droplets it carries (``liquid_fraction`` of the
    airborne mass; see :func:`cloud_density_kg_m3`) — no air entrained at the source.

    >>> dg = dense_gas_check(molar_mass_kg_mol=0.017031, temperature_k=239.8, wind_speed_m_s=1.0,
    ...                      rate_kg_s=4.4, air_temperature_k=285.0, liquid_fraction=0.5,
    ...                      liquid_density_kg_m3=682.0)
    >>> dg.is_dense, round(dg.richardson_number, 1)     # droplet-laden ammonia is dense
    (True, 6.2)
    """
    rho_g = cloud_density_kg_m3(molar_mass_kg_mol=molar_mass_kg_mol, temperature_k=temperature_k,
                                liquid_fraction=liquid_fraction, liquid_density_kg_m3=liquid_density_kg_m3,
                                pressure_pa=pressure_pa)
    rho_a = pressure_pa * 0.028964 / (R_GAS * air_temperature_k)
    g0 = G * (rho_g - rho_a) / rho_a
    u = max(wind_speed_m_s, 0.1)
    if rate_kg_s is not None:
        q0 = rate_kg_s / rho_g
        dc = np.sqrt(q0 / u)
        ri = g0 * q0 / (dc * u**3) if dc > 0 else 0.0
        thr = 0.15**3
    elif mass_kg is not None:
        v0 = mass_kg / rho_g
        ri = g0 * v0 ** (1 / 3) / u**2
        thr = 0.2**2
    else:
        raise ValueError("dense_gas_check needs rate_kg_s or mass_kg")
    return DenseGasCheck(float(ri), thr, bool(ri >= thr), float(rho_g), float(rho_a), float(liquid_fraction))


DownwindFactor = Callable[[np.ndarray], np.ndarray]
"""``f(x_m) -> factor`` (0–1) multiplying a plume at downwind distance x (m)."""


def finite_release_factor(*, duration_s: float, wind_speed_m_s: float, averaging_time_s: float,
                          along_wind_sigma: Callable[[np.ndarray], np.ndarray]) -> DownwindFactor:
    """Peak time-averaged concentration of a release lasting ``duration_s`` relative to the
    steady plume, as a function of downwind distance (Palazzi et al. 1982, the plume between the
    puffs of its start and its end, each spread along the wind by σx(x)).

    At a receptor x the centreline concentration rises and falls as
    ``C_plume·½[erf((x − u(t−T))/(√2σx)) − erf((x − ut)/(√2σx))]``; its peak is
    ``erf(uT/(2√2σx))``, and its mean over an averaging time longer than the passage is bounded
    by the dose, ``T/t_avg``. The factor returned is ``min(erf(uT/(2√2σx)), T/t_avg)`` (1 for a
    continuous release).

    >>> f = finite_release_factor(duration_s=20.0, wind_speed_m_s=2.0, averaging_time_s=10.0,
    ...                           along_wind_sigma=lambda x: 0.06 * np.asarray(x) ** 0.92)
    >>> [round(float(v), 3) for v in f(np.array([50.0, 5000.0]))]
    [1.0, 0.105]
    """
    if not np.isfinite(duration_s):
        return lambda x: np.ones_like(np.asarray(x, dtype=float))
    dose_bound = min(1.0, duration_s / max(averaging_time_s, 1e-9))
    half_length = wind_speed_m_s * duration_s / (2.0 * np.sqrt(2.0))

    def factor(x_m: np.ndarray) -> np.ndarray:
        sx = np.maximum(np.asarray(along_wind_sigma(np.maximum(np.asarray(x_m, dtype=float), 1.0)), dtype=float), 1e-9)
        return np.minimum(erf(half_length / sx), dose_bound)

    return factor


# ---------------------------------------------------------------------------------------------
# plume at points
# ---------------------------------------------------------------------------------------------
def plume_concentration(
    x_m: np.ndarray | float,
    y_m: np.ndarray | float,
    z_m: np.ndarray | float,
    *,
    rate_kg_s: float,
    wind_speed_m_s: float,
    sigmas: SigmaModel,
    release_height_m: float = 0.0,
    mixing_height_m: float | None = None,
    min_distance_m: float = 1.0,
    downwind_factor: DownwindFactor | None = None,
) -> np.ndarray:
    """Steady Gaussian plume concentration (kg/m³) at points in the wind frame.

    ``x`` downwind, ``y`` crosswind, ``z`` height (m) relative to the source foot. Upwind points
    (x ≤ 0) get 0. Downwind distances below ``min_distance_m`` are clipped to it (the formula is
    singular at the source). ``downwind_factor(x)`` (0–1) multiplies the result, e.g. the
    finite-duration factor of a short release (:func:`finite_release_factor`).

    >>> from safetwin.emergency_planner.physics.sigmas import PasquillSigmas
    >>> c = plume_concentration(500.0, 0.0, 0.0, rate_kg_s=0.1, wind_speed_m_s=2.0,
    ...                         sigmas=PasquillSigmas("F"))
    >>> round(float(c) * 1e4, 4)   # reference case D1: 1.1722e-4 kg/m³
    1.1722
    """
    x = np.asarray(x_m, dtype=float)
    y = np.asarray(y_m, dtype=float)
    z = np.asarray(z_m, dtype=float)
    xc = np.maximum(x, min_distance_m)
    sy, sz = sigmas(xc)
    v = vertical_factor(z, release_height_m, sz, mixing_height_m)
    c = rate_kg_s / (2 * np.pi * wind_speed_m_s * sy * sz) * np.exp(-0.5 * (y / sy) ** 2) * v
    if downwind_factor is not None:
        c = c * downwind_factor(xc)
    return np.where(x > 0, c, 0.0)


def crosswind_integrated_plume(x_m: np.ndarray | float, z_m: np.ndarray | float, *, rate_kg_s: float,
                               wind_speed_m_s: float, sigmas: SigmaModel, release_height_m: float = 0.0,
                               mixing_height_m: float | None = None) -> np.ndarray:
    """Crosswind-integrated concentration ``C_y = ∫C dy`` (kg/m²) — the Prairie Grass CWIC quantity."""
    x = np.maximum(np.asarray(x_m, dtype=float), 1e-9)
    _, sz = sigmas(x)
    v = vertical_factor(z_m, release_height_m, sz, mixing_height_m)
    return rate_kg_s / (np.sqrt(2 * np.pi) * wind_speed_m_s * sz) * v


def max_ground_level_concentration(*, rate_kg_s: float, wind_speed_m_s: float, sigmas: SigmaModel,
                                   release_height_m: float, x_max_m: float = 2e4) -> tuple[float, float]:
    """Maximum ground-level centreline concentration (kg/m³) and its distance (m), by a fine
    search in log-x refined with a bounded scalar minimiser."""
    from scipy.optimize import minimize_scalar

    def neg(lx: float) -> float:
        return -float(plume_concentration(np.exp(lx), 0.0, 0.0, rate_kg_s=rate_kg_s, wind_speed_m_s=wind_speed_m_s,
                                          sigmas=sigmas, release_height_m=release_height_m))

    lx = np.linspace(0.0, np.log(x_max_m), 2000)
    c = plume_concentration(np.exp(lx), 0.0, 0.0, rate_kg_s=rate_kg_s, wind_speed_m_s=wind_speed_m_s,
                            sigmas=sigmas, release_height_m=release_height_m)
    i = int(np.argmax(c))
    lo, hi = lx[max(i - 1, 0)], lx[min(i + 1, lx.size - 1)]
    r = minimize_scalar(neg, bounds=(lo, hi), method="bounded", options={"xatol": 1e-9})
    return -float(r.fun), float(np.exp(r.x))


# ---------------------------------------------------------------------------------------------
# plume on a grid (fast kernel)
# ---------------------------------------------------------------------------------------------
ARG_FLOOR = -700.0  # exp(-700) ~ 1e-304 is still a normal double: numpy's SIMD exp stays on its fast path
NEGLIGIBLE_MG_M3 = 1e-30
"""Concentrations below this (mg/m³) are physically zero: far below every toxic, flammable or
odour threshold. The gridded plume equals the point formula to a relative 1e-6 above it and is
below it wherever the point formula is."""
TABLE_LN_TOL = 1e-6
"""Largest error in ln C the tabulated far field may carry (about 1e-6 relative in C)."""
_LN_NEGLIGIBLE = float(np.log(NEGLIGIBLE_MG_M3))
FACTOR_CUT_ARG = -230.0
"""A Gaussian factor ``exp(arg)`` with ``arg`` below this (< 1e-100 of its puff's peak) is set to
exactly 0 in the puff sums: the products of such factors are subnormal doubles, on which the
matrix product and the sums run about 10x slower, and the terms are negligible beside
``NEGLIGIBLE_MG_M3`` for any puff amplitude below 1e70 mg/m³."""


def _gaussian_factor(arg: np.ndarray) -> np.ndarray:
    """``exp(arg)`` (arg <= 0), exactly 0 below ``FACTOR_CUT_ARG`` (no subnormal results)."""
    out = np.exp(np.maximum(arg, ARG_FLOOR))
    out[arg < FACTOR_CUT_ARG] = 0.0
    return out


@numba.njit(fastmath=True, nogil=True)
def _cubic_weights(f):  # pragma: no cover - numba
    """Lagrange weights of the nodes −1, 0, 1, 2 at fraction ``f`` of the interval [0, 1]."""
    w0 = -f * (f - 1.0) * (f - 2.0) / 6.0
    w1 = (f + 1.0) * (f - 1.0) * (f - 2.0) / 2.0
    w2 = -(f + 1.0) * f * (f - 2.0) / 2.0
    w3 = (f + 1.0) * f * (f - 1.0) / 6.0
    return w0, w1, w2, w3


@numba.njit(fastmath=True, nogil=True)
def _plume_arg_kernel(out, span, xs, ys, x0, y0, ex, ey, ln_a, inv_sy_tab, exact_k, y_relevant_k,
                      fix_row, fix_col):  # pragma: no cover - numba
    """Write ln C into ``out`` (floored at ARG_FLOOR) and, per row, the span of columns where it
    is above the floor (everything outside the span is exactly 0 after :func:`_zero_outside`).

    The table of ln A(x) and 1/σy(x) has spacing ``h = |Δx_grid·ex|``, the downwind step between
    neighbouring cells of a row, so along a row the table index advances by exactly one per
    cell and the (cubic Lagrange, 4-point) interpolation weights are constant; table entry
    ``s`` holds the value at ``x = (s − 1)·h``: the inner loop reads the tables as
    contiguous slices and is branch-free (vectorisable). The downwind part of each row is found
    analytically. Requires |ex| > 0 (the caller transposes the problem when the wind is closer
    to north–south).

    Table intervals listed in ``exact_k`` (``k`` = floor(x/h)) are those where the interpolation
    is not accurate enough (next to the source, at kinks of the sigma curves): their cells are set
    to the floor here and, where ``|crosswind| ≤ y_relevant_k[k]`` (the concentration can be above
    :data:`NEGLIGIBLE_MG_M3`), listed in ``fix_row``/``fix_col`` for the caller to evaluate with
    the point formula. Returns the number of listed cells."""
    ny, nx = out.shape
    dxg = xs[1] - xs[0]
    c1 = dxg * ex  # downwind step per column
    inv_h = 1.0 / abs(c1)
    yc1 = -dxg * ey  # crosswind step per column
    n_fix = 0
    for j in range(ny):
        row = out[j]
        dy = ys[j] - y0
        c0 = (xs[0] - x0) * ex + dy * ey  # downwind distance of column 0
        if c1 > 0.0:
            i_lo = max(int(np.floor(-c0 / c1)) + 1, 0)
            i_hi = nx - 1
        else:
            i_lo = 0
            i_hi = min(int(np.ceil(-c0 / c1)) - 1, nx - 1)
        row[:max(min(i_lo, nx), 0)] = ARG_FLOOR
        row[max(i_hi + 1, 0):] = ARG_FLOOR
        lo = nx
        hi = -1
        if i_lo <= i_hi:
            cnt = i_hi - i_lo + 1
            seg = row[i_lo:i_hi + 1]
            yc_lo = -(xs[0] - x0) * ey + dy * ex + yc1 * i_lo  # crosswind offset of column i_lo
            # table position of the first cell of the walk (column i_lo going right, i_hi going left)
            t_ref = (c0 + c1 * (i_lo if c1 > 0.0 else i_hi)) * inv_h
            k_ref = int(t_ref)
            w0, w1, w2, w3 = _cubic_weights(t_ref - k_ref)
            a = ln_a[k_ref:k_ref + cnt + 3]
            b = inv_sy_tab[k_ref:k_ref + cnt + 3]
            if c1 > 0.0:
                for m in range(cnt):
                    isy = w0 * b[m] + w1 * b[m + 1] + w2 * b[m + 2] + w3 * b[m + 3]
                    la = w0 * a[m] + w1 * a[m + 1] + w2 * a[m + 2] + w3 * a[m + 3]
                    yc = (yc_lo + yc1 * m) * isy
                    seg[m] = max(la - 0.5 * yc * yc, ARG_FLOOR)
            else:
                # column i_hi - m sits at table position t_ref + m
                yc_hi = yc_lo + yc1 * (cnt - 1)
                for m in range(cnt):
                    isy = w0 * b[m] + w1 * b[m + 1] + w2 * b[m + 2] + w3 * b[m + 3]
                    la = w0 * a[m] + w1 * a[m + 1] + w2 * a[m + 2] + w3 * a[m + 3]
                    yc = (yc_hi - yc1 * m) * isy
                    seg[cnt - 1 - m] = max(la - 0.5 * yc * yc, ARG_FLOOR)
            # cells in intervals the table does not resolve: floor now, point formula later
            for q in range(exact_k.size):
                m = exact_k[q] - k_ref
                if m < 0 or m >= cnt:
                    continue
                col = i_lo + m if c1 > 0.0 else i_hi - m
                seg[col - i_lo] = ARG_FLOOR
                yc = yc_lo + yc1 * (col - i_lo)
                if abs(yc) <= y_relevant_k[exact_k[q]]:
                    fix_row[n_fix] = j
                    fix_col[n_fix] = col
                    n_fix += 1
            for m in range(cnt):
                if seg[m] > ARG_FLOOR:
                    lo = i_lo + m
                    break
            for m in range(cnt - 1, -1, -1):
                if seg[m] > ARG_FLOOR:
                    hi = i_lo + m
                    break
        span[j, 0] = lo
        span[j, 1] = hi
    return n_fix


@numba.njit(nogil=True)
def _write_exact(out, span, rows, cols, ln_c):  # pragma: no cover - numba
    """Write point-formula values ln C into ``out`` and widen the row spans to include them."""
    for q in range(rows.size):
        j = rows[q]
        i = cols[q]
        v = max(ln_c[q], ARG_FLOOR)
        out[j, i] = v
        if v > ARG_FLOOR:
            if i < span[j, 0]:
                span[j, 0] = i
            if i > span[j, 1]:
                span[j, 1] = i


@numba.njit(nogil=True)
def _zero_outside(out, span):  # pragma: no cover - numba
    ny, nx = out.shape
    for j in range(ny):
        lo = span[j, 0]
        hi = span[j, 1]
        if hi < lo:
            out[j, :] = 0.0
            continue
        out[j, :lo] = 0.0
        out[j, hi + 1:] = 0.0


@dataclass(frozen=True)
class PlumeField:
    """A steady plume concentration field on a grid.

    ``concentration_mg_m3`` has shape ``grid.shape``. ``sigma_model`` names the sigma set and
    class, ``averaging_time_s`` the averaging time the field represents. ``near_field`` is True when
    part of the plume on the grid is closer than 100 m to the source (outside the nominal range of
    the sigma curves); ``dense_gas`` carries the Richardson check when the substance was known.
    """

    grid: GridSpec
    concentration_mg_m3: np.ndarray
    source_xy_m: tuple[float, float]
    wind_from_deg: float
    wind_speed_m_s: float
    rate_kg_s: float
    release_height_m: float
    receptor_height_m: float
    sigma_model: str
    averaging_time_s: float
    mixing_height_m: float | None
    near_field: bool
    dense_gas: DenseGasCheck | None = None
    notes: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        """False when the dense-gas check says the Gaussian model is outside its validity."""
        return not (self.dense_gas is not None and self.dense_gas.is_dense)


def _ln_amplitude_table(x_tab: np.ndarray, rate: float, u: float, sigmas: SigmaModel, H: float,
                        z: float, zi: float | None,
                        downwind_factor: DownwindFactor | None = None) -> tuple[np.ndarray, np.ndarray]:
    sy, sz = sigmas(x_tab)
    v = vertical_factor(z, H, sz, zi)
    if downwind_factor is not None:
        v = v * downwind_factor(x_tab)
    with np.errstate(divide="ignore"):
        ln_a = np.log(rate / (2 * np.pi * u * sy * sz)) + np.log(v)
    ln_a = np.where(np.isfinite(ln_a), ln_a, -1e3)
    return ln_a, 1.0 / np.asarray(sy, dtype=float)


def _unresolved_intervals(h: float, ln_a: np.ndarray, inv_sy: np.ndarray, exact_at) -> tuple[np.ndarray, np.ndarray]:
    """Table intervals ``k`` (x in [k·h, (k+1)·h)) where cubic interpolation misses the exact
    ln C by more than :data:`TABLE_LN_TOL` at any relevant crosswind offset, and, per interval,
    the crosswind half-width (m) beyond which C is below :data:`NEGLIGIBLE_MG_M3`.

    Checked at three points inside each interval against the point formula (``exact_at(x)`` →
    ln A, 1/σy), with the two neighbouring intervals flagged too (a kink between table nodes
    spoils the four-node stencils around it). This catches the near field (where σy changes
    over one step) and kinks of piecewise sigma curves or of the mixing-lid switch."""
    n_k = ln_a.size - 3
    fractions = (0.25, 0.5, 0.75)
    k = np.arange(n_k, dtype=float)
    la_e, isy_e = exact_at(np.concatenate([(k + f) * h for f in fractions]))
    la_e, isy_e = la_e.reshape(len(fractions), n_k), isy_e.reshape(len(fractions), n_k)
    w = np.array([_cubic_weights(f) for f in fractions])  # (3, 4)
    la_i = sum(w[:, q, None] * ln_a[None, q:q + n_k] for q in range(4))
    isy_i = sum(w[:, q, None] * inv_sy[None, q:q + n_k] for q in range(4))
    # relevant crosswind range: where ln C can exceed ln(NEGLIGIBLE), (y·isy)² ≤ 2·(ln A − ln NEGLIGIBLE)
    q_rel = 2.0 * np.maximum(np.maximum(la_e, la_i) - _LN_NEGLIGIBLE, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        err = np.abs(la_i - la_e) + q_rel * np.abs(isy_i / isy_e - 1.0)
        y_rel = np.sqrt(q_rel) / np.minimum(np.abs(isy_e), np.abs(isy_i))
    bad = np.any(~(err <= TABLE_LN_TOL) & (q_rel > 0), axis=0)
    bad = bad | np.concatenate([[False], bad[:-1]]) | np.concatenate([bad[1:], [False]])
    # the relevant width over the interval, with a margin for the exact value between test points
    y_rel = np.nan_to_num(y_rel.max(axis=0), nan=np.inf)
    y_rel = 1.05 * np.maximum(y_rel, np.concatenate([y_rel[1:], y_rel[-1:]])) + h
    return np.flatnonzero(bad).astype(np.int64), y_rel


def plume_field(
    grid: GridSpec,
    *,
    source_xy_m: tuple[float, float],
    wind_from_deg: float,
    rate_kg_s: float,
    wind_speed_m_s: float,
    sigmas: SigmaModel,
    release_height_m: float = 0.0,
    receptor_height_m: float = 0.0,
    mixing_height_m: float | None = None,
    min_distance_m: float = 1.0,
    dense_gas: DenseGasCheck | None = None,
    downwind_factor: DownwindFactor | None = None,
) -> PlumeField:
    """Steady plume concentration over a plant-frame grid (mg/m³), equal to
    :func:`plume_concentration` at every node.

    The x-dependent parts (``ln[Q/(2π u σy σz)·V(x)]`` and ``1/σy``) are tabulated once on a 1-D
    table of downwind distance (spacing = the downwind step between neighbouring cells, so the
    weights of the cubic interpolation are constant along a grid row) and interpolated per cell,
    so each cell costs two table look-ups; the exponent field is then passed once through
    ``numpy.exp`` (SIMD). The table is checked against the point formula inside every interval;
    where the interpolation would be off by more than :data:`TABLE_LN_TOL` in ln C (next to the
    source, where σy changes over one step, and at kinks of piecewise sigma curves) the cells are
    evaluated with the point formula instead. The result: relative error ≤ 1e-6 wherever the
    exact value is above :data:`NEGLIGIBLE_MG_M3`, and below that bound wherever the exact value
    is. Upwind cells are exactly 0, as are cells beyond the last cell of their row where
    ``ln C`` exceeds −700.

    >>> from safetwin.emergency_planner.physics.sigmas import PasquillSigmas
    >>> g = GridSpec.around(0, 0, 500, 10)
    >>> f = plume_field(g, source_xy_m=(0, 0), wind_from_deg=270, rate_kg_s=1.0,
    ...                 wind_speed_m_s=3.0, sigmas=PasquillSigmas("D"))
    >>> f.concentration_mg_m3.shape, bool(f.concentration_mg_m3[50, 60] > 0)  # east of source
    ((101, 101), True)
    >>> exact = plume_concentration(100.0, 0.0, 0.0, rate_kg_s=1.0, wind_speed_m_s=3.0,
    ...                             sigmas=PasquillSigmas("D")) * 1e6
    >>> bool(abs(f.concentration_mg_m3[50, 60] / exact - 1) < 1e-6)   # the node 100 m downwind
    True
    """
    if wind_speed_m_s <= 0:
        raise ValueError("wind speed must be positive for a Gaussian plume")
    x0, y0 = source_xy_m
    ex, ey = downwind_unit(wind_from_deg)
    corners_x = np.array([grid.x_min_m, grid.x_max_m, grid.x_min_m, grid.x_max_m]) - x0
    corners_y = np.array([grid.y_min_m, grid.y_min_m, grid.y_max_m, grid.y_max_m]) - y0
    x_far = float(np.max(corners_x * ex + corners_y * ey))
    out = np.zeros(grid.shape, dtype=float)
    near = False
    if x_far > 0:
        rate_mg_s = rate_kg_s * KG_M3_TO_MG_M3

        def exact_at(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return _ln_amplitude_table(np.maximum(x, min_distance_m), rate_mg_s, wind_speed_m_s, sigmas,
                                       release_height_m, receptor_height_m, mixing_height_m, downwind_factor)

        # walk rows along the grid axis closer to the wind direction (|component| >= 0.707)
        transpose = abs(ey) > abs(ex)
        if transpose:
            xs, ys, xa, ya, ea, eb, step = grid.y_m, grid.x_m, float(y0), float(x0), ey, ex, grid.dy_m
        else:
            xs, ys, xa, ya, ea, eb, step = grid.x_m, grid.y_m, float(x0), float(y0), ex, ey, grid.dx_m
        h = abs(step * ea)
        n = int(np.ceil(x_far / h)) + 6
        ln_a, inv_sy_tab = exact_at((np.arange(n, dtype=float) - 1.0) * h)  # entry s at (s-1)h
        exact_k, y_relevant_k = _unresolved_intervals(h, ln_a, inv_sy_tab, exact_at)
        work = np.empty((ys.size, xs.size), dtype=float)
        span = np.empty((work.shape[0], 2), dtype=np.int64)
        fix_row = np.empty(work.shape[0] * max(exact_k.size, 1), dtype=np.int64)
        fix_col = np.empty_like(fix_row)
        n_fix = _plume_arg_kernel(work, span, xs, ys, xa, ya, ea, eb, ln_a, inv_sy_tab, exact_k, y_relevant_k,
                                  fix_row, fix_col)
        if n_fix:
            rows, cols = fix_row[:n_fix], fix_col[:n_fix]
            dxw, dyw = xs[cols] - xa, ys[rows] - ya
            c = plume_concentration(dxw * ea + dyw * eb, -dxw * eb + dyw * ea, receptor_height_m,
                                    rate_kg_s=rate_mg_s, wind_speed_m_s=wind_speed_m_s, sigmas=sigmas,
                                    release_height_m=release_height_m, mixing_height_m=mixing_height_m,
                                    min_distance_m=min_distance_m, downwind_factor=downwind_factor)
            with np.errstate(divide="ignore"):
                _write_exact(work, span, rows, cols, np.log(c))
        np.exp(work, out=work)
        _zero_outside(work, span)
        out = work.T if transpose else work
        near = bool(np.any(span[:, 1] >= span[:, 0])) and _grid_has_downwind_within(grid, x0, y0, ex, ey, 100.0)
    notes = []
    if near:
        notes.append("part of the plume lies closer than 100 m to the source: Gaussian sigmas are "
                     "extrapolated there (nominal range 100 m – 10 km)")
    if dense_gas is not None and dense_gas.is_dense:
        notes.append(f"dense gas: Richardson number {dense_gas.richardson_number:.3g} ≥ "
                     f"{dense_gas.threshold:.3g}; a passive Gaussian model under-predicts near-field "
                     "ground concentrations and cloud width")
    return PlumeField(grid=grid, concentration_mg_m3=out, source_xy_m=(float(x0), float(y0)),
                      wind_from_deg=float(wind_from_deg), wind_speed_m_s=float(wind_speed_m_s),
                      rate_kg_s=float(rate_kg_s), release_height_m=float(release_height_m),
                      receptor_height_m=float(receptor_height_m), sigma_model=sigmas.name,
                      averaging_time_s=float(getattr(sigmas, "averaging_time_s", 600.0)),
                      mixing_height_m=mixing_height_m, near_field=near, dense_gas=dense_gas, notes=tuple(notes))


def _grid_has_downwind_within(grid: GridSpec, x0: float, y0: float, ex: float, ey: float, dist: float) -> bool:
    # the nearest grid node to the source decides: if the source lies inside the grid extent
    # (or within `dist` of it), receptors closer than `dist` downwind exist.
    cx = min(max(x0, grid.x_min_m), grid.x_max_m)
    cy = min(max(y0, grid.y_min_m), grid.y_max_m)
    return bool(np.hypot(cx - x0, cy - y0) < dist)


# ---------------------------------------------------------------------------------------------
# single puff
# ---------------------------------------------------------------------------------------------
def puff_concentration(
    x_m: np.ndarray | float,
    y_m: np.ndarray | float,
    z_m: np.ndarray | float,
    t_s: np.ndarray | float,
    *,
    mass_kg: float,
    wind_speed_m_s: float,
    sigmas: SigmaModel,
    release_height_m: float = 0.0,
    mixing_height_m: float | None = None,
    min_distance_m: float = 1.0,
) -> np.ndarray:
    """Instantaneous Gaussian puff (kg/m³) in a steady straight wind, released at t = 0 at the
    origin of the wind frame. σx = σy, sigmas at travel distance ``u·t`` (clipped at
    ``min_distance_m``).

    >>> from safetwin.emergency_planner.physics.sigmas import PasquillSigmas
    >>> c = puff_concentration(1000.0, 0.0, 0.0, 1000.0 / 3.0, mass_kg=10.0, wind_speed_m_s=3.0,
    ...                        sigmas=PasquillSigmas("D", "ccps_puff"))
    >>> round(float(c) * 1e5, 3)   # reference case D4: 5.641e-5 kg/m³
    5.641
    """
    t = np.asarray(t_s, dtype=float)
    s = np.maximum(wind_speed_m_s * t, min_distance_m)
    sy, sz = sigmas(s)
    x = np.asarray(x_m, dtype=float)
    y = np.asarray(y_m, dtype=float)
    v = vertical_factor(z_m, release_height_m, sz, mixing_height_m)
    c = mass_kg / ((2 * np.pi) ** 1.5 * sy * sy * sz) * np.exp(-0.5 * ((x - wind_speed_m_s * t) ** 2 + y**2) / sy**2) * v
    return np.where(t > 0, c, 0.0)


# ---------------------------------------------------------------------------------------------
# wind history and puff train
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WindHistory:
    """Piecewise-constant wind: from ``times_s[i]`` on, speed ``speed_m_s[i]`` from
    ``from_deg[i]`` (meteorological FROM direction). Before ``times_s[0]`` the first value holds.

    >>> w = WindHistory.steady(3.0, 270.0)
    >>> w.displacement_m(np.array([10.0])).round(9).tolist()
    [[30.0, 0.0]]
    """

    times_s: np.ndarray
    speed_m_s: np.ndarray
    from_deg: np.ndarray

    def __post_init__(self) -> None:
        t = np.asarray(self.times_s, dtype=float)
        if t.ndim != 1 or t.size == 0 or np.any(np.diff(t) <= 0):
            raise ValueError("WindHistory.times_s must be a non-empty strictly increasing 1-D array")
        if np.asarray(self.speed_m_s).shape != t.shape or np.asarray(self.from_deg).shape != t.shape:
            raise ValueError("WindHistory arrays must have the same shape")
        if np.any(np.asarray(self.speed_m_s) <= 0):
            raise ValueError("WindHistory speeds must be positive")
        object.__setattr__(self, "times_s", t)
        object.__setattr__(self, "speed_m_s", np.asarray(self.speed_m_s, dtype=float))
        object.__setattr__(self, "from_deg", np.asarray(self.from_deg, dtype=float))

    @classmethod
    def steady(cls, speed_m_s: float, from_deg: float) -> WindHistory:
        return cls(np.array([0.0]), np.array([float(speed_m_s)]), np.array([float(from_deg)]))

    def _velocity(self) -> np.ndarray:
        th = np.deg2rad(self.from_deg)
        return np.stack([-np.sin(th), -np.cos(th)], axis=-1) * self.speed_m_s[:, None]

    def _cumulative(self, t_s: np.ndarray, values: np.ndarray) -> np.ndarray:
        """∫_{t0}^{t} values(t') dt' for piecewise-constant values (…, k) arrays."""
        t = np.asarray(t_s, dtype=float)
        seg = np.clip(np.searchsorted(self.times_s, t, side="right") - 1, 0, None)
        dt_seg = np.diff(self.times_s)
        if values.ndim == 1:
            cum = np.concatenate([[0.0], np.cumsum(values[:-1] * dt_seg)])
            return cum[seg] + values[seg] * (t - self.times_s[seg])
        cum = np.concatenate([np.zeros((1, values.shape[1])), np.cumsum(values[:-1] * dt_seg[:, None], axis=0)])
        return cum[seg] + values[seg] * (t - self.times_s[seg])[..., None]

    def displacement_m(self, t_s: np.ndarray) -> np.ndarray:
        """Displacement (east, north) in m of an air parcel from ``times_s[0]`` to ``t``; shape (…, 2)."""
        return self._cumulative(t_s, self._velocity())

    def path_length_m(self, t_s: np.ndarray) -> np.ndarray:
        """Distance travelled (m) by an air parcel from ``times_s[0]`` to ``t``."""
        return self._cumulative(t_s, self.speed_m_s)

    def at(self, t_s: float) -> tuple[float, float]:
        """(speed m/s, from-direction deg) in force at time t."""
        i = int(np.clip(np.searchsorted(self.times_s, t_s, side="right") - 1, 0, None))
        return float(self.speed_m_s[i]), float(self.from_deg[i])


@dataclass(frozen=True)
class PuffState:
    """Puffs at one instant: centres (m, plant frame), masses (kg), sigmas (m)."""

    t_s: float
    centre_xy_m: np.ndarray  # (k, 2)
    mass_kg: np.ndarray  # (k,)
    sigma_y_m: np.ndarray
    sigma_z_m: np.ndarray
    travel_m: np.ndarray


@dataclass(frozen=True)
class PuffTrain:
    """A train of Gaussian puffs representing a (time-varying) release under a wind history.

    Build it with :func:`puff_train`. Evaluate with :meth:`field` (grid at time t, mg/m³) or
    :meth:`concentration_at` (paired points and times, mg/m³), which is what a person-path dose
    integration needs.
    """

    source_xy_m: tuple[float, float]
    release_times_s: np.ndarray  # (k,)
    masses_kg: np.ndarray  # (k,)
    wind: WindHistory
    sigmas: SigmaModel
    release_height_m: float = 0.0
    mixing_height_m: float | None = None
    min_distance_m: float = 1.0
    notes: tuple[str, ...] = field(default=())
    consumed_at_s: float = np.inf
    """From this time (s) the cloud is gone (burnt by a delayed ignition): every puff has mass 0."""

    @property
    def total_mass_kg(self) -> float:
        return float(self.masses_kg.sum())

    @cached_property
    def _released_at(self) -> tuple[np.ndarray, np.ndarray]:
        """Air-parcel displacement (m, (k, 2)) and path length (m, (k,)) at each puff's release."""
        return self.wind.displacement_m(self.release_times_s), self.wind.path_length_m(self.release_times_s)

    def state(self, t_s: float) -> PuffState:
        """Positions, travel distances and sigmas of all puffs at time ``t_s`` (unreleased puffs have mass 0)."""
        tr = self.release_times_s
        released = (tr <= t_s) & (t_s < self.consumed_at_s)
        d_rel, s_rel = self._released_at
        disp = self.wind.displacement_m(np.array([t_s]))[0] - d_rel
        travel = self.wind.path_length_m(np.array([t_s]))[0] - s_rel
        travel = np.maximum(travel, self.min_distance_m)
        sy, sz = self.sigmas(travel)
        centre = np.asarray(self.source_xy_m, dtype=float)[None, :] + disp
        mass = np.where(released, self.masses_kg, 0.0)
        return PuffState(float(t_s), centre, mass, np.asarray(sy, float), np.asarray(sz, float), travel)

    def field(self, grid: GridSpec, t_s: float, *, receptor_height_m: float = 0.0) -> np.ndarray:
        """Concentration (mg/m³) on the grid at time ``t_s``; shape ``grid.shape``.

        Exact (no interpolation): the horizontal Gaussians of all puffs are evaluated on the grid
        axes and combined in a single matrix product, cost ~ 2·k·nx·ny flops for k puffs.
        """
        st = self.state(t_s)
        v = vertical_factor(receptor_height_m, self.release_height_m, st.sigma_z_m, self.mixing_height_m)
        amp = st.mass_kg * v / ((2 * np.pi) ** 1.5 * st.sigma_y_m**2 * st.sigma_z_m) * KG_M3_TO_MG_M3
        live = amp > 0
        if not np.any(live):
            return np.zeros(grid.shape, dtype=float)
        cx, cy, sy, amp = st.centre_xy_m[live, 0], st.centre_xy_m[live, 1], st.sigma_y_m[live], amp[live]
        inv = -0.5 / sy**2
        # σx = σy, so each puff's ground footprint is separable: exp(-dx²/2σ²)·exp(-dy²/2σ²).
        # The field is a sum of rank-one matrices, i.e. one matrix product (BLAS).
        gx = _gaussian_factor((grid.x_m[None, :] - cx[:, None]) ** 2 * inv[:, None])
        gy = _gaussian_factor((grid.y_m[None, :] - cy[:, None]) ** 2 * inv[:, None])
        touch = (gx.max(axis=1) > 0) & (gy.max(axis=1) > 0)
        gx, gy, amp = gx[touch], gy[touch], amp[touch]
        if gx.shape[0] == 0:
            return np.zeros(grid.shape, dtype=float)
        field = (gy * amp[:, None]).T @ gx
        # products of the cut factors leave tiny residues: drop everything below 1e-250 of the peak puff amplitude
        field[field < amp.max() * 1e-250] = 0.0
        return field

    def concentration_at(self, x_m: np.ndarray, y_m: np.ndarray, t_s: np.ndarray, *,
                         z_m: np.ndarray | float = 0.0, chunk: int = 4096) -> np.ndarray:
        """Concentration (mg/m³) at paired points and times (``x``, ``y``, ``t`` broadcast together).

        Vectorised over points and puffs (chunks of ``chunk`` points); used for path doses and
        sensor time series.
        """
        x, y, t, z = np.broadcast_arrays(np.asarray(x_m, float), np.asarray(y_m, float),
                                         np.asarray(t_s, float), np.asarray(z_m, float))
        shape = x.shape
        x, y, t, z = x.ravel(), y.ravel(), t.ravel(), z.ravel()
        if x.size and np.all(t == t[0]) and np.all(z == z[0]):
            return self._concentration_at_one_time(x, y, float(t[0]), float(z[0]), chunk).reshape(shape)
        out = np.zeros(x.size)
        d_rel, s_rel = self._released_at  # (k, 2), (k,)
        x0, y0 = self.source_xy_m
        for a in range(0, x.size, chunk):
            b = min(a + chunk, x.size)
            tt = t[a:b]
            d_now = self.wind.displacement_m(tt)  # (m,2)
            s_now = self.wind.path_length_m(tt)  # (m,)
            cx = x0 + d_now[:, None, 0] - d_rel[None, :, 0]
            cy = y0 + d_now[:, None, 1] - d_rel[None, :, 1]
            travel = np.maximum(s_now[:, None] - s_rel[None, :], self.min_distance_m)
            sy, sz = self.sigmas(travel)
            v = vertical_factor(z[a:b, None], self.release_height_m, sz, self.mixing_height_m)
            r2 = (x[a:b, None] - cx) ** 2 + (y[a:b, None] - cy) ** 2
            live = (self.release_times_s[None, :] <= tt[:, None]) & (tt[:, None] < self.consumed_at_s)
            c = np.where(live, self.masses_kg[None, :] / ((2 * np.pi) ** 1.5 * sy * sy * sz)
                         * np.exp(-0.5 * r2 / (sy * sy)) * v, 0.0)
            out[a:b] = c.sum(axis=1)
        return (out * KG_M3_TO_MG_M3).reshape(shape)

    def _concentration_at_one_time(self, x: np.ndarray, y: np.ndarray, t_s: float, z_m: float,
                                   chunk: int) -> np.ndarray:
        """:meth:`concentration_at` for points sampled at one time and height (a crowd's doses):
        the puffs' centres, sigmas and vertical terms are computed once, not per point, and only
        the released puffs are summed; the same terms as the general path (Gaussian factors below
        ``FACTOR_CUT_ARG`` are 0)."""
        st = self.state(t_s)
        live = st.mass_kg > 0
        out = np.zeros(x.size)
        if not live.any():
            return out
        sy, sz = st.sigma_y_m[live], st.sigma_z_m[live]
        v = vertical_factor(z_m, self.release_height_m, sz, self.mixing_height_m)
        amp = st.mass_kg[live] / ((2 * np.pi) ** 1.5 * sy * sy * sz) * v * KG_M3_TO_MG_M3
        cx, cy = st.centre_xy_m[live, 0], st.centre_xy_m[live, 1]
        inv = -0.5 / (sy * sy)
        for a in range(0, x.size, chunk):
            b = min(a + chunk, x.size)
            r2 = (x[a:b, None] - cx) ** 2 + (y[a:b, None] - cy) ** 2
            out[a:b] = _gaussian_factor(r2 * inv) @ amp
        return out


def puff_train(
    *,
    source_xy_m: tuple[float, float],
    rate_times_s: np.ndarray,
    rate_kg_s: np.ndarray,
    wind: WindHistory,
    sigmas: SigmaModel,
    puff_interval_s: float = 10.0,
    release_height_m: float = 0.0,
    mixing_height_m: float | None = None,
    end_time_s: float | None = None,
) -> PuffTrain:
    """Discretise a time-varying release into puffs.

    ``rate_kg_s[i]`` holds from ``rate_times_s[i]`` to ``rate_times_s[i+1]`` (the last value until
    ``end_time_s``; pass a final 0 to stop the release). One puff per ``puff_interval_s``,
    released at the midpoint of its interval and carrying exactly the mass released in it, so
    the train conserves the released mass. The puff spacing ``u·Δt`` should stay below about one
    σy at the nearest receptor of interest for a smooth field.
    """
    rt = np.asarray(rate_times_s, dtype=float)
    rq = np.asarray(rate_kg_s, dtype=float)
    if rt.ndim != 1 or rt.shape != rq.shape or rt.size == 0:
        raise ValueError("rate_times_s and rate_kg_s must be 1-D arrays of the same length")
    if np.any(np.diff(rt) <= 0) or np.any(rq < 0):
        raise ValueError("rate times must increase and rates must be non-negative")
    t_end = float(end_time_s) if end_time_s is not None else (float(rt[-1]) if rt.size > 1 else float(rt[0]) + 3600.0)
    edges = np.arange(rt[0], t_end + 1e-9, puff_interval_s)
    if edges[-1] < t_end:
        edges = np.append(edges, t_end)
    # cumulative released mass at arbitrary times (piecewise-constant rate)
    cum = np.concatenate([[0.0], np.cumsum(rq[:-1] * np.diff(rt))])

    def released(t: np.ndarray) -> np.ndarray:
        i = np.clip(np.searchsorted(rt, t, side="right") - 1, 0, None)
        return cum[i] + rq[i] * (t - rt[i])

    m_edges = released(edges)
    masses = np.diff(m_edges)
    times = 0.5 * (edges[1:] + edges[:-1])
    keep = masses > 0
    return PuffTrain(source_xy_m=(float(source_xy_m[0]), float(source_xy_m[1])), release_times_s=times[keep],
                     masses_kg=masses[keep], wind=wind, sigmas=sigmas, release_height_m=float(release_height_m),
                     mixing_height_m=mixing_height_m)


ConcentrationFunction = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
"""``f(x_m, y_m, t_s) -> mg/m³`` over paired (broadcast) arrays — what path-dose code consumes."""


def plume_as_function(*, source_xy_m: tuple[float, float], wind_from_deg: float, rate_kg_s: float,
                      wind_speed_m_s: float, sigmas: SigmaModel, release_height_m: float = 0.0,
                      receptor_height_m: float = 0.0, mixing_height_m: float | None = None,
                      start_s: float = 0.0, duration_s: float = np.inf) -> ConcentrationFunction:
    """Wrap a steady plume as ``f(x, y, t) -> mg/m³`` in the plant frame.

    The plume is present at a receptor between its arrival ``start + x/u`` and
    ``start + duration + x/u`` (a simple top-hat passage), 0 otherwise.
    """
    x0, y0 = source_xy_m

    def f(x_m: np.ndarray, y_m: np.ndarray, t_s: np.ndarray) -> np.ndarray:
        xd, yc = to_wind_frame(np.asarray(x_m), np.asarray(y_m), x0, y0, wind_from_deg)
        c = plume_concentration(xd, yc, receptor_height_m, rate_kg_s=rate_kg_s, wind_speed_m_s=wind_speed_m_s,
                                sigmas=sigmas, release_height_m=release_height_m, mixing_height_m=mixing_height_m)
        tt = np.asarray(t_s, dtype=float) - start_s - np.maximum(xd, 0) / wind_speed_m_s
        return np.where((tt >= 0) & (tt <= duration_s), c, 0.0) * KG_M3_TO_MG_M3

    return f


__all__ = [
    "PasquillSigmas", "vertical_factor", "dense_gas_check", "DenseGasCheck", "cloud_density_kg_m3", "plume_concentration",
    "crosswind_integrated_plume", "max_ground_level_concentration", "plume_field", "PlumeField",
    "puff_concentration", "WindHistory", "finite_release_factor", "DownwindFactor", "PuffTrain", "PuffState",
    "puff_train", "plume_as_function",
    "ConcentrationFunction",
]
