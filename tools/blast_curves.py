"""Compute the detonation blast curve of a fuel-air charge (the strong limit of the multi-energy and BST curve
families, safetwin/emergency_planner/physics/vce.py) and write
safetwin/emergency_planner/physics/data/blast_curves.json.

The detonation (flame Mach 5.2) is run at three grid resolutions (20, 40, 80 cells per charge radius); the peak
overpressure at each scaled distance is extrapolated to zero cell size with the convergence order observed
across the three levels (Richardson; no extrapolation where the three levels do not converge monotonically),
the impulse (converged at these resolutions) is taken from the finest level. See
safetwin/emergency_planner/physics/flame_blast.py for the model.

    python tools/blast_curves.py            # about 2 min on 2 cores
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from safetwin.emergency_planner.physics.flame_blast import flame_blast_curve

FLAME_MACH = (5.2,)
"""The detonation of the BST method (Tang & Baker 1999); slower flames are not resolved at these grids (the
peak overpressure of a deflagration does not converge here), the curve family takes their acoustic limit."""
LEVELS = (20, 40, 80)
MAX_SCALED_DISTANCE = 10.0
STATIONS = np.geomspace(0.1, MAX_SCALED_DISTANCE, 121)
OUT = Path(__file__).resolve().parents[1] / "safetwin/emergency_planner/physics/data/blast_curves.json"


def extrapolate(coarse: np.ndarray, mid: np.ndarray, fine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Richardson extrapolation with the observed order (refinement ratio 2); returns (value, order)."""
    d1, d2 = mid - coarse, fine - mid
    ok = (d1 * d2 > 0) & (np.abs(d2) < np.abs(d1))
    ratio = np.where(ok, np.abs(d2) / np.where(d1 == 0, 1.0, np.abs(d1)), np.nan)
    order = np.where(ok, -np.log2(np.clip(ratio, 1e-6, 0.999)), np.nan)
    factor = np.where(ok, ratio / (1.0 - ratio), 0.0)
    return fine + factor * d2, order


def main() -> None:
    curves = []
    for mf in FLAME_MACH:
        t0 = time.process_time()
        runs = [flame_blast_curve(mf, cells_per_radius=n, max_scaled_distance=MAX_SCALED_DISTANCE) for n in LEVELS]
        p = [np.interp(STATIONS, c.scaled_distance, c.scaled_overpressure, left=np.nan) for c in runs]
        i = np.interp(STATIONS, runs[-1].scaled_distance, runs[-1].scaled_impulse, left=np.nan)
        p_inf, order = extrapolate(*p)
        src = extrapolate(*(np.array([c.source_overpressure]) for c in runs))[0][0]
        curves.append({
            "flame_mach": mf,
            "source_overpressure": float(src),
            "charge_scaled_radius": runs[-1].charge_scaled_radius,
            "scaled_overpressure": [None if not np.isfinite(v) else float(v) for v in p_inf],
            "scaled_impulse": [None if not np.isfinite(v) else float(v) for v in i],
            "finest_scaled_overpressure": [None if not np.isfinite(v) else float(v) for v in p[-1]],
            "median_observed_order": float(np.nanmedian(order)) if np.any(np.isfinite(order)) else None,
            "energy_error": max(c.energy_error for c in runs),
        })
        print(f"Mf {mf}: source P̄ {src:.4g}, P̄(R̄=1) {np.interp(1.0, STATIONS, p_inf):.4g}, "
              f"CPU {time.process_time() - t0:.0f} s", flush=True)
    OUT.write_text(json.dumps({
        "model": "constant-velocity spherical flame in a stoichiometric hydrocarbon-air charge (3.5 MJ/m3), "
                 "1-D spherical Euler, gamma 1.4; free spherical charge of energy E; Sachs scaling",
        "generator": "tools/blast_curves.py (safetwin/emergency_planner/physics/flame_blast.py)",
        "levels_cells_per_radius": list(LEVELS),
        "scaled_distance": [float(v) for v in STATIONS],
        "curves": curves,
    }, indent=1) + "\n")
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
