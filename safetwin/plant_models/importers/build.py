"""One import: a mapping file's sources → a validated plant folder, with what could not be mapped,
and — when the folder already holds a plant — what would change, before anything is replaced.

Order of work: the starting point (``base_plant``, then ``metadata``, then the mapping's plant
header), then drawings and GIS layers in the mapping's order (a source replaces each layer or list
it provides), then OpenStreetMap extracts (they may be clipped around the site), then tag lists
(positions checked against the site, detectors placed at equipment or at their drawn blocks).
The plant is written to a staging folder beside the target and validated by the plant loader;
it replaces the target only if it is valid and either the target is new or ``apply`` is given
(the replaced plant is kept as ``<folder>.previous``).

Example::

    outcome = import_plant("site_import.yaml", "plants/my_site")       # new folder: written
    outcome = import_plant("site_import.yaml", "plants/my_site")       # again: diff only
    print("\\n".join(outcome.summary_lines()))
    outcome = import_plant("site_import.yaml", "plants/my_site", apply=True)
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from shapely.geometry import Polygon, shape

from safetwin.plant_models.loader import PLANT_FILE, Issue, validate_plant
from safetwin.plant_models.schema import LAYERS, OPTIONAL_LAYERS

from .diff import PlantDiff, diff_folders, read_folder
from .dxf import read_dxf
from .features import SourceResult
from .frame import PlantFrame
from .gis import export_header, read_gis
from .mapping import ImportSpec, load_spec
from .osm import read_osm
from .tags import read_tag_list
from .targets import PlantContent

REPORT_FILE = "import-report.json"


def _frame(meta: dict[str, Any]) -> PlantFrame | None:
    origin = meta.get("origin") or {}
    if not meta.get("crs") or "easting" not in origin or "northing" not in origin:
        return None
    return PlantFrame(meta["crs"], float(origin["easting"]), float(origin["northing"]))


def _site(content: PlantContent) -> Polygon | None:
    ring = content.meta.get("site_boundary")
    return Polygon(ring) if ring and len(ring) >= 4 else None


def assemble(spec: ImportSpec, *, base_dir: Path) -> tuple[PlantContent, list[SourceResult]]:
    """The plant content of an import and each source's result (features, errors, unmapped)."""
    content = PlantContent()
    if spec.base_plant:
        meta, layers = read_folder(base_dir / spec.base_plant)
        content.meta = {k: v for k, v in meta.items() if k != "layers"}
        content.layers = layers
    if spec.metadata:
        content.meta.update(yaml.safe_load((base_dir / spec.metadata).read_text(encoding="utf-8")) or {})
    content.meta.update(spec.plant.model_dump(exclude_none=True))
    results: list[SourceResult] = []
    ordered = ([s for s in spec.sources if s.type in ("dxf", "gis")] + [s for s in spec.sources if s.type == "osm"]
               + [s for s in spec.sources if s.type == "tags"])
    tag_sensors: list[dict[str, Any]] = []
    has_tags = any(s.type == "tags" for s in spec.sources)
    drawn: dict[str, dict[str, Any]] = {}
    for source in ordered:
        if source.type == "gis":
            for k, v in export_header(base_dir / source.file).items():
                content.meta.setdefault(k, v)
        frame = _frame(content.meta)
        if source.type == "dxf":
            result = read_dxf(source, base_dir=base_dir, plant=frame)
        elif source.type == "gis":
            result = read_gis(source, base_dir=base_dir, plant=frame)
        elif source.type == "osm":
            result = read_osm(source, base_dir=base_dir, plant=frame, site=_site(content))
        else:
            drawn |= {s["id"]: s for s in content.meta.get("sensors") or []}
            equipment = {f["properties"]["id"]: shape(f["geometry"]) for f in content.layers.get("equipment", [])}
            areas = {f["properties"]["id"] for f in content.layers.get("areas", [])}
            result = read_tag_list(source, base_dir=base_dir, site=_site(content), equipment=equipment,
                                   areas=areas if content.layers.get("areas") else None, drawn=drawn, plant=frame)
            tag_sensors += result.sensors
        results.append(result)
        features = result.features
        if has_tags:  # detectors drawn or mapped: positions for the tag list, which gives the rest
            drawn |= {f.label: {**f.properties, "position": (f.geometry.x, f.geometry.y)}
                      for f in features if f.target == "sensors" and f.geometry.geom_type == "Point"}
            features = [f for f in features if f.target != "sensors"]
        content.add(features, decimals=spec.coordinate_decimals)
    if has_tags:
        _take_tag_list(content, tag_sensors, drawn, results)
    return content, results


def _take_tag_list(content: PlantContent, sensors: list[dict[str, Any]], drawn: dict[str, dict[str, Any]],
                   results: list[SourceResult]) -> None:
    """The tag lists' detectors replace the drawn ones; drawn detectors missing from every list are reported."""
    listed: dict[str, dict[str, Any]] = {}
    for s in sensors:
        if s["id"] in listed:
            content.errors.append(Issue("tag lists", s["id"], "id", "the same tag in two tag lists; the first is used"))
            continue
        listed[s["id"]] = s
    for s in drawn.values():
        if s["id"] not in listed:
            results[-1].not_mapped(s["id"], "id", "a detector of the drawing/GIS that no tag list names; left out")
    content.meta["sensors"] = list(listed.values())


