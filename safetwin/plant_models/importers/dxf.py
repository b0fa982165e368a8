"""CAD site plans (DXF, read with ezdxf) → plant features in the local frame.

Each entity of the model space is taken by the first layer rule it matches
(:class:`~.mapping.DxfLayerRule`): closed polylines, hatches and circles become polygons, open
polylines, lines and arcs lines, block references (INSERT) points with their attributes; circles
on point layers become points with their diameter. Polygons and lines get their properties from
label blocks (attribute blocks inserted inside them, or near the line) or TEXT giving the id.
Drawing units and the site frame (rotation, origin or surveyed control points) take the
coordinates to the plant frame. Every entity that no rule takes, every label that labels
nothing and every attribute that maps to nothing is reported.

Example (a one-building drawing in millimetres)::

    >>> import ezdxf, tempfile, pathlib
    >>> doc = ezdxf.new(units=4)
    >>> msp = doc.modelspace()
    >>> _ = msp.add_lwpolyline([(0, 0), (20000, 0), (20000, 10000), (0, 10000)], close=True,
    ...                        dxfattribs={"layer": "BLDG"})
    >>> _ = msp.add_text("B-1", dxfattribs={"layer": "BLDG"}).set_placement((5000, 5000))
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "plan.dxf"
    >>> doc.saveas(path)
    >>> from safetwin.plant_models.importers.mapping import DxfSource
    >>> src = DxfSource.model_validate({"type": "dxf", "file": str(path), "layers": [
    ...     {"layer": "BLDG", "to": "buildings", "labels": {"text": True}, "defaults": {"height_m": 6}}]})
    >>> res = read_dxf(src, base_dir=path.parent)
    >>> f = res.features[0]
    >>> f.properties["id"], f.geometry.area, res.errors, res.unmapped
    ('B-1', 200.0, [], [])
"""
from __future__ import annotations

import fnmatch
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

from .features import SourceResult
from .frame import PlantFrame, SimilarityTransform, fit_control_points, frame_from_origin
from .mapping import UNIT_M, DxfLayerRule, DxfSource
from .targets import POINT_TARGETS, POLYGON_TARGETS, known_fields

#: $INSUNITS codes (DXF reference, HEADER section) → unit names of :data:`.mapping.UNIT_M`
INSUNITS = {1: "in", 2: "ft", 4: "mm", 5: "cm", 6: "m", 7: "km"}
#: entity types that carry geometry
GEOMETRIC = {"LWPOLYLINE", "POLYLINE", "LINE", "ARC", "CIRCLE", "ELLIPSE", "SPLINE", "HATCH", "INSERT", "POINT"}
TEXTS = {"TEXT", "MTEXT"}
#: targets on which a circle is a point with its size (a tank, a pump, a muster point's radius)
CIRCLE_POINT_TARGETS = POINT_TARGETS | {"equipment"}


def _match(pattern: str, name: str) -> bool:
    return fnmatch.fnmatchcase(name.upper(), pattern.upper())


def _ref(entity) -> str:
    return f"{entity.dxftype()} {entity.dxf.handle}"


@dataclass
class _Label:
    point: Point
    values: dict[str, str]
    ref: str
    used: bool = False


@dataclass
class _Pending:
    """A feature entity waiting for its label."""

    rule: int
    geometry: BaseGeometry
    properties: dict[str, Any]
    ref: str
    labels: list[_Label] = field(default_factory=list)


def drawing_transform(source: DxfSource, doc, plant: PlantFrame | None, result: SourceResult) -> SimilarityTransform | None:
    """The drawing → plant-frame transform of ``source`` (None, with an error, if it cannot be set up)."""
    frame = source.frame
    units = frame.units or INSUNITS.get(int(doc.header.get("$INSUNITS", 0)))
    if units is None and not (frame.control_points and frame.fit_scale):
        result.error("-", "frame.units", "drawing units unknown: the DXF header has no $INSUNITS; give frame.units")
        return None
    scale = UNIT_M[units] if units else None
    if not frame.control_points:
        return frame_from_origin(scale=scale, rotation_deg=frame.rotation_deg, drawing_origin=frame.drawing_origin)
    targets = []
    for k, cp in enumerate(frame.control_points):
        if cp.local is not None:
            targets.append(cp.local)
        elif plant is None:
            result.error(f"control point {k}", "projected", "projected control points need the plant's crs and origin")
            return None
        else:
            targets.append(tuple(plant.local_from_projected(cp.projected)[0]))
    t = fit_control_points([cp.drawing for cp in frame.control_points], targets,
                           scale=None if frame.fit_scale else scale)
    if t.max_residual_m > frame.max_residual_m:
        result.error("-", "frame.control_points", f"control points disagree by up to {t.max_residual_m:.3f} m "
                     f"(more than {frame.max_residual_m} m): check them")
    return t


def _vertices(entity, flatten: float) -> np.ndarray:
    from ezdxf import path as dxfpath

    p = dxfpath.make_path(entity)
    return np.array([(v.x, v.y) for v in p.flattening(flatten)], float)


