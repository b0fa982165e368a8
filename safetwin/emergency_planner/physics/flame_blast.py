"""Blast of a spherical fuel–air charge burnt by a flame of constant visible speed: the model behind
the TNO multi-energy curves (van den Berg 1985, *J. Haz. Mat.* 12:1–10, computed with TNO's BLAST
code) and the Baker–Strehlow–Tang curves (Tang & Baker 1999, *Process Safety Progress*
18:235–240), computed here by a 1-D spherical Euler solver so that both curve families used by
:mod:`.vce` are reproducible from this repository (``tools/blast_curves.py`` writes
``physics/data/blast_curves.json``).

Model (as in the two sources): a sphere of radius r0 of stoichiometric hydrocarbon–air mixture,
combustion energy ``E_v = 3.5 MJ/m³`` (Yellow Book CPR 14E ch. 5), ignited at its centre; a flame
runs outward at a constant speed ``V_f = M_f·c0`` in the fixed frame and releases the mixture's
energy where it passes (the energy is added to the gas; the fuel is a passive tracer advected with
the flow, so all of E is released even where the flow pushes the mixture beyond r0). Ideal gas,
γ = 1.4 throughout. Inviscid, so the solution scales: results are returned in Sachs-scaled form
(``R̄ = R·(p0/E)^{1/3}``, ``P̄ = ΔP/p0``, ``ī = i·c0/(E^{1/3}·p0^{2/3})``).

Numerics: finite volumes on a uniform radial grid (spherical geometric source), HLL fluxes,
MUSCL (minmod) reconstruction of primitive variables, two-stage strong-stability-preserving
Runge–Kutta, CFL 0.4; reflecting centre, transmissive outer boundary beyond the last recorded
station. The peak overpressure and the positive impulse (∫ max(p − p0, 0) dt) are recorded at
every cell. :func:`flame_blast_curve` returns ``energy_error``, the relative difference between the
energy the flame released and the charge's.

Limits: a constant flame speed is the modelling assumption of both methods; real flames
accelerate. Products are not dissociated (γ = 1.4), so the detonation (M_f = 5.2) is an
energy-deposition front at that speed rather than a resolved Chapman–Jouguet wave.
"""
from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

GAMMA = 1.4
P0_PA = 101_325.0
RHO0_KG_M3 = 1.2
C0_M_S = float(np.sqrt(GAMMA * P0_PA / RHO0_KG_M3))
ENERGY_DENSITY_J_M3 = 3.5e6
"""Combustion energy of a stoichiometric hydrocarbon–air mixture per m³ (Yellow Book CPR 14E ch. 5)."""


@numba.njit(cache=True, fastmath=False)
def _minmod(a: float, b: float) -> float:  # pragma: no cover - numba
    if a * b <= 0.0:
        return 0.0
    return a if abs(a) < abs(b) else b