def write_folder(content: PlantContent, folder: Path, *, note: str = "") -> Path:
    """Write plant.yaml and one GeoJSON file per layer into ``folder`` (created or emptied)."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    header = "# Imported by `safetwin plant import`" + (f" from {note}" if note else "") + \
        " -- re-import rather than edit by hand.\n"
    (folder / PLANT_FILE).write_text(header + yaml.safe_dump(content.plant_yaml(), sort_keys=False, allow_unicode=True,
                                                             width=120), encoding="utf-8")
    for layer in LAYERS:
        features = content.layers.get(layer, [])
        if layer in OPTIONAL_LAYERS and not features:
            continue
        (folder / f"{layer}.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features},
                                                            ensure_ascii=False, indent=1), encoding="utf-8")
    return folder


@dataclass
class ImportOutcome:
    """What an import did: the folder holding the result, whether it replaced the target, the
    errors (rejected items), the unmapped items, the plant loader's findings and the diff."""

    folder: Path
    target: Path
    replaced: bool
    sources: list[SourceResult]
    errors: list[Issue]
    validation: list[Issue]
    diff: PlantDiff | None = None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def unmapped(self) -> list[Issue]:
        return [u for s in self.sources for u in s.unmapped]

    def to_json(self) -> dict[str, Any]:
        """The report written beside the plant (``import-report.json``)."""
        return {"target": str(self.target), "replaced": self.replaced, "counts": self.counts,
                "errors": [vars(i) for i in self.errors], "unmapped": [vars(i) for i in self.unmapped],
                "validation": [vars(i) for i in self.validation],
                "diff": None if self.diff is None else [str(c) for c in self.diff.changes]}

    def summary_lines(self, *, limit: int = 40) -> list[str]:
        """A report for people: counts, then each error, unmapped item, validation issue and change."""
        lines = ["imported: " + ", ".join(f"{n} {k}" for k, n in self.counts.items() if n)]
        for title, items in (("rejected (not imported)", self.errors), ("not mapped", self.unmapped),
                             ("plant validation", self.validation)):
            if items:
                lines.append(f"{title}: {len(items)}")
                lines += [f"  - {i}" for i in items[:limit]]
                if len(items) > limit:
                    lines.append(f"  … and {len(items) - limit} more (all in {REPORT_FILE})")
        if self.diff is not None:
            counts = self.diff.counts()
            lines.append("changes against the existing plant: " + ("none" if self.diff.empty else "; ".join(
                f"{k} +{v['added']} -{v['removed']} ~{v['changed']}" for k, v in counts.items())))
            lines += [f"  {c}" for c in self.diff.changes[:limit * 3]]
        state = ("written to" if self.replaced else "unchanged:" if self.diff is not None and self.diff.empty else
                 "staged in (not applied)") if not self.validation else "NOT valid; left for inspection in"
        lines.append(f"plant {state} {self.folder}")
        return lines


def import_plant(spec: ImportSpec | str | Path, out: str | Path, *, base_dir: str | Path | None = None,
                 apply: bool = False) -> ImportOutcome:
    """Import the plant a mapping describes into the folder ``out`` (see the module docstring).

    ``spec`` is a mapping file (its folder is ``base_dir``) or an :class:`ImportSpec` with
    ``base_dir`` for its relative paths.
    """
    if not isinstance(spec, ImportSpec):
        base_dir = Path(spec).resolve().parent if base_dir is None else Path(base_dir)
        note = Path(spec).name
        spec = load_spec(spec)
    else:
        note = ""
        base_dir = Path(base_dir or ".")
    out = Path(out)
    if out.exists() and not (out / PLANT_FILE).is_file() and any(out.iterdir()):
        raise FileExistsError(f"{out} is neither a plant folder nor empty; import into a new folder")
    content, results = assemble(spec, base_dir=base_dir)
    staging = out.with_name(f".{out.name}.staged")
    write_folder(content, staging, note=note)
    validation = validate_plant(staging)
    exists = (out / PLANT_FILE).is_file()
    diff = diff_folders(out, staging) if exists else None
    errors = [e for r in results for e in r.errors] + content.errors
    counts = {layer: len(content.layers.get(layer, [])) for layer in LAYERS}
    counts |= {k: len(content.meta.get(k) or []) for k in ("sensors", "muster_points", "resources", "inventories")}
    replaced = not validation and (not exists or apply)
    outcome = ImportOutcome(staging, out, replaced, results, errors, validation, diff, counts)
    if exists and not replaced and not validation and diff is not None and diff.empty:
        shutil.rmtree(staging)  # nothing would change: the existing plant stands as it is
        outcome.folder = out
    if replaced:
        if exists:
            previous = out.with_name(out.name + ".previous")
            if previous.exists():
                shutil.rmtree(previous)
            out.rename(previous)
        elif out.exists():
            out.rmdir()  # empty (checked above)
        staging.rename(out)
        outcome.folder = out
    (outcome.folder / REPORT_FILE).write_text(json.dumps(outcome.to_json(), indent=1, ensure_ascii=False),
                                              encoding="utf-8")
    return outcome
