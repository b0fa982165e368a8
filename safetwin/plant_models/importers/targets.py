"""What each import target is in the plant format, and raw features → validated plant content.

Targets are the plant layers (:data:`~safetwin.plant_models.schema.LAYERS`), the site boundary,
and plant.yaml's point lists (sensors, muster points, resources). Each raw feature is validated
against its model; a feature that fails is reported with its file, id and field and left out.
Equipment may carry its inventory as ``inventory.substance``, ``inventory.mass_kg``, … properties.

>>> from shapely.geometry import Point
>>> from safetwin.plant_models.importers.features import RawFeature
>>> content = PlantContent()
>>> content.add([RawFeature("muster_points", Point(5, 5), {"id": "MP-1", "capacity": "40"}, "x.dxf", "INSERT 1")],
...             decimals=3)
>>> content.meta["muster_points"], content.errors
([{'id': 'MP-1', 'name': '', 'position': [5.0, 5.0], 'capacity': 40, 'radius_m': 15.0, 'sheltered': False}], [])
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError
from shapely.geometry import mapping

from safetwin.plant_models.loader import Issue
from safetwin.plant_models.schema import (
    LAYER_GEOMETRIES, LAYERS, AlarmLevels, EmergencyResource, Inventory, MusterPoint, Sensor,
)

from .features import RawFeature
from .frame import round_geometry

#: plant.yaml lists whose items are points with a ``position``
POINT_LISTS: dict[str, type[BaseModel]] = {"sensors": Sensor, "muster_points": MusterPoint, "resources": EmergencyResource}
POINT_TARGETS = frozenset({"gates", *POINT_LISTS})
POLYGON_TARGETS = frozenset({"buildings", "areas", "site_boundary"})
INVENTORY_PREFIX = "inventory."
#: flat alarm columns (as exports and tag lists write them) → AlarmLevels fields
ALARM_KEYS = {f"alarm_{k}": k for k in AlarmLevels.model_fields} | {k: k for k in AlarmLevels.model_fields}


def known_fields(target: str) -> set[str]:
    """Property names a target takes (what an attribute or field of the same name maps to)."""
    if target in LAYERS:
        names = set(LAYERS[target].model_fields) - {"geometry"}
        if target == "equipment":
            names |= {INVENTORY_PREFIX + f for f in Inventory.model_fields if f != "equipment_id"}
        return names
    if target in POINT_LISTS:
        names = set(POINT_LISTS[target].model_fields) - {"position"}
        return names | (set(ALARM_KEYS) if target == "sensors" else set())
    return {"id", "name"}


def sensor_record(props: dict[str, Any]) -> dict[str, Any]:
    """Sensor properties with flat alarm levels (``alarm_high`` or ``high``) nested under ``alarm``."""
    out = {k: v for k, v in props.items() if k not in ALARM_KEYS}
    levels = {ALARM_KEYS[k]: v for k, v in props.items() if k in ALARM_KEYS and v not in (None, "")}
    if levels:
        out["alarm"] = levels
    return out


def _errors(file: str, item: str, err: ValidationError, prefix: str) -> list[Issue]:
    return [Issue(file, item, prefix + (".".join(str(p) for p in e["loc"]) or "(root)"), e["msg"]) for e in err.errors()]


@dataclass
class PlantContent:
    """A plant being assembled: plant.yaml's dict and each layer's features (GeoJSON dicts)."""

    meta: dict[str, Any] = field(default_factory=dict)
    layers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    errors: list[Issue] = field(default_factory=list)
    boundary_ref: str | None = None
    imported: set[str] = field(default_factory=set)
    seen: dict[tuple[str, str], str] = field(default_factory=dict)
    """(target, id) → where it came from, for duplicates across the sources of one import"""

    def add(self, features: list[RawFeature], *, decimals: int) -> None:
        """Validate ``features`` and put them in place: the first source of an import that provides a
        layer or list replaces what the starting point had; later sources add to it."""
        provided = {f.target for f in features}
        for target in provided - self.imported:
            if target in LAYERS:
                self.layers[target] = []
            elif target in POINT_LISTS:
                self.meta[target] = []
        self.imported |= provided
        if "equipment" in provided:
            self.meta["inventories"] = [i for i in self.meta.get("inventories", [])
                                        if not any(f.properties.get(INVENTORY_PREFIX + "substance") and
                                                   f.properties.get("id") == i.get("equipment_id") for f in features)]
        seen = self.seen
        for f in features:
            geom = round_geometry(f.geometry, decimals)
            key = (f.target, f.label)
            if f.target != "site_boundary" and key in seen:
                self.errors.append(Issue(f.file, f.label, "id", f"duplicate {f.target} id (also {seen[key]})"))
                continue
            seen[key] = f"{f.file} {f.ref}"
            if f.target == "site_boundary":
                self._boundary(f, geom)
            elif f.target in LAYERS:
                self._layer_feature(f, geom)
            else:
                self._point_item(f, geom)

    def _boundary(self, f: RawFeature, geom) -> None:
        if geom.geom_type != "Polygon":
            self.errors.append(Issue(f.file, f.ref, "geometry", f"the site boundary must be a polygon, got {geom.geom_type}"))
            return
        if self.boundary_ref is not None:
            self.errors.append(Issue(f.file, f.ref, "geometry",
                                     f"a second site boundary; the first ({self.boundary_ref}) is used"))
            return
        self.meta["site_boundary"] = [list(c) for c in geom.exterior.coords]
        self.boundary_ref = f"{f.file} {f.ref}"

    def _layer_feature(self, f: RawFeature, geom) -> None:
        props = {k: v for k, v in f.properties.items() if not k.startswith(INVENTORY_PREFIX)}
        if geom.geom_type not in LAYER_GEOMETRIES[f.target]:
            self.errors.append(Issue(f.file, f.label, "geometry",
                                     f"{f.target} takes {'/'.join(LAYER_GEOMETRIES[f.target])}, got {geom.geom_type}"))
            return
        try:
            obj = LAYERS[f.target].model_validate(props)
        except ValidationError as err:
            self.errors += _errors(f.file, f.label, err, "properties.")
            return
        self.layers[f.target].append({"type": "Feature", "geometry": mapping(geom),
                                      "properties": obj.model_dump(mode="json", exclude_none=True)})
        inventory = {k[len(INVENTORY_PREFIX):]: v for k, v in f.properties.items() if k.startswith(INVENTORY_PREFIX)}
        if inventory:
            try:
                inv = Inventory.model_validate({"equipment_id": obj.id, **inventory})
            except ValidationError as err:
                self.errors += _errors(f.file, f.label, err, INVENTORY_PREFIX)
                return
            self.meta.setdefault("inventories", []).append(inv.model_dump(mode="json"))

    def _point_item(self, f: RawFeature, geom) -> None:
        if geom.geom_type != "Point":
            self.errors.append(Issue(f.file, f.label, "geometry", f"{f.target} are points, got {geom.geom_type}"))
            return
        props = sensor_record(f.properties) if f.target == "sensors" else dict(f.properties)
        try:
            obj = POINT_LISTS[f.target].model_validate({**props, "position": (geom.x, geom.y)})
        except ValidationError as err:
            self.errors += _errors(f.file, f.label, err, f"{f.target}.")
            return
        self.meta[f.target].append(obj.model_dump(mode="json", exclude_none=True))

    def plant_yaml(self) -> dict[str, Any]:
        """plant.yaml's content in the order of the format (schema fields first)."""
        from safetwin.plant_models.schema import PlantMeta

        order = [k for k in PlantMeta.model_fields if k in self.meta]
        return {k: self.meta[k] for k in order} | {k: v for k, v in self.meta.items() if k not in order}
