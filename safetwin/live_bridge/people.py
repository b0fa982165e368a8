"""People on site: per-area occupancy and muster status from the twin's live positions.

A person whose last fix is older than ``stale_s`` seconds is *location stale*: never dropped,
never counted as mustered — reported as unaccounted with the last known position and time.
Invariant: ``pob == mustered + in_areas + elsewhere + stale``.

Example::

    >>> from safetwin.plant_models.loader import load_plant, bundled_plant_path
    >>> from safetwin.twin.state import TwinState
    >>> st = TwinState(load_plant(bundled_plant_path("small_plant")))
    >>> _ = st.update_position("P-1", 120.0, 20.0, ts=100.0)     # at muster point MP-1
    >>> _ = st.update_position("P-2", 50.0, 30.0, ts=10.0)       # last seen long ago
    >>> m = muster_status(st, now=101.0, stale_s=30.0)
    >>> (m["pob"], m["mustered"], m["unaccounted"])
    (2, 1, 1)
"""
from __future__ import annotations

from typing import Any

import numpy as np

from safetwin.twin.state import TwinState


def muster_status(state: TwinState, now: float, stale_s: float = 30.0) -> dict[str, Any]:
    """POB, mustered (inside the radius of a muster point or an off-site assembly point, fresh
    fix), unaccounted (stale or not at either) with each unaccounted person's last known position
    (m) and time (s)."""
    p = state.people()
    n = len(p["id"])
    fresh = (now - p["ts"]) <= stale_s
    at_mp = np.zeros(n, dtype=bool)
    per_mp: dict[str, int] = {}
    for mp in state.plant.mustering_points:
        inside = np.hypot(p["x"] - mp.position[0], p["y"] - mp.position[1]) <= mp.radius_m
        inside &= fresh
        per_mp[mp.id] = int(inside.sum())
        at_mp |= inside
    stale = ~fresh
    in_area = fresh & ~at_mp & np.array([a is not None for a in p["area"]], dtype=bool)
    elsewhere = fresh & ~at_mp & ~in_area
    missing = []
    for i in np.flatnonzero(~at_mp):
        missing.append({"id": str(p["id"][i]), "x": round(float(p["x"][i]), 2), "y": round(float(p["y"][i]), 2),
                        "area": p["area"][i], "last_seen": float(p["ts"][i]), "stale": bool(stale[i])})
    return {"ts": now, "pob": n, "mustered": int(at_mp.sum()), "unaccounted": int(n - at_mp.sum()),
            "in_areas": int(in_area.sum()), "elsewhere": int(elsewhere.sum()), "stale": int(stale.sum()),
            "per_muster_point": per_mp, "missing": missing}


def occupancy(state: TwinState, now: float, stale_s: float = 30.0) -> dict[str, dict[str, Any]]:
    """Per area: headcount of fresh fixes, ids, and how many more were last seen there (stale)."""
    p = state.people()
    fresh = (now - p["ts"]) <= stale_s
    out: dict[str, dict[str, Any]] = {a: {"count": 0, "ids": [], "stale": 0} for a in state.areas.ids}
    for pid, area, f in zip(p["id"], p["area"], fresh):
        if area is None:
            continue
        if f:
            out[area]["count"] += 1
            out[area]["ids"].append(str(pid))
        else:
            out[area]["stale"] += 1
    return out
