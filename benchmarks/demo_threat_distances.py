"""Threat distances of the six demo scenarios by three routes (the table in docs/consequence.md).

Run:  .venv/bin/python benchmarks/demo_threat_distances.py

For each scenario of ``safetwin/scenarios/library`` the release at its equipment (hole, height,
rate and isolation time of its first event) is taken as a cloud under the scenario's initial,
steady weather: a toxic inventory as ``toxic_gas`` (AEGL-3/2/1, 60 min), a flammable one as
``flammable_gas`` (60 %/10 % LEL) — for the two fire scenarios that is the cloud the leak gives
before it ignites. Three centreline reaches (m) per threat level:

* ``gaussian`` — the entry point with ``dispersion_model="gaussian"``;
* ``dense`` — the entry point's dense-gas path (SLAB, handed over to the Gaussian where the cloud
  is diluted), forced where the automatic choice is the passive model;
* ``slabx`` — slabx stand-alone on the source the entry point gave its dense engine, SLAB's cloud
  all the way (no hand-over), its own centreline and distance interpolation.

The column the entry point actually uses (``auto``) is marked with ``*``.
"""
from __future__ import annotations

import math
import sys
import warnings
from dataclasses import dataclass, replace

from safetwin.emergency_planner.physics.consequence import (ConsequenceResult, Weather,
                                                            compute_consequence_zones)
from safetwin.emergency_planner.physics.dense_gas import DenseRelease
from safetwin.emergency_planner.physics.grid import GridSpec
from safetwin.emergency_planner.plant_consequence import is_toxic, release_at_equipment
from safetwin.facade import load_scenario
from safetwin.plant_models.loader import bundled_plant_path, load_plant
from safetwin.scenarios.loader import list_scenarios
from safetwin.substances import MOLAR_VOLUME_L_25C, get_substance

X_MAX_M = 20_000.0


@dataclass(frozen=True)
class Row:
    scenario: str
    equipment: str
    substance: str
    kind: str
    chosen: str
    reason: str
    levels: list[tuple[str, str, float, float, float]]  # level, label, gaussian, dense, slabx


def slabx_reach_m(dense: DenseRelease, weather: Weather, *, averaging_time_s: float, levels_mg_m3: list[float]) -> list[float]:
    """SLAB's own reach (m) to each level for the dense engine's source (module docstring)."""
    from slabx.core.plume import run_dispersion
    from slabx.post.concentration import concentration_field
    from slabx.thermo.base import LegacyThermo, water_backend

    from safetwin.emergency_planner.physics.slab_engine import slab_atmosphere, slab_source, slab_substance

    sub = slab_substance(dense.substance)
    atm = slab_atmosphere(weather)
    duration = dense.duration_s if math.isfinite(dense.duration_s) else math.inf
    src = slab_source(dense, sub)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traj, _ = run_dispersion(src, atm, LegacyThermo(sub), water_backend(), x_max=X_MAX_M)
        conc = concentration_field(traj, atm, z=0.0, t_avg=averaging_time_s,
                                   t_release=duration if math.isfinite(duration) else None)
    per_fraction = 1e6 * dense.substance.molar_mass_g_mol / MOLAR_VOLUME_L_25C  # mg/m³ at 25 °C per volume fraction
    return [conc.distance_to(level / per_fraction) for level in levels_mg_m3]


def scenario_row(name: str) -> Row:
    sc = load_scenario(name)
    plant = load_plant(bundled_plant_path(sc.plant))
    event = sc.events[0]
    inv = plant.inventories[event.equipment]
    kind = "toxic_gas" if is_toxic(inv.substance) else "flammable_gas"
    release = release_at_equipment(plant, event.equipment, kind,
                                   hole_diameter_m=getattr(event, "hole_diameter_m", None) or 0.025,
                                   release_height_m=getattr(event, "height_m", 1.0),
                                   rate_kg_s=getattr(event, "rate_kg_s", None))
    release = replace(release, duration_s=getattr(event, "duration_s", None))
    w = sc.weather
    weather = Weather(w.wind_speed_m_s, w.wind_from_deg, w.stability, temperature_k=w.temperature_k,
                      relative_humidity=w.relative_humidity)
    grid = GridSpec.around(release.x_m, release.y_m, 12_000.0, 200.0)
    runs: dict[str, ConsequenceResult] = {m: compute_consequence_zones(release, weather, grid, dispersion_model=m)
                                          for m in ("auto", "gaussian", "dense")}
    auto, dense = runs["auto"], runs["dense"]
    chosen = "dense" if auto.model.startswith("dense_gas") else "gaussian"
    levels_mg_m3 = [z.threshold for z in auto.zones]
    if dense.dense_release is None or dense.averaging_time_s is None:
        raise RuntimeError(f"{name}: the dense-gas engine was not run")
    sl = slabx_reach_m(dense.dense_release, weather, averaging_time_s=dense.averaging_time_s, levels_mg_m3=levels_mg_m3)
    rows = [(z.level, z.label, runs["gaussian"].cloud.reach_m(z.threshold), dense.cloud.reach_m(z.threshold), s)
            for z, s in zip(auto.zones, sl)]
    return Row(name, event.equipment, get_substance(inv.substance).name, kind, chosen,
               auto.regime.reason if auto.regime else "", rows)


def _fmt(d: float, chosen: bool) -> str:
    text = "—" if not math.isfinite(d) or d <= 0 else (f">{X_MAX_M / 1000:.0f} km" if d >= X_MAX_M else f"{d:,.0f}")
    return text + (" *" if chosen else "")


def markdown(rows: list[Row]) -> str:
    out = ["| scenario (equipment, substance, cloud) | model chosen and why (source Richardson number) | level | "
           "Gaussian (m) | dense, entry point (m) | slabx stand-alone (m) |", "|---|---|---|---:|---:|---:|"]
    for r in rows:
        for i, (level, label, g, d, s) in enumerate(r.levels):
            head = (f"{r.scenario} ({r.equipment}, {r.substance}, {r.kind})", r.reason) if i == 0 else ("", "")
            out.append(f"| {head[0]} | {head[1]} | {level} {label} | {_fmt(g, r.chosen == 'gaussian')} | "
                       f"{_fmt(d, r.chosen == 'dense')} | {_fmt(s, False)} |")
    return "\n".join(out)


def main() -> int:
    rows = [scenario_row(name) for name in list_scenarios()]
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