def _entity_geometry(entity, flatten: float) -> list[tuple[BaseGeometry, float | None]]:
    """Drawing-frame geometries of an entity and, for circles, their radius (drawing units)."""
    kind = entity.dxftype()
    if kind in ("INSERT", "POINT"):
        loc = entity.dxf.insert if kind == "INSERT" else entity.dxf.location
        return [(Point(loc.x, loc.y), None)]
    if kind == "CIRCLE":
        c = entity.dxf.center
        return [(Point(c.x, c.y), float(entity.dxf.radius))]
    if kind == "HATCH":
        from ezdxf import path as dxfpath

        rings = [np.array([(v.x, v.y) for v in p.flattening(flatten)], float) for p in dxfpath.from_hatch(entity)]
        rings = [r for r in rings if len(r) >= 3]
        if not rings:
            return []
        # the largest loop is the outline, loops inside it are holes (islands are not nested deeper here)
        polys = sorted((Polygon(r) for r in rings), key=lambda p: -p.area)
        outer = polys[0]
        holes = [p.exterior.coords for p in polys[1:] if outer.contains(p)]
        return [(Polygon(outer.exterior.coords, holes), None)]
    xy = _vertices(entity, flatten)
    if len(xy) < 2:
        return []
    closed = bool(getattr(entity, "closed", False) or getattr(entity, "is_closed", False))
    if closed or (len(xy) >= 4 and np.allclose(xy[0], xy[-1])):
        return [(Polygon(xy), None)]
    return [(LineString(xy), None)]


def _as_target(geom: BaseGeometry, target: str) -> BaseGeometry | str:
    """The geometry a target takes, or why it cannot."""
    if target in POINT_TARGETS:
        return geom if geom.geom_type == "Point" else f"a {geom.geom_type} cannot be a point of {target}"
    if target in POLYGON_TARGETS:
        if geom.geom_type == "Polygon":
            return geom
        if geom.geom_type == "LineString" and geom.is_ring:
            return Polygon(geom.coords)
        return f"a {geom.geom_type} cannot be an outline of {target} (open polyline?)"
    if target in ("roads", "fences"):
        if geom.geom_type == "Polygon":
            return LineString(geom.exterior.coords)
        return geom if geom.geom_type == "LineString" else f"a {geom.geom_type} cannot be a line of {target}"
    return geom


def _attributes(entity) -> dict[str, str]:
    if entity.dxftype() == "INSERT":
        return {a.dxf.tag.upper(): a.dxf.text for a in entity.attribs}
    if entity.dxftype() == "MTEXT":
        return {"TEXT": entity.plain_text().strip()}
    return {"TEXT": entity.dxf.text.strip()}


class _Mapper:
    """Attribute tags → properties of one rule; unknown tags counted for the report."""

    def __init__(self, rules: list[DxfLayerRule]) -> None:
        self.rules = rules
        self.unknown: Counter[tuple[int, str]] = Counter()

    def properties(self, k: int, values: dict[str, str]) -> dict[str, Any]:
        rule = self.rules[k]
        amap = {tag.upper(): prop for tag, prop in rule.attributes.items()}
        fields = known_fields(rule.to)
        out: dict[str, Any] = {}
        for tag, text in values.items():
            prop = amap.get(tag) or (tag.lower() if tag.lower() in fields else None)
            if tag == "TEXT" and prop is None:
                prop = "id"
            if prop is None:
                self.unknown[(k, tag)] += 1
            elif str(text).strip() != "":
                out[prop] = str(text).strip()
        return out


