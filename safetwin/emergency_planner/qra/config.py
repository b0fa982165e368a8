"""QRA configuration: generic data (``data/*.yaml``) merged with an optional plant override.

Layers, later wins (dicts merged key by key, lists replaced):

1. ``emergency_planner/qra/data/{loc_events,ignition,weather,criteria}.yaml`` — the defaults, each
   value carrying its source and a [PUB-mem]/[UNVERIFIED]/[ILLUSTRATIVE] note (docs/sources.md);
2. ``<plant folder>/qra.yaml`` when present;
3. a file given explicitly (``config_path``) and/or a dict (``overrides``).

The override file uses the top-level keys ``loc_events``, ``ignition``, ``weather``, ``criteria``,
``population`` and ``inventories`` (extra inventories, e.g. for pumps).
"""
from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

DATA_DIR = Path(__file__).resolve().parent / "data"
SECTIONS = ("loc_events", "ignition", "weather", "criteria")


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in (over or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: YAML syntax error: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    return data


def load_config(plant_dir: str | Path | None = None, *, config_path: str | Path | None = None,
                overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The merged QRA configuration (plain dict; see the module docstring for the layers)."""
    cfg: dict[str, Any] = {s: _read_yaml(DATA_DIR / f"{s}.yaml") for s in SECTIONS}
    cfg["population"] = {"offsite": [], "indoor_fraction_by_area_kind": {
        # fraction of on-site staff indoors, by area kind [ASSUMPTION, set per plant]
        "office": 0.9, "workshop": 0.7, "utilities": 0.5, "process": 0.3, "storage": 0.3,
        "logistics": 0.3, "other": 0.5}}
    cfg["inventories"] = []
    layers: list[Path] = []
    if plant_dir is not None and (Path(plant_dir) / "qra.yaml").is_file():
        layers.append(Path(plant_dir) / "qra.yaml")
    if config_path is not None:
        layers.append(Path(config_path))
    for p in layers:
        over = _read_yaml(p)
        unknown = set(over) - set(cfg)
        if unknown:
            raise ValueError(f"{p}: unknown top-level keys {sorted(unknown)}; expected {sorted(cfg)}")
        cfg = _deep_merge(cfg, over)
    if overrides:
        cfg = _deep_merge(cfg, overrides)
    validate_weather(cfg["weather"])
    return cfg


# ----------------------------------------------------------------------------------------------
# weather
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WeatherClass:
    """A representative weather class: Pasquill stability, wind speed at 10 m (m/s), probability
    within the day and within the night period, and the wind rose (P of wind FROM each sector)."""

    name: str
    stability: str
    wind_speed_m_s: float
    p_day: float
    p_night: float
    rose: tuple[float, ...]


def validate_weather(w: dict[str, Any]) -> None:
    """Check probabilities sum to 1 (period fractions, classes per period, each rose; ±1e-6) and
    the rose has at least 12 sectors; raise ``ValueError`` naming the field."""
    pf = w.get("period_fraction", {})
    if abs(pf.get("day", 0) + pf.get("night", 0) - 1.0) > 1e-6:
        raise ValueError(f"weather.period_fraction must sum to 1, got {pf}")
    for per in ("day", "night"):
        s = sum(float(c.get(f"p_{per}", 0.0)) for c in w["classes"])
        if pf.get(per, 0) > 0 and abs(s - 1.0) > 1e-6:
            raise ValueError(f"weather.classes p_{per} must sum to 1, got {s:.6f}")
    roses = [w["rose"]["p"]] + [c["rose"]["p"] for c in w["classes"] if "rose" in c]
    for r in roses:
        if len(r) < 12:
            raise ValueError(f"weather rose needs at least 12 sectors, got {len(r)}")
        if abs(sum(r) - 1.0) > 1e-6 or min(r) < 0:
            raise ValueError(f"weather rose probabilities must be ≥ 0 and sum to 1, got sum {sum(r):.6f}")
    n_theta = 360.0 / float(w.get("angular_resolution_deg", 0.5))
    if abs(n_theta - round(n_theta)) > 1e-9 or round(n_theta) % len(w["rose"]["p"]):
        raise ValueError("weather.angular_resolution_deg must divide the sector width exactly")


def weather_classes(w: dict[str, Any]) -> list[WeatherClass]:
    """The weather classes of a (validated) weather section."""
    base = tuple(float(p) for p in w["rose"]["p"])
    return [WeatherClass(str(c["name"]), str(c["stability"]), float(c["wind_speed_m_s"]), float(c.get("p_day", 0.0)),
                         float(c.get("p_night", 0.0)), tuple(float(p) for p in c["rose"]["p"]) if "rose" in c else base)
            for c in w["classes"]]


def direction_weights(rose: tuple[float, ...], n_theta: int, smear: bool) -> np.ndarray:
    """Probability of the wind coming FROM each of ``n_theta`` bearing bins (bin j at j·360/n_theta °).

    ``smear=False`` puts each sector's probability on its centre line; ``smear=True`` spreads it
    uniformly over the sector (the two edge bins, shared with the neighbours, get half a bin each).
    Sums to 1.
    """
    n_sec = len(rose)
    per = n_theta // n_sec
    w = np.zeros(n_theta)
    for k, p in enumerate(rose):
        c = k * per
        if not smear or per == 1:
            w[c] += p
            continue
        half = per // 2
        idx = np.arange(c - half, c + half + 1) % n_theta
        wt = np.ones(idx.size)
        if per % 2 == 0:
            wt[0] = wt[-1] = 0.5
        np.add.at(w, idx, p * wt / wt.sum())
    return w


def config_hash(*parts: Any) -> str:
    """Stable short hash (16 hex) of JSON-serialisable inputs."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
