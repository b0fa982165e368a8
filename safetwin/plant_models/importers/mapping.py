"""The import mapping file: which sources make a plant, and how their layers, blocks, fields and
columns map onto the plant format (:mod:`safetwin.plant_models.schema`).

One YAML file describes an import; paths in it are relative to the file. Example::

    plant: {id: my_site, name: My site, crs: EPSG:32650, origin: {easting: 671600, northing: 3570400}}
    metadata: site_meta.yaml          # inventories, shifts, ... in plant.yaml's own format
    sources:
      - type: dxf
        file: site_plan.dxf
        frame: {units: mm, rotation_deg: 30, drawing_origin: [120000, 45000]}
        layers:
          - {layer: SITE, to: site_boundary}
          - {layer: BUILDINGS, to: buildings, labels: {block: BLDG_TAG},
             attributes: {TAG: id, NAME: name, HEIGHT_M: height_m}}
          - {layer: TANKS, to: equipment, blocks: [TANK], attributes: {TAG: id, DIA_M: diameter_m}}
      - {type: gis, file: survey.gpkg, layers: [{layer: roads, to: roads, fields: {ROAD_ID: id}}]}
      - {type: osm, file: surroundings.osm}
      - {type: tags, file: gds_export.xlsx, sheet: GDS,
         columns: {Tag: id, Type: type, Gas: gas, Unit: unit, AL1: warning, AL2: high, AL3: high_high, X: x, Y: y}}

>>> spec = ImportSpec.model_validate({"plant": {"id": "p", "crs": "EPSG:32650"},
...     "sources": [{"type": "tags", "file": "gds.csv", "columns": {"Tag": "id"}}]})
>>> spec.sources[0].type, spec.sources[0].header_row
('tags', 1)
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from safetwin.errors import LocatedValidationError

#: What a mapped layer, block or table can become: a plant layer, the site boundary, or one of
#: plant.yaml's point lists.
Target = Literal["buildings", "equipment", "roads", "fences", "gates", "areas", "surroundings",
                 "site_boundary", "sensors", "muster_points", "resources"]
#: Drawing units and their length in metres.
UNIT_M: dict[str, float] = {"mm": 0.001, "cm": 0.01, "m": 1.0, "km": 1000.0, "in": 0.0254, "ft": 0.3048}


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ControlPoint(_Spec):
    """A surveyed point: its drawing coordinates and where it is, in the plant frame (``local``, m)
    or in the plant's projected CRS (``projected``: easting, northing in m)."""

    drawing: tuple[float, float]
    local: tuple[float, float] | None = None
    projected: tuple[float, float] | None = None

    @model_validator(mode="after")
    def _one_target(self) -> ControlPoint:
        if (self.local is None) == (self.projected is None):
            raise ValueError("give exactly one of local or projected")
        return self


class DrawingFrame(_Spec):
    """How drawing coordinates map to the plant frame: ``local = R(rotation) · scale · (p − drawing_origin)``.

    ``rotation_deg`` is counter-clockwise from east to the drawing's x axis (a site grid turned
    30° from east has 30). With ``control_points`` (two or more) rotation and origin are fitted
    instead (scale stays the drawing units' unless ``fit_scale``) and the residuals reported.
    """

    units: Literal["mm", "cm", "m", "km", "in", "ft"] | None = Field(
        default=None, description="drawing units; None: the DXF header's $INSUNITS")
    rotation_deg: float = 0.0
    drawing_origin: tuple[float, float] = (0.0, 0.0)
    control_points: list[ControlPoint] = Field(default_factory=list)
    fit_scale: bool = False
    max_residual_m: float = Field(default=0.1, gt=0, description="control-point residual that is reported")

    @model_validator(mode="after")
    def _enough_points(self) -> DrawingFrame:
        if len(self.control_points) == 1:
            raise ValueError("one control point fixes no rotation: give two or more, or none")
        return self


class LabelRule(_Spec):
    """Where a polygon's or line's properties come from: an attribute block inserted inside the
    polygon (or within ``max_distance_m`` of the line), and/or a TEXT/MTEXT giving its id."""

    block: str | None = Field(default=None, description="name (pattern) of the label block")
    layer: str | None = Field(default=None, description="layer of the labels; default: the rule's layer")
    text: bool = Field(default=False, description="TEXT/MTEXT inside give the id")
    max_distance_m: float = Field(default=2.0, gt=0)


