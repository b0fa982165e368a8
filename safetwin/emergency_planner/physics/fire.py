"""Fire models: pool fire (solid flame and point source) and jet fire (API 521 point source).

Pool fire (Burgess & Zabetakis; Babrauskas; Thomas 1963; Mudan 1984):

* burning rate — Burgess & Zabetakis ``m''∞ = 1e-3·ΔHc/(ΔHv + cp,l·(Tb − Ta))`` (ΔHv only when
  Tb < Ta) when no tabulated value exists; size effect (Babrauskas) ``m'' = m''∞·(1 − e^{−kβD})``;
* flame length — Thomas (1963), no wind ``L/D = 42·(m''/(ρa√(gD)))^0.61``, with wind
  ``L/D = 55·(m''/(ρa√(gD)))^0.67·u*^−0.21`` with ``u* = uw/(g·m''·D/ρv)^{1/3}`` (u* < 1 → 1);
* tilt — AGA (1974): ``cos θ = 1`` for u* < 1, ``1/√u*`` otherwise;
* surface emissive power — Mudan (1984) ``E = 140·e^{−0.12D} + 20·(1 − e^{−0.12D})`` kW/m² for
  sooty hydrocarbons (``sep_method="mudan"``), or the energy balance
  ``E = χr·m''·ΔHc·A_pool/(πDL + πD²/4)`` (``"energy_balance"``, default for clean fuels:
  methane/LNG, hydrogen — no soot correction);
* view factor — Mudan's closed form for a vertical cylinder and a ground-level target (Beyler,
  SFPE Handbook), or numerical integration of ``cosθ1·cosθ2/(πr²)`` over the tilted (sheared)
  flame cylinder for tilted flames and elevated targets (maximum over target orientations, i.e.
  the magnitude of the vector view factor); flame drag (base elongation) is not modelled;
* atmospheric transmissivity — Pietersen & Huerta (1985) ``τ = 2.02·(Pw·X)^−0.09`` with the
  path length X from the flame surface (distance − D/2) and ``Pw = RH·exp(23.18986 − 3816.42/(T − 46.13))``;
* point source — ``q = τ·χr·m''·ΔHc·A/(4πR²)``, the cross-check (fair beyond ~5 D).

Jet fire: API 521 point source (the flare method): flame length from the API chart fit
``L = 0.00544·Q^0.4507`` (Q in W), radiant fraction F (0.2 methane, 0.3 C3+), the point at half
the flame length along the jet axis, ``q = τ·F·Q/(4πR²)``. Chosen over Chamberlain (1987)
because it needs only the release rate and fuel, which is what a screening twin knows; its
limits (no frustum geometry, conservative near field) are stated in the result.

Units: m, kg/s, W/m² (``*_kw_m2`` where kW/m²), K.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from .grid import GridSpec
from safetwin.substances import Substance

G = 9.81
RHO_AIR = 1.204  # kg/m³ at 20 °C


def burning_rate_burgess(heat_of_combustion_j_kg: float, heat_of_vaporization_j_kg: float,
                         liquid_cp_j_kg_k: float, boiling_point_k: float, ambient_k: float = 293.15) -> float:
    """Burgess & Zabetakis mass burning rate m''∞ (kg/m²s)."""
    dh = heat_of_vaporization_j_kg + liquid_cp_j_kg_k * max(boiling_point_k - ambient_k, 0.0)
    return 1e-3 * heat_of_combustion_j_kg / dh


def burning_rate_babrauskas(m_inf_kg_m2_s: float, k_beta_1_m: float, diameter_m: float) -> float:
    """Size-corrected burning rate ``m''∞·(1 − e^{−kβD})`` (kg/m²s)."""
    return m_inf_kg_m2_s * (1.0 - np.exp(-k_beta_1_m * diameter_m))


def thomas_flame_length(diameter_m: float, burning_rate_kg_m2_s: float, *, wind_speed_m_s: float = 0.0,
                        vapour_density_kg_m3: float | None = None, air_density_kg_m3: float = RHO_AIR) -> float:
    """Thomas (1963) flame length (m); the wind form when ``wind_speed_m_s > 0``."""
    d, m = diameter_m, burning_rate_kg_m2_s
    grp = m / (air_density_kg_m3 * np.sqrt(G * d))
    if wind_speed_m_s <= 0:
        return float(d * 42.0 * grp**0.61)
    u_star = max(scaled_wind_speed(wind_speed_m_s, m, d, vapour_density_kg_m3 or air_density_kg_m3), 1.0)
    return float(d * 55.0 * grp**0.67 * u_star**-0.21)


def scaled_wind_speed(wind_speed_m_s: float, burning_rate_kg_m2_s: float, diameter_m: float,
                      vapour_density_kg_m3: float) -> float:
    """Thomas/AGA scaled wind speed ``u* = uw/(g·m''·D/ρv)^{1/3}``."""
    return float(wind_speed_m_s / (G * burning_rate_kg_m2_s * diameter_m / vapour_density_kg_m3) ** (1 / 3))


def aga_tilt_deg(u_star: float) -> float:
    """AGA flame tilt from vertical (deg): 0 for u* < 1, ``acos(1/√u*)`` otherwise."""
    return 0.0 if u_star < 1 else float(np.degrees(np.arccos(1.0 / np.sqrt(u_star))))


def sep_mudan_kw_m2(diameter_m: float, e_max_kw_m2: float = 140.0, e_soot_kw_m2: float = 20.0, s_1_m: float = 0.12) -> float:
    """Mudan (1984) SEP (kW/m²) for large sooty hydrocarbon pools."""
    x = np.exp(-s_1_m * diameter_m)
    return float(e_max_kw_m2 * x + e_soot_kw_m2 * (1 - x))


def sep_energy_balance_kw_m2(diameter_m: float, flame_length_m: float, burning_rate_kg_m2_s: float,
                             heat_of_combustion_j_kg: float, radiant_fraction: float = 0.25) -> float:
    """Energy-balance SEP (kW/m²): ``χr·m''·ΔHc·(πD²/4)/(πDL + πD²/4)``."""
    a_pool = np.pi * diameter_m**2 / 4
    return float(radiant_fraction * burning_rate_kg_m2_s * heat_of_combustion_j_kg * a_pool
                 / (np.pi * diameter_m * flame_length_m + a_pool) / 1e3)


def water_partial_pressure_pa(relative_humidity: float, temperature_k: float) -> float:
    """``Pw = RH·exp(23.18986 − 3816.42/(T − 46.13))`` (Pa)."""
    return float(relative_humidity * np.exp(23.18986 - 3816.42 / (temperature_k - 46.13)))


def transmissivity_pietersen(path_length_m: np.ndarray | float, relative_humidity: float = 0.5,
                             temperature_k: float = 293.15) -> np.ndarray:
    """Pietersen & Huerta (1985) ``τ = 2.02·(Pw·X)^−0.09`` (clipped to ≤ 1)."""
    pw = water_partial_pressure_pa(relative_humidity, temperature_k)
    x = np.maximum(np.asarray(path_length_m, dtype=float), 1e-6)
    return np.minimum(2.02 * (pw * x) ** -0.09, 1.0)


def view_factor_vertical_cylinder(distance_m: np.ndarray | float, diameter_m: float, height_m: float
                                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mudan (1984) view factors (F_V, F_H, F_max) from a vertical cylinder of diameter D and height L to a
    ground-level target at distance X (m) from the axis (X > D/2). Inside the flame returns F = 1."""
    x = np.asarray(distance_m, dtype=float)
    s = np.maximum(2.0 * x / diameter_m, 1.0 + 1e-6)
    h = 2.0 * height_m / diameter_m
    a = (h * h + s * s + 1) / (2 * s)
    b = (1 + s * s) / (2 * s)
    t1 = np.arctan(np.sqrt((a + 1) * (s - 1) / ((a - 1) * (s + 1))))
    fv = (1 / (np.pi * s) * np.arctan(h / np.sqrt(s * s - 1)) - h / (np.pi * s) * np.arctan(np.sqrt((s - 1) / (s + 1)))
          + a * h / (np.pi * s * np.sqrt(a * a - 1)) * t1)
    fh = ((b - 1 / s) / (np.pi * np.sqrt(b * b - 1)) * np.arctan(np.sqrt((b + 1) * (s - 1) / ((b - 1) * (s + 1))))
          - (a - 1 / s) / (np.pi * np.sqrt(a * a - 1)) * t1)
    inside = x <= diameter_m / 2
    fv = np.where(inside, 1.0, fv)
    fh = np.where(inside, 0.0, fh)
    return fv, fh, np.sqrt(fv * fv + fh * fh)


