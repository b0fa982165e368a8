"""Consequence calculations at a plant's equipment: release specs from inventories, threat zones,
and the bund-fire domino scenario, in the plant's local frame (m).

Example::

    >>> from safetwin.plant_models.loader import load_plant, bundled_plant_path
    >>> from safetwin.emergency_planner.physics.consequence import Weather
    >>> plant = load_plant(bundled_plant_path("small_plant"))
    >>> result = zones_at_equipment(plant, "CL2-DRUMS", Weather(3.0, 270.0, "D"), hole_diameter_m=0.01)
    >>> [z.level for z in result.zones]
    ['RED', 'ORANGE', 'YELLOW']
"""
from __future__ import annotations

import math
from typing import Any

from safetwin.plant_models.loader import Plant
from safetwin.plant_models.schema import Phase

from .physics.congestion import PIPE_RACK_SOLID_FRACTION, Congestion, Obstacle, congestion_in_region
from .physics.consequence import ConsequenceResult, ReleaseKind, ReleaseSpec, Weather, compute_consequence_zones
from .physics.domino import DominoResult, Equipment as DominoUnit, InitialFire, simulate_domino
from .physics.grid import GridSpec
from safetwin.substances import canonical_name, get_substance

#: Substances whose hazard is toxicity (the others are treated as flammable), by canonical name
#: (:func:`safetwin.substances.canonical_name`).
TOXIC = frozenset({"chlorine", "ammonia", "hydrogen sulfide"})
#: Plant equipment kinds that escalate in the domino model, and how.
DOMINO_KINDS = {"atmospheric_tank": "atmospheric", "pressurised_sphere": "pressurised", "pressure_vessel": "pressurised"}
#: Equipment kinds that are areas (a unit's plot, a bay, a bund), not obstacles; process units and
#: loading bays are the congested regions a vapour cloud explosion is rated in.
REGION_KINDS = frozenset({"process_unit", "loading_bay", "bund"})
CONGESTED_REGION_KINDS = frozenset({"process_unit", "loading_bay"})


def default_release_kind(plant: Plant, equipment_id: str) -> ReleaseKind:
    """The release a planner usually studies first at this equipment: toxic gas for toxic
    substances, a pool fire for atmospheric liquids, a jet fire for pressurised flammables."""
    inv = _inventory(plant, equipment_id)
    if is_toxic(inv.substance):
        return "toxic_gas"
    if inv.phase == Phase.liquid:
        return "pool_fire"
    return "jet_fire"


def is_toxic(substance: str) -> bool:
    """True when the inventory's substance (any alias: ``hydrogen_sulfide``, ``H2S``, ``硫化氢``) is one
    whose hazard is toxicity."""
    return canonical_name(substance) in TOXIC


def _inventory(plant: Plant, equipment_id: str):
    plant.equipment[equipment_id]  # a wrong id raises UnknownIdError naming the closest ids
    inv = plant.inventories.get(equipment_id)
    if inv is None:
        raise KeyError(f"equipment {equipment_id!r} of plant {plant.id} holds no hazardous inventory")
    return inv


def release_at_equipment(plant: Plant, equipment_id: str, kind: ReleaseKind | None = None,
                         hole_diameter_m: float = 0.025, release_height_m: float = 1.0,
                         rate_kg_s: float | None = None) -> ReleaseSpec:
    """A :class:`ReleaseSpec` at ``equipment_id`` from its inventory (substance, mass, p, T), a hole
    near the bottom under the liquid's head.

    A pool fire of a tank in a bund fills the bund (less the tanks standing in it)."""
    inv = _inventory(plant, equipment_id)
    eq = plant.equipment[equipment_id]
    kind = kind or default_release_kind(plant, equipment_id)
    c = eq.geometry.centroid
    bund_area = None
    if kind == "pool_fire" and eq.bund_id:
        bund = plant.equipment[eq.bund_id].footprint
        tanks = [e.footprint for e in plant.equipment.values() if e.bund_id == eq.bund_id]
        bund_area = bund.area - sum(t.area for t in tanks)
    return ReleaseSpec(x_m=c.x, y_m=c.y, substance=inv.substance, kind=kind, inventory_kg=inv.mass_kg,
                       hole_diameter_m=hole_diameter_m, pressure_pa=inv.pressure_pa, temperature_k=inv.temperature_k,
                       release_height_m=release_height_m, rate_kg_s=rate_kg_s, bund_area_m2=bund_area,
                       equipment_id=equipment_id, liquid_head_m=_liquid_level_m(plant, equipment_id))


def _liquid_level_m(plant: Plant, equipment_id: str) -> float:
    """Height (m) of a liquid inventory's surface above the bottom of its vessel: its volume over the
    vessel's footprint, at most the vessel's height (0 for a gas); the head a hole near the bottom
    leaks under."""
    inv = _inventory(plant, equipment_id)
    eq = plant.equipment[equipment_id]
    area = eq.footprint.area
    if inv.phase != Phase.liquid or area <= 0:
        return 0.0
    volume = inv.mass_kg / get_substance(canonical_name(inv.substance)).liquid_density_at(inv.temperature_k)
    return float(min(volume / area, eq.height_m))


def default_grid(release: ReleaseSpec, spacing_m: float | None = None) -> GridSpec:
    """A grid around the release: ±10 km for toxic clouds (ALOHA's limit), ±2 km for flammable
    clouds, flash fires and explosions, ±3 km for fireballs, ±500 m for pool and jet fires;
    1001 × 1001 nodes unless ``spacing_m`` is given."""
    half = {"toxic_gas": 10_000.0, "flammable_gas": 2000.0, "flash_fire": 2000.0, "vce": 2000.0,
            "fireball": 3000.0}.get(release.kind, 500.0)
    spacing = spacing_m or half / 500.0
    return GridSpec.around(release.x_m, release.y_m, half, spacing)


