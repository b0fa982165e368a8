"""Loss-of-containment scenarios and their event trees → outcomes with frequencies (per year).

For every piece of equipment that holds an inventory, the LOC events of its kind
(``data/loc_events.yaml``, plant override) give scenarios; each scenario's source term (SI units)
comes from the physics source-term functions and its event tree splits it into outcomes:

* toxic substance (has lethality probits): ``toxic_plume`` (continuous) or ``toxic_puff``
  (instantaneous), probability 1 (the flammability of NH3/H2S is not followed here);
* flammable gas or flashing liquid: immediate ignition → ``jet_fire`` (continuous) or ``fireball``
  (instantaneous, BLEVE of the full inventory); delayed ignition → ``flash_plume`` / ``flash_puff``
  (LFL envelope of the airborne part, :func:`delayed_ignition_outcome`: ignited by the plant's
  ignition sources the cloud covers, per wind direction, or by one probability per category when
  the plant declares none); no ignition → no fatality;
* non-flashing flammable liquid: ignition (immediate or delayed) → ``pool_fire`` (bund-limited pool,
  or the equilibrium pool of a continuous leak).

Ignition probabilities: Purple Book CPR 18E ch.4 [PUB-mem] (``data/ignition.yaml``); delayed ignition
by the plant's ignition sources (``ignition_sources`` in plant.yaml, :mod:`.ignition`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shapely.geometry import Point

from safetwin.emergency_planner.physics.release import flashing_airborne_fraction
from safetwin.emergency_planner.physics.source_terms import (P_ATM, flash_fraction, gas_orifice_rate_kg_s,
                                                              liquid_orifice_rate_kg_s)
from safetwin.emergency_planner.physics.vce import explosion_strength
from safetwin.emergency_planner.plant_consequence import plant_congestion
from safetwin.substances import Substance, get_substance


@dataclass(frozen=True)
class Outcome:
    """One end branch of an event tree: ``kind`` and its parameters (SI), frequency (/y)."""

    id: str
    kind: str
    frequency_per_year: float
    params: dict[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Scenario:
    """One LOC event of one piece of equipment at plant-frame position (x_m, y_m)."""

    id: str
    equipment_id: str
    equipment_kind: str
    event_id: str
    event_type: str
    x_m: float
    y_m: float
    substance: str
    frequency_per_year: float
    source: str
    outcomes: tuple[Outcome, ...] = ()
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in ("id", "equipment_id", "equipment_kind", "event_id", "event_type", "x_m",
                                           "y_m", "substance", "frequency_per_year", "source", "notes")}
        d["outcomes"] = [{"id": o.id, "kind": o.kind, "frequency_per_year": o.frequency_per_year, **o.params}
                         for o in self.outcomes]
        return d


def _band(value: float, edges: list[float]) -> int:
    return int(np.searchsorted(np.asarray(edges, float), value, side="left"))


def ignition_probabilities(ign: dict[str, Any], substance: Substance, released_as_gas: bool, continuous: bool,
                           size: float) -> tuple[float, float, str]:
    """(P immediate, P delayed | no immediate, category) for a release of ``size`` (kg/s continuous,
    kg instantaneous) — Purple Book CPR 18E table [PUB-mem], delayed per category [UNVERIFIED]."""
    cat = ign["substance_category"].get(substance.name, "gas_average_high_reactivity")
    if released_as_gas and cat.startswith("liquid"):
        cat = "gas_average_high_reactivity"
    c = ign["categories"][cat]
    if continuous:
        p = c["immediate"]["continuous"][_band(size, ign["size_bands"]["continuous_kg_s"])]
    else:
        p = c["immediate"]["instantaneous"][_band(size, ign["size_bands"]["instantaneous_kg"])]
    return float(p), float(c["delayed_given_no_immediate"]), cat


def delayed_ignition_outcome(outcome_id: str, kind: str, cloud_frequency_per_year: float, cloud: dict[str, Any],
                             p_delayed: float, **params: Any) -> Outcome:
    """An outcome of the delayed-ignition branch: ``cloud_frequency_per_year`` is the frequency of the
    flammable ``cloud`` that did not ignite at once; the task multiplies it, wind direction by wind
    direction, by the probability that the plant's ignition sources inside the cloud's flammable
    envelope ignite it (:mod:`.ignition`), or by ``p_delayed`` when the plant declares no sources."""
    return Outcome(outcome_id, kind, cloud_frequency_per_year,
                   {"substance": cloud["substance"], "cloud": dict(cloud), "ignition": "delayed",
                    "p_delayed": float(p_delayed), **params})


def _events_for(cfg_events: dict[str, Any], eq_id: str, kind: str) -> list[dict[str, Any]]:
    return list(cfg_events.get(eq_id) or cfg_events.get(kind) or [])


def _position(eq: Any) -> tuple[float, float]:
    g = eq.geometry
    c = g if g.geom_type == "Point" else g.centroid
    return float(c.x), float(c.y)


def build_scenarios(plant: Any, cfg: dict[str, Any]) -> list[Scenario]:
    """All LOC scenarios of the plant with their outcomes (see the module docstring).

    Equipment without an inventory (plant.yaml ``inventories`` or qra.yaml ``inventories``) and
    kinds without LOC events are skipped. Scenario ids are ``<equipment>:<event>``.
    """
    events_cfg = cfg["loc_events"]
    settings = events_cfg.get("settings", {})
    invs = dict(plant.inventories)
    for extra in cfg.get("inventories", []):
        from safetwin.plant_models.schema import Inventory
        inv = Inventory.model_validate(extra)
        invs[inv.equipment_id] = inv
    out: list[Scenario] = []
    for eq_id in sorted(invs):
        if eq_id not in plant.equipment:
            raise ValueError(f"qra inventories: unknown equipment {eq_id!r}")
        eq = plant.equipment[eq_id]
        inv = invs[eq_id]
        kind = eq.kind.value
        for ev in _events_for(events_cfg, eq_id, kind):
            out.append(_scenario(plant, eq, inv, ev, cfg, settings))
    return out


def _vce_params(plant: Any, eq: Any, sub: Substance, lc: dict[str, Any]) -> dict[str, Any] | None:
    """The congested unit around ``eq`` (a process unit or bay holding it) and the blast strength it
    gives a vapour cloud explosion (physics.vce): None when the equipment stands in no congested unit
    or the substance has no strength data for the method."""
    x, y = _position(eq)
    here = Point(x, y)
    regions = [(rid, c) for rid, c in plant_congestion(plant).items() if c.region.buffer(1.0).contains(here)]
    if not regions:
        return None
    rid, cong = regions[0]
    region = cong.region
    method = str(lc.get("vce_method", "multi_energy"))
    try:
        strength = explosion_strength(method=method, congestion=cong, substance=sub)  # type: ignore[arg-type]
    except ValueError:
        return None
    return {"region": rid, "method": method, "radius_m": float(np.sqrt(region.area / np.pi)),
            "height_m": cong.region_height_m, "free_volume_m3": cong.free_volume_m3,
            "curve_number": strength.multi_energy_curve, "flame_mach": strength.flame_mach, "basis": strength.basis}


def _bund_diameter(plant: Any, eq: Any) -> tuple[float | None, tuple[float, float] | None]:
    if eq.bund_id and eq.bund_id in plant.equipment:
        b = plant.equipment[eq.bund_id].geometry
        return float(np.sqrt(4 * b.area / np.pi)), (float(b.centroid.x), float(b.centroid.y))
    return None, None


def _scenario(plant: Any, eq: Any, inv: Any, ev: dict[str, Any], cfg: dict[str, Any],
              settings: dict[str, Any]) -> Scenario:
    sub = get_substance(inv.substance)
    ign = cfg["ignition"]
    lc = ign["lethality"]
    notes: list[str] = []
    etype = ev["type"]
    mass = float(inv.mass_kg)
    freq = float(ev["frequency_per_year"]) if "frequency_per_year" in ev else \
        float(ev["per_hour"]) * float(settings.get("operating_hours_per_year", 2000.0))
    if ev.get("per_unit"):
        unit = float(ev.get("unit_mass_kg", settings.get("drum_unit_mass_kg", 1000.0)))
        n_units = max(int(round(mass / unit)), 1)
        freq *= n_units
        mass = min(mass, unit)
        notes.append(f"{n_units} units of {unit:g} kg: frequency × {n_units}")
    t_k, p_pa = float(inv.temperature_k), float(ev.get("pressure_pa", inv.pressure_pa))
    x, y = _position(eq)
    f_flash = flash_fraction(sub, t_k) if inv.phase.value != "gas" else 0.0
    is_gas = inv.phase.value == "gas"
    flashing = (not is_gas) and f_flash > 0.0
    # the consequence entry point's rain-out rule (physics.release.flashing_airborne_fraction)
    airborne = 1.0 if is_gas else (flashing_airborne_fraction(f_flash) if flashing else 0.0)
    toxic = bool(sub.probits)
    h = float(lc.get("release_height_m", 1.0))
    max_dur = float(settings.get("max_release_duration_s", 1800.0))
    # --- source term
    continuous = etype != "instantaneous"
    if etype == "ten_minutes":
        rate, dur = mass / 600.0, 600.0
    elif etype == "hole":
        d = float(ev["hole_mm"]) / 1000.0
        if is_gas:
            rate = float(gas_orifice_rate_kg_s(p_pa, t_k, sub.molar_mass_kg_mol, sub.gamma, d))
        else:
            psat = float(sub.vapour_pressure_pa(t_k)) if sub.antoine_log10_pa is not None else 0.0
            head = 0.0
            if eq.kind.value == "atmospheric_tank" and eq.diameter_m:
                head = min(mass / sub.liquid_density_kg_m3 / (np.pi * eq.diameter_m**2 / 4), eq.height_m)
            rate = liquid_orifice_rate_kg_s(max(p_pa, psat, P_ATM), sub.liquid_density_kg_m3, d, head_m=head)
        rate = max(rate, 1e-9)
        dur = min(mass / rate, max_dur)
    else:
        rate, dur = 0.0, 0.0
    sid = f"{eq.id}:{ev['id']}"
    outs: list[Outcome] = []
    # a continuous cloud as the consequence entry point takes it (source term, rain-out, dense or passive)
    plume = {"model": "plume", "substance": sub.name, "rate_kg_s": rate, "height_m": h, "duration_s": dur,
             "inventory_kg": mass, "temperature_k": t_k, "pressure_pa": p_pa, "gas": is_gas,
             "hole_m": float(ev["hole_mm"]) / 1000.0 if etype == "hole" else None}
    if toxic:
        if airborne <= 0:
            notes.append("non-flashing toxic liquid: pool evaporation not modelled, no outcome")
        elif continuous:
            outs.append(Outcome(f"{sid}:toxic", "toxic_plume", freq, {
                "substance": sub.name, "rate_kg_s": rate, "duration_s": dur, "height_m": h, "cloud": plume}))
        else:
            outs.append(Outcome(f"{sid}:toxic", "toxic_puff", freq, {"substance": sub.name, "mass_kg": mass * airborne}))
    elif sub.heat_of_combustion_j_kg is not None:
        if is_gas or flashing:
            size = rate if continuous else mass
            p_i, p_d, cat = ignition_probabilities(ign, sub, True, continuous, size)
            notes.append(f"ignition category {cat}: P_immediate {p_i:g}, P_delayed|no immediate {p_d:g}")
            if continuous:
                outs.append(Outcome(f"{sid}:jet", "jet_fire", freq * p_i,
                                    {"substance": sub.name, "rate_kg_s": rate, "height_m": h}))
                cloud: dict[str, Any] = plume
            else:
                outs.append(Outcome(f"{sid}:fireball", "fireball", freq * p_i, {
                    "substance": sub.name, "mass_kg": mass, "temperature_k": t_k}))
                cloud = {"model": "puff", "substance": sub.name, "mass_kg": mass * airborne}
            if sub.lfl_vol_frac:
                # the delayed-ignition branch: a flash fire, and where the leak is in a congested unit a
                # vapour cloud explosion for the Purple Book's share of delayed ignitions
                vce = _vce_params(plant, eq, sub, lc) if continuous else None
                f_exp = float(ign.get("explosion_fraction_of_delayed", 0.0)) if vce else 0.0
                outs.append(delayed_ignition_outcome(f"{sid}:flash", f"flash_{cloud['model']}",
                                                     freq * (1 - p_i) * (1 - f_exp), cloud, p_d))
                if vce and f_exp > 0:
                    outs.append(delayed_ignition_outcome(f"{sid}:vce", "vce", freq * (1 - p_i) * f_exp, cloud, p_d,
                                                         vce=vce))
                    notes.append(f"delayed ignition in {vce['region']}: VCE for {f_exp:g} of it ({vce['basis']})")
            if flashing and airborne < 1.0:
                notes.append(f"rain-out fraction {1 - airborne:.2f} (pool fire of the rain-out not modelled)")
        else:
            p_i, p_d, cat = ignition_probabilities(ign, sub, False, continuous, rate if continuous else mass)
            p_ign = p_i + (1 - p_i) * p_d
            notes.append(f"ignition category {cat}: P_ignition {p_ign:g} (immediate {p_i:g})")
            d_bund, c_bund = _bund_diameter(plant, eq)
            vol = mass / sub.liquid_density_kg_m3
            d_spread = float(np.sqrt(4 * vol / (np.pi * 0.01)))
            d_max = float(lc.get("max_pool_diameter_m", 150.0))
            if continuous and etype == "hole":
                m_burn = sub.burning_rate_kg_m2_s or 0.05
                d_pool = float(np.sqrt(4 * rate / (np.pi * m_burn)))
                notes.append(f"equilibrium pool (release = burning rate): {d_pool:.1f} m")
                d_pool = min(d_pool, d_bund or d_spread, d_max)
            else:
                d_pool = min(d_bund or d_spread, d_max)
                if c_bund is not None and d_bund is not None and d_pool == d_bund:
                    x, y = c_bund
                    notes.append(f"pool fills bund {eq.bund_id}: D = {d_bund:.1f} m at the bund centroid")
            outs.append(Outcome(f"{sid}:pool", "pool_fire", freq * p_ign, {"substance": sub.name, "diameter_m": d_pool}))
    return Scenario(sid, eq.id, eq.kind.value, str(ev["id"]), etype, x, y, sub.name, freq, str(ev.get("source", "")),
                    tuple(o for o in outs if o.frequency_per_year > 0), tuple(notes))
