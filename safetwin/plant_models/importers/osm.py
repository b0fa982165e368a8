"""An OpenStreetMap XML extract (a local ``.osm`` file) → the plant's ``surroundings`` layer.

Roads (``highway``), railways, buildings, land use, water and amenities (schools, hospitals)
become off-site features for receptors and approach routes, in the plant frame (lon/lat
reprojected with pyproj to the plant CRS, then shifted by the origin). Closed ways with an area
tag become polygons, multipolygon relations polygons with holes, tagged nodes points. Tagged
elements of other kinds and ways whose nodes are missing from the extract are reported; untagged
nodes and ways are the geometry of the others and are not features themselves.

Format: the OSM XML the editors and the API write (``<node id lat lon>``, ``<way><nd ref/>``,
``<relation><member type ref role/>``, each with ``<tag k v/>``), read with the standard library.

>>> import tempfile, pathlib
>>> xml = '''<osm version="0.6">
...  <node id="1" lat="32.2600" lon="118.8200"/><node id="2" lat="32.2610" lon="118.8200"/>
...  <way id="10"><nd ref="1"/><nd ref="2"/><tag k="highway" v="primary"/><tag k="name" v="Binjiang Rd"/></way>
... </osm>'''
>>> path = pathlib.Path(tempfile.mkdtemp()) / "x.osm"
>>> _ = path.write_text(xml)
>>> from safetwin.plant_models.importers.mapping import OsmSource
>>> res = read_osm(OsmSource(type="osm", file=str(path)), base_dir=path.parent,
...                plant=PlantFrame("EPSG:32650", 671600.0, 3570400.0))
>>> f = res.features[0]
>>> f.properties["id"], f.properties["kind"], f.properties["category"], round(f.geometry.length)
('osm-way-10', 'road', 'primary', 111)
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

from .features import SourceResult
from .frame import PlantFrame
from .mapping import OsmSource

WGS84 = "EPSG:4326"
#: OSM key → surroundings kind, in order of precedence (a building with a shop is a building)
KEYS: dict[str, str] = {"building": "building", "highway": "road", "railway": "railway", "landuse": "landuse",
                        "waterway": "water", "natural": "water", "amenity": "amenity"}
#: keys whose closed ways are areas (OSM wiki "Key:area": highway/railway ways are lines unless area=yes)
AREA_KEYS = {"building", "landuse", "natural", "amenity"}
#: ``natural=*`` values that are water
WATER = {"water", "wetland", "bay"}


def _kind(tags: dict[str, str], keys: dict[str, str]) -> tuple[str, str] | None:
    """(surroundings kind, category) of an element's tags, or None if no mapped key is present."""
    for key, kind in keys.items():
        value = tags.get(key)
        if value is None or (key == "natural" and value not in WATER):
            continue
        return kind, ("building" if key == "building" and value == "yes" else value)
    return None


def _properties(tags: dict[str, str], kind: str, category: str, osm_ref: str) -> dict[str, Any]:
    props: dict[str, Any] = {"id": "osm-" + osm_ref.replace("/", "-"), "name": tags.get("name", ""),
                             "kind": kind, "category": category, "source": f"osm:{osm_ref}"}
    for key, prop, cast in (("height", "height_m", float), ("building:levels", "levels", int)):
        try:
            if key in tags:
                props[prop] = cast(tags[key].split()[0])
        except ValueError:
            pass  # a non-numeric height ("5 m;6 m") stays unset: the feature is still placed
    return props


def _ring_polygons(lines: list[LineString]) -> list[Polygon]:
    if not lines:
        return []
    merged = shapely.line_merge(shapely.union_all(lines))
    return list(shapely.get_parts(shapely.polygonize(shapely.get_parts(merged))))


