"""The plant-check page (``/ui/plant-check``) and its report: what a planner must fix in the plant's
layout, listed and drawn on the plant's map.

Core functions: :func:`plant_check_page` (the Panel page, served with the others behind the same
login) and :func:`report_html` / :func:`report_png` (the same content as a self-contained HTML file —
Bokeh's JavaScript inlined, nothing loaded from the internet — and as a PNG, for ``safetwin plant
check``). The check itself is :func:`safetwin.emergency_planner.plant_check.check_plant`; the page
computes it once per mounted plant (``ctx.extra["plant_check"]``).

Example::

    >>> from safetwin.plant_models.loader import load_plant
    >>> from safetwin.emergency_planner.plant_check import check_plant
    >>> plant = load_plant("small_plant")
    >>> 'id="plant-check-none"' in findings_html(check_plant(plant), "en")   # the small plant passes
    True
"""
from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from safetwin.emergency_planner.plant_check import PlantCheck, check_plant
from safetwin.plant_models.loader import Plant

from .i18n import tr
from .terms import message
from .plant_map import RULE_COLOURS, bokeh_map, map_layers, png_map


def findings_html(check: PlantCheck, lang: str) -> str:
    """The findings as an HTML table (rule, item, message), errors first; a line saying so when there are none."""
    if not check.findings:
        return f'<p id="plant-check-none">{html.escape(tr("no_findings", lang))}</p>'
    rows = []
    for f in sorted(check.findings, key=lambda f: (f.severity != "error", f.rule, f.item)):
        colour = RULE_COLOURS.get(f.rule, "#9e9e9e")
        rows.append(f'<tr class="finding" data-rule="{f.rule}" data-item="{html.escape(f.item)}">'
                    f'<td><span style="display:inline-block;width:10px;height:10px;background:{colour};'
                    f'margin-right:6px"></span>{html.escape(tr("rule_" + f.rule, lang))}<br>'
                    + (f'<small style="color:#78909c">{f.rule}</small>' if lang != "zh" else "") + "</td>"
                    f"<td><b>{html.escape(f.item)}</b></td><td>{html.escape(message(f.message, lang))}</td>"
                    f"<td>{f.position[0]:.0f}, {f.position[1]:.0f}</td></tr>")
    head = "".join(f"<th>{html.escape(tr(k, lang))}</th>" for k in ("rule", "item", "finding", "position_m"))
    return (f'<table id="plant-check-findings" style="border-collapse:collapse;font-size:13px" cellpadding="4">'
            f'<thead style="background:#eceff1"><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>')


def summary_html(plant: Plant, check: PlantCheck, lang: str) -> str:
    """One paragraph: counts of errors and warnings, detectors and muster points checked."""
    errors = sum(f.severity == "error" for f in check.findings)
    warnings = len(check.findings) - errors
    return (f'<p id="plant-check-summary"><b>{html.escape(plant.name)}</b> — '
            f'{html.escape(tr("check_summary", lang, errors=errors, warnings=warnings, detectors=len(check.reach_m), musters=len(plant.meta.muster_points)))}'
            f'<br><small>{html.escape(tr("reach_note", lang))}</small></p>')


def report_html(plant: Plant, check: PlantCheck | None = None, lang: str = "en") -> str:
    """A self-contained HTML report: summary, findings and the interactive map (no internet needed)."""
    from bokeh.embed import components
    from bokeh.resources import INLINE

    check = check or check_plant(plant)
    fig = bokeh_map(plant, map_layers(plant, check, lang), title=tr("plant_check", lang), lang=lang)
    script, div = components(fig)
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{html.escape(tr("plant_check", lang))}'
            f" — {html.escape(plant.name)}</title>{INLINE.render()}</head><body style=\"font-family:sans-serif\">"
            f"<h1>{html.escape(tr('plant_check', lang))}</h1>{summary_html(plant, check, lang)}"
            f"{findings_html(check, lang)}<h2>{html.escape(tr('map', lang))}</h2>{div}{script}</body></html>")


def report_png(plant: Plant, path: str | Path, check: PlantCheck | None = None) -> Path:
    """The check map as a PNG (English labels; matplotlib)."""
    check = check or check_plant(plant)
    png_map(plant, map_layers(plant, check, "en"), path,
            title=f"{plant.name}: {len(check.findings)} finding(s)")
    return Path(path)


def _check_for(ctx: Any) -> PlantCheck:
    """The mounted plant's check, computed once and shared by every session."""
    if "plant_check" not in ctx.extra:
        ctx.extra["plant_check"] = check_plant(ctx.plant)
    return ctx.extra["plant_check"]


def plant_check_page(ctx: Any) -> Any:
    """The Panel page: summary, findings list and the map with the plant's layers, detectors' reach,
    muster points, walkable network and the flagged places."""
    import panel as pn

    from .common import page_template, session_actor, session_lang

    lang = session_lang()
    check = _check_for(ctx)
    plant = ctx.plant
    fig = bokeh_map(plant, map_layers(plant, check, lang), title=tr("plant_check", lang), width=1180, height=700,
                    lang=lang)
    main = [pn.pane.HTML(summary_html(plant, check, lang), sizing_mode="stretch_width"),
            pn.pane.HTML(findings_html(check, lang), sizing_mode="stretch_width", max_height=260,
                         styles={"overflow-y": "auto"}),
            pn.pane.Bokeh(fig)]
    return page_template(ctx, "plant-check", lang, session_actor(ctx), main)
