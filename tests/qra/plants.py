"""Small plant folders for the QRA's hand cases: one item of equipment, its inventory, optional
areas, shifts and ignition sources, and a ``qra.yaml`` (events, ignition, weather, population)."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import yaml

from safetwin.substances import get_substance

ORIGIN = {"easting": 672000.0, "northing": 3570000.0}


def feature_collection(features: Any = ()) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def pool_mass_kg(diameter_m: float, substance: str = "gasoline") -> float:
    """Inventory (kg) that spreads to a 10 mm layer of ``diameter_m`` (the QRA's unbunded pool)."""
    return math.pi * diameter_m**2 / 4 * 0.01 * get_substance(substance).liquid_density_kg_m3


def uniform_weather(wind_m_s: float, *, day_fraction: float = 0.5, stability: str = "D",
                    rose: list[float] | None = None, smear: bool = True) -> dict[str, Any]:
    """One weather class all day and night (name ``D1``), a rose (default uniform over 12 sectors)."""
    return {"period_fraction": {"day": day_fraction, "night": 1 - day_fraction},
            "classes": [{"name": "D1", "stability": stability, "wind_speed_m_s": wind_m_s, "p_day": 1.0,
                         "p_night": 1.0}],
            "rose": {"p": rose or [1 / 12] * 12}, "sector_smear": smear, "angular_resolution_deg": 0.5}


def write_plant(folder: Path, plant_id: str, *, equipment: dict[str, Any], inventory: dict[str, Any],
                qra: dict[str, Any], boundary: list[list[float]] | None = None, areas: list[dict] = (),
                shifts: list[dict] = (), ignition_sources: list[dict] = ()) -> Path:
    """Write the plant folder ``folder/plant_id`` and return it. ``equipment`` is one GeoJSON feature."""
    d = folder / plant_id
    d.mkdir()
    meta = {"schema_version": 1, "id": plant_id, "name": plant_id, "crs": "EPSG:32650", "origin": ORIGIN,
            "site_boundary": boundary or [[0, 0], [40, 0], [40, 40], [0, 40], [0, 0]],
            "inventories": [inventory]}
    if shifts:
        meta["shifts"] = list(shifts)
    if ignition_sources:
        meta["ignition_sources"] = list(ignition_sources)
    (d / "plant.yaml").write_text(yaml.safe_dump(meta))
    (d / "equipment.geojson").write_text(json.dumps(feature_collection([equipment])))
    (d / "areas.geojson").write_text(json.dumps(feature_collection(areas)))
    for layer in ("buildings", "roads", "fences", "gates"):
        (d / f"{layer}.geojson").write_text(json.dumps(feature_collection()))
    (d / "qra.yaml").write_text(yaml.safe_dump(qra))
    return d


def point_equipment(eq_id: str, kind: str, xy: tuple[float, float], **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": list(xy)},
            "properties": {"id": eq_id, "kind": kind, **props}}


def area(area_id: str, kind: str, ring: list[list[float]]) -> dict[str, Any]:
    return {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {"id": area_id, "kind": kind}}


#: the gasoline pool-fire case: instantaneous release, ignition forced to 1
POOL_IGNITION = {"categories": {"liquid_k1": {"immediate": {"continuous": [1, 1, 1], "instantaneous": [1, 1, 1]},
                                              "delayed_given_no_immediate": 0.0}}}


def one_tank(folder: Path, plant_id: str, *, pool_d_m: float, f_per_year: float, wind_m_s: float,
             **kw: Any) -> Path:
    """The gasoline tank at (20, 20) whose instantaneous release burns as a ``pool_d_m`` pool fire
    with frequency ``f_per_year``; extra ``qra`` sections and plant parts through ``kw``."""
    qra = {"loc_events": {"TK-1": [{"id": "INST", "type": "instantaneous", "frequency_per_year": f_per_year,
                                    "source": "test"}]},
           "ignition": POOL_IGNITION, "weather": uniform_weather(wind_m_s), **kw.pop("qra", {})}
    return write_plant(folder, plant_id, qra=qra,
                       equipment=point_equipment("TK-1", "atmospheric_tank", (20.0, 20.0), height_m=5.0, diameter_m=4.0),
                       inventory={"equipment_id": "TK-1", "substance": "gasoline", "mass_kg": pool_mass_kg(pool_d_m),
                                  "phase": "liquid"}, **kw)
