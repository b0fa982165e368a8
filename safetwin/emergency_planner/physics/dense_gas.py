"""Dense-gas dispersion behind one interface, with the hand-over to the passive Gaussian model.

An engine (:class:`DenseGasEngine`) turns an engine-neutral :class:`DenseRelease` (evaporating
pool, horizontal or vertical jet, instantaneous; rate, duration, droplet fraction, area) and the
:class:`~.weather.Weather` into a :class:`CloudProfile`: the time-averaged ground-level
centreline concentration along the wind and the crosswind shape at each distance. Engines are
registered by name in :data:`ENGINES`; the default is SLAB (``"slab"``, :mod:`.slab_engine`), and
another engine (e.g. a DEGADIS port) is added with :func:`register_engine` without touching the
callers.

**Hand-over.** Where the cloud has been diluted so far that its own gravity no longer matters —
the local Richardson number ``Ri* = g·(ρ − ρ_a)/ρ_a·h/u*²`` falls below 1 (Britter & McQuaid
1988, *Workbook on the dispersion of dense gases*, HSE CRR 17/1988: dense-gas effects negligible
for Ri* ≲ 1) — the profile continues as a passive Gaussian plume with virtual sources: σy
matches the cloud's crosswind variance and σz its centreline concentration at the hand-over
distance, so concentration and width are continuous there (where a stable class's σz levels off
below what the cloud's depth needs, the passive decay starts from the cloud's concentration); a finite release keeps its
along-wind factor (:func:`.dispersion.finite_release_factor`).

The crosswind shape is SLAB's (Ermak 1990, EQ 13): ``½[erf((y + b)/(√2β)) − erf((y − b)/(√2β))]``,
a top hat of half-width b smoothed over β (β includes meander for the averaging time), which is a
Gaussian of σ = β when b → 0 — the form the passive part uses.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol
from collections.abc import Callable

import numpy as np
from scipy.optimize import brentq
from scipy.special import erfc

from safetwin.substances import Substance

from .dispersion import KG_M3_TO_MG_M3, finite_release_factor
from .grid import GridSpec, to_wind_frame
from .sigmas import SigmaModel
from .weather import Weather

SourceKind = Literal["pool", "horizontal_jet", "vertical_jet", "instantaneous"]
HANDOVER_RICHARDSON = 1.0
"""Local Richardson number below which the cloud is handed over to the passive model."""


@dataclass(frozen=True)
class DenseRelease:
    """An engine-neutral dense-gas source (SI units).

    ``rate_kg_s`` for ``duration_s`` (``inf``: continuous); ``mass_kg`` for an instantaneous
    release. ``liquid_fraction`` is the droplet mass fraction of the released material (jets);
    ``area_m2`` the pool area, or the jet's cross-section after expansion to atmospheric pressure;
    ``temperature_k`` the source temperature (None: the boiling point); ``height_m`` the release
    height."""

    substance: Substance
    kind: SourceKind
    rate_kg_s: float
    duration_s: float
    area_m2: float
    liquid_fraction: float = 0.0
    temperature_k: float | None = None
    height_m: float = 0.0
    mass_kg: float = 0.0


@dataclass(frozen=True)
class CloudProfile:
    """Ground-level cloud along the wind: centreline concentration (mg/m³) and crosswind shape
    (``b_m``, ``beta_m``) at distances ``x_m`` (increasing, m), for ``averaging_time_s``.

    ``handover_x_m`` is where the passive Gaussian takes over (None: the engine's cloud all the
    way). :meth:`concentration_at` evaluates the profile at points; the gridded field is that
    function at the grid nodes (:meth:`field`), so zones drawn from it are exact to the profile.
    """

    x_m: np.ndarray
    centreline_mg_m3: np.ndarray
    b_m: np.ndarray
    beta_m: np.ndarray
    averaging_time_s: float
    engine: str
    handover_x_m: float | None = None
    notes: tuple[str, ...] = field(default=())

    def centreline_at(self, x_m: np.ndarray | float) -> np.ndarray:
        """Centreline concentration (mg/m³) at downwind distances (log-linear interpolation; 0 upwind
        and beyond the profile)."""
        x = np.asarray(x_m, dtype=float)
        c = self.centreline_mg_m3
        with np.errstate(divide="ignore"):
            lc = np.log(np.maximum(c, 1e-300))
        out = np.exp(np.interp(x, self.x_m, lc))
        return np.where((x >= self.x_m[0]) & (x <= self.x_m[-1]) & (out > 1e-290), out, 0.0)

    def concentration_at(self, downwind_m: np.ndarray, crosswind_m: np.ndarray) -> np.ndarray:
        """Concentration (mg/m³) at points given in the wind frame (m)."""
        x = np.asarray(downwind_m, dtype=float)
        y = np.abs(np.asarray(crosswind_m, dtype=float))
        c = self.centreline_at(x)
        b = np.interp(x, self.x_m, self.b_m)
        beta = np.maximum(np.interp(x, self.x_m, self.beta_m), 1e-9)
        return c * crosswind_shape(y, b, beta)

    def field(self, grid: GridSpec, *, source_xy_m: tuple[float, float], wind_from_deg: float) -> np.ndarray:
        """Concentration (mg/m³) at every grid node; shape ``grid.shape``."""
        xg, yg = grid.mesh()
        down, cross = to_wind_frame(xg, yg, source_xy_m[0], source_xy_m[1], wind_from_deg)
        out = np.zeros(grid.shape)
        live = (down >= self.x_m[0]) & (down <= self.x_m[-1])
        out[live] = self.concentration_at(down[live], cross[live])
        return out

    def distance_to(self, level_mg_m3: float) -> float:
        """Furthest downwind distance (m) where the centreline reaches ``level_mg_m3`` (0 if nowhere)."""
        above = np.flatnonzero(self.centreline_mg_m3 >= level_mg_m3)
        if above.size == 0:
            return 0.0
        i = int(above[-1])
        if i == self.x_m.size - 1:
            return float(self.x_m[i])
        c1, c2 = self.centreline_mg_m3[i], self.centreline_mg_m3[i + 1]
        if c2 <= 0:
            return float(self.x_m[i])
        f = np.log(c1 / level_mg_m3) / np.log(c1 / c2)
        return float(self.x_m[i] + f * (self.x_m[i + 1] - self.x_m[i]))


def crosswind_shape(y_m: np.ndarray, b_m: np.ndarray, beta_m: np.ndarray) -> np.ndarray:
    """SLAB's crosswind profile normalised to 1 on the centreline (module docstring); Gaussian of
    σ = β where b ≪ β. Written with erfc so that the far tails keep their precision."""
    y = np.abs(np.asarray(y_m, dtype=float))
    b = np.asarray(b_m, dtype=float)
    beta = np.asarray(beta_m, dtype=float)
    s = np.sqrt(2.0) * beta
    num = erfc((y - b) / s) - erfc((y + b) / s)
    den = erfc(-b / s) - erfc(b / s)
    with np.errstate(invalid="ignore", divide="ignore"):
        top_hat = np.where(den > 0, num / den, 0.0)
    gauss = np.exp(-0.5 * (y / beta) ** 2)
    return np.where(b > 1e-3 * beta, top_hat, gauss)


class DenseGasEngine(Protocol):
    """A dense-gas model: ``run`` returns the engine's own cloud (no hand-over) along the wind."""

    @property
    def name(self) -> str: ...

    def run(self, release: DenseRelease, weather: Weather, *, averaging_time_s: float, receptor_height_m: float,
            x_max_m: float) -> EngineCloud: ...


