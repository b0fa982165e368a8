"""The control room's side panels as HTML: the alarm banner (counts by priority), the alarm list
(priority, state, time, area), who is at risk with route and muster point, the per-area
instructions and the legend. Pure functions of a :class:`~.snapshot.Snapshot`; colours from
:mod:`.hmi` (a count of zero, like any normal state, is grey).

Example::

    >>> from safetwin.ui.snapshot import AlarmRow
    >>> rows = (AlarmRow("GD-1_LVL", "GD-1", "HH", 0.0, "high-high", False, "active", "A-PU1", 1),)
    >>> "P1" in alarm_banner_html(rows, (), "en") and "alarm-banner" in alarm_banner_html(rows, (), "en")
    True
"""
from __future__ import annotations

import html
from datetime import datetime, timezone
from typing import Any

from .common import legend_html
from .hmi import (DETECTOR_COLOURS, GROUND_COLOUR, PERSON_COLOURS, PRIORITY_COLOURS, ROUTE_COLOUR, ZONE_ALPHA,
                  ZONE_COLOURS, blend)
from .i18n import tr
from .terms import message
from .risk_view import RiskView
from .snapshot import DETECTOR_STATES, PERSON_STATES, AlarmRow, IncidentView

#: text colour on each priority's background
_ON = {1: "#ffffff", 2: "#1a1a1a", 3: "#1a1a1a", 4: "#ffffff"}
_GREY = "#d9d9d9"
_CELL = "padding:3px 6px;border-bottom:1px solid #d0d0d0;white-space:nowrap"


def utc_hms(ts: float) -> str:
    """``HH:MM:SS`` (UTC) of an epoch time in s; "—" for none."""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%H:%M:%S") if ts > 0 else "—"


def _ratio(x: float) -> str:
    """A dose ratio as read at a glance: two decimals below 100, whole thousands-separated above."""
    return f"{x:.2f}" if x < 100 else f"{x:,.0f}"


def _action(action: str, lang: str) -> str:
    known = action in ("evacuate", "shelter", "none", "all_clear")
    return _e(tr("act_" + action, lang) if known else action)


def _e(text: Any) -> str:
    return html.escape(str(text))


def alarm_banner_html(alarms: tuple[AlarmRow, ...], shelved: tuple[AlarmRow, ...], lang: str) -> str:
    """Counts of the listed alarms by priority (coloured only when not zero), unacknowledged and shelved."""
    boxes = []
    for prio in (1, 2, 3, 4):
        n = sum(1 for a in alarms if a.priority == prio)
        bg, fg = (PRIORITY_COLOURS[prio], _ON[prio]) if n else (_GREY, "#595959")
        boxes.append(f"<span class='prio-count p{prio}' style='background:{bg};color:{fg};padding:3px 10px;"
                     f"margin-right:6px;font-weight:700;font-size:15px;border:1px solid #8c8c8c'>"
                     f"{_e(tr('prio_n', lang, n=prio))}: {n}</span>")
    unacked = sum(1 for a in alarms if a.state in ("active", "returned"))
    return (f"<div class='alarm-banner' style='display:flex;align-items:center;font-size:14px'>{''.join(boxes)}"
            f"<span style='margin-left:8px'><b>{_e(tr('unacked_n', lang, n=unacked))}</b> · "
            f"{_e(tr('shelved_n', lang, n=len(shelved)))}</span></div>")


def alarm_list_html(alarms: tuple[AlarmRow, ...], shelved: tuple[AlarmRow, ...], earlier: int, lang: str,
                    limit: int = 200) -> str:
    """The alarm list: priority, state, time, area, tag and message; shelved alarms apart."""
    t = lambda k, **kw: _e(tr(k, lang, **kw))  # noqa: E731
    if not alarms and not shelved:
        body = f"<i>{t('no_alarms')}</i>"
    else:
        rows = []
        for a in (*alarms[:limit], *shelved):
            greyed = a.state in ("returned", "shelved")
            prio_cell = (f"<td style='{_CELL};text-align:center;font-weight:700;"
                         + (f"color:#595959;border:2px solid {PRIORITY_COLOURS[a.priority]}'" if greyed else
                            f"background:{PRIORITY_COLOURS[a.priority]};color:{_ON[a.priority]}'")
                         + f">{t('prio_n', n=a.priority)}</td>")
            style = "color:#737373" if greyed else ("font-weight:700" if a.state == "active" else "")
            rows.append(f"<tr class='alarm-row st-{a.state}' data-alarm='{_e(a.alarm_id)}' style='{style}'>{prio_cell}"
                        f"<td style='{_CELL}'>{t('st_' + a.state)}</td><td style='{_CELL}'>{utc_hms(a.ts)}</td>"
                        f"<td style='{_CELL}'>{_e(a.area or '—')}</td><td style='{_CELL}'>{_e(a.alarm_id)}</td>"
                        f"<td style='{_CELL};white-space:normal'>{_e(message(a.message, lang)[:80])}</td></tr>")
        head = "".join(f"<th style='{_CELL};text-align:left'>{t(k)}</th>"
                       for k in ("priority", "state", "time_utc", "area", "alarm_id", "message"))
        body = (f"<table class='alarm-list' style='font-size:14px;width:100%;border-collapse:collapse'>"
                f"<tr>{head}</tr>{''.join(rows)}</table>")
    if earlier:
        body += (f"<div class='earlier-alarms' style='font-size:12px;color:#595959;margin-top:4px'>"
                 f"{t('earlier_alarms', n=earlier)}</div>")
    return body