def view_factor_cylinder_numeric(targets_xyz_m: np.ndarray, base_xyz_m: tuple[float, float, float], diameter_m: float,
                                 length_m: float, tilt_deg: float = 0.0, tilt_towards_deg: float = 0.0,
                                 n_azimuth: int = 48, n_height: int = 24, chunk: int = 2048) -> np.ndarray:
    """Maximum view factor from a (sheared, tilted) flame cylinder to target points, by midpoint-rule
    integration of ``cosθ1·dA/(πr²)·r̂`` over the visible flame surface; F = |Σ| (the target plane
    oriented to face the flame). Cross-sections stay horizontal circles; the axis leans
    ``tilt_deg`` from vertical towards the compass bearing ``tilt_towards_deg`` (downwind).
    Targets inside the flame volume get F = 1. ``targets_xyz_m`` has shape (n, 3).
    """
    tg = np.atleast_2d(np.asarray(targets_xyz_m, dtype=float))
    r = diameter_m / 2
    th = np.radians(tilt_deg)
    bearing = np.radians(tilt_towards_deg)
    axis = length_m * np.array([np.sin(th) * np.sin(bearing), np.sin(th) * np.cos(bearing), np.cos(th)])
    phi = (np.arange(n_azimuth) + 0.5) * 2 * np.pi / n_azimuth
    s = (np.arange(n_height) + 0.5) / n_height
    PHI, S = np.meshgrid(phi, s)
    ring = np.stack([r * np.cos(PHI), r * np.sin(PHI), np.zeros_like(PHI)], -1)
    pts = np.asarray(base_xyz_m)[None, None, :] + S[..., None] * axis + ring
    dphi = np.stack([-r * np.sin(PHI), r * np.cos(PHI), np.zeros_like(PHI)], -1)
    normal = np.cross(dphi, np.broadcast_to(axis, dphi.shape))  # outward, |n| = dA/(dφ ds)
    dA = (2 * np.pi / n_azimuth) * (1.0 / n_height)
    pts = pts.reshape(-1, 3)
    nvec = normal.reshape(-1, 3) * dA  # area-weighted outward normals
    out = np.empty(tg.shape[0])
    for a in range(0, tg.shape[0], chunk):
        t = tg[a:a + chunk]
        d = pts[None, :, :] - t[:, None, :]  # target → panel
        r2 = np.einsum("ijk,ijk->ij", d, d)
        cos1_area = -np.einsum("ijk,jk->ij", d, nvec) / np.sqrt(r2)  # cosθ1·dA (panel faces target if > 0)
        w = np.where(cos1_area > 0, cos1_area / (np.pi * r2 * np.sqrt(r2)), 0.0)
        v = np.einsum("ij,ijk->ik", w, d)
        out[a:a + chunk] = np.linalg.norm(v, axis=1)
    # inside the flame volume: F = 1
    rel = tg - np.asarray(base_xyz_m)[None, :]
    sh = np.clip(rel[:, 2] / axis[2], 0, 1) if axis[2] > 0 else np.zeros(len(tg))
    horiz = rel[:, :2] - sh[:, None] * axis[None, :2]
    inside = (rel[:, 2] >= 0) & (rel[:, 2] <= axis[2]) & (np.hypot(horiz[:, 0], horiz[:, 1]) <= r)
    return np.where(inside, 1.0, np.minimum(out, 1.0))