@numba.njit(cache=True)
def _rhs(u, r_face, vol, gamma, out):  # pragma: no cover - numba
    """dU/dt of the spherical Euler equations (U = ρ, ρu, E, ρY per unit volume), HLL + MUSCL."""
    n = u.shape[0]
    rho = u[:, 0]
    vel = u[:, 1] / rho
    pres = (gamma - 1.0) * (u[:, 2] - 0.5 * u[:, 1] * vel)
    yf = u[:, 3] / rho
    # ghost-aware primitive slopes
    prim = np.empty((n + 2, 4))
    for i in range(n):
        prim[i + 1, 0] = rho[i]
        prim[i + 1, 1] = vel[i]
        prim[i + 1, 2] = pres[i]
        prim[i + 1, 3] = yf[i]
    prim[0, 0] = rho[0]
    prim[0, 1] = -vel[0]
    prim[0, 2] = pres[0]
    prim[0, 3] = yf[0]
    prim[n + 1, :] = prim[n, :]
    slope = np.zeros((n + 2, 4))
    for i in range(1, n + 1):
        for k in range(4):
            slope[i, k] = _minmod(prim[i, k] - prim[i - 1, k], prim[i + 1, k] - prim[i, k])
    flux = np.zeros((n + 1, 4))
    for f in range(1, n + 1):  # face f between cell f-1 and f (0-based cells); face 0 is the centre
        il = f  # index in prim of the left cell (cell f-1)
        ir = f + 1
        rl = prim[il, 0] + 0.5 * slope[il, 0]
        ul = prim[il, 1] + 0.5 * slope[il, 1]
        pl = prim[il, 2] + 0.5 * slope[il, 2]
        yl = prim[il, 3] + 0.5 * slope[il, 3]
        rr = prim[ir, 0] - 0.5 * slope[ir, 0]
        ur = prim[ir, 1] - 0.5 * slope[ir, 1]
        pr = prim[ir, 2] - 0.5 * slope[ir, 2]
        yr = prim[ir, 3] - 0.5 * slope[ir, 3]
        if f == n:  # transmissive outer boundary
            rr, ur, pr, yr = rl, ul, pl, yl
        el = pl / (gamma - 1.0) + 0.5 * rl * ul * ul
        er = pr / (gamma - 1.0) + 0.5 * rr * ur * ur
        cl = np.sqrt(gamma * pl / rl)
        cr = np.sqrt(gamma * pr / rr)
        sl = min(ul - cl, ur - cr)
        sr = max(ul + cl, ur + cr)
        fl0, fl1, fl2, fl3 = rl * ul, rl * ul * ul + pl, (el + pl) * ul, rl * ul * yl
        fr0, fr1, fr2, fr3 = rr * ur, rr * ur * ur + pr, (er + pr) * ur, rr * ur * yr
        if sl >= 0.0:
            flux[f, 0], flux[f, 1], flux[f, 2], flux[f, 3] = fl0, fl1, fl2, fl3
        elif sr <= 0.0:
            flux[f, 0], flux[f, 1], flux[f, 2], flux[f, 3] = fr0, fr1, fr2, fr3
        else:
            w = 1.0 / (sr - sl)
            flux[f, 0] = (sr * fl0 - sl * fr0 + sl * sr * (rr - rl)) * w
            flux[f, 1] = (sr * fl1 - sl * fr1 + sl * sr * (rr * ur - rl * ul)) * w
            flux[f, 2] = (sr * fl2 - sl * fr2 + sl * sr * (er - el)) * w
            flux[f, 3] = (sr * fl3 - sl * fr3 + sl * sr * (rr * yr - rl * yl)) * w
    for i in range(n):
        al = 4.0 * np.pi * r_face[i] ** 2
        ar = 4.0 * np.pi * r_face[i + 1] ** 2
        for k in range(4):
            out[i, k] = -(ar * flux[i + 1, k] - al * flux[i, k]) / vol[i]
        out[i, 1] += pres[i] * (ar - al) / vol[i]
    return out


@numba.njit(cache=True)
def _run(u, r_face, vol, gamma, q_j_kg, flame_speed, dr, t_after, cfl, p0, pmax, impulse):  # pragma: no cover
    n = u.shape[0]
    k1 = np.zeros_like(u)
    k2 = np.zeros_like(u)
    burnt = np.zeros(n)
    t = 0.0
    deposited = 0.0
    steps = 0
    flame_on = True
    t_end = 1e30  # set when the flame has burnt all the fuel: then ``t_after`` more
    while t < t_end:
        rho = u[:, 0]
        vel = u[:, 1] / rho
        pres = (gamma - 1.0) * (u[:, 2] - 0.5 * u[:, 1] * vel)
        smax = 0.0
        for i in range(n):
            s = abs(vel[i]) + np.sqrt(gamma * pres[i] / rho[i])
            if s > smax:
                smax = s
        dt = cfl * dr / smax
        if t + dt > t_end:
            dt = t_end - t
        _rhs(u, r_face, vol, gamma, k1)
        u1 = u + dt * k1
        _rhs(u1, r_face, vol, gamma, k2)
        u[:, :] = 0.5 * (u + u1 + dt * k2)
        t += dt
        if flame_on:
            rf = flame_speed * t
            fuel_left = 0.0
            for i in range(n):
                b_new = min(max((rf - r_face[i]) / dr, 0.0), 1.0)
                if u[i, 3] > 0.0 and b_new > 0.0:
                    frac = 1.0 if b_new >= 1.0 else min((b_new - burnt[i]) / max(1.0 - burnt[i], 1e-12), 1.0)
                    if frac > 0.0:
                        dm = frac * u[i, 3]
                        u[i, 3] -= dm
                        u[i, 2] += dm * q_j_kg
                        deposited += dm * q_j_kg * vol[i]
                burnt[i] = b_new
                if r_face[i] >= rf:
                    fuel_left += u[i, 3]
            if fuel_left < 1e-9:
                flame_on = False
                t_end = t + t_after
        rho = u[:, 0]
        vel = u[:, 1] / rho
        pres = (gamma - 1.0) * (u[:, 2] - 0.5 * u[:, 1] * vel)
        for i in range(n):
            dp = pres[i] - p0
            if dp > pmax[i]:
                pmax[i] = dp
            if dp > 0.0:
                impulse[i] += dp * dt
        steps += 1
    return deposited, steps