def risk_html(risk: RiskView | None, lang: str, limit: int = 300) -> str:
    """Everyone the recommendations mark at risk: area, dose (advised / if staying), action, route,
    muster point and arrival time."""
    t = lambda k, **kw: _e(tr(k, lang, **kw))  # noqa: E731
    if risk is None or not risk.people:
        return f"<i class='risk-list' style='font-size:13px'>{t('no_at_risk')}</i>"
    rows = []
    for p in risk.people[:limit]:
        route = p.route_text or (p.shelter_building or "") or tr("own_route", lang)
        arrival = "—" if p.arrival_s is None else f"{p.arrival_s:.0f}"
        rows.append(f"<tr class='risk-row' data-person='{_e(p.id)}'><td style='{_CELL};font-weight:700'>{_e(p.id)}</td>"
                    f"<td style='{_CELL}'>{_e(p.area or '—')}</td>"
                    f"<td style='{_CELL};text-align:right'>{_ratio(p.dose_ratio)} / {_ratio(p.stay_dose_ratio)}</td>"
                    f"<td style='{_CELL}'>{_action(p.action, lang)}</td>"
                    f"<td style='{_CELL}'>{_e(route)}</td><td style='{_CELL}'>{_e(p.muster_point or '—')}</td>"
                    f"<td style='{_CELL};text-align:right'>{arrival}</td></tr>")
    head = "".join(f"<th style='{_CELL};text-align:left'>{h}</th>" for h in (
        t("person"), t("area"), f"{t('dose')}<br><span style='font-weight:400'>({t('if_staying')})</span>",
        t("action"), t("route_col"), t("muster_point"), t("arrival")))
    return (f"<div style='font-size:13px'><b>{t('at_risk_n', n=risk.at_risk_total, e=risk.evaluation_id)}</b></div>"
            f"<table class='risk-list' style='font-size:13px;width:100%;border-collapse:collapse'>"
            f"<tr>{head}</tr>{''.join(rows)}</table>")


def area_steps_html(risk: RiskView | None, lang: str) -> str:
    """The instruction of each area told to act (evacuate or shelter) with route and muster point."""
    t = lambda k, **kw: _e(tr(k, lang, **kw))  # noqa: E731
    steps = [s for s in (risk.areas if risk is not None else ()) if s.action in ("evacuate", "shelter")]
    if not steps:
        return ""
    rows = "".join(
        f"<tr class='area-step'><td style='{_CELL};font-weight:700'>{_e(s.area_id)}</td>"
        f"<td style='{_CELL};font-weight:700'>{_action(s.action, lang)}</td>"
        f"<td style='{_CELL}'>{_e(' → '.join(s.route) or '—')}</td><td style='{_CELL}'>{_e(s.muster_point or '—')}</td>"
        f"<td style='{_CELL}'>{s.people}</td><td style='{_CELL};white-space:normal'>{_e(s.reason[:80])}</td></tr>"
        for s in steps)
    head = "".join(f"<th style='{_CELL};text-align:left'>{t(k)}</th>"
                   for k in ("area", "action", "route_col", "muster_point", "people", "reason"))
    return (f"<table class='area-steps' style='font-size:13px;width:100%;border-collapse:collapse'>"
            f"<tr>{head}</tr>{rows}</table>")


def zone_legend_items(incident: IncidentView | None, lang: str) -> list[tuple[str, str]]:
    """(colour as drawn on the ground, label with threshold) of each threat-zone level."""
    zones = {z.level: z for z in (incident.zones if incident else ())}
    items = []
    for lvl, colour in ZONE_COLOURS.items():
        z = zones.get(lvl)
        label = tr(f"zone_{lvl.lower()}", lang)
        if z is not None:
            thr = f" ≥ {z.threshold:.3g} {z.units}" if z.threshold is not None else ""
            label = f"{label}: {z.label}{thr}"
        items.append((blend(colour, GROUND_COLOUR, ZONE_ALPHA), label))
    return items


def legend(incident: IncidentView | None, lang: str) -> str:
    """The plan's legend: detectors, people, plume zones with their thresholds, routes."""
    t = lambda k: tr(k, lang)  # noqa: E731
    det = legend_html([(c, t(f"det_{s}")) for c, s in zip(DETECTOR_COLOURS, DETECTOR_STATES)], t("detector"), "diamond")
    ppl = legend_html([(c, t(f"p_{'danger' if s == 'in_danger' else s}")) for c, s in zip(PERSON_COLOURS, PERSON_STATES)],
                      t("person"), "circle")
    zones = legend_html(zone_legend_items(incident, lang) + [(ROUTE_COLOUR, t("route"))], t("plume"))
    return f'<div class="cr-legend-body" style="display:flex;gap:22px;flex-wrap:wrap">{det}{ppl}{zones}</div>'