def zones_at_equipment(plant: Plant, equipment_id: str, weather: Weather, kind: ReleaseKind | None = None,
                       hole_diameter_m: float = 0.025, grid: GridSpec | None = None,
                       **options: Any) -> ConsequenceResult:
    """Threat zones (RED/ORANGE/YELLOW) of a release at ``equipment_id`` under ``weather``.

    ``options`` go to :func:`compute_consequence_zones` (exposure_duration_s, toxic_basis,
    dispersion_model, explosion_model, …); a vapour cloud explosion is rated in the plant's congested
    regions (process units and loading bays, :func:`congested_regions`) unless ``congestion`` is given."""
    release = release_at_equipment(plant, equipment_id, kind, hole_diameter_m)
    grid = grid or default_grid(release)
    if release.kind == "vce" and "congestion" not in options:
        options["congestion"] = list(plant_congestion(plant).values())
    result = compute_consequence_zones(release, weather, grid, **options)
    x0, y0 = grid.x_min_m, grid.y_min_m
    x1, y1 = x0 + (grid.nx - 1) * grid.dx_m, y0 + (grid.ny - 1) * grid.dy_m
    for z in result.zones:
        if z.geometry.is_empty:
            continue
        bx0, by0, bx1, by1 = z.geometry.bounds
        edge = max(grid.dx_m, grid.dy_m)
        if bx0 <= x0 + edge or by0 <= y0 + edge or bx1 >= x1 - edge or by1 >= y1 - edge:
            result.notes.append(f"{z.level} zone ({z.label}) reaches the edge of the {(x1 - x0) / 1000:g} km grid: "
                                "it extends further than drawn")
    return result


def plant_obstacles(plant: Plant) -> list[Obstacle]:
    """The plant's equipment as VCE obstacles (footprint, height; pipe racks at their solid fraction)
    and its buildings as roofs (:mod:`.physics.congestion`)."""
    out = []
    for eq in plant.equipment.values():
        kind = eq.kind.value
        if kind in REGION_KINDS:
            continue
        frac = PIPE_RACK_SOLID_FRACTION if kind == "pipe_rack" else 1.0
        out.append(Obstacle(eq.footprint, float(eq.height_m), solid_fraction=frac, diameter_m=eq.diameter_m, id=eq.id))
    for b in plant.buildings.values():
        out.append(Obstacle(b.geometry, float(b.height_m), roofed=True, id=b.id))
    return out


def congested_regions(plant: Plant) -> dict[str, Any]:
    """The plant's congested regions by id (process units and loading bays: shapely polygons, m)."""
    return {e.id: e.footprint for e in plant.equipment.values() if e.kind.value in CONGESTED_REGION_KINDS}


def plant_congestion(plant: Plant) -> dict[str, Congestion]:
    """Congestion and confinement of each congested region of the plant that holds obstacles, by id."""
    obstacles = plant_obstacles(plant)
    out = {}
    for rid, region in sorted(congested_regions(plant).items()):
        try:
            out[rid] = congestion_in_region(region, obstacles)
        except ValueError:  # an empty bay or unit: nothing to congest a flame
            continue
    return out


def domino_units(plant: Plant) -> list[DominoUnit]:
    """The plant's tanks, spheres and vessels with inventories as domino-model units."""
    units = []
    for e in plant.equipment.values():
        mode = DOMINO_KINDS.get(e.kind.value)
        inv = plant.inventories.get(e.id)
        if mode is None or inv is None or e.diameter_m is None:
            continue
        volume = e.volume_m3 or math.pi * e.diameter_m**2 / 4 * e.height_m
        c = e.geometry.centroid
        units.append(DominoUnit(e.id, c.x, c.y, mode, e.diameter_m, e.height_m, volume, inv.substance))
    return units


def bund_fire(plant: Plant, tank_id: str) -> InitialFire:
    """A pool fire in the bund compartment of a leaking tank: the bund area shared equally among
    the tanks standing in it, less the leaking tank's footprint, as an equivalent circle centred
    on the tank (which burns with it)."""
    tank = plant.equipment[tank_id]
    if not tank.bund_id:
        raise ValueError(f"{tank_id} stands in no bund")
    inv = _inventory(plant, tank_id)
    bund = plant.equipment[tank.bund_id].footprint
    n = sum(1 for e in plant.equipment.values() if e.bund_id == tank.bund_id)
    area = bund.area / n
    c = tank.geometry.centroid
    return InitialFire(c.x, c.y, 2.0 * math.sqrt(area / math.pi), inv.substance, equipment_id=tank_id)


def bund_fire_domino(plant: Plant, tank_id: str, wind_speed_m_s: float, wind_from_deg: float,
                     t_end_s: float = 3600.0, dt_s: float = 10.0) -> DominoResult:
    """Domino escalation over ``t_end_s`` after a pool fire in the bund of ``tank_id``."""
    get_substance(_inventory(plant, tank_id).substance)  # fail early on an unknown substance
    return simulate_domino(domino_units(plant), [bund_fire(plant, tank_id)], wind_speed_m_s=wind_speed_m_s,
                           wind_from_deg=wind_from_deg, t_end_s=t_end_s, dt_s=dt_s)
