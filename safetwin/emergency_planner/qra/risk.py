"""Societal risk (F-N curve, PLL), risk contours and the comparison with acceptance criteria.

Pure functions on arrays and shapely geometries (no I/O). Criteria tables are in
``data/criteria.yaml`` with their sources and [UNVERIFIED] notes (GB 36894-2018 by default).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping

from safetwin.emergency_planner.physics.grid import GridSpec
from safetwin.emergency_planner.physics.zones import field_polygon

CONTOUR_LEVELS_PER_YEAR: tuple[float, ...] = (1e-4, 1e-5, 1e-6, 1e-7, 1e-8)


def fn_curve(case_f: np.ndarray, case_n: np.ndarray, n_values: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative frequency F(≥N) per year at ``n_values`` (default 1, 2, … up to the largest N).

    Each case is one outcome × weather class × period × wind bearing with frequency ``case_f`` (/y)
    and expected fatalities ``case_n``."""
    f = np.asarray(case_f, float)
    n = np.asarray(case_n, float)
    if n_values is None:
        top = int(np.floor(n.max())) if n.size and n.max() >= 1 else 1
        n_values = np.arange(1, top + 1, dtype=float)
    order = np.argsort(n, kind="stable")
    n_sorted = n[order]
    suffix = np.append(np.cumsum(f[order][::-1])[::-1], 0.0)  # suffix[i] = Σ f of cases i.. (sorted by N)
    out = suffix[np.searchsorted(n_sorted, np.asarray(n_values, float), side="left")]
    return np.asarray(n_values, float), np.asarray(out, float)


def risk_contours(grid: GridSpec, ir: np.ndarray, levels: tuple[float, ...] = CONTOUR_LEVELS_PER_YEAR
                  ) -> dict[float, Polygon | MultiPolygon]:
    """Region where IR ≥ level (plant frame) per level (/y), via the physics ``zones`` contouring."""
    return {lv: field_polygon(grid, ir, lv) for lv in levels}


def contours_geojson(contours: dict[float, Any], **props: Any) -> dict[str, Any]:
    """FeatureCollection of the risk contours (coordinates as given)."""
    feats = [{"type": "Feature", "geometry": mapping(g),
              "properties": {"individual_risk_per_year": lv, "label": f"IR ≥ {lv:.0e} /y", "area_m2": float(g.area), **props}}
             for lv, g in contours.items()]
    return {"type": "FeatureCollection", "features": feats}


def max_ir_in(grid: GridSpec, ir: np.ndarray, geom: Any) -> float:
    """Largest individual risk (/y) at grid nodes inside ``geom`` and on its boundary (bilinear)."""
    from scipy.ndimage import map_coordinates

    X, Y = grid.mesh()
    inside = shapely.contains_xy(geom, X, Y)
    vals = [float(ir[inside].max())] if inside.any() else []
    bnd = geom.boundary
    pts = np.array([bnd.interpolate(t, normalized=True).coords[0] for t in np.linspace(0, 1, 200)])
    fi = (pts[:, 0] - grid.x_min_m) / grid.dx_m
    fj = (pts[:, 1] - grid.y_min_m) / grid.dy_m
    ok = (fi >= 0) & (fi <= grid.nx - 1) & (fj >= 0) & (fj <= grid.ny - 1)
    if ok.any():
        vals.append(float(map_coordinates(ir, [fj[ok], fi[ok]], order=1).max()))
    return max(vals) if vals else 0.0


def check_criteria(grid: GridSpec, ir: np.ndarray, n_values: np.ndarray, f_values: np.ndarray,
                   targets: tuple[dict[str, Any], ...], criteria_cfg: dict[str, Any], name: str = "GB36894",
                   installation: str | None = None, *, workers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Pass/fail per protection target (max IR over the polygon against the category's limit), of
    the F-N curve against the criterion's lines (``upper``: F must stay at or below c/N^slope) and of
    each worker group's presence-weighted individual risk against the criterion's ``workers`` limit
    (UK HSE R2P2: intolerable above 1e-3 /y, broadly acceptable below 1e-6 /y)."""
    if name not in criteria_cfg:
        raise ValueError(f"unknown criteria {name!r}; available: {sorted(criteria_cfg)}")
    crit = criteria_cfg[name]
    inst = installation or crit.get("installation", "new")
    rows = []
    for t in targets:
        cat = t.get("category", "general_class3")
        entry = crit["individual"].get(cat)
        if entry is None:
            raise ValueError(f"target {t.get('id')!r}: category {cat!r} not in criteria {name}")
        limit = float(entry[inst] if inst in entry else entry["limit"])
        m = max_ir_in(grid, ir, t["geometry"])
        row = {"id": t.get("id"), "name": t.get("name", ""), "category": cat, "label": entry.get("label", ""),
               "max_individual_risk_per_year": m, "limit_per_year": limit, "pass": bool(m <= limit)}
        if "broadly_acceptable" in entry:
            ba = float(entry["broadly_acceptable"])
            row["zone"] = "intolerable" if m > limit else "ALARP" if m > ba else "broadly acceptable"
        rows.append(row)
    soc = {}
    for line_name, line in crit.get("societal", {}).items():
        sel = (n_values >= line["n_min"]) & (n_values <= line["n_max"])
        lim = float(line["c"]) / n_values[sel] ** float(line["slope"])
        ratio = float(np.max(f_values[sel] / lim)) if sel.any() else 0.0
        soc[line_name] = {"c": line["c"], "slope": line["slope"], "n_range": [line["n_min"], line["n_max"]],
                          "note": line.get("note", ""), "max_ratio_F_to_line": ratio, "below_line": bool(ratio <= 1.0)}
    societal_pass = soc["upper"]["below_line"] if "upper" in soc else None
    wcrit = crit.get("workers")
    wrows = []
    for w in workers or []:
        if wcrit is None:
            continue
        limit, ba = float(wcrit["limit"]), float(wcrit.get("broadly_acceptable", 0.0))
        m = float(w["irpa_per_year"])
        wrows.append({"id": w["id"], "headcount": w["headcount"], "irpa_per_year": m,
                      "irpa_upper_per_year": w["irpa_upper_per_year"], "limit_per_year": limit,
                      "label": wcrit.get("label", ""), "pass": bool(m <= limit),
                      "zone": "intolerable" if m > limit else "ALARP" if m > ba else "broadly acceptable"})
    return {"criteria": name, "title": crit.get("title", ""), "installation": inst, "individual": rows,
            "societal": soc, "workers": wrows, "individual_pass": all(r["pass"] for r in rows),
            "societal_pass": societal_pass, "workers_pass": all(r["pass"] for r in wrows) if wrows else None}