@dataclass(frozen=True)
class EngineCloud:
    """What an engine returns: the profile (mg/m³, m) and, per distance, the local Richardson number
    ``Ri*`` used for the hand-over (NaN where the engine cannot tell)."""

    x_m: np.ndarray
    centreline_mg_m3: np.ndarray
    b_m: np.ndarray
    beta_m: np.ndarray
    local_richardson: np.ndarray
    notes: tuple[str, ...] = ()


ENGINES: dict[str, DenseGasEngine] = {}
"""Registered dense-gas engines by name."""
DEFAULT_ENGINE = "slab"


def register_engine(engine: DenseGasEngine) -> None:
    """Make ``engine`` available under ``engine.name``."""
    ENGINES[engine.name] = engine


def get_engine(name: str = DEFAULT_ENGINE) -> DenseGasEngine:
    """The engine registered under ``name`` (the SLAB engine is registered on first use)."""
    if name not in ENGINES and name == "slab":
        from .slab_engine import SlabEngine

        register_engine(SlabEngine())
    if name not in ENGINES:
        raise KeyError(f"no dense-gas engine {name!r}; registered: {sorted(ENGINES)}")
    return ENGINES[name]


def dense_cloud(release: DenseRelease, weather: Weather, *, averaging_time_s: float, passive_sigmas: SigmaModel,
                along_wind_sigmas: SigmaModel, receptor_height_m: float = 0.0, x_max_m: float = 20_000.0,
                engine: str = DEFAULT_ENGINE, handover: bool = True) -> CloudProfile:
    """Run the engine and continue with the passive Gaussian where the cloud is diluted (module docstring).

    ``passive_sigmas`` are the Pasquill (or σθ) sigmas for the averaging time; ``along_wind_sigmas``
    the puff sigmas that give the along-wind spread of a finite release."""
    eng = get_engine(engine)
    cloud = eng.run(release, weather, averaging_time_s=averaging_time_s, receptor_height_m=receptor_height_m,
                    x_max_m=x_max_m)
    notes = list(cloud.notes)
    x, c, b, beta = cloud.x_m, cloud.centreline_mg_m3, cloud.b_m, cloud.beta_m
    ri = cloud.local_richardson
    # look for the dilution downstream of the densest point of the cloud (the source region of a
    # pool or the first metres of a jet can show a thin layer of low Ri*) and of the peak
    # concentration at the receptor (an elevated jet has not reached it before)
    formed = np.flatnonzero((c > 0) & np.isfinite(ri))
    start = max(int(formed[np.argmax(ri[formed])]), int(np.argmax(c))) if formed.size else x.size
    passive = np.flatnonzero(np.isfinite(ri) & (ri < HANDOVER_RICHARDSON) & (c > 0) & (x > 0)
                             & (np.arange(x.size) > start))
    if not handover or passive.size == 0:
        return CloudProfile(x, c, b, beta, averaging_time_s, eng.name, None, tuple(notes))
    k = int(passive[0])
    x_h, c_h = float(x[k]), float(c[k])
    sigma_eq = float(np.sqrt(b[k] ** 2 / 3.0 + beta[k] ** 2))
    u = weather.transport_speed_m_s(release_height_m=release.height_m)
    total_rate = release.rate_kg_s if release.kind != "instantaneous" else release.mass_kg / max(averaging_time_s, 1.0)
    duration = release.duration_s if release.kind != "instantaneous" else max(averaging_time_s, 1.0)
    finite = finite_release_factor(duration_s=duration, wind_speed_m_s=u, averaging_time_s=averaging_time_s,
                                   along_wind_sigma=lambda xx: along_wind_sigmas(xx)[0])
    f_h = float(finite(np.array([x_h]))[0])
    xi_y = _virtual_distance(lambda d: float(passive_sigmas(np.array([d]))[0][0]), sigma_eq)
    sz_needed = total_rate * KG_M3_TO_MG_M3 * f_h / (np.pi * u * sigma_eq * c_h)
    xi_z = _virtual_distance(lambda d: float(passive_sigmas(np.array([d]))[1][0]), sz_needed)
    x_far = np.geomspace(x_h, max(x_max_m, 2.0 * x_h), 400)
    sy, _ = passive_sigmas(xi_y + x_far - x_h)
    _, sz = passive_sigmas(xi_z + x_far - x_h)
    c_far = total_rate * KG_M3_TO_MG_M3 * finite(x_far) / (np.pi * u * sy * sz)
    # A stable class's σz levels off (Briggs E, F: σz → 0.03/0.0003 m, 0.016/0.0003 m), so a cloud
    # deeper than that has no virtual source; the passive decay then starts from the cloud's own
    # concentration (a constant factor, 1 whenever the virtual sources match).
    match = c_h / c_far[0]
    if abs(match - 1.0) > 0.05:
        notes.append(f"passive sigmas cannot reach the cloud's size at {x_h:.0f} m (σz needed {sz_needed:.0f} m): "
                     f"the passive decay starts from the cloud's concentration (factor {match:.3g})")
    x_far, c_far, sy = x_far[1:], match * c_far[1:], sy[1:]
    notes.append(f"dense cloud diluted (Ri* < {HANDOVER_RICHARDSON:g}) at {x_h:.0f} m: passive Gaussian beyond")
    return CloudProfile(np.concatenate([x[:k + 1], x_far]), np.concatenate([c[:k + 1], c_far]),
                        np.concatenate([b[:k + 1], np.zeros_like(x_far)]), np.concatenate([beta[:k + 1], sy]),
                        averaging_time_s, eng.name, x_h, tuple(notes))


