"""Pydantic models of a plant: the YAML metadata file and the GeoJSON geometry layers.

A plant folder holds ``plant.yaml`` and one GeoJSON file per layer (``buildings``,
``equipment``, ``roads``, ``fences``, ``gates``, ``areas``, and the optional ``surroundings``:
off-site roads, buildings and land use for receptors and approach routes). Layer coordinates are in the
plant's local metric frame (x east, y north, metres from ``origin``); ``crs`` names the
projected CRS the origin is given in, so exports can be written in WGS84.

Example::

    from safetwin.plant_models.loader import load_plant
    plant = load_plant("demo_plant")
    plant.equipment["TK-101"].geometry.centroid
"""
from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Coordinate = tuple[float, float]
PositiveM = Annotated[float, Field(gt=0)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, frozen=False)


class _Feature(_Model):
    """A GeoJSON feature's properties; ``geometry`` is a shapely geometry in the local frame."""

    id: str = Field(min_length=1)
    name: str = ""
    geometry: Any = Field(default=None, exclude=True)


# ----------------------------------------------------------------------------- layers


class BuildingKind(str, Enum):
    control_room = "control_room"
    admin = "admin"
    workshop = "workshop"
    warehouse = "warehouse"
    process = "process"
    laboratory = "laboratory"
    fire_station = "fire_station"
    substation = "substation"
    canteen = "canteen"
    gatehouse = "gatehouse"
    drum_store = "drum_store"
    other = "other"


class Building(_Feature):
    """A building footprint (Polygon) with its height."""

    kind: BuildingKind = BuildingKind.other
    height_m: PositiveM
    floors: int = Field(default=1, ge=1)
    air_changes_per_h: float = Field(default=1.0, gt=0, description="indoor air exchange, 1/h")
    occupied: bool = True


class EquipmentKind(str, Enum):
    atmospheric_tank = "atmospheric_tank"
    pressurised_sphere = "pressurised_sphere"
    pressure_vessel = "pressure_vessel"
    drum_store = "drum_store"
    refrigeration_unit = "refrigeration_unit"
    process_unit = "process_unit"
    column = "column"
    pipe_rack = "pipe_rack"
    loading_bay = "loading_bay"
    bund = "bund"
    pump = "pump"


class Equipment(_Feature):
    """A piece of equipment. Tanks/spheres/vessels are Points (centre) with a diameter;
    racks are LineStrings with a width; units, bays and bunds are Polygons."""

    kind: EquipmentKind
    height_m: PositiveM
    diameter_m: PositiveM | None = None
    width_m: PositiveM | None = None
    volume_m3: PositiveM | None = None
    area_id: str | None = None
    bund_id: str | None = Field(default=None, description="the bund this tank stands in")
    bund_wall_height_m: PositiveM | None = None
    design_pressure_pa: PositiveM | None = None

    @property
    def footprint(self):
        """Footprint polygon: buffered point/line for tanks and racks, the polygon otherwise."""
        geom = self.geometry
        if geom.geom_type == "Point":
            return geom.buffer((self.diameter_m or 1.0) / 2.0, quad_segs=16)
        if geom.geom_type in ("LineString", "MultiLineString"):
            return geom.buffer((self.width_m or 1.0) / 2.0, cap_style="flat")
        return geom


class RoadKind(str, Enum):
    road = "road"
    walkway = "walkway"
    stair = "stair"


class Road(_Feature):
    """A road or walkway centreline (LineString)."""

    kind: RoadKind = RoadKind.road
    width_m: PositiveM = 6.0
    emergency_route: bool = False


class Fence(_Feature):
    """A fence line (LineString); people cannot cross it except at gates."""

    height_m: PositiveM = 2.5


class GateKind(str, Enum):
    main = "main"
    emergency = "emergency"
    service = "service"


class Gate(_Feature):
    """A gate in the fence (Point)."""

    kind: GateKind
    width_m: PositiveM = 6.0
    vehicles: bool = True


