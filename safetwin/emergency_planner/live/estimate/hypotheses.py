"""The hypotheses the estimator scores: which substance, released where, at which height.

* **Candidate substances**: the plant's substances that an alarming detector responds to; with
  explicit candidate equipment, the substances those items hold; if the plant has none, the gas
  an alarming detector is calibrated for (a release of something the inventory does not list).
* **Candidate equipment**: the items holding a candidate substance, each at its centroid (where
  the planner places releases at that item).
* **Substance groups**: substances the detectors cannot tell apart (the same detectors respond,
  in the same ratios) share one fit, made in the units of the group's first substance.
* **Free points**: a grid of ``grid_spacing_m`` over the plant's boundary box, one copy per group.
* **Release heights**: ``params.release_heights_m``, for every location.

A location has one id across groups: the candidate equipment first (``0 … equipment_count−1``,
in candidate order), then node ``i`` of group ``g``'s grid at ``equipment_count + g·grid_count + i``.

Example::

    >>> from shapely.geometry import box
    >>> free_grid(box(0.0, 0.0, 20.0, 10.0).bounds, spacing_m=10.0).tolist()
    [[0.0, 0.0], [10.0, 0.0], [20.0, 0.0], [0.0, 10.0], [10.0, 10.0], [20.0, 10.0]]
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from safetwin.plant_models.loader import Plant
from safetwin.substances import Substance, get_substance

from ..observations import response_factor
from .detectors import DetectorArrays
from .records import EstimationError


def candidate_equipment(plant: Plant, substances: list[Substance]) -> dict[str, tuple[float, float, Substance]]:
    """Equipment holding one of ``substances``: ``{id: (x_m, y_m, substance)}`` at the equipment
    centroid (where the planner places releases at that item)."""
    names = {s.name for s in substances}
    out = {}
    for equipment_id, inventory in plant.inventories.items():
        try:
            substance = get_substance(inventory.substance)
        except KeyError:
            continue
        if substance.name in names and equipment_id in plant.equipment:
            centroid = plant.equipment[equipment_id].geometry.centroid
            out[equipment_id] = (float(centroid.x), float(centroid.y), substance)
    return out


def plant_substances(plant: Plant) -> list[Substance]:
    """The distinct known substances of the plant's inventories, in inventory order."""
    substances: dict[str, Substance] = {}
    for inventory in plant.inventories.values():
        try:
            substance = get_substance(inventory.substance)
        except KeyError:
            continue
        substances[substance.name] = substance
    return list(substances.values())


@dataclass(frozen=True)
class CandidateSources:
    """The candidate substances and equipment, with the detectors' response to each substance."""

    substances: list[Substance]
    equipment: dict[str, tuple[float, float, Substance]]       # id → (x_m, y_m, substance)
    response: np.ndarray = field(repr=False)                    # (substance_count, detector_count), unit per mg/m³

    @property
    def equipment_ids(self) -> list[str]:
        return list(self.equipment)

    @property
    def substance_names(self) -> list[str]:
        return [s.name for s in self.substances]


def candidate_sources(plant: Plant, detectors: DetectorArrays, alarming_index: np.ndarray, *,
                      candidates: list[str] | None) -> CandidateSources:
    """Candidate substances and equipment for the alarming detectors (see the module docstring);
    ``candidates`` restricts the equipment. Raises :class:`EstimationError` for candidates the
    plant lacks. The substance list is empty when nothing fits."""
    alarming_sensors = [detectors.sensors[k] for k in alarming_index]
    every_substance = plant_substances(plant)
    substances = [s for s in every_substance if any(response_factor(d, s) > 0 for d in alarming_sensors)]
    if candidates is not None:
        unknown = [e for e in candidates if e not in plant.equipment]
        if unknown:
            raise EstimationError(f"candidates: equipment {unknown} not in plant {plant.id!r}")
        equipment = {e: v for e, v in candidate_equipment(plant, every_substance).items() if e in candidates}
        substances = list({v[2].name: v[2] for v in equipment.values()}.values()) or substances
    else:
        equipment = candidate_equipment(plant, substances)
    if not substances:
        substances = _calibration_gas(alarming_sensors)
    response = np.array([[response_factor(d, s) for d in detectors.sensors] for s in substances])
    return CandidateSources(substances=substances, equipment=equipment, response=response)


