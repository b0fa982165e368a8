"""The manager's KPI cockpit and the downloadable KPI report (HTML, and PDF through Chromium).

Core objects: :class:`ManagerView` (the page), :func:`kpi_trend` (the weekly series), and
:func:`report_html` / :func:`report_pdf`. All figures come from ``WorkflowService.kpis(start, end)``
(definitions in ``docs/workflows.md``); the UI only lays them out.
"""
from __future__ import annotations

import html
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import panel as pn
from bokeh.models import ColumnDataSource, DatetimeTickFormatter, Legend
from bokeh.plotting import figure

from safetwin.pdf import html_to_pdf

from .common import UIContext, page_template, session_actor, session_lang
from .i18n import tr
from .terms import counts, message

MAX_TREND_WEEKS = 26


def _pct(v: float | None, lang: str) -> str:
    return tr("n_a", lang) if v is None else f"{100 * v:.0f} %"


def _num(v: Any, lang: str) -> str:
    return tr("n_a", lang) if v is None else str(v)


def _as_utc(d: date | datetime) -> datetime:
    if isinstance(d, datetime):
        return d if d.tzinfo else d.replace(tzinfo=timezone.utc)
    return datetime.combine(d, time.min, tzinfo=timezone.utc)


def kpi_trend(workflows: Any, start: datetime, end: datetime) -> dict[str, list]:
    """Weekly KPI series over [start, end): week start, hazards found/closed, permits, rectification rate."""
    out: dict[str, list] = {"week": [], "found": [], "closed": [], "permits": [], "rate": []}
    t = start
    for _ in range(MAX_TREND_WEEKS):
        if t >= end:
            break
        t1 = min(t + timedelta(days=7), end)
        k = workflows.kpis(t, t1)
        out["week"].append(t)
        out["found"].append(k["hazards"]["found"])
        out["closed"].append(k["hazards"]["closed"])
        out["permits"].append(sum(k["permits"]["by_state"].values()))
        out["rate"].append(k["hazards"]["rectification_rate"])
        t = t1
    return out


def kpi_cards(k: dict[str, Any], lang: str) -> str:
    """The KPI figures as HTML cards (used on the page and in the report)."""
    t = lambda key: html.escape(tr(key, lang))  # noqa: E731
    hz, pm, ce, al = k["hazards"], k["permits"], k["certificates"], k["alarms"]

    def card(title: str, rows: list[tuple[str, str]]) -> str:
        body = "".join(f"<tr><td>{label}</td><td class='v'>{html.escape(v)}</td></tr>" for label, v in rows)
        return f"<div class='card'><h3>{title}</h3><table>{body}</table></div>"

    majors = ", ".join(h["id"] for h in hz["open_major"]) or "—"
    cards = [
        card(t("kpi_hazards"), [(t("hz_found"), str(hz["found"])), (t("hz_closed"), str(hz["closed"])),
                                (t("rectification_rate"), _pct(hz["rectification_rate"], lang)),
                                (t("on_time_rate"), _pct(hz["on_time_rate"], lang)),
                                (t("overdue_rate"), _pct(hz["overdue_rate"], lang)),
                                (t("mean_time_to_close_h"), _num(hz["mean_time_to_close_h"], lang)),
                                (t("open_major"), majors)]),
        card(t("kpi_permits"), [(t("compliance_rate"), _pct(pm["compliance_rate"], lang)),
                                (t("gas_test_timeliness"), _pct(pm["gas_test_timeliness"], lang)),
                                (t("auto_suspensions"), str(pm["auto_suspensions"])),
                                (t("by_state"), counts(pm["by_state"], "permit_state", lang)),
                                (t("by_type_level"), counts(pm["by_type_level"], "permit_type", lang))]),
        card(t("kpi_certs"), [(t("by_state"), counts(ce["by_status"], "cert_status", lang)),
                              (t("holders"), str(ce["holders"]))]),
        card(t("kpi_alarms"), [(t("cases"), str(al["cases"])), (t("open"), str(al["open"]))]),
        card(t("drills"), _drill_rows(k.get("drills") or {}, lang)),
    ]
    return "<div class='cards'>" + "".join(cards) + "</div>"


def _drill_rows(d: dict[str, Any], lang: str) -> list[tuple[str, str]]:
    """The drill card: plan completion (演练计划完成率), due/done, overdue items, evaluations, 不足项."""
    t = lambda key: html.escape(tr(key, lang))  # noqa: E731
    if d.get("plan_completion") is None and not d.get("due") and not d.get("evaluations"):
        return [("", str(d.get("note") or t("drill_no_plan")))]
    overdue = d.get("overdue") or []
    return [(t("drill_plan_completion"), _pct(d.get("plan_completion"), lang)),
            (t("drill_due_done"), f"{d.get('done', 0)} / {d.get('due', 0)}"),
            (t("drill_overdue"), ", ".join(overdue[:4]) + (" …" if len(overdue) > 4 else "") if overdue else "—"),
            (t("drill_evaluations"), str(d.get("evaluations", 0))),
            (t("drill_deficiencies"), str(d.get("deficiencies", 0)))]