def read_osm(source: OsmSource, *, base_dir: Path, plant: PlantFrame | None, site: BaseGeometry | None = None
             ) -> SourceResult:
    """Surroundings from an OSM XML file, in the plant frame; ``site`` and ``source.within_m``
    keep only the features that close to the site."""
    path = Path(base_dir) / source.file
    result = SourceResult(path.name)
    if plant is None:
        result.error("-", "crs", "an OSM extract needs the plant's crs and origin")
        return result
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        result.error("-", "-", f"cannot read OSM XML: {exc}")
        return result
    keys = {**KEYS, **source.keys}
    nodes: dict[str, tuple[float, float]] = {}
    for n in root.iter("node"):
        try:
            nodes[n.get("id")] = (float(n.get("lon")), float(n.get("lat")))
        except (TypeError, ValueError):
            result.error(f"node/{n.get('id')}", "lat/lon", "missing or non-numeric coordinates")
    ways: dict[str, LineString] = {}
    items: list[tuple[str, dict[str, str], BaseGeometry]] = []
    other: Counter[str] = Counter()

    def tags_of(el) -> dict[str, str]:
        return {t.get("k"): t.get("v") for t in el.iter("tag")}

    for n in root.iter("node"):
        tags = tags_of(n)
        if tags and n.get("id") in nodes:
            items.append((f"node/{n.get('id')}", tags, Point(nodes[n.get("id")])))
    for w in root.iter("way"):
        refs = [nd.get("ref") for nd in w.iter("nd")]
        missing = [r for r in refs if r not in nodes]
        tags = tags_of(w)
        if missing:
            if tags:
                result.not_mapped(f"way/{w.get('id')}", "nd", f"{len(missing)} of its {len(refs)} nodes are not in "
                                  "the extract (cut at the extract's edge?)")
            continue
        if len(refs) < 2:
            continue
        line = LineString([nodes[r] for r in refs])
        ways[w.get("id")] = line
        if tags:
            items.append((f"way/{w.get('id')}", tags, line))
    for r in root.iter("relation"):
        tags = tags_of(r)
        if tags.get("type") != "multipolygon":
            if _kind(tags, keys):
                other[f"relation type={tags.get('type')}"] += 1
                result.not_mapped(f"relation/{r.get('id')}", "type", f"only multipolygon relations are read, "
                                  f"not type={tags.get('type')!r}")
            continue
        outer = [ways[m.get("ref")] for m in r.iter("member") if m.get("type") == "way" and m.get("role") != "inner"
                 and m.get("ref") in ways]
        inner = [ways[m.get("ref")] for m in r.iter("member") if m.get("type") == "way" and m.get("role") == "inner"
                 and m.get("ref") in ways]
        shells = _ring_polygons(outer)
        if not shells:
            result.not_mapped(f"relation/{r.get('id')}", "member", "its outer ways do not close (members missing?)")
            continue
        holes = _ring_polygons(inner)
        geom = shapely.union_all(shells)
        if holes:
            geom = geom.difference(shapely.union_all(holes))
        items.append((f"relation/{r.get('id')}", tags, geom))
    _place(items, keys, plant, site, source.within_m, result)
    return result


#: kinds a tagged node stands for on its own (a highway=crossing node is part of its road)
NODE_KINDS = {"amenity", "building"}


def _place(items, keys, plant: PlantFrame, site, within_m, result: SourceResult) -> None:
    mapped = []
    skipped_nodes: Counter[str] = Counter()
    for osm_ref, tags, geom in items:
        kind = _kind(tags, keys)
        if osm_ref.startswith("node/") and (kind is None or kind[0] not in NODE_KINDS):
            skipped_nodes[next(iter(sorted(tags)))] += 1
            continue
        if kind is None:
            result.not_mapped(osm_ref, "tags", f"no mapped key among {sorted(tags)[:6]}; add one to 'keys'")
            continue
        kind_name, category = kind
        if isinstance(geom, LineString) and geom.is_ring and (kind_name != "road" or tags.get("area") == "yes") and (
                set(tags) & AREA_KEYS or kind_name in ("building", "landuse", "water", "amenity")):
            geom = Polygon(geom.coords)
        mapped.append((osm_ref, tags, kind_name, category, geom))
    local = plant.from_crs([m[4] for m in mapped], WGS84)
    zone = site.buffer(within_m) if site is not None and within_m else None
    for (osm_ref, tags, kind_name, category, _), geom in zip(mapped, local):
        if zone is not None and not zone.intersects(geom):
            result.not_mapped(osm_ref, "geometry", f"farther than {within_m} m from the site (within_m)")
            continue
        result.feature("surroundings", geom, _properties(tags, kind_name, category, osm_ref), ref=osm_ref)
    if skipped_nodes:
        counts = ", ".join(f"{k}: {n}" for k, n in sorted(skipped_nodes.items()))
        result.not_mapped("tagged nodes", "tags", f"{sum(skipped_nodes.values())} tagged nodes are points on ways or "
                          f"of unmapped kinds, not features ({counts})")