@dataclass(frozen=True)
class PoolFire:
    """A pool fire: geometry, burning rate and SEP, with flux evaluation in the plant frame.

    Build with :func:`pool_fire`. ``flux_w_m2(x, y, z)`` gives the maximum incident flux on a target
    (solid flame, τ included); ``point_source_flux_w_m2`` the point-source cross-check.
    """

    centre_xy_m: tuple[float, float]
    base_height_m: float
    diameter_m: float
    burning_rate_kg_m2_s: float
    heat_of_combustion_j_kg: float
    flame_length_m: float
    tilt_deg: float
    tilt_towards_deg: float
    sep_kw_m2: float
    sep_method: str
    radiant_fraction: float
    relative_humidity: float = 0.5
    ambient_k: float = 293.15

    @property
    def heat_release_w(self) -> float:
        return self.burning_rate_kg_m2_s * self.heat_of_combustion_j_kg * np.pi * self.diameter_m**2 / 4

    def _distance(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.hypot(np.asarray(x, float) - self.centre_xy_m[0], np.asarray(y, float) - self.centre_xy_m[1])

    def view_factor(self, x_m: np.ndarray, y_m: np.ndarray, z_m: np.ndarray | float = 0.0,
                    n_azimuth: int = 48, n_height: int = 24) -> np.ndarray:
        """Maximum view factor to targets at (x, y, z) (plant frame): Mudan's closed form for an upright
        flame and ground-level targets, numerical integration otherwise (``n_azimuth × n_height`` panels)."""
        x, y, z = np.broadcast_arrays(np.asarray(x_m, float), np.asarray(y_m, float), np.asarray(z_m, float))
        if self.tilt_deg == 0.0 and np.all(z == self.base_height_m):
            return view_factor_vertical_cylinder(self._distance(x, y), self.diameter_m, self.flame_length_m)[2]
        tg = np.stack([x.ravel(), y.ravel(), z.ravel()], -1)
        f = view_factor_cylinder_numeric(tg, (*self.centre_xy_m, self.base_height_m), self.diameter_m,
                                         self.flame_length_m, self.tilt_deg, self.tilt_towards_deg,
                                         n_azimuth=n_azimuth, n_height=n_height)
        return f.reshape(x.shape)

    def flux_w_m2(self, x_m: np.ndarray, y_m: np.ndarray, z_m: np.ndarray | float = 0.0,
                  n_azimuth: int = 48, n_height: int = 24) -> np.ndarray:
        """Incident radiation (W/m²) = SEP·F·τ, τ over the path from the flame surface (distance − D/2)."""
        f = self.view_factor(x_m, y_m, z_m, n_azimuth, n_height)
        path = np.maximum(self._distance(x_m, y_m) - self.diameter_m / 2, 0.0)
        tau = transmissivity_pietersen(path, self.relative_humidity, self.ambient_k)
        return self.sep_kw_m2 * 1e3 * f * tau

    def point_source_flux_w_m2(self, x_m: np.ndarray, y_m: np.ndarray, z_m: np.ndarray | float = 0.0,
                               radiant_fraction: float | None = None) -> np.ndarray:
        """Point-source cross-check ``τ·χr·Q/(4πR²)``, R measured from the pool centre at the target's
        height (as in the F1 reference case of tests/physics/test_fire.py), τ over the path from the flame edge."""
        chi = self.radiant_fraction if radiant_fraction is None else radiant_fraction
        d = self._distance(x_m, y_m)
        r2 = np.maximum(d**2, 1e-6)
        tau = transmissivity_pietersen(np.maximum(d - self.diameter_m / 2, 0.0), self.relative_humidity, self.ambient_k)
        return tau * chi * self.heat_release_w / (4 * np.pi * r2)

    def field_w_m2(self, grid: GridSpec, z_m: float = 0.0) -> np.ndarray:
        """Flux (W/m²) on a grid, shape ``grid.shape`` (tilted flames: 24 × 8 panels, ~1 % accuracy
        beyond a few metres from the flame)."""
        X, Y = grid.mesh()
        return self.flux_w_m2(X, Y, z_m, n_azimuth=24, n_height=8)

    def distance_to_flux_m(self, flux_w_m2: float, bearing_deg: float = 0.0, z_m: float = 0.0,
                           max_distance_m: float = 5000.0) -> float:
        """Distance (m) from the pool centre along a compass bearing at which the flux falls to
        ``flux_w_m2``; D/2 (the flame edge) when the flame itself emits less, 0 if never reached."""
        from scipy.optimize import brentq

        b = np.radians(bearing_deg)
        ux, uy = np.sin(b), np.cos(b)
        x0, y0 = self.centre_xy_m

        def g(r: float) -> float:
            return float(self.flux_w_m2(x0 + r * ux, y0 + r * uy, z_m)) - flux_w_m2

        r0 = self.diameter_m / 2 * (1 + 1e-5)
        if g(r0) <= 0:
            return float(self.diameter_m / 2) if self.sep_kw_m2 * 1e3 >= flux_w_m2 else 0.0
        if g(max_distance_m) > 0:
            return float(max_distance_m)
        return float(brentq(g, r0, max_distance_m, xtol=1e-6))


def pool_fire(
    substance: Substance,
    diameter_m: float,
    *,
    centre_xy_m: tuple[float, float] = (0.0, 0.0),
    base_height_m: float = 0.0,
    wind_speed_m_s: float = 0.0,
    wind_from_deg: float = 0.0,
    sep_method: Literal["mudan", "energy_balance", "auto"] = "auto",
    radiant_fraction: float = 0.35,
    burning_rate_kg_m2_s: float | None = None,
    relative_humidity: float = 0.5,
    ambient_k: float = 293.15,
) -> PoolFire:
    """Pool fire of a substance. ``sep_method="auto"`` uses Mudan for sooty fuels (C3+ and liquids) and the
    energy balance (χr = 0.25) for methane/LNG, whose flames are clean (Mudan 1984 is for sooty pools).

    >>> from safetwin.substances import get_substance
    >>> f = pool_fire(get_substance("gasoline"), 10.0)
    >>> round(f.flame_length_m, 1), round(f.sep_kw_m2, 2)   # reference case F1: 15.79 m, 56.14 kW/m²
    (15.8, 56.14)
    """
    if diameter_m <= 0:
        raise ValueError("pool diameter must be positive")
    if substance.heat_of_combustion_j_kg is None:
        raise ValueError(f"{substance.name} does not burn")
    if burning_rate_kg_m2_s is None:
        if substance.burning_rate_kg_m2_s is not None and substance.k_beta_1_m is not None:
            m = burning_rate_babrauskas(substance.burning_rate_kg_m2_s, substance.k_beta_1_m, diameter_m)
        else:
            m = burning_rate_burgess(substance.heat_of_combustion_j_kg, substance.heat_of_vaporization_j_kg,
                                     substance.liquid_heat_capacity_j_kg_k, substance.boiling_point_k, ambient_k)
    else:
        m = burning_rate_kg_m2_s
    rho_v = substance.gas_density_kg_m3(max(substance.boiling_point_k, 1.0))
    length = thomas_flame_length(diameter_m, m, wind_speed_m_s=wind_speed_m_s, vapour_density_kg_m3=rho_v)
    tilt = aga_tilt_deg(scaled_wind_speed(wind_speed_m_s, m, diameter_m, rho_v)) if wind_speed_m_s > 0 else 0.0
    clean = substance.name in ("methane",)
    method = ("energy_balance" if clean else "mudan") if sep_method == "auto" else sep_method
    if method == "mudan":
        sep = sep_mudan_kw_m2(diameter_m)
        chi = radiant_fraction
    else:
        chi = 0.25 if sep_method == "auto" else radiant_fraction
        sep = sep_energy_balance_kw_m2(diameter_m, length, m, substance.heat_of_combustion_j_kg, chi)
    return PoolFire(centre_xy_m=(float(centre_xy_m[0]), float(centre_xy_m[1])), base_height_m=float(base_height_m),
                    diameter_m=float(diameter_m), burning_rate_kg_m2_s=float(m),
                    heat_of_combustion_j_kg=float(substance.heat_of_combustion_j_kg), flame_length_m=length,
                    tilt_deg=tilt, tilt_towards_deg=(wind_from_deg + 180.0) % 360.0, sep_kw_m2=sep, sep_method=method,
                    radiant_fraction=chi, relative_humidity=relative_humidity, ambient_k=ambient_k)


# ----------------------------------------------------------------------------------------------
# jet fire
# ----------------------------------------------------------------------------------------------
API521_RADIANT_FRACTION = {"methane": 0.2, "hydrogen": 0.1}


def api521_flame_length_m(heat_release_w: float) -> float:
    """API 521 flame-length chart fit ``L[m] = 0.00544·Q[W]^0.4507`` (API 521)."""
    return float(0.00544 * heat_release_w**0.4507)


@dataclass(frozen=True)
class JetFire:
    """API 521 point-source jet fire. The radiating point sits at L/2 along the jet axis from the release
    point; ``direction_deg`` is the compass bearing of a horizontal jet, or ``None`` for a vertical jet."""

    release_xyz_m: tuple[float, float, float]
    rate_kg_s: float
    heat_release_w: float
    flame_length_m: float
    radiant_fraction: float
    direction_deg: float | None
    relative_humidity: float = 0.5
    ambient_k: float = 293.15
    use_transmissivity: bool = True
    notes: tuple[str, ...] = ("API 521 point source: conservative inside about one flame length; no frustum geometry",)

    @property
    def centre_xyz_m(self) -> tuple[float, float, float]:
        x, y, z = self.release_xyz_m
        h = self.flame_length_m / 2
        if self.direction_deg is None:
            return (x, y, z + h)
        b = np.radians(self.direction_deg)
        return (x + h * np.sin(b), y + h * np.cos(b), z)

    def flux_w_m2(self, x_m: np.ndarray, y_m: np.ndarray, z_m: np.ndarray | float = 0.0) -> np.ndarray:
        cx, cy, cz = self.centre_xyz_m
        r2 = (np.asarray(x_m, float) - cx) ** 2 + (np.asarray(y_m, float) - cy) ** 2 + (np.asarray(z_m, float) - cz) ** 2
        tau = transmissivity_pietersen(np.sqrt(r2), self.relative_humidity, self.ambient_k) if self.use_transmissivity else 1.0
        return tau * self.radiant_fraction * self.heat_release_w / (4 * np.pi * np.maximum(r2, 1e-6))

    def field_w_m2(self, grid: GridSpec, z_m: float = 0.0) -> np.ndarray:
        X, Y = grid.mesh()
        return self.flux_w_m2(X, Y, z_m)

    def distance_to_flux_m(self, flux_w_m2: float) -> float:
        """Distance from the radiating point to a flux level (τ = 1)."""
        return float(np.sqrt(self.radiant_fraction * self.heat_release_w / (4 * np.pi * flux_w_m2)))


def jet_fire(substance: Substance, rate_kg_s: float, *, release_xyz_m: tuple[float, float, float] = (0.0, 0.0, 0.0),
             direction_deg: float | None = None, radiant_fraction: float | None = None,
             use_transmissivity: bool = True) -> JetFire:
    """API 521 jet fire for a gas release rate (kg/s). F defaults to 0.2 (methane), 0.1 (hydrogen), 0.3 otherwise.

    >>> from safetwin.substances import get_substance
    >>> j = jet_fire(get_substance("propane"), 5.0, use_transmissivity=False)
    >>> round(j.flame_length_m, 0), round(j.distance_to_flux_m(4730.0), 1)   # reference case F3 (ΔHc per chemicals)
    (32.0, 34.2)
    """
    if substance.heat_of_combustion_j_kg is None:
        raise ValueError(f"{substance.name} does not burn")
    q = rate_kg_s * substance.heat_of_combustion_j_kg
    f = radiant_fraction if radiant_fraction is not None else API521_RADIANT_FRACTION.get(substance.name, 0.3)
    return JetFire(release_xyz_m=tuple(float(v) for v in release_xyz_m), rate_kg_s=float(rate_kg_s),  # type: ignore[arg-type]
                   heat_release_w=float(q), flame_length_m=api521_flame_length_m(q), radiant_fraction=float(f),
                   direction_deg=direction_deg, use_transmissivity=use_transmissivity)