class Area(_Feature):
    """A named work area (Polygon) — what occupancy and shifts are counted by."""

    kind: Literal["process", "storage", "utilities", "office", "workshop", "logistics", "other"] = "other"
    owner: str = ""


class SurroundingKind(str, Enum):
    road = "road"
    railway = "railway"
    building = "building"
    landuse = "landuse"
    water = "water"
    amenity = "amenity"
    other = "other"


class Surrounding(_Feature):
    """An off-site feature (Polygon, LineString or Point, local frame, may lie outside the site):
    a road (approach route), a building or a land-use parcel (off-site receptors).

    ``category`` is the source's own class (OpenStreetMap ``highway=primary`` → ``primary``,
    ``landuse=residential`` → ``residential``); ``source`` names where the feature came from
    (``osm:way/123``, ``gis:roads.gpkg:5``)."""

    kind: SurroundingKind = SurroundingKind.other
    category: str = ""
    source: str = ""
    height_m: PositiveM | None = None
    levels: int | None = Field(default=None, ge=1)


LAYERS: dict[str, type[_Feature]] = {
    "buildings": Building,
    "equipment": Equipment,
    "roads": Road,
    "fences": Fence,
    "gates": Gate,
    "areas": Area,
    "surroundings": Surrounding,
}

#: Layers a plant folder may leave out (an absent file means an empty layer).
OPTIONAL_LAYERS: frozenset[str] = frozenset({"surroundings"})

#: GeoJSON geometry types each layer accepts.
LAYER_GEOMETRIES: dict[str, tuple[str, ...]] = {
    "buildings": ("Polygon", "MultiPolygon"),
    "equipment": ("Point", "LineString", "Polygon", "MultiPolygon"),
    "roads": ("LineString", "MultiLineString"),
    "fences": ("LineString", "MultiLineString"),
    "gates": ("Point",),
    "areas": ("Polygon", "MultiPolygon"),
    "surroundings": ("Point", "LineString", "MultiLineString", "Polygon", "MultiPolygon"),
}

# ----------------------------------------------------------------------------- metadata


class Origin(_Model):
    """Projected coordinates (in ``crs``) of the local frame's (0, 0)."""

    easting: float
    northing: float


class Phase(str, Enum):
    liquid = "liquid"
    gas = "gas"
    liquefied_gas = "liquefied_gas"


class Inventory(_Model):
    """A hazardous inventory held in one piece of equipment."""

    equipment_id: str
    substance: str = Field(min_length=1)
    mass_kg: PositiveM
    phase: Phase
    temperature_k: PositiveM = 293.15
    pressure_pa: PositiveM = 101_325.0


class SensorType(str, Enum):
    toxic_gas = "toxic_gas"
    flammable_gas = "flammable_gas"
    oxygen = "oxygen"
    flame = "flame"
    smoke = "smoke"
    heat = "heat"
    weather = "weather"


class AlarmLevels(_Model):
    """Alarm set-points in the sensor's unit, warning ≤ high ≤ high_high."""

    warning: float = Field(ge=0)
    high: float = Field(ge=0)
    high_high: float = Field(ge=0)

    @field_validator("high_high")
    @classmethod
    def _ordered(cls, v: float, info) -> float:
        d = info.data
        if "warning" in d and "high" in d and not (d["warning"] <= d["high"] <= v):
            raise ValueError("alarm levels must satisfy warning <= high <= high_high")
        return v


class MetQuantity(str, Enum):
    """What a meteorological station measures (at the station's ``height_m`` unless stated):
    the quantities of its observation record on MQTT (``docs/mqtt-topics.md``)."""

    wind_speed = "wind_speed"              # scalar mean over the averaging period, m/s
    wind_direction = "wind_direction"      # mean FROM direction, degrees clockwise from north
    sigma_theta = "sigma_theta"            # standard deviation of the wind azimuth over the period, degrees
    temperature = "temperature"            # air temperature, °C
    solar_radiation = "solar_radiation"    # total (global) solar radiation, W/m²
    delta_t = "delta_t"                    # temperature difference between 10 m and 2 m, K


