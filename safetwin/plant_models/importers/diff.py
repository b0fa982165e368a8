"""What a re-import would change: two plant folders compared item by item, before anything is replaced.

Items are matched by id within their collection (each layer, and plant.yaml's sensors, muster
points, resources, inventories by equipment, shifts by name); an item is *changed* when a property
differs or its geometry moved by more than ``tolerance_m``. plant.yaml's single values (name,
crs, origin, site boundary, …) are compared as one item, ``plant``.

>>> old = {"sensors": [{"id": "GD-1", "alarm": {"high": 25}}, {"id": "GD-2"}]}
>>> new = {"sensors": [{"id": "GD-1", "alarm": {"high": 20}}, {"id": "GD-3"}]}
>>> d = diff_contents(old, {}, new, {})
>>> [(c.collection, c.item, c.change) for c in d.changes]
[('sensors', 'GD-3', 'added'), ('sensors', 'GD-2', 'removed'), ('sensors', 'GD-1', 'changed')]
>>> d.changes[2].fields
{'alarm.high': (25, 20)}
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from shapely.geometry import shape

from safetwin.plant_models.loader import PLANT_FILE
from safetwin.plant_models.schema import LAYERS

#: plant.yaml lists and the key that identifies their items
KEYED_LISTS = {"sensors": "id", "muster_points": "id", "resources": "id", "inventories": "equipment_id", "shifts": "name"}
#: geometry moves below this are not changes (m)
TOLERANCE_M = 0.01


@dataclass(frozen=True)
class Change:
    """One item added, removed or changed; ``fields`` maps a property path to (before, after)."""

    collection: str
    item: str
    change: Literal["added", "removed", "changed"]
    fields: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    def __str__(self) -> str:
        sign = {"added": "+", "removed": "-", "changed": "~"}[self.change]
        detail = "; ".join(f"{k}: {_short(a)} → {_short(b)}" for k, a, b in
                           ((k, *v) for k, v in self.fields.items()))
        return f"{sign} {self.collection} {self.item}" + (f" ({detail})" if detail else "")


def _short(v: Any) -> str:
    text = json.dumps(v, ensure_ascii=False, default=str) if not isinstance(v, str) else v
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass
class PlantDiff:
    """Every change between two plants, added first, then removed, then changed, per collection."""

    changes: list[Change] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.changes

    def counts(self) -> dict[str, dict[str, int]]:
        """Collection → {added, removed, changed} counts (only collections with changes)."""
        out: dict[str, dict[str, int]] = {}
        for c in self.changes:
            out.setdefault(c.collection, {"added": 0, "removed": 0, "changed": 0})[c.change] += 1
        return out

    def of(self, collection: str, change: str) -> list[str]:
        """Ids of the items of ``collection`` with this kind of change."""
        return [c.item for c in self.changes if c.collection == collection and c.change == change]


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    return {prefix.rstrip("."): value}


def _field_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    a, b = _flatten(before), _flatten(after)
    return {k: (a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}


def _compare(collection: str, old: dict[str, dict], new: dict[str, dict], geometry: bool = False) -> list[Change]:
    out = [Change(collection, k, "added") for k in new if k not in old]
    out += [Change(collection, k, "removed") for k in old if k not in new]
    for k in (k for k in new if k in old):
        if geometry:
            fields = _field_changes(old[k]["properties"], new[k]["properties"])
            g0, g1 = shape(old[k]["geometry"]), shape(new[k]["geometry"])
            moved = g0.hausdorff_distance(g1) if g0.geom_type == g1.geom_type else float("inf")
            if moved > TOLERANCE_M:
                fields["geometry"] = (g0.geom_type, f"{g1.geom_type}, moved up to {moved:.2f} m")
        else:
            fields = _field_changes(old[k], new[k])
        if fields:
            out.append(Change(collection, k, "changed", fields))
    return out


def diff_contents(old_meta: dict, old_layers: dict[str, list[dict]], new_meta: dict,
                  new_layers: dict[str, list[dict]]) -> PlantDiff:
    """Changes from one plant (plant.yaml dict, layer name → GeoJSON features) to another."""
    changes: list[Change] = []
    single_old = {k: v for k, v in old_meta.items() if k not in KEYED_LISTS and k != "layers"}
    single_new = {k: v for k, v in new_meta.items() if k not in KEYED_LISTS and k != "layers"}
    fields = _field_changes(single_old, single_new)
    for name, key in KEYED_LISTS.items():
        changes += _compare(name, {str(i.get(key)): i for i in old_meta.get(name) or []},
                            {str(i.get(key)): i for i in new_meta.get(name) or []})
    for layer in LAYERS:
        changes += _compare(layer, {str(f["properties"].get("id")): f for f in old_layers.get(layer, [])},
                            {str(f["properties"].get("id")): f for f in new_layers.get(layer, [])}, geometry=True)
    if fields:
        changes.insert(0, Change("plant", str(new_meta.get("id", "plant")), "changed", fields))
    return PlantDiff(changes)


def read_folder(folder: str | Path) -> tuple[dict, dict[str, list[dict]]]:
    """plant.yaml's dict and each layer's features of a plant folder, as written (not validated)."""
    folder = Path(folder)
    meta = yaml.safe_load((folder / PLANT_FILE).read_text(encoding="utf-8")) or {}
    layers: dict[str, list[dict]] = {}
    for layer in LAYERS:
        f = folder / ((meta.get("layers") or {}).get(layer) or f"{layer}.geojson")
        if f.is_file():
            layers[layer] = json.loads(f.read_text(encoding="utf-8")).get("features", [])
    return meta, layers


def diff_folders(old: str | Path, new: str | Path) -> PlantDiff:
    """Changes from the plant folder ``old`` to the plant folder ``new``."""
    return diff_contents(*read_folder(old), *read_folder(new))