@dataclass(frozen=True)
class ProfileSigmas:
    """Gaussian sigmas that reproduce a :class:`CloudProfile` — a :class:`~.sigmas.SigmaModel`, so a
    puff train (:func:`.dispersion.puff_train`) carries a dense cloud through a wind history.

    At each distance x: σy is the standard deviation of the profile's crosswind shape
    (``√(b²/3 + β²)``, the top hat of half-width b smoothed over β), and σz is chosen so that a
    continuous ground-level release of ``rate_kg_s`` carried at ``wind_speed_m_s`` has the profile's
    centreline concentration: ``σz = Q/(π·u·σy·c(x))``. The centreline is exact at steady state;
    the crosswind shape becomes the Gaussian of equal variance and the vertical one the Gaussian of
    the same ground concentration. Before the profile starts and beyond its end the first and
    last values hold.

    >>> p = CloudProfile(np.array([10.0, 100.0]), np.array([1000.0, 10.0]), np.zeros(2), np.array([5.0, 20.0]), 600.0, "x")
    >>> sy, sz = ProfileSigmas(p, rate_kg_s=1.0, wind_speed_m_s=2.0)(np.array([100.0]))
    >>> round(float(sy[0]), 1), round(float(1e6 / (np.pi * 2.0 * sy[0] * sz[0])), 1)   # c(100 m) = 10 mg/m³
    (20.0, 10.0)
    """

    profile: CloudProfile
    rate_kg_s: float
    wind_speed_m_s: float

    @property
    def name(self) -> str:
        return f"dense_profile:{self.profile.engine}"

    def __call__(self, x_m: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        p = self.profile
        x = np.clip(np.asarray(x_m, dtype=float), p.x_m[0], p.x_m[-1])
        sy = np.sqrt(np.interp(x, p.x_m, p.b_m) ** 2 / 3.0 + np.interp(x, p.x_m, p.beta_m) ** 2)
        sy = np.maximum(sy, 1e-3)
        c = np.maximum(p.centreline_at(x), 1e-12) / KG_M3_TO_MG_M3
        return sy, self.rate_kg_s / (np.pi * self.wind_speed_m_s * sy * c)


def _virtual_distance(sigma_of: Callable[[float], float], target_m: float) -> float:
    """Distance d (m) at which the increasing function ``sigma_of(d)`` equals ``target_m`` (≥ 1 m)."""
    lo, hi = 1.0, 1e6
    if sigma_of(lo) >= target_m:
        return lo
    if sigma_of(hi) <= target_m:
        return hi
    return float(brentq(lambda d: sigma_of(d) - target_m, lo, hi))


__all__ = ["DenseRelease", "CloudProfile", "EngineCloud", "DenseGasEngine", "ENGINES", "DEFAULT_ENGINE",
           "register_engine", "get_engine", "dense_cloud", "crosswind_shape", "HANDOVER_RICHARDSON", "ProfileSigmas"]
