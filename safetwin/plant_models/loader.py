"""Load and validate a plant folder into typed plant objects with shapely geometries.

Every problem is reported with its file, feature id and field, and all problems of a plant
are collected before :class:`PlantValidationError` is raised, so one run shows them all.

Example::

    >>> from safetwin.plant_models.loader import bundled_plant_path, load_plant
    >>> plant = load_plant(bundled_plant_path("small_plant"))
    >>> plant.name
    'Small Test Plant'
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import shapely
import yaml
from pydantic import ValidationError
from shapely.geometry import Polygon, shape

from safetwin.errors import IdMap, LocatedValidationError
from .schema import (
    LAYER_GEOMETRIES,
    LAYERS,
    OPTIONAL_LAYERS,
    Area,
    AssemblyPoint,
    Building,
    EmergencyResource,
    Equipment,
    Fence,
    Gate,
    IgnitionSource,
    Inventory,
    MetQuantity,
    MusterPoint,
    PlantMeta,
    Road,
    Sensor,
    SensorType,
    Shift,
    Surrounding,
)

PLANT_FILE = "plant.yaml"
#: Sensor types that must name the gas they measure.
GAS_SENSORS = {SensorType.toxic_gas, SensorType.flammable_gas}
#: Tolerance for "inside the site boundary", m.
BOUNDARY_TOLERANCE_M = 0.5
#: What one feature of each layer is called in a failed look-up ("plant demo_plant has no equipment 'X'").
LAYER_WHAT = {"buildings": "building", "equipment": "equipment", "roads": "road", "fences": "fence",
              "gates": "gate", "areas": "area", "surroundings": "surrounding feature"}


@dataclass(frozen=True)
class Issue:
    """One validation problem, located by file, feature id and field."""

    file: str
    feature: str
    field: str
    message: str

    def __str__(self) -> str:
        """``file: feature 'X': field 'y': message``; a part that does not apply (``-``) is left out.

        >>> str(Issue("plant.yaml", "GD-01", "alarm.high", "must be above warning"))
        "plant.yaml: feature 'GD-01': field 'alarm.high': must be above warning"
        >>> str(Issue("/srv/plants/x", "-", "-", "no such folder"))
        '/srv/plants/x: no such folder'
        """
        where = "".join(f" {what} {value!r}:" for what, value in (("feature", self.feature), ("field", self.field))
                        if value not in ("-", ""))
        return f"{self.file}:{where} {self.message}"


class PlantValidationError(LocatedValidationError):
    """Raised with every :class:`Issue` found in a plant folder."""

    kind = "plant"


@dataclass
class Plant:
    """A validated plant in its local metric frame (x east, y north, m).

    Its features are maps by id (:class:`~safetwin.errors.IdMap`): a wrong id names the closest ones.

    >>> plant = load_plant("small_plant")
    >>> plant.equipment["CL2-DRUM"]
    Traceback (most recent call last):
    ...
    safetwin.errors.UnknownIdError: plant small_plant has no equipment 'CL2-DRUM'; closest: 'CL2-DRUMS'
    """

    path: Path
    meta: PlantMeta
    boundary: Polygon
    buildings: dict[str, Building] = field(default_factory=dict)
    equipment: dict[str, Equipment] = field(default_factory=dict)
    roads: dict[str, Road] = field(default_factory=dict)
    fences: dict[str, Fence] = field(default_factory=dict)
    gates: dict[str, Gate] = field(default_factory=dict)
    areas: dict[str, Area] = field(default_factory=dict)
    surroundings: dict[str, Surrounding] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.meta.id

    @property
    def name(self) -> str:
        return self.meta.name

    @property
    def crs(self) -> str:
        return self.meta.crs

    def _ids(self, what: str, items: Any) -> IdMap[Any]:
        return IdMap(items, what=what, owner=f"plant {self.id}")

    @property
    def sensors(self) -> IdMap[Sensor]:
        return self._ids("sensor", ((s.id, s) for s in self.meta.sensors))

    @property
    def muster_points(self) -> IdMap[MusterPoint]:
        return self._ids("muster point", ((m.id, m) for m in self.meta.muster_points))

    @property
    def assembly_points(self) -> IdMap[AssemblyPoint]:
        return self._ids("assembly point", ((m.id, m) for m in self.meta.assembly_points))

    @property
    def mustering_points(self) -> list[MusterPoint]:
        """Every place where people count as mustered: the on-site muster points, then the off-site
        assembly points (plant order)."""
        return [*self.meta.muster_points, *self.meta.assembly_points]

    @property
    def resources(self) -> IdMap[EmergencyResource]:
        return self._ids("emergency resource", ((r.id, r) for r in self.meta.resources))

    @property
    def inventories(self) -> IdMap[Inventory]:
        return self._ids("inventory at equipment", ((i.equipment_id, i) for i in self.meta.inventories))

    @property
    def shifts(self) -> IdMap[Shift]:
        return self._ids("shift", ((s.name, s) for s in self.meta.shifts))

    @property
    def ignition_sources(self) -> IdMap[IgnitionSource]:
        return self._ids("ignition source", ((s.id, s) for s in self.meta.ignition_sources))

    def ignition_geometry(self, source: IgnitionSource) -> Any:
        """Where an ignition source is (plant frame, m): its point, the equipment's footprint, the
        road's line or the building's polygon."""
        if source.position is not None:
            return shapely.Point(source.position)
        if source.equipment is not None:
            return self.equipment[source.equipment].footprint
        if source.road is not None:
            return self.roads[source.road].geometry
        return self.buildings[source.building].geometry  # type: ignore[index]

    def layer(self, name: str) -> dict[str, Any]:
        """The features of a layer by id (``buildings``, ``equipment``, …)."""
        return getattr(self, name)

    def summary(self) -> dict[str, Any]:
        """Counts and extents for ``safetwin plant info``."""
        minx, miny, maxx, maxy = self.boundary.bounds
        kinds: dict[str, int] = {}
        for e in self.equipment.values():
            kinds[e.kind.value] = kinds.get(e.kind.value, 0) + 1
        sensor_types: dict[str, int] = {}
        for s in self.meta.sensors:
            key = f"{s.type.value}:{s.gas}" if s.gas else s.type.value
            sensor_types[key] = sensor_types.get(key, 0) + 1
        return {
            "id": self.id,
            "name": self.name,
            "crs": self.crs,
            "origin": [self.meta.origin.easting, self.meta.origin.northing],
            "extent_m": [round(maxx - minx, 1), round(maxy - miny, 1)],
            "site_area_ha": round(self.boundary.area / 1e4, 2),
            "layers": {name: len(self.layer(name)) for name in LAYERS},
            "equipment_kinds": kinds,
            "sensors": sensor_types,
            "muster_points": {m.id: m.capacity for m in self.meta.muster_points},
            "assembly_points": {m.id: m.capacity for m in self.meta.assembly_points},
            "resources": {r.kind.value: sum(x.count for x in self.meta.resources if x.kind == r.kind)
                          for r in self.meta.resources},
            "shifts": {s.name: s.total for s in self.meta.shifts},
            "inventories_kg": {i.equipment_id: f"{i.mass_kg:g} {i.substance}" for i in self.meta.inventories},
        }


def _issues_from_pydantic(file: str, feature: str, err: ValidationError, prefix: str = "") -> list[Issue]:
    out = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(root)"
        out.append(Issue(file, feature, f"{prefix}{loc}", e["msg"]))
    return out


def _load_meta(path: Path, issues: list[Issue]) -> PlantMeta | None:
    file = path / PLANT_FILE
    if not file.is_file():
        issues.append(Issue(PLANT_FILE, "-", "-", f"missing {PLANT_FILE} in {path}"))
        return None
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        issues.append(Issue(PLANT_FILE, "-", "-", f"YAML syntax error: {exc}"))
        return None
    if not isinstance(raw, dict):
        issues.append(Issue(PLANT_FILE, "-", "-", "top level must be a mapping"))
        return None
    # Validate; entries of lists (sensors, inventories, ...) that fail are reported and left out,
    # so the rest of the plant can still be cross-checked and every error shown in one run.
    for _ in range(3):
        try:
            return PlantMeta.model_validate(raw)
        except ValidationError as err:
            drop: dict[str, set[int]] = {}
            fatal = False
            for e in err.errors():
                loc = list(e["loc"])
                feature = "-"
                if len(loc) >= 2 and isinstance(loc[1], int) and isinstance(raw.get(loc[0]), list):
                    item = raw[loc[0]][loc[1]]
                    if isinstance(item, dict):
                        feature = str(item.get("id") or item.get("equipment_id") or item.get("name") or f"#{loc[1]}")
                    drop.setdefault(loc[0], set()).add(loc[1])
                else:
                    fatal = True
                issues.append(Issue(PLANT_FILE, feature, ".".join(str(p) for p in loc), e["msg"]))
            if fatal:
                return None
            raw = dict(raw)
            for key, idx in drop.items():
                raw[key] = [item for n, item in enumerate(raw[key]) if n not in idx]
    return None


def _load_layer(path: Path, layer: str, filename: str, issues: list[Issue]) -> dict[str, Any]:
    model = LAYERS[layer]
    file = path / filename
    if not file.is_file():
        if layer not in OPTIONAL_LAYERS:
            issues.append(Issue(filename, "-", "-", f"missing layer file for {layer!r}"))
        return {}
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        issues.append(Issue(filename, "-", "-", f"JSON syntax error at line {exc.lineno}: {exc.msg}"))
        return {}
    if data.get("type") != "FeatureCollection" or not isinstance(data.get("features"), list):
        issues.append(Issue(filename, "-", "type", "must be a GeoJSON FeatureCollection"))
        return {}
    features: dict[str, Any] = {}
    for n, feat in enumerate(data["features"]):
        props = dict(feat.get("properties") or {})
        fid = str(props.get("id") or feat.get("id") or f"#{n}")
        props.setdefault("id", fid)
        geom_json = feat.get("geometry")
        geom = None
        if not geom_json or geom_json.get("type") not in LAYER_GEOMETRIES[layer]:
            got = geom_json.get("type") if geom_json else None
            issues.append(Issue(filename, fid, "geometry", f"expected {'/'.join(LAYER_GEOMETRIES[layer])}, got {got}"))
        else:
            try:
                geom = shape(geom_json)
            except Exception as exc:  # malformed coordinates
                issues.append(Issue(filename, fid, "geometry", f"unreadable geometry: {exc}"))
            else:
                if not geom.is_valid:
                    issues.append(Issue(filename, fid, "geometry", f"invalid geometry: {shapely.is_valid_reason(geom)}"))
        try:
            obj = model.model_validate(props)
        except ValidationError as err:
            issues += _issues_from_pydantic(filename, fid, err, prefix="properties.")
            continue
        if fid in features:
            issues.append(Issue(filename, fid, "id", "duplicate feature id"))
            continue
        obj.geometry = geom
        features[fid] = obj
    return features


def _cross_checks(plant: Plant, files: dict[str, str], issues: list[Issue]) -> None:
    """Rules spanning files: inside the boundary, references resolve, gas named."""
    site = plant.boundary.buffer(BOUNDARY_TOLERANCE_M)
    for layer in ("buildings", "equipment", "gates", "areas", "roads"):
        for fid, obj in plant.layer(layer).items():
            geom = obj.footprint if isinstance(obj, Equipment) else obj.geometry
            if geom is not None and not site.contains(geom):
                issues.append(Issue(files[layer], fid, "geometry", "lies (partly) outside the site boundary"))
    for fid, eq in plant.equipment.items():
        if eq.kind.value in ("atmospheric_tank", "pressurised_sphere", "pressure_vessel", "column") and eq.diameter_m is None:
            issues.append(Issue(files["equipment"], fid, "properties.diameter_m", f"required for kind {eq.kind.value}"))
        if eq.bund_id and eq.bund_id not in plant.equipment:
            issues.append(Issue(files["equipment"], fid, "properties.bund_id", f"unknown bund {eq.bund_id!r}"))
        if eq.area_id and eq.area_id not in plant.areas:
            issues.append(Issue(files["equipment"], fid, "properties.area_id", f"unknown area {eq.area_id!r}"))
    meta = plant.meta
    seen: set[str] = set()
    tags: dict[tuple[str, str, str | None, str], str] = {}
    for s in meta.sensors:
        if s.id in seen:
            issues.append(Issue(PLANT_FILE, s.id, "sensors.id", "duplicate sensor id"))
        seen.add(s.id)
        if s.sparkplug is not None:
            tag = (s.sparkplug.group, s.sparkplug.edge, s.sparkplug.device, s.sparkplug.metric)
            if tag in tags:
                issues.append(Issue(PLANT_FILE, s.id, "sensors.sparkplug",
                                    f"the same Sparkplug metric as sensor {tags[tag]!r}"))
            tags.setdefault(tag, s.id)
        if s.type in GAS_SENSORS and not s.gas:
            issues.append(Issue(PLANT_FILE, s.id, "sensors.gas", f"a {s.type.value} sensor must name its gas"))
        if s.type in GAS_SENSORS and s.alarm is None:
            issues.append(Issue(PLANT_FILE, s.id, "sensors.alarm", "gas detectors need alarm levels"))
        if not site.contains(shapely.Point(s.position)):
            issues.append(Issue(PLANT_FILE, s.id, "sensors.position", "lies outside the site boundary"))
        if s.area_id and s.area_id not in plant.areas:
            issues.append(Issue(PLANT_FILE, s.id, "sensors.area_id", f"unknown area {s.area_id!r}"))
        if s.measures and s.type != SensorType.weather:
            issues.append(Issue(PLANT_FILE, s.id, "sensors.measures", "only a weather station measures met quantities"))
        wind = {MetQuantity.wind_speed, MetQuantity.wind_direction}
        if s.type == SensorType.weather and s.measures and not wind <= set(s.measures):
            issues.append(Issue(PLANT_FILE, s.id, "sensors.measures", "a weather station must measure wind_speed and "
                                                                    "wind_direction"))
    held: set[str] = set()
    for inv in meta.inventories:
        if inv.equipment_id in held:
            issues.append(Issue(PLANT_FILE, inv.equipment_id, "inventories.equipment_id",
                                "a second inventory for the same equipment (one per equipment)"))
        held.add(inv.equipment_id)
        if inv.equipment_id not in plant.equipment:
            issues.append(Issue(PLANT_FILE, inv.equipment_id, "inventories.equipment_id", "unknown equipment"))
    for shift in meta.shifts:
        for area in shift.headcount:
            if area not in plant.areas:
                issues.append(Issue(PLANT_FILE, shift.name, f"shifts.headcount.{area}", "unknown area"))
    for kind, items in (("muster_points", meta.muster_points), ("resources", meta.resources)):
        for item in items:
            if not site.contains(shapely.Point(item.position)):
                issues.append(Issue(PLANT_FILE, item.id, f"{kind}.position", "lies outside the site boundary"))
    places: set[str] = set()
    for m in [*meta.muster_points, *meta.assembly_points]:
        if m.id in places:
            issues.append(Issue(PLANT_FILE, m.id, "assembly_points.id", "the id of another muster or assembly point"))
        places.add(m.id)
    for a in meta.assembly_points:
        if a.gate_id not in plant.gates:
            issues.append(Issue(PLANT_FILE, a.id, "assembly_points.gate_id",
                                f"unknown gate {a.gate_id!r} (gates: {', '.join(sorted(plant.gates)) or 'none'})"))
        elif site.contains(shapely.Point(a.position)):
            issues.append(Issue(PLANT_FILE, a.id, "assembly_points.position",
                                "lies inside the site boundary (an on-site point is a muster point)"))
    for r in meta.resources:
        if r.station_id and r.station_id not in {x.id for x in meta.resources}:
            issues.append(Issue(PLANT_FILE, r.id, "resources.station_id", f"unknown station {r.station_id!r}"))
    if meta.weather_station and meta.weather_station not in seen:
        issues.append(Issue(PLANT_FILE, meta.weather_station, "weather_station", "unknown sensor"))
    ids: set[str] = set()
    for src in meta.ignition_sources:
        if src.id in ids:
            issues.append(Issue(PLANT_FILE, src.id, "ignition_sources.id", "duplicate ignition source id"))
        ids.add(src.id)
        for ref, layer in (("equipment", plant.equipment), ("road", plant.roads), ("building", plant.buildings)):
            value = getattr(src, ref)
            if value is not None and value not in layer:
                issues.append(Issue(PLANT_FILE, src.id, f"ignition_sources.{ref}", f"unknown {ref} {value!r}"))


def bundled_plant_names() -> list[str]:
    """Names of the plants shipped with SafeTwin."""
    root = Path(str(resources.files("safetwin.plant_models")))
    return sorted(p.name for p in root.iterdir() if (p / PLANT_FILE).is_file())


def load_plant(path: str | Path) -> Plant:
    """Load and validate the plant folder at ``path`` (or a bundled plant by name, e.g. ``demo_plant``).

    Raises :class:`PlantValidationError` listing every problem found (file, feature, field).
    """
    path = Path(path)
    issues: list[Issue] = []
    if not path.is_dir() and len(path.parts) == 1 and path.name in bundled_plant_names():
        path = bundled_plant_path(path.name)
    if not path.is_dir():
        why = "no such folder" if not path.exists() else "not a folder"
        raise PlantValidationError(path, [Issue(str(path), "-", "-", f"{why}; give a plant folder (with {PLANT_FILE}) "
                                                                     f"or a bundled plant: {', '.join(bundled_plant_names())}")])
    meta = _load_meta(path, issues)
    files = {layer: (meta.layers.get(layer) if meta else None) or f"{layer}.geojson" for layer in LAYERS}
    layers = {layer: _load_layer(path, layer, files[layer], issues) for layer in LAYERS}
    if meta is None:
        raise PlantValidationError(path, issues)
    boundary = Polygon(meta.site_boundary)
    if not boundary.is_valid or boundary.area <= 0:
        issues.append(Issue(PLANT_FILE, "-", "site_boundary", f"not a valid polygon: {shapely.is_valid_reason(boundary)}"))
        raise PlantValidationError(path, issues)
    owner = f"plant {meta.id}"
    by_id = {layer: IdMap(features, what=LAYER_WHAT.get(layer, layer), owner=owner) for layer, features in layers.items()}
    plant = Plant(path=path, meta=meta, boundary=boundary, **by_id)
    _cross_checks(plant, files, issues)
    if issues:
        raise PlantValidationError(path, issues)
    return plant


def validate_plant(path: str | Path) -> list[Issue]:
    """Every problem of the plant folder at ``path``; an empty list when it is valid."""
    try:
        load_plant(path)
    except PlantValidationError as err:
        return err.issues
    return []


def bundled_plant_path(name: str = "demo_plant") -> Path:
    """Folder of a plant shipped with SafeTwin (``demo_plant`` or ``small_plant``), found through the
    package's resources (an installed wheel and an editable checkout alike)."""
    folder = Path(str(resources.files("safetwin.plant_models").joinpath(name)))
    if not (folder / PLANT_FILE).is_file():
        raise FileNotFoundError(f"no bundled plant {name!r}; bundled plants: {', '.join(bundled_plant_names())}")
    return folder