@dataclass(frozen=True)
class FlameBlastCurve:
    """Sachs-scaled blast of a free spherical charge burnt at flame Mach ``flame_mach``.

    ``scaled_distance``, ``scaled_overpressure``, ``scaled_impulse`` are arrays over the recorded
    stations (R̄ from about the charge radius outward); ``source_overpressure`` is P̄ at the charge's
    initial radius; ``energy_error`` the relative error of the energy balance of the run.
    """

    flame_mach: float
    scaled_distance: np.ndarray
    scaled_overpressure: np.ndarray
    scaled_impulse: np.ndarray
    source_overpressure: float
    charge_scaled_radius: float
    energy_error: float
    steps: int


def flame_blast_curve(flame_mach: float, *, cells_per_radius: int = 40, max_scaled_distance: float = 12.0,
                      cfl: float = 0.4) -> FlameBlastCurve:
    """Run the constant-velocity flame model for one flame Mach number (module docstring).

    The charge has radius 1 m (the solution scales); stations are recorded up to
    ``max_scaled_distance`` and the domain extends 25 % beyond.
    """
    if not 0 < flame_mach <= 10:
        raise ValueError("flame Mach number must be in (0, 10]")
    r0 = 1.0
    energy = ENERGY_DENSITY_J_M3 * 4.0 / 3.0 * np.pi * r0**3
    length = (energy / P0_PA) ** (1.0 / 3.0)
    r_max = 1.25 * max_scaled_distance * length
    dr = r0 / cells_per_radius
    n = int(np.ceil(r_max / dr))
    r_face = np.arange(n + 1) * dr
    vol = 4.0 / 3.0 * np.pi * (r_face[1:] ** 3 - r_face[:-1] ** 3)
    centre = 0.5 * (r_face[1:] + r_face[:-1])
    u = np.zeros((n, 4))
    u[:, 0] = RHO0_KG_M3
    u[:, 2] = P0_PA / (GAMMA - 1.0)
    fuel = centre < r0
    u[fuel, 3] = RHO0_KG_M3
    q = ENERGY_DENSITY_J_M3 / RHO0_KG_M3
    v_f = flame_mach * C0_M_S
    t_after = 1.6 * max_scaled_distance * length / C0_M_S  # the front reaches the last station, its positive phase ends
    pmax = np.zeros(n)
    imp = np.zeros(n)
    deposited, steps = _run(u, r_face, vol, GAMMA, q, v_f, dr, t_after, cfl, P0_PA, pmax, imp)
    # the flame must release the charge's whole energy (the fuel tracer burns out completely)
    energy_error = abs(deposited - energy) / energy
    keep = (centre >= 0.5 * r0) & (centre <= max_scaled_distance * length)
    r_bar = centre[keep] / length
    p_bar = pmax[keep] / P0_PA
    i_bar = imp[keep] * C0_M_S / (energy ** (1.0 / 3.0) * P0_PA ** (2.0 / 3.0))
    src = float(np.interp(r0, centre, pmax)) / P0_PA
    return FlameBlastCurve(flame_mach=float(flame_mach), scaled_distance=r_bar, scaled_overpressure=p_bar,
                           scaled_impulse=i_bar, source_overpressure=src, charge_scaled_radius=r0 / length,
                           energy_error=float(energy_error), steps=int(steps))


__all__ = ["FlameBlastCurve", "flame_blast_curve", "ENERGY_DENSITY_J_M3", "C0_M_S", "P0_PA"]