class SparkplugTag(_Model):
    """Where a sensor's value arrives over Sparkplug B: the metric ``metric`` (its full name, e.g.
    ``Gas/GD-01``) of the edge node ``edge`` in the Sparkplug group ``group``, published by the
    node itself (``device`` None: NBIRTH/NDATA) or by one of its devices (DBIRTH/DDATA). Ids follow
    the Sparkplug topic rules: UTF-8 without ``/``, ``+`` or ``#``."""

    group: str = Field(min_length=1, max_length=64, pattern=r"^[^/+#]+$")
    edge: str = Field(min_length=1, max_length=60, pattern=r"^[^/+#]+$")
    device: str | None = Field(default=None, min_length=1, max_length=60, pattern=r"^[^/+#]+$")
    metric: str = Field(min_length=1, max_length=256)


class Sensor(_Model):
    """A fixed detector or station. ``position`` is local (x, y) in m; ``height_m`` is the height
    of the head (a met station: of its wind sensors). A ``weather`` station lists what it
    ``measures``; ``calibration_due`` is when the sensor must be calibrated again (past it, the
    sensor is not trusted to vote for an incident)."""

    id: str = Field(min_length=1)
    type: SensorType
    gas: str | None = None
    unit: Literal["ppm", "%LEL", "%vol", "mg/m3", "degC", "kW/m2", "binary", "met"] = "ppm"
    position: Coordinate
    height_m: float = Field(default=0.5, ge=0)
    range_min: float = 0.0
    range_max: float = 100.0
    alarm: AlarmLevels | None = None
    area_id: str | None = None
    period_s: float = Field(default=5.0, gt=0, description="reporting period")
    measures: list[MetQuantity] = Field(default_factory=list, description="quantities a weather station measures")
    calibration_due: datetime | None = Field(
        default=None, description="when the detector's calibration falls due (timezone-aware); past it the head's "
                                  "readings are suspect and it does not vote for an incident")
    sparkplug: SparkplugTag | None = Field(
        default=None, description="the Sparkplug B metric that carries this sensor's value (group, edge, device, metric)")

    @field_validator("gas")
    @classmethod
    def _gas_stripped(cls, v: str | None) -> str | None:
        return v.strip() if v else v

    @field_validator("calibration_due")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("calibration_due needs a time zone (e.g. 2026-03-01T00:00:00Z)")
        return v

    @field_validator("measures", mode="before")
    @classmethod
    def _measures_from_text(cls, v: Any) -> Any:
        """A flat format (tag list, GeoPackage column) writes the list as text: ``wind_speed, wind_direction``."""
        if isinstance(v, str):
            return [part for part in v.replace(";", ",").replace(" ", ",").split(",") if part]
        return v


class MusterPoint(_Model):
    """An on-site muster point: a disc of ``radius_m`` (m) around ``position`` (local m) inside the
    site, for ``capacity`` people."""

    id: str = Field(min_length=1)
    name: str = ""
    position: Coordinate
    capacity: int = Field(gt=0)
    radius_m: PositiveM = 15.0
    sheltered: bool = False


class AssemblyPoint(MusterPoint):
    """An off-site assembly point, reached through the gate ``gate_id`` (a feature of the gates
    layer) along a straight approach corridor of the gate's width from the gate to ``position``.
    It may lie outside the site boundary. The recommendations send people here only when no
    on-site muster point is clean (:mod:`safetwin.emergency_planner.recommend.muster`); people
    inside its disc count as mustered. The drills' evacuation simulator uses the on-site muster
    points only."""

    gate_id: str = Field(min_length=1, description="the gate the point is reached through")