def drill_evaluations_html(ctx: UIContext, lang: str, limit: int = 20) -> str:
    """The newest stored drill evaluations (score, grade, findings) with links to their reports."""
    t = lambda key: html.escape(tr(key, lang))  # noqa: E731
    wf = ctx.workflows
    if wf is None:
        return ""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from safetwin.scenarios.loader import scenario_titles
    from safetwin.twin.workflows.drill_store import list_evaluations

    try:
        evs = list_evaluations(wf.repo.engine, site_id=wf.site_id, limit=limit)
    except (OperationalError, ProgrammingError):   # a store not migrated to the drill tables
        evs = []
    head = f"<h3>{t('drill_evaluations')}</h3>"
    if not evs:
        return head + f"<p><i>{t('drill_none')}</i></p>"
    base = f"{ctx.prefix}/manager/drill"
    titles = scenario_titles()
    title_key = "title_zh" if lang == "zh" else "title"

    def scenario(e: dict[str, Any]) -> str:
        name = str(e.get("scenario") or e.get("drill_id") or "")
        return titles.get(name, {}).get(title_key, name)

    rows = "".join(
        f"<tr><td>{html.escape(str(e.get('evaluated_at') or '')[:16])}</td><td>{html.escape(scenario(e))}</td>"
        f"<td class='v'>{_num(e.get('score'), lang)}</td><td>{html.escape(str(e.get('grade') or ''))}</td>"
        f"<td class='v'>{e.get('deficiencies', 0)} / {e.get('rectifications', 0)} / {e.get('improvements', 0)}</td>"
        f"<td>{html.escape('; '.join(message(f['text'], lang) for f in e.get('top_findings', [])[:2]))}</td>"
        f"<td><a href='{base}/{int(e['id'])}.html'>HTML</a> <a href='{base}/{int(e['id'])}.pdf'>PDF</a></td></tr>"
        for e in evs)
    return (head + f"<table class='drills'><tr><th>{t('drill_when')}</th><th>{t('drill_scenario')}</th>"
            f"<th>{t('drill_score')}</th><th>{t('drill_grade')}</th><th>{t('drill_findings_counts')}</th>"
            f"<th>{t('drill_top_findings')}</th><th>{t('drill_report')}</th></tr>{rows}</table>")


CARD_CSS = """<style>.cards{display:flex;flex-wrap:wrap;gap:12px}.card{background:#fafafa;border:1px solid #cfd8dc;
border-radius:6px;padding:8px 14px;min-width:230px;font-size:13px}.card h3{margin:2px 0 6px;font-size:15px;color:#263238}
.card td{padding:1px 8px 1px 0}.card td.v{font-weight:600;text-align:right}
table.drills{border-collapse:collapse;font-size:12px}table.drills td,table.drills th{padding:2px 8px;
border-bottom:1px solid #eceff1;text-align:left}</style>"""


