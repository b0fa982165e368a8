"""Plant check: what a planner must fix in a plant's layout before drills mean anything.

Rules (each finding names its rule, the item, and where it is):

* ``unreachable_muster_point`` — no walkable path leads from any staffed work area (from the part
  holding most of its walkable ground) to the muster point, or its disc lies wholly on buildings
  and solid equipment.
* ``area_without_exit`` — no walkable path leads from the area to any muster point;
  ``enclosed_pocket`` — a part of an area (≥ :data:`MIN_POCKET_M2`) is cut off from every
  muster point while the rest is not.
* ``uncovered_equipment`` — equipment holding a gas or volatile inventory has no detector that
  responds to its substance within the distance the substance reaches at the detector's first
  alarm level (:func:`detection_reach_m`).
* ``unknown_substance`` — an inventory names a substance the substance table does not know, so its
  coverage cannot be judged.

Walkable ground is the plant's one walkable area,
:func:`safetwin.plant_models.geometry.walkable_area` (the evacuation model's): the site minus
buildings, solid equipment and the fences inside the site, open at the gates — the plant format
says people cross fences only at gates. Connectivity is exact polygon topology (shapely), not a
raster.

Detection reach (a documented screening estimate, not a dispersion study): a steady release of
``rate_kg_s`` (default 0.1 kg/s, a small leak), passive Gaussian plume
(:func:`.physics.dispersion.plume_concentration`, Briggs rural sigmas), class D at 3 m/s, blowing
straight at the detector, released at the detector's height (detectors are mounted where their gas
collects — low for heavy gases, high for light ones — which a passive plume cannot show); the reach
is the farthest downwind distance at which the plume's centreline reaches the first alarm level (in its unit via
:func:`.live.observations.response_factor`: ppm through the molar mass, %LEL through the LFL).
Below 100 m the sigmas are extrapolated, and dense-gas slumping and jet momentum are ignored, so
reaches are indicative. The wind can blow any way, so the reach is drawn as a circle.

Example::

    >>> from safetwin.plant_models.loader import load_plant
    >>> check = check_plant(load_plant("small_plant"))
    >>> check.of("uncovered_equipment"), check.of("unreachable_muster_point"), check.of("area_without_exit")
    ([], [], [])
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import numpy as np
import shapely
from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry

from safetwin.plant_models.geometry import muster_goals, walkable_area
from safetwin.plant_models.loader import Plant
from safetwin.plant_models.schema import Sensor
from safetwin.substances import UnknownSubstance, canonical_name, get_substance

from .live.observations import is_gas_detector, response_factor
from .physics.dispersion import KG_M3_TO_MG_M3, plume_concentration
from .physics.sigmas import PasquillSigmas

#: a cut-off part of an area smaller than this (m²) is a gap between obstacles, not a place people work
MIN_POCKET_M2 = 25.0
#: the reference release of the detection reach
REFERENCE_RATE_KG_S = 0.1
REFERENCE_WIND_M_S = 3.0
REFERENCE_STABILITY = "D"
#: reach is searched on a log grid from 1 m to this (m)
MAX_REACH_M = 5000.0

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """One thing to fix: its rule, the item (muster point, area, equipment id), a message and a place (m)."""

    rule: str
    item: str
    message: str
    severity: Severity
    position: tuple[float, float]


@dataclass
class PlantCheck:
    """The findings of :func:`check_plant` and what the check map draws."""

    findings: list[Finding]
    reach_m: dict[str, float]
    """detector id → reach (m) of its own gas at its first alarm level"""
    covered_by: dict[str, list[str]]
    """equipment id (with a gas inventory) → detectors within its substance's reach"""
    walkable: BaseGeometry
    cut_off: BaseGeometry = field(default_factory=Polygon)
    """walkable ground from which no muster point can be reached"""

    def of(self, rule: str) -> list[str]:
        """Items flagged by ``rule``."""
        return [f.item for f in self.findings if f.rule == rule]


def detection_reach_m(sensor: Sensor, substance_name: str, *, rate_kg_s: float = REFERENCE_RATE_KG_S,
                      wind_speed_m_s: float = REFERENCE_WIND_M_S, stability: str = REFERENCE_STABILITY,
                      release_height_m: float | None = None) -> float:
    """Farthest distance (m) from a ``rate_kg_s`` release of ``substance_name`` at which ``sensor``
    reaches its first alarm level (0 if it does not respond or has no alarm); see the module docstring.

    >>> s = Sensor(id="GD", type="toxic_gas", gas="H2S", unit="ppm", position=(0, 0), height_m=0.6,
    ...            alarm={"warning": 10, "high": 15, "high_high": 30})
    >>> round(detection_reach_m(s, "hydrogen sulfide"))   # 10 ppm of H2S from 0.1 kg/s, class D, 3 m/s
    458
    """
    if sensor.alarm is None or not is_gas_detector(sensor):
        return 0.0
    factor = response_factor(sensor, get_substance(canonical_name(substance_name)))
    if factor <= 0 or sensor.alarm.warning <= 0:
        return 0.0
    height = sensor.height_m if release_height_m is None else release_height_m
    return _reach(sensor.alarm.warning / factor, sensor.height_m, rate_kg_s, wind_speed_m_s, stability, height)


@lru_cache(maxsize=4096)
def _reach(threshold_mg_m3: float, height_m: float, rate_kg_s: float, wind_speed_m_s: float, stability: str,
           release_height_m: float) -> float:
    x = np.geomspace(1.0, MAX_REACH_M, 4000)
    c = plume_concentration(x, 0.0, height_m, rate_kg_s=rate_kg_s, wind_speed_m_s=wind_speed_m_s,
                            sigmas=PasquillSigmas(stability), release_height_m=release_height_m) * KG_M3_TO_MG_M3
    above = np.nonzero(c >= threshold_mg_m3)[0]
    return float(x[above[-1]]) if above.size else 0.0