def read_dxf(source: DxfSource, *, base_dir: Path, plant: PlantFrame | None = None) -> SourceResult:
    """Features of a DXF file in the plant frame, with every entity accounted for."""
    import ezdxf

    path = Path(base_dir) / source.file
    result = SourceResult(path.name)
    try:
        doc = ezdxf.readfile(path)
    except (OSError, ezdxf.DXFStructureError) as exc:
        result.error("-", "-", f"cannot read DXF: {exc}")
        return result
    transform = drawing_transform(source, doc, plant, result)
    if transform is None:
        return result
    flatten = source.flatten_m / transform.scale  # chord error in drawing units
    rules = source.layers
    mapper = _Mapper(rules)
    labels: dict[int, list[_Label]] = {k: [] for k in range(len(rules))}
    pending: list[_Pending] = []
    unmatched: Counter[tuple[str, str]] = Counter()
    for entity in doc.modelspace():
        kind, layer = entity.dxftype(), entity.dxf.layer
        k = _label_rule(rules, entity)
        if k is not None:
            pt = _entity_geometry(entity, flatten)[0][0] if kind == "INSERT" else Point(
                *(entity.dxf.insert.x, entity.dxf.insert.y))
            labels[k].append(_Label(transform.geometry(pt), _attributes(entity), _ref(entity)))
            continue
        k = _feature_rule(rules, entity)
        if k is None:
            reason = "a text that labels nothing" if kind in TEXTS else (
                f"no rule for layer {layer!r}" if kind in GEOMETRIC else f"{kind} entities are not read")
            unmatched[(layer, reason)] += 1
            result.not_mapped(_ref(entity), "layer", f"{reason} (layer {layer!r})")
            continue
        try:
            parts = _entity_geometry(entity, flatten)
        except Exception as exc:  # a malformed entity is reported, the rest of the drawing still imports
            result.error(_ref(entity), "geometry", f"unreadable {kind}: {exc}")
            continue
        if not parts:
            result.error(_ref(entity), "geometry", f"empty {kind}")
            continue
        rule = rules[k]
        for geom, radius in parts:
            props = dict(rule.defaults)
            if radius is not None and rule.to in CIRCLE_POINT_TARGETS:
                size = radius * transform.scale
                props.setdefault("radius_m" if rule.to == "muster_points" else "diameter_m",
                                 round(size if rule.to == "muster_points" else 2 * size, 6))
            elif radius is not None:
                geom = geom.buffer(radius, quad_segs=16)
            if kind == "INSERT":
                props.update(mapper.properties(k, _attributes(entity)))
            shaped = _as_target(geom, rule.to)
            if isinstance(shaped, str):
                result.error(_ref(entity), "geometry", f"{shaped} (layer {layer!r})")
                continue
            pending.append(_Pending(k, transform.geometry(shaped), props, _ref(entity)))
    _attach_labels(pending, labels, rules, result)
    for p in pending:
        for lab in p.labels:
            p.properties.update(mapper.properties(p.rule, lab.values))
        rule = rules[p.rule]
        if "id" not in p.properties and rule.to != "site_boundary":
            if rule.id_prefix:
                p.properties["id"] = f"{rule.id_prefix}-{p.ref.split()[-1]}"
            else:
                result.not_mapped(p.ref, "id", f"no id: no label found for this {rule.to} feature "
                                  f"(layer {rule.layer!r}); add a label or an id_prefix")
                continue
        result.feature(rule.to, p.geometry, p.properties, ref=p.ref)
    for k, items in labels.items():
        for lab in items:
            if not lab.used:
                result.not_mapped(lab.ref, "label", f"label {lab.values} lies in/near no {rules[k].to} feature")
    for (k, tag), n in sorted(mapper.unknown.items()):
        result.not_mapped(f"layer rule {rules[k].layer!r}", tag, f"attribute {tag!r} maps to no property of "
                          f"{rules[k].to} ({n} entities); map it in 'attributes'")
    return result


def _label_rule(rules: list[DxfLayerRule], entity) -> int | None:
    kind, layer = entity.dxftype(), entity.dxf.layer
    for k, rule in enumerate(rules):
        lab = rule.labels
        if lab is None or not _match(lab.layer or rule.layer, layer):
            continue
        if kind == "INSERT" and lab.block and _match(lab.block, entity.dxf.name):
            return k
        if kind in TEXTS and lab.text:
            return k
    return None


def _feature_rule(rules: list[DxfLayerRule], entity) -> int | None:
    kind, layer = entity.dxftype(), entity.dxf.layer
    if kind not in GEOMETRIC:
        return None
    for k, rule in enumerate(rules):
        if not _match(rule.layer, layer):
            continue
        if rule.blocks and not (kind == "INSERT" and any(_match(b, entity.dxf.name) for b in rule.blocks)):
            continue
        if rule.entities and not any(_match(e, kind) for e in rule.entities):
            continue
        return k
    return None


def _attach_labels(pending: list[_Pending], labels: dict[int, list[_Label]], rules: list[DxfLayerRule],
                   result: SourceResult) -> None:
    """Each label to the smallest polygon containing it, or the nearest line or point of its rule."""
    for k, items in labels.items():
        mine = [p for p in pending if p.rule == k]
        if not items or not mine:
            continue
        geoms = [p.geometry for p in mine]
        tree = shapely.STRtree(geoms)
        reach = rules[k].labels.max_distance_m
        for lab in items:
            inside = [i for i in tree.query(lab.point, predicate="intersects") if geoms[i].geom_type == "Polygon"]
            if inside:
                best = min(inside, key=lambda i: geoms[i].area)
            else:
                near = tree.query(lab.point, predicate="dwithin", distance=reach)
                near = [i for i in near if geoms[i].geom_type != "Polygon"]
                if not near:
                    continue
                # nearest; on a tie a line passing by wins over one ending there (a walkway meeting a road)
                best = min(near, key=lambda i: (round(geoms[i].distance(lab.point), 3),
                                                geoms[i].boundary.distance(lab.point) < 1e-3))
            mine[best].labels.append(lab)
            lab.used = True
    for p in pending:
        if len(p.labels) > 1:
            refs = ", ".join(lab.ref for lab in p.labels)
            result.error(p.ref, "label", f"{len(p.labels)} labels ({refs}); the first is used")
            p.labels = p.labels[:1]