def _calibration_gas(alarming_sensors: list) -> list[Substance]:
    """The gas of the first alarming detector whose gas is a known substance (or none)."""
    substances: list[Substance] = []
    for sensor in alarming_sensors:
        try:
            substances = [get_substance(sensor.gas)] if sensor.gas else []
        except KeyError:
            substances = []
        if substances:
            break
    return substances


@dataclass(frozen=True)
class SubstanceGroup:
    """Substances the detectors cannot tell apart; fitted once, in units of the first member."""

    index: int                     # position among the groups that some detector responds to
    members: list[int]             # substance indices into CandidateSources.substances
    detector_index: np.ndarray     # the detectors that respond to the group

    @property
    def representative(self) -> int:
        return self.members[0]


def substance_groups(response: np.ndarray) -> list[SubstanceGroup]:
    """Group the substances (rows of ``response``) by which detectors respond and in which
    ratios (to 6 decimals); groups no detector responds to are left out."""
    groups: dict[tuple, list[int]] = {}
    for j in range(response.shape[0]):
        responding = np.flatnonzero(response[j] > 0)
        key = ((tuple(responding), tuple(np.round(response[j, responding] / response[j, responding[0]], 6)))
               if responding.size else ((), ()))
        groups.setdefault(key, []).append(j)
    out: list[SubstanceGroup] = []
    for key, members in groups.items():
        detector_index = np.asarray(key[0], int)
        if detector_index.size:
            out.append(SubstanceGroup(index=len(out), members=members, detector_index=detector_index))
    return out


def free_grid(bounds_m: tuple[float, float, float, float], *, spacing_m: float, margin_m: float = 0.0) -> np.ndarray:
    """Grid nodes (n, 2) every ``spacing_m`` over the box ``(x0, y0, x1, y1)`` widened by
    ``margin_m``, x fastest."""
    x0, y0, x1, y1 = bounds_m
    grid_x = np.arange(x0 - margin_m, x1 + margin_m + 1e-9, spacing_m)
    grid_y = np.arange(y0 - margin_m, y1 + margin_m + 1e-9, spacing_m)
    mesh_x, mesh_y = np.meshgrid(grid_x, grid_y)
    return np.column_stack([mesh_x.ravel(), mesh_y.ravel()])


@dataclass(frozen=True)
class GroupLocations:
    """The candidate locations of one substance group: its grid, then its equipment."""

    xy_m: np.ndarray               # (location_count, 2)
    location_id: np.ndarray        # (location_count,) ids as in the module docstring
    is_equipment: np.ndarray       # (location_count,) bool


def group_locations(group: SubstanceGroup, sources: CandidateSources, grid_xy_m: np.ndarray) -> GroupLocations:
    """The free grid and the candidate equipment holding a member of ``group``."""
    equipment_ids = sources.equipment_ids
    equipment_count = len(equipment_ids)
    grid_count = grid_xy_m.shape[0]
    member_names = [sources.substances[j].name for j in group.members]
    here = [e for e in equipment_ids if sources.equipment[e][2].name in member_names]
    equipment_xy = [np.array([sources.equipment[e][:2] for e in here], float)] if here else []
    xy = np.vstack([grid_xy_m] + equipment_xy)
    location_id = np.r_[equipment_count + group.index * grid_count + np.arange(grid_count),
                        np.array([equipment_ids.index(e) for e in here], int)]
    return GroupLocations(xy_m=xy, location_id=location_id, is_equipment=location_id < equipment_count)


def rate_scale(group: SubstanceGroup, substance: Substance, sources: CandidateSources) -> float:
    """Factor from the group's fitted rate (its representative substance) to ``substance``."""
    named = sources.substance_names.index(substance.name)
    reference_detector = int(np.flatnonzero(sources.response[group.representative] > 0)[0])
    return float(sources.response[group.representative, reference_detector] / sources.response[named, reference_detector])
