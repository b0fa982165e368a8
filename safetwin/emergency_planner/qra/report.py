"""Write a QRA result to disk: IR grid (npz), risk contours (GeoJSON, plant frame and WGS84), F-N
curve (CSV), criteria report (JSON + Markdown) and the scenario list (JSON). The only module of
the QRA package that does I/O besides the executor's task cache."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer

from safetwin.plant_models.export import WGS84, to_projected
from safetwin.plant_models.loader import Plant

from .risk import contours_geojson


def _to_wgs84(plant: Plant, geom: Any) -> Any:
    tr = Transformer.from_crs(plant.crs, WGS84, always_xy=True)
    proj = to_projected(plant, geom)
    return shapely.transform(proj, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def markdown_report(res: Any) -> str:
    """Short Markdown summary: run figures, contour areas, criteria verdicts."""
    s = res.summary()
    c = res.criteria
    lines = [f"# QRA — {res.plant_id}", "",
             "Method: TNO Purple Book CPR 18E individual risk and societal risk; generic frequencies and "
             "criteria values marked [PUB-mem]/[UNVERIFIED] in the data files must be checked before regulatory use.", "",
             f"- grid {s['grid'][0]} × {s['grid'][1]} nodes at {s['grid'][2]:g} m; {s['scenarios']} LOC scenarios, "
             f"{s['outcomes']} outcomes, {s['cases']} cases (outcome × weather class × direction sector)",
             f"- wall time {s['wall_s']} s on {s['scheduler']} ({s['workers']} workers); {s['cases_per_s']} cases/s",
             f"- max individual risk {s['max_ir_per_year']:.2e} /y; PLL {s['pll_per_year']:.2e} /y", "",
             "| IR contour (/y) | area (ha) |", "|---|---|"]
    lines += [f"| {lv:.0e} | {g.area / 1e4:.2f} |" for lv, g in res.contours.items()]
    lines += ["", f"## Criteria: {c['criteria']} ({c['installation']} installation)", "", c.get("title", ""), "",
              "| target | category | max IR (/y) | limit (/y) | result |", "|---|---|---|---|---|"]
    lines += [f"| {r['id']} {r['name']} | {r['category']} | {r['max_individual_risk_per_year']:.2e} | "
              f"{r['limit_per_year']:.0e} | {'PASS' if r['pass'] else 'FAIL'} |" for r in c["individual"]]
    if res.workers:
        lines += ["", "## Workers: presence-weighted individual risk per annum (IRPA)", "",
                  "IRPA = presence fraction × mean over the work area of the risk of dying there (outdoor/indoor "
                  "vulnerability, the shift's weather); upper = presence × the largest location-specific risk in "
                  "the area.", "",
                  "| group | people | presence | indoors | IRPA (/y) | upper (/y) | limit (/y) | zone |",
                  "|---|---|---|---|---|---|---|---|"]
        zone = {r["id"]: r for r in c.get("workers", [])}
        for w in res.workers:
            z = zone.get(w["id"], {})
            lines.append(f"| {w['id']} | {w['headcount']} | {w['presence_fraction']:.3f} | {w['indoor_fraction']:.2f} | "
                         f"{w['irpa_per_year']:.2e} | {w['irpa_upper_per_year']:.2e} | "
                         f"{z.get('limit_per_year', float('nan')):.0e} | {z.get('zone', '-')} |")
    lines += ["", "| societal line | max F/line | result | note |", "|---|---|---|---|"]
    lines += [f"| {k} (F = {v['c']:g}/N^{v['slope']:g}) | {v['max_ratio_F_to_line']:.3g} | "
              f"{'below' if v['below_line'] else 'ABOVE'} | {v['note']} |" for k, v in c["societal"].items()]
    return "\n".join(lines) + "\n"


def write_outputs(res: Any, plant: Plant, out_dir: Path) -> dict[str, str]:
    """Write the files listed in the module docstring under ``out_dir``; returns name → path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    g = res.grid
    paths = {k: out_dir / v for k, v in {
        "ir_grid": "ir_grid.npz", "contours_local": "risk_contours_local.geojson",
        "contours_wgs84": "risk_contours_wgs84.geojson", "fn_csv": "fn_curve.csv",
        "criteria_json": "criteria_report.json", "criteria_md": "criteria_report.md",
        "scenarios": "scenarios.json"}.items()}
    np.savez_compressed(paths["ir_grid"], ir_per_year=res.ir, x_m=g.x_m, y_m=g.y_m, crs=plant.crs,
                        origin=np.array([plant.meta.origin.easting, plant.meta.origin.northing]))
    props = {"plant": plant.id, "frame": "local"}
    paths["contours_local"].write_text(json.dumps(contours_geojson(res.contours, **props)))
    wgs = {lv: _to_wgs84(plant, geom) for lv, geom in res.contours.items()}
    paths["contours_wgs84"].write_text(json.dumps(contours_geojson(wgs, plant=plant.id, frame="EPSG:4326")))
    with paths["fn_csv"].open("w") as fh:
        fh.write("N,F_per_year\n")
        for n, f in zip(res.fn_n, res.fn_f):
            fh.write(f"{n:g},{f:.6e}\n")
    report = {"summary": res.summary(), "criteria": res.criteria, "workers": res.workers, "run_key": res.run_key}
    paths["criteria_json"].write_text(json.dumps(report, indent=2, default=float))
    paths["criteria_md"].write_text(markdown_report(res))
    paths["scenarios"].write_text(json.dumps([s.as_dict() for s in res.scenarios], indent=1, default=float))
    return {k: str(v) for k, v in paths.items()}