def check_plant(plant: Plant, *, rate_kg_s: float = REFERENCE_RATE_KG_S) -> PlantCheck:
    """Every finding of the rules in the module docstring, with the detectors' reaches."""
    walkable = walkable_ground(plant)
    findings, cut_off = _reachability(plant, walkable)
    reach, covered, coverage_findings = _coverage(plant, rate_kg_s)
    return PlantCheck(findings + coverage_findings, reach, covered, walkable, cut_off)


def walkable_ground(plant: Plant) -> BaseGeometry:
    """The plant's walkable area: fences closed except at gates (m, plant frame)."""
    return walkable_area(plant)


def _parts(geom: BaseGeometry) -> list[Polygon]:
    return [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and not p.is_empty]


def _xy(geom: BaseGeometry) -> tuple[float, float]:
    p = geom.representative_point()
    return (round(p.x, 1), round(p.y, 1))


def _reachability(plant: Plant, walkable: BaseGeometry) -> tuple[list[Finding], BaseGeometry]:
    components = _parts(walkable)
    tree = shapely.STRtree(components)
    goals = muster_goals(plant)
    with_muster: set[int] = set()
    findings: list[Finding] = []
    muster_components: dict[str, set[int]] = {}
    for mid, disc in goals.items():
        hit = {int(i) for i in tree.query(disc, predicate="intersects")}
        muster_components[mid] = hit
        with_muster |= hit
    occupied = {a for s in plant.meta.shifts for a, n in s.headcount.items() if n > 0} or set(plant.areas)
    area_components: dict[str, set[int]] = {}
    main: dict[str, int] = {}  # the component holding most of an area's walkable ground: where its people are
    for aid, area in plant.areas.items():
        shares = {int(i): components[int(i)].intersection(area.geometry).area
                  for i in tree.query(area.geometry, predicate="intersects")}
        area_components[aid] = {i for i, a in shares.items() if a > 1e-6}
        if area_components[aid]:
            main[aid] = max(area_components[aid], key=shares.get)
    from_areas = {main[a] for a in occupied if a in main}
    for m in plant.meta.muster_points:
        hit = muster_components.get(m.id, set())
        if not hit:
            findings.append(Finding("unreachable_muster_point", m.id, f"muster point {m.id} lies wholly on buildings or "
                                    "solid equipment: nobody can stand there", "error", tuple(m.position)))
        elif not hit & from_areas:
            findings.append(Finding("unreachable_muster_point", m.id, f"muster point {m.id} cannot be reached on foot "
                                    "from any work area (walled in by buildings, equipment or fences)", "error",
                                    tuple(m.position)))
    cut = [components[i] for i in range(len(components)) if i not in with_muster]
    for aid, area in plant.areas.items():
        hits = area_components[aid]
        if not hits:
            continue
        if not hits & with_muster:
            people = max((s.headcount.get(aid, 0) for s in plant.meta.shifts), default=0)
            findings.append(Finding("area_without_exit", aid, f"area {aid} has no exit: no walkable path leads to a "
                                    f"muster point ({people} people on its largest shift)", "error", _xy(area.geometry)))
            continue
        for i in hits - with_muster:
            pocket = components[i].intersection(area.geometry)
            if pocket.area >= MIN_POCKET_M2:
                findings.append(Finding("enclosed_pocket", aid, f"{pocket.area:.0f} m² of area {aid} are cut off from "
                                        "every muster point", "warning", _xy(pocket)))
    return findings, shapely.union_all(cut) if cut else Polygon()


def _coverage(plant: Plant, rate_kg_s: float) -> tuple[dict[str, float], dict[str, list[str]], list[Finding]]:
    detectors = [s for s in plant.meta.sensors if is_gas_detector(s)]
    reach: dict[str, float] = {}
    for s in detectors:
        try:
            reach[s.id] = detection_reach_m(s, s.gas, rate_kg_s=rate_kg_s) if s.gas else 0.0
        except UnknownSubstance:
            reach[s.id] = 0.0
    covered: dict[str, list[str]] = {}
    findings: list[Finding] = []
    for inv in plant.meta.inventories:
        eq = plant.equipment.get(inv.equipment_id)
        if eq is None:
            continue
        try:
            get_substance(canonical_name(inv.substance))
        except (UnknownSubstance, KeyError):
            findings.append(Finding("unknown_substance", eq.id, f"{eq.id} holds {inv.substance!r}, which the substance "
                                    "table does not know: its detector coverage cannot be judged", "warning",
                                    _xy(eq.footprint)))
            continue
        distance = {s.id: eq.footprint.distance(Point(s.position)) for s in detectors}
        own = {s.id: detection_reach_m(s, inv.substance, rate_kg_s=rate_kg_s) for s in detectors}
        covered[eq.id] = sorted((sid for sid in own if own[sid] > 0 and distance[sid] <= own[sid]),
                                key=distance.get)
        if not covered[eq.id]:
            responding = [sid for sid in own if own[sid] > 0]
            nearest = min(responding, key=distance.get, default=None)
            hint = (f"; the nearest detector that responds, {nearest}, is {distance[nearest]:.0f} m away and "
                    f"reaches {own[nearest]:.0f} m") if nearest else "; no detector on site responds to it"
            findings.append(Finding("uncovered_equipment", eq.id, f"{eq.id} ({inv.substance}): no detector within its "
                                    f"gas's reach{hint}", "error", _xy(eq.footprint)))
    return reach, covered, findings