class DxfLayerRule(_Spec):
    """Entities on ``layer`` (a pattern, case-insensitive) → features of ``to``.

    Closed polylines, hatches and circles give polygons (circles give points with ``diameter_m``
    for equipment and point layers); open polylines and lines give lines; block references
    (INSERT) give points with their attributes. ``blocks`` limits the rule to those blocks,
    ``entities`` to those DXF types.
    """

    layer: str = "*"
    to: Target
    blocks: list[str] = Field(default_factory=list)
    entities: list[str] = Field(default_factory=list)
    attributes: dict[str, str] = Field(default_factory=dict, description="attribute tag → property")
    defaults: dict[str, Any] = Field(default_factory=dict)
    labels: LabelRule | None = None
    id_prefix: str | None = Field(default=None, description="ids for unlabelled features: <prefix>-<handle>")


class DxfSource(_Spec):
    type: Literal["dxf"]
    file: str
    frame: DrawingFrame = Field(default_factory=DrawingFrame)
    layers: list[DxfLayerRule] = Field(min_length=1)
    flatten_m: float = Field(default=0.05, gt=0, description="largest chord error when arcs become segments")


class GisLayerRule(_Spec):
    """A layer of a GeoPackage, a Shapefile, or a GeoJSON file (``layer`` = the file's stem)."""

    layer: str
    to: Target
    fields: dict[str, str] = Field(default_factory=dict, description="source field → property")
    defaults: dict[str, Any] = Field(default_factory=dict)


class GisSource(_Spec):
    """A GeoPackage, Shapefile or GeoJSON file, or a folder of them, in any CRS."""

    type: Literal["gis"]
    file: str
    crs: str | None = Field(default=None, description="CRS of files that declare none (e.g. a .shp without .prj)")
    layers: list[GisLayerRule] = Field(default_factory=list, description="empty: a SafeTwin export")


class OsmSource(_Spec):
    """An OpenStreetMap XML extract (``.osm``) of the surroundings, read from a local file."""

    type: Literal["osm"]
    file: str
    within_m: float | None = Field(default=None, gt=0, description="keep features this close to the site")
    keys: dict[str, str] = Field(default_factory=dict, description="extra OSM key → surroundings kind")


class TagListSource(_Spec):
    """A detector and tag list (CSV or XLSX) as a DCS/GDS exports it: one detector per row."""

    type: Literal["tags"]
    file: str
    sheet: str | None = Field(default=None, description="XLSX sheet; default: the first")
    header_row: int = Field(default=1, ge=1)
    encoding: str = "utf-8-sig"
    columns: dict[str, str] = Field(description="column header → sensor field (id, type, gas, unit, range_min, "
                                                "range_max, warning, high, high_high, x, y, height_m, equipment, "
                                                "area_id, period_s)")
    values: dict[str, dict[str, str]] = Field(default_factory=dict, description="field → {source value: value}")
    position_crs: str = Field(default="local", description="'local' (plant frame, m) or the EPSG code of x/y")


Source = Annotated[DxfSource | GisSource | OsmSource | TagListSource, Field(discriminator="type")]


class PlantHeader(_Spec):
    """plant.yaml's header; what is left out comes from ``metadata`` or ``base_plant``."""

    id: str | None = Field(default=None, pattern=r"^[a-z0-9_\-]+$")
    name: str | None = None
    description: str | None = None
    crs: str | None = Field(default=None, pattern=r"^EPSG:\d{4,5}$")
    origin: dict[str, float] | None = None


class ImportSpec(_Spec):
    """One import: the plant header, optional starting points, and the sources in order (later
    sources replace the layers and lists they provide)."""

    plant: PlantHeader = Field(default_factory=PlantHeader)
    metadata: str | None = Field(default=None, description="a YAML file in plant.yaml's format (inventories, shifts, ...)")
    base_plant: str | None = Field(default=None, description="a plant folder to start from")
    sources: list[Source] = Field(default_factory=list)
    coordinate_decimals: int = Field(default=3, ge=0, le=9, description="local coordinates rounded to this (m)")


class MappingError(LocatedValidationError):
    """An import mapping file that cannot be read, with every problem located."""

    kind = "import mapping"


def load_spec(path: str | Path) -> ImportSpec:
    """Read and validate an import mapping file; :class:`MappingError` lists every problem."""
    from safetwin.plant_models.loader import Issue

    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise MappingError(path, [Issue(path.name, "-", "-", str(exc))]) from None
    try:
        return ImportSpec.model_validate(raw or {})
    except ValidationError as err:
        raise MappingError(path, [Issue(path.name, "-", ".".join(str(p) for p in e["loc"]) or "(root)", e["msg"])
                                  for e in err.errors()]) from None