class ResourceKind(str, Enum):
    fire_station = "fire_station"
    fire_engine = "fire_engine"
    hydrant = "hydrant"
    monitor = "monitor"
    scba_store = "scba_store"
    first_aid = "first_aid"
    foam_store = "foam_store"


class EmergencyResource(_Model):
    id: str = Field(min_length=1)
    kind: ResourceKind
    position: Coordinate
    count: int = Field(default=1, ge=1)
    station_id: str | None = None
    flow_l_min: float | None = Field(default=None, gt=0)


class Shift(_Model):
    """A shift and its head-count per work area."""

    name: str
    start: str = Field(pattern=r"^\d{2}:\d{2}$")
    end: str = Field(pattern=r"^\d{2}:\d{2}$")
    headcount: dict[str, int]

    @field_validator("headcount")
    @classmethod
    def _non_negative(cls, v: dict[str, int]) -> dict[str, int]:
        bad = [k for k, n in v.items() if n < 0]
        if bad:
            raise ValueError(f"negative head-count for areas {bad}")
        return v

    @property
    def total(self) -> int:
        return sum(self.headcount.values())


class IgnitionSourceKind(str, Enum):
    fired_heater = "fired_heater"
    boiler = "boiler"
    flare = "flare"
    road = "road"
    building = "building"
    hot_work_area = "hot_work_area"
    electrical = "electrical"
    other = "other"


class IgnitionSource(_Model):
    """A place that ignites a flammable cloud reaching it (delayed ignition, TNO Purple Book CPR 18E
    ch. 4: ignition sources on the map, each with a probability of igniting a cloud that covers it).

    Where: exactly one of ``position`` (a point, m), ``equipment`` (its footprint), ``road`` (its
    line) or ``building`` (its polygon). ``probability``: that the source ignites a cloud covering it
    (the Purple Book gives it for one minute of exposure); ``presence_fraction``: the fraction of
    time the source is there or active (traffic, intermittent hot work). An extended source counts
    with the fraction of it the cloud covers."""

    id: str = Field(min_length=1)
    kind: IgnitionSourceKind = IgnitionSourceKind.other
    probability: float = Field(gt=0, le=1, description="ignition of a cloud covering the source")
    presence_fraction: float = Field(default=1.0, gt=0, le=1, description="fraction of time present/active")
    position: Coordinate | None = None
    equipment: str | None = None
    road: str | None = None
    building: str | None = None
    note: str = ""

    @model_validator(mode="after")
    def _one_place(self) -> IgnitionSource:
        given = [k for k in ("position", "equipment", "road", "building") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of position, equipment, road, building (got {given or 'none'})")
        return self


class PlantMeta(_Model):
    """The contents of ``plant.yaml``."""

    schema_version: Literal[1] = 1
    id: str = Field(min_length=1, pattern=r"^[a-z0-9_\-]+$")
    name: str
    description: str = ""
    crs: str = Field(pattern=r"^EPSG:\d{4,5}$", description="projected CRS, e.g. EPSG:32650")
    origin: Origin
    site_boundary: list[Coordinate] = Field(min_length=4)
    layers: dict[str, str] = Field(default_factory=dict, description="layer name -> file, defaults to <layer>.geojson")
    inventories: list[Inventory] = Field(default_factory=list)
    sensors: list[Sensor] = Field(default_factory=list)
    muster_points: list[MusterPoint] = Field(default_factory=list)
    assembly_points: list[AssemblyPoint] = Field(
        default_factory=list, description="off-site assembly points, each reached through a gate")
    resources: list[EmergencyResource] = Field(default_factory=list)
    shifts: list[Shift] = Field(default_factory=list)
    weather_station: str | None = Field(default=None, description="id of the met sensor")
    ignition_sources: list[IgnitionSource] = Field(default_factory=list,
                                                   description="delayed-ignition sources (QRA event trees)")