def report_html(ctx: UIContext, start: datetime, end: datetime, lang: str = "en") -> str:
    """A self-contained HTML KPI report for [start, end) (no scripts, prints cleanly to PDF)."""
    t = lambda key: html.escape(tr(key, lang))  # noqa: E731
    plant = ctx.plant
    head = (f"<!doctype html><html lang='{'zh-CN' if lang == 'zh' else 'en'}'><head><meta charset='utf-8'>"
            f"<title>{t('report_title')} — {html.escape(plant.name)}</title>{CARD_CSS}<style>body{{font-family:"
            f"'Noto Sans CJK SC','Noto Sans',sans-serif;margin:24px}}table.trend td,table.trend th{{padding:2px 10px;"
            f"border-bottom:1px solid #eceff1;font-size:12px}}</style></head><body>")
    meta = (f"<h1>{t('report_title')}</h1><p>{t('site')}: <b>{html.escape(plant.name)}</b> ({html.escape(plant.id)})<br>"
            f"{t('period')}: {start:%Y-%m-%d} – {end:%Y-%m-%d} (UTC)<br>{t('generated')}: "
            f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC</p>")
    wf = ctx.workflows
    if wf is None:
        return head + meta + f"<p><i>{t('no_workflows')}</i></p></body></html>"
    k = wf.kpis(start, end)
    tr_ = kpi_trend(wf, start, end)
    rows = "".join(f"<tr><td>{w:%Y-%m-%d}</td><td>{f}</td><td>{c}</td><td>{p}</td><td>{_pct(r, lang)}</td></tr>"
                   for w, f, c, p, r in zip(tr_["week"], tr_["found"], tr_["closed"], tr_["permits"], tr_["rate"]))
    trend = (f"<h2>{t('trend')}</h2><table class='trend'><tr><th>{t('week')}</th><th>{t('kpi_hazards')} "
             f"{t('hz_found')}</th><th>{t('hz_closed')}</th><th>{t('kpi_permits')}</th>"
             f"<th>{t('rectification_rate')}</th></tr>{rows}</table>")
    return head + meta + kpi_cards(k, lang) + drill_evaluations_html(ctx, lang) + trend + "</body></html>"


def report_pdf(report: str, timeout_s: float = 60.0, *, chromium: str | None = None) -> bytes:
    """Print an HTML report to PDF with headless Chromium (``chromium``: its executable, default
    found by :func:`safetwin.pdf.chromium_path`); RuntimeError when that is not possible."""
    return html_to_pdf(report, timeout_s, chromium=chromium)


class ManagerView:
    """One session's KPI cockpit (see the module docstring)."""

    def __init__(self, ctx: UIContext, lang: str = "en", actor: Any | None = None) -> None:
        self.ctx = ctx
        self.lang = lang
        self.actor = actor
        today = datetime.now(timezone.utc).date()
        t = lambda k: tr(k, lang)  # noqa: E731
        self.start = pn.widgets.DatePicker(name=t("from"), value=today - timedelta(days=90), width=160)
        self.end = pn.widgets.DatePicker(name=t("to"), value=today + timedelta(days=1), width=160)
        self.refresh = pn.widgets.Button(name=t("refresh"), button_type="primary", width=120, align="end")
        self.refresh.on_click(self._update)
        self.cards = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["kpi-cards"])
        self.links = pn.pane.HTML("", css_classes=["report-links"])
        self.trend = pn.pane.Bokeh(css_classes=["kpi-trend"])
        self._update()

    def _period(self) -> tuple[datetime, datetime]:
        return _as_utc(self.start.value), _as_utc(self.end.value)

    def _update(self, _event: Any = None) -> None:
        t = lambda k: tr(k, self.lang)  # noqa: E731
        start, end = self._period()
        q = f"start={start.date().isoformat()}&end={end.date().isoformat()}&lang={self.lang}"
        base = f"{self.ctx.prefix}/manager"
        self.links.object = (f"<a class='btn btn-success' id='report-html' href='{base}/report.html?{q}'>"
                             f"{html.escape(t('download_html'))}</a> &nbsp; <a class='btn btn-secondary' id='report-pdf' "
                             f"href='{base}/report.pdf?{q}'>{html.escape(t('download_pdf'))}</a>")
        wf = self.ctx.workflows
        if wf is None:
            self.cards.object = f"<i>{html.escape(t('no_workflows'))}</i>"
            self.trend.object = None
            return
        self.cards.object = CARD_CSS + kpi_cards(wf.kpis(start, end), self.lang) + drill_evaluations_html(self.ctx, self.lang)
        self.trend.object = self._trend_figure(kpi_trend(wf, start, end))

    def _trend_figure(self, series: dict[str, list]) -> Any:
        t = lambda k: tr(k, self.lang)  # noqa: E731
        src = ColumnDataSource({k: v for k, v in series.items() if k != "rate"})
        fig = figure(width=900, height=280, x_axis_type="datetime", title=t("trend"), toolbar_location=None,
                     y_axis_label=t("count"), name="kpi-trend")
        r1 = fig.line("week", "found", source=src, line_width=2, color="#e53935")
        r2 = fig.line("week", "closed", source=src, line_width=2, color="#43a047")
        r3 = fig.line("week", "permits", source=src, line_width=2, color="#1e88e5", line_dash="dashed")
        for col, colour in (("found", "#e53935"), ("closed", "#43a047"), ("permits", "#1e88e5")):
            fig.scatter("week", col, source=src, size=5, color=colour)
        fig.add_layout(Legend(items=[(f"{t('kpi_hazards')}: {t('hz_found')}", [r1]),
                                     (f"{t('kpi_hazards')}: {t('hz_closed')}", [r2]),
                                     (t("kpi_permits"), [r3])], location="top_left", title=t("legend")), "right")
        fig.xaxis.axis_label = t("week")
        if self.lang == "zh":   # numeric dates: Bokeh's default ticks name the months in English
            fig.xaxis.formatter = DatetimeTickFormatter(days="%m月%d日", months="%Y年%m月", years="%Y年")
        return fig

    def layout(self) -> pn.viewable.Viewable:
        """The page body: period, KPI cards, weekly trend and the report links."""
        return pn.Column(pn.Row(self.start, self.end, self.refresh, self.links), self.cards, self.trend,
                         sizing_mode="stretch_width")


def manager_page(ctx: UIContext) -> pn.template.BootstrapTemplate:
    """Panel app factory (one call per browser session) for ``{prefix}/manager``."""
    lang = session_lang()
    actor = session_actor(ctx)
    view = ManagerView(ctx, lang=lang, actor=actor)
    return page_template(ctx, "manager", lang, actor, [view.layout()])
