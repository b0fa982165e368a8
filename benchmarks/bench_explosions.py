"""Timing of the explosion and fireball outcomes on the demo plant, as ratios to one ``numpy.exp``.

Run:  .venv/bin/python benchmarks/bench_explosions.py [--repeat N]

Measures, in the same process (CPU time, ``time.process_time``, best of N):

* floor: ``numpy.exp`` over a float64 array of 1000 × 1000;
* fireball: the BLEVE fireball of LPG sphere SP-401 (610 t propane) — flux on a 1000 × 1000 grid (5 m);
* BLEVE blast: the isentropic expansion energy of SP-401's liquid (CoolProp) and its overpressure on the grid;
* VCE: a 20 kg/s propane leak at V-3102 drifting into process unit U-3: congestion of U-3 from the plant's
  equipment (footprints, heights), flammable mass of the plume inside U-3 (1 m × 1 m × 0.5 m lattice), the
  multi-energy and BST blasts, overpressure and impulse on the grid;
* flash fire: LFL / ½ LFL zones of the same plume on the grid (2 m).

It also prints the demo plant's explosion figures (fireball size and duration, distances to 10 / 5 / 2 kW/m²
and to 8 / 3.5 / 1 psi) that docs/consequence.md quotes.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from safetwin.emergency_planner.physics.blast import bleve_expansion_energy_j, vessel_burst_blast
from safetwin.emergency_planner.physics.congestion import congestion_in_region
from safetwin.emergency_planner.physics.dispersion import plume_field
from safetwin.emergency_planner.physics.fireball import bleve_fireball
from safetwin.emergency_planner.physics.flammable_cloud import flammable_mass, plume_cloud
from safetwin.emergency_planner.physics.flash_fire import flash_fire
from safetwin.emergency_planner.physics.grid import GridSpec
from safetwin.emergency_planner.physics.overpressure import OVERPRESSURE_LEVELS_PA
from safetwin.emergency_planner.physics.sigmas import PasquillSigmas
from safetwin.emergency_planner.physics.vce import vapour_cloud_explosion
from safetwin.emergency_planner.plant_consequence import plant_obstacles
from safetwin.plant_models.loader import bundled_plant_path, load_plant
from safetwin.substances import get_substance

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_dispersion import best_of  # noqa: E402  (the one CPU-time best-of helper of the benchmarks)

N = 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    plant = load_plant(bundled_plant_path("demo_plant"))
    propane = get_substance("propane")
    x = np.random.default_rng(0).random((N, N))
    t_exp = best_of(lambda: np.exp(x), args.repeat)

    # --- fireball and BLEVE blast of SP-401
    sp = plant.equipment["SP-401"]
    inv = plant.inventories["SP-401"]
    cx, cy = sp.geometry.x, sp.geometry.y
    grid = GridSpec.around(cx, cy, 2500.0, 5.0)
    fb = bleve_fireball(propane, inv.mass_kg, temperature_k=inv.temperature_k, centre_xy_m=(cx, cy))
    t_fb = best_of(lambda: fb.field_w_m2(grid), args.repeat)
    energy = bleve_expansion_energy_j("propane", temperature_k=inv.temperature_k, liquid_mass_kg=inv.mass_kg)
    blast = vessel_burst_blast(energy_j=energy, vessel_pressure_pa=float(propane.vapour_pressure_pa(inv.temperature_k)),
                               centre_xyz_m=(cx, cy, sp.height_m / 2))
    t_bl = best_of(lambda: blast.field_pa(grid), args.repeat)

    # --- VCE: 20 kg/s propane from V-3102 drifting (wind from the east) into unit U-3
    unit = plant.equipment["U-3"].geometry
    src = plant.equipment["V-3102"].geometry
    obs = plant_obstacles(plant)
    sig = PasquillSigmas("F")
    cloud = plume_cloud(source_xy_m=(src.x + 60.0, src.y), wind_from_deg=90.0, rate_kg_s=20.0, wind_speed_m_s=2.0,
                        sigmas=sig, release_height_m=1.0)
    minx, miny, maxx, maxy = unit.bounds
    lattice = GridSpec(minx, miny, 1.0, 1.0, int(maxx - minx) + 1, int(maxy - miny) + 1)
    lfl, ufl = propane.lfl_mg_m3, propane.ppm_to_mg_m3(propane.ufl_vol_frac * 1e6)

    def vce():
        cong = congestion_in_region(unit, obs)
        fm = flammable_mass(cloud, lattice, np.arange(0.25, cong.region_height_m, 0.5), lfl_mg_m3=lfl, ufl_mg_m3=ufl,
                            within=unit, z_max_m=cong.region_height_m)
        waves = [vapour_cloud_explosion(substance=propane, flammable_mass_kg=fm.mass_kg, congestion=cong, method=m)
                 for m in ("multi_energy", "bst")]
        vgrid = GridSpec.around(unit.centroid.x, unit.centroid.y, 1000.0, 2.0)
        fields = [(w.field_pa(vgrid), w.impulse_pa_s(*vgrid.mesh())) for w, _ in waves]
        return cong, fm, waves, fields

    t_vce = best_of(vce, args.repeat)
    cong, fm, waves, _ = vce()
    fgrid = GridSpec.around(src.x, src.y, 1000.0, 2.0)
    pf = plume_field(fgrid, source_xy_m=(src.x + 60.0, src.y), wind_from_deg=90.0, rate_kg_s=20.0, wind_speed_m_s=2.0,
                     sigmas=sig, release_height_m=1.0)
    t_ff = best_of(lambda: flash_fire(fgrid, pf.concentration_mg_m3, propane), args.repeat)
    ff = flash_fire(fgrid, pf.concentration_mg_m3, propane)

    print(f"floor numpy.exp 1000x1000: {t_exp * 1e3:.1f} ms CPU")
    print(f"fireball flux 1000x1000:   {t_fb * 1e3:.1f} ms  ({t_fb / t_exp:.1f}x floor)")
    print(f"BLEVE blast 1000x1000:     {t_bl * 1e3:.1f} ms  ({t_bl / t_exp:.1f}x floor)")
    print(f"VCE (congestion, flammable mass, ME + BST, 2 fields 1001x1001 + impulse): {t_vce * 1e3:.0f} ms  "
          f"({t_vce / t_exp:.1f}x floor)")
    print(f"flash fire zones 1001x1001: {t_ff * 1e3:.0f} ms  ({t_ff / t_exp:.1f}x floor)")
    print()
    print(f"SP-401 fireball: {inv.mass_kg / 1e3:.0f} t propane, D {fb.diameter_m:.0f} m, t {fb.duration_s:.1f} s, "
          f"centre {fb.centre_height_m:.0f} m, SEP {fb.sep_w_m2 / 1e3:.0f} kW/m²; distances to 10/5/2 kW/m²: "
          + " / ".join(f"{fb.distance_to_flux_m(q * 1e3):.0f}" for q in (10, 5, 2)) + " m")
    print(f"SP-401 BLEVE blast: {energy / 1e9:.2f} GJ ({energy / 4.686e6 / 1e3:.1f} t TNT); distances to 8/3.5/1 psi: "
          + " / ".join(f"{blast.distance_to_overpressure_m(OVERPRESSURE_LEVELS_PA[k]):.0f}"
                       for k in ("RED", "ORANGE", "YELLOW")) + " m")
    print(f"U-3 congestion: VBR {cong.volume_blockage_ratio:.4f}, Lp {cong.flame_path_m:.0f} m, "
          f"D {cong.obstacle_diameter_m:.2f} m, {cong.confinement}, {cong.congestion}; flammable mass in U-3 "
          f"{fm.mass_kg:.0f} kg")
    for wave, strength in waves:
        print(f"  {strength.method}: {strength.basis}; distances to 8/3.5/1 psi: "
              + " / ".join(f"{wave.distance_to_overpressure_m(OVERPRESSURE_LEVELS_PA[k]):.0f}"
                           for k in ("RED", "ORANGE", "YELLOW")) + " m")
    print(f"flash fire: LFL envelope {ff.lethal_area_m2:.0f} m², reaches "
          f"{ff.zones[0].max_distance_m(src.x + 60.0, src.y):.0f} m")


if __name__ == "__main__":
    main()
