"""The emergency planner's page: pick or compose a scenario, run it, play it back, compare two runs.

Core objects: :class:`PlannerView` (one per browser session; :meth:`PlannerView.layout` gives the
page) and :class:`PlanMap` (the 2D plan view of one run: plant outline, buildings, equipment,
muster points, the hazard field of the nearest snapshot as an image with a colour bar, people as
points coloured by state, the agents' own paths and the recommended routes, with a legend).

Heavy work stays out of the page: runs go through :class:`~.planner_runs.PlannerRuns` (a worker
process, a cache by scenario hash shared by every session, at most one run per session); the page
polls it every 0.5 s while a run is in flight. A playback frame only replaces the arrays of the
people and field sources (:meth:`PlanMap.show`); every frame's server time is recorded in
:data:`FRAME_TIMES_S` for ``benchmarks/bench_planner_ui.py``. The 3D view (the control room's
:class:`~.scene.PlantScene` with the hazard field as a translucent surface) is built only when the
user ticks it, so the page stays light.

Example (no server needed)::

    >>> from safetwin.plant_models.loader import load_plant, bundled_plant_path
    >>> from safetwin.twin.state import TwinState
    >>> from safetwin.ui.common import UIContext
    >>> from safetwin.ui.snapshot import SnapshotSource
    >>> ctx = UIContext(SnapshotSource(TwinState(load_plant(bundled_plant_path("demo_plant")))))
    >>> view = PlannerView(ctx, lang="en")
    >>> view.run_button.name
    'Run'
"""
from __future__ import annotations

import asyncio
import collections
import html
import json
import math
import re
import time
import uuid
from types import SimpleNamespace
from typing import Any

import numpy as np
import panel as pn
from bokeh.models import (
    BasicTicker,
    ColorBar,
    ColumnDataSource,
    FixedTicker,
    Legend,
    LegendItem,
    LinearColorMapper,
    LogColorMapper,
    LogTicker,
    Range1d,
)
from bokeh.palettes import YlOrRd9
from bokeh.plotting import figure
from bokeh.transform import linear_cmap
from safetwin.scenarios.loader import (
    ScenarioValidationError,
    list_scenarios,
    scenario_titles,
)

from .common import UIContext, page_template, session_actor, session_lang
from .i18n import _LABELS, tr
from .terms import detail_text, event_name, number, substance, term
from .planner_runs import (
    PERSON_STATE_NAMES,
    PLANNER_ROLES,
    ComposeForm,
    PlannerRuns,
    Playback,
    RunRecord,
    compose_scenario,
)
from .risk_map import multipolygon_coords

#: colours of the evacuation model's person states (working, alerted, moving, sheltering, arrived, incapacitated)
STATE_COLOURS = ("#1565c0", "#fdd835", "#ff6d00", "#8e24aa", "#00c853", "#d50000")
#: person state → control-room scene code (working, evacuating, mustered, in danger)
STATE_TO_SCENE = np.array([0, 1, 1, 1, 2, 3], dtype=np.float32)
ROUTE_COLOUR = "#00acc1"
PATH_COLOUR = "#5d4037"
FIELD_PALETTE = tuple(reversed(YlOrRd9))  # pale yellow (low) → dark red (high)
POLL_MS = 500
PLAYER_INTERVAL_MS = 400
STABILITIES = ("A", "B", "C", "D", "E", "F")
EVENT_TYPES = ("release", "jet_fire", "pool_fire")
#: per-person events left out of the timeline (summarised instead)
PERSON_EVENTS = frozenset({"departure", "arrival", "incapacitated"})
#: server time (s) of recent playback frames of every planner session in this process: the frame
#: handler alone, and up to the next event-loop tick (the handler plus Panel serialising the changes)
FRAME_TIMES_S: collections.deque[float] = collections.deque(maxlen=10_000)
FRAME_DISPATCH_S: collections.deque[float] = collections.deque(maxlen=10_000)
#: metric rows: key, formatter kind
METRIC_ROWS = (("alarm_s", "s"), ("first_detection_s", "s"), ("evacuation_complete_s", "rset"),
               ("last_arrival_s", "s"), ("people", "n"), ("arrived", "n"), ("people_not_accounted_for", "n"),
               ("people_above_aegl2_dose", "n"), ("max_harm_probability", "p"), ("incapacitated", "n"),
               ("first_engine_in_action_s", "s"), ("engines_in_action", "n"), ("wall_time_s", "s"))


def planner_runs_for(ctx: UIContext) -> PlannerRuns:
    """The run manager shared by every planner session of ``ctx`` (created on first use)."""
    runs = ctx.extra.get("planner_runs")
    if runs is None:
        runs = ctx.extra["planner_runs"] = PlannerRuns()
    return runs


def metric_values(pb: Playback) -> dict[str, Any]:
    """The metrics the table shows, with the count of fire engines that got into action."""
    m = dict(pb.metrics)
    m["engines_in_action"] = sum(1 for e in pb.events if e[1] == "engine_in_action")
    return m


def _fmt(v: Any, kind: str, lang: str) -> str:
    if v is None:
        return tr("pl_not_complete", lang) if kind == "rset" else "—"
    if kind == "p":
        return f"{100 * float(v):.1f} %"
    if kind == "n":
        return f"{int(v)}"
    return f"{float(v):.0f}"


def metrics_html(a: Playback, b: Playback | None, lang: str) -> str:
    """The metrics table of run ``a`` (and ``b`` with deltas B − A), objectives met / not met below."""
    t = lambda k, **kw: html.escape(tr(k, lang, **kw))
    ma, mb = metric_values(a), (metric_values(b) if b is not None else None)
    head = f"<th>{t('pl_metric')}</th><th>A</th>" + (f"<th>B</th><th>{t('pl_delta')}</th>" if mb is not None else "")
    rows = []
    for key, kind in METRIC_ROWS:
        va = ma.get(key)
        cells = f"<td class='m-{key}' style='text-align:right'>{_fmt(va, kind, lang)}</td>"
        if mb is not None:
            vb = mb.get(key)
            delta = "—"
            if isinstance(va, (int, float)) and isinstance(vb, (int, float)):
                d = float(vb) - float(va)
                delta = f"{100 * d:+.1f} %" if kind == "p" else (f"{d:+.0f}")
            cells += (f"<td class='mb-{key}' style='text-align:right'>{_fmt(vb, kind, lang)}</td>"
                      f"<td class='md-{key}' style='text-align:right'>{delta}</td>")
        rows.append(f"<tr><td>{t('m_' + key)}</td>{cells}</tr>")
    obj = []
    for label, m in (("A", ma), ("B", mb)):
        for o in (m or {}).get("objectives", []) if m is not None else []:
            ok = o.get("met")
            mark = (f"<span style='color:#2e7d32'>✓ {t('pl_met')}</span>" if ok else
                    f"<span style='color:#c62828'>✗ {t('pl_not_met')}</span>")
            val = "—" if o.get("value") is None else number(o["value"])
            metric = str(o["metric"])
            name = tr("m_" + metric, lang) if ("m_" + metric) in _LABELS else metric.replace("_", " ")
            obj.append(f"<tr><td>{label} {html.escape(str(o['id']))}</td><td>{html.escape(name)} ≤ "
                       f"{number(o['max'])}</td><td style='text-align:right'>{val}</td><td>{mark}</td></tr>")
    objectives = (f"<b>{t('pl_objectives')}</b><table class='planner-objectives' style='font-size:12px;width:100%'>"
                  f"{''.join(obj)}</table>") if obj else ""
    return (f"<div style='font-size:12px'><b>{t('pl_metrics')}</b>"
            f"<table class='planner-metrics' style='font-size:12px;width:100%;border-collapse:collapse'>"
            f"<tr>{head}</tr>{''.join(rows)}</table>{objectives}</div>")


#: scenario fields → the planner form's labels (events.<n>.<field> share one entry)
FORM_FIELDS = {"time_of_day": "pl_time_of_day", "shift": "pl_shift", "weather.wind_speed_m_s": "pl_wind_speed",
               "weather.wind_from_deg": "pl_wind_from", "weather.stability": "pl_stability",
               "simulation.duration_s": "pl_duration", "population.limit": "pl_people_limit",
               "events.equipment": "equipment", "events.type": "pl_event_type", "events.rate_kg_s": "pl_rate",
               "events.hole_diameter_m": "pl_hole", "events.duration_s": "pl_release_s"}
#: what a field must look like, where the schema says it with a pattern
FORM_HINTS = {"time_of_day": ("use HH:MM, e.g. 14:30", "请用 HH:MM 格式，例如 14:30"),
              "weather.stability": ("a Pasquill class A to F", "应为 A 至 F 的帕斯奎尔稳定度等级")}


def user_issue(field: str, message: str, lang: str) -> str:
    """A validation issue of a composed scenario in the form's terms: the field's label on the page,
    and a pattern stated as what to type.

    >>> user_issue("time_of_day", "String should match pattern '^[0-9]{2}:[0-9]{2}$'", "en")
    'Time of day [HH:MM]: use HH:MM, e.g. 14:30'
    >>> user_issue("events.0.rate_kg_s", "Input should be greater than 0", "en")
    'Rate [kg/s]: Input should be greater than 0'
    """
    generic = re.sub(r"\.\d+\.", ".", field)
    key = FORM_FIELDS.get(generic)
    label = tr(key, lang) if key else generic.replace("_", " ")
    hint = FORM_HINTS.get(generic)
    if hint and "pattern" in message:
        message = hint[1] if lang == "zh" else hint[0]
    elif "pattern" in message:
        message = "has the wrong form" if lang != "zh" else "格式不正确"
    return f"{label}: {message}"


def threshold_tick_labels(thresholds: list[tuple[float, str]]) -> dict[float, str]:
    """Colour-bar labels of the thresholds: each value once, its label without repeating the number.

    >>> threshold_tick_labels([(5.0, "5 kW/m2"), (12.5, "pain"), (12.5, "12.5 kW/m2")])
    {5.0: '5 kW/m2', 12.5: 'pain 12.5'}
    """
    out: dict[float, str] = {}
    for v, lab in thresholds:
        if v in out:
            continue
        out[v] = lab if f"{v:.3g}" in lab else f"{lab} {v:.3g}"
    return out


def timeline_html(pb: Playback, lang: str, limit: int = 200) -> str:
    """The event timeline: every non-person event, with departures and arrivals summarised."""
    t = lambda k, **kw: html.escape(tr(k, lang, **kw))
    rows = [(e[0], e[1], e[2], e[3]) for e in pb.events if e[1] not in PERSON_EVENTS]
    dep = sorted(e[0] for e in pb.events if e[1] == "departure")
    arr = sorted(e[0] for e in pb.events if e[1] == "arrival")
    if dep:
        rows.append((dep[0], t("pl_first_departure"), "", t("pl_departures", n=len(dep))))
    if arr and len(arr) * 2 >= max(len(dep), 1):
        rows.append((arr[(len(dep) + 1) // 2 - 1] if len(dep) else arr[0], t("pl_half_arrived"), "", ""))
    if arr:
        rows.append((arr[-1], t("m_last_arrival_s"), "", t("pl_arrivals", n=len(arr))))
    rows.sort(key=lambda r: r[0])

    def words(kind: str, detail: str) -> tuple[str, str]:
        """The event and its details in words (a summary row is already in words)."""
        try:
            doc = json.loads(detail) if detail.startswith("{") else None
        except ValueError:
            doc = None
        return event_name(kind, lang), (detail_text(doc, lang) if isinstance(doc, dict) else detail)

    body = "".join(f"<tr><td style='text-align:right'>{r[0]:.0f}</td><td>{html.escape(words(r[1], r[3])[0])}</td>"
                   f"<td>{html.escape(r[2])}</td><td style='color:#607d8b'>{html.escape(words(r[1], r[3])[1][:160])}</td>"
                   f"</tr>" for r in rows[:limit])
    return (f"<div style='font-size:12px'><b>{t('pl_timeline')}</b><table class='planner-timeline' "
            f"style='font-size:11px;width:100%'><tr><th>{t('pl_time_s')}</th><th>{t('pl_event')}</th>"
            f"<th>{t('pl_source')}</th><th>{t('pl_detail')}</th></tr>{body}</table></div>")


# ============================================================================ 2D plan view
class PlanMap:
    """The 2D plan view of one run (Bokeh, plant frame in metres, no tiles); :meth:`show` sets the time."""

    def __init__(self, plant: Any, pb: Playback, field_name: str | None, lang: str, *, width: int = 620,
                 height: int = 480, title: str = "") -> None:
        self.pb = pb
        self.field_name = field_name if field_name in pb.fields else next(iter(pb.fields), None)
        t = lambda k, **kw: tr(k, lang, **kw)
        minx, miny, maxx, maxy = plant.boundary.bounds
        pad = 0.04 * max(maxx - minx, maxy - miny)
        fig = figure(width=width, height=height, match_aspect=True, tools="pan,wheel_zoom,box_zoom,reset,save",
                     x_range=Range1d(minx - pad, maxx + pad), y_range=Range1d(miny - pad, maxy + pad),
                     x_axis_label=t("easting"), y_axis_label=t("northing"), title=title, name="planner-map",
                     background_fill_color="#f5f5f0")
        fig.xaxis.formatter.use_scientific = False
        fig.yaxis.formatter.use_scientific = False
        fig.title.text_font_size = "11pt"
        items: list[LegendItem] = []

        def polys(geoms: list[Any], **style: Any) -> Any:
            xs, ys = [], []
            for g in geoms:
                gx, gy = multipolygon_coords(g)
                xs += gx
                ys += gy
            return fig.multi_polygons(xs=[xs], ys=[ys], **style) if xs else None

        polys([plant.boundary], fill_color="#e8eddf", line_color="#607d8b", line_width=1.5)
        roads = polys([r.geometry.buffer(r.width_m / 2, cap_style="flat") for r in plant.roads.values()],
                      fill_color="#bdbdbd", line_alpha=0)
        bld = polys([b.geometry for b in plant.buildings.values()], fill_color="#78909c", line_color="#455a64")
        eq = polys([e.footprint for e in plant.equipment.values()], fill_color="#b0bec5", line_color="#546e7a")
        # the hazard field: an image over the site, transparent below the lowest colour
        self.field_src = ColumnDataSource({"image": [np.zeros((1, 1), np.float32)], "x": [0.0], "y": [0.0],
                                           "dw": [1.0], "dh": [1.0]})
        self.colorbar = None
        self.field_renderer = None
        if self.field_name is not None:
            meta = pb.field_meta[self.field_name]
            cls = LogColorMapper if meta.log else LinearColorMapper
            mapper = cls(palette=FIELD_PALETTE, low=meta.low, high=meta.high, low_color="rgba(0,0,0,0)",
                         nan_color="rgba(0,0,0,0)")
            self.field_renderer = fig.image(image="image", x="x", y="y", dw="dw", dh="dh", source=self.field_src,
                                            color_mapper=mapper, global_alpha=0.75, name="hazard-field")
            ticks = sorted({v for v, _ in meta.thresholds if meta.low <= v <= meta.high})
            label = t("pl_heat_flux") if self.field_name == "flux_kw_m2" else meta.label
            ticker = FixedTicker(ticks=ticks) if ticks else (LogTicker() if meta.log else BasicTicker())
            self.colorbar = ColorBar(color_mapper=mapper, title=t("pl_ground_level", label=label, unit=meta.unit),
                                     ticker=ticker,
                                     major_label_overrides=threshold_tick_labels(meta.thresholds),
                                     label_standoff=6, width=10, title_text_font_size="9pt",
                                     major_label_text_font_size="8pt", name="field-colorbar")
            fig.add_layout(self.colorbar, "right")
        # the agents' own paths and the recommended routes
        xs, ys = pb.paths
        self.paths = fig.multi_line(xs=xs or [[]], ys=ys or [[]], line_color=PATH_COLOUR, line_alpha=0.18,
                                    line_width=1, name="agent-paths")
        self.route_src = ColumnDataSource({"xs": [], "ys": [], "label": []})
        self.routes = fig.multi_line(xs="xs", ys="ys", source=self.route_src, line_color=ROUTE_COLOUR, line_width=3.5,
                                     line_dash="dashed", name="recommended-routes")
        self.set_routes(pb)
        mps = list(plant.muster_points.values())
        mp = fig.scatter([m.position[0] for m in mps], [m.position[1] for m in mps], marker="circle_cross", size=16,
                         fill_color="#00c853", fill_alpha=0.3, line_color="#1b5e20", line_width=2)
        self.people_src = ColumnDataSource({"x": np.zeros(0), "y": np.zeros(0), "code": np.zeros(0, np.int8)})
        self.people = fig.scatter("x", "y", source=self.people_src, size=6, line_color="#263238", line_width=0.5,
                                  fill_color=linear_cmap("code", list(STATE_COLOURS), -0.5, len(STATE_COLOURS) - 0.5),
                                  name="people")
        for code, name in enumerate(PERSON_STATE_NAMES):
            sw = fig.scatter([math.nan], [math.nan], size=9, fill_color=STATE_COLOURS[code], line_color="#263238")
            items.append(LegendItem(label=t(f"st_{name}"), renderers=[sw]))
        items.append(LegendItem(label=t("pl_route"), renderers=[self.routes]))
        items.append(LegendItem(label=t("pl_path"), renderers=[self.paths]))
        items.append(LegendItem(label=t("pl_muster"), renderers=[mp]))
        for key, r in (("building", bld), ("equipment", eq), ("road", roads)):
            if r is not None:
                items.append(LegendItem(label=t(key), renderers=[r]))
        # below the plan, in columns: beside it the legend would squeeze the plant into a strip
        fig.add_layout(Legend(items=items, title=t("legend"), label_text_font_size="8pt", title_text_font_size="9pt",
                              background_fill_alpha=0.85, glyph_height=11, glyph_width=14, spacing=0, padding=3,
                              label_height=11, margin=2, orientation="horizontal", ncols=4 if width >= 560 else 3,
                              name="planner-legend"), "below")
        self.figure = fig

    def set_routes(self, pb: Playback) -> None:
        """(Re)draw the recommended routes of ``pb`` (they may arrive after the run's results)."""
        self.route_src.data = {"xs": [r[:, 0].tolist() for _, r in pb.routes],
                               "ys": [r[:, 1].tolist() for _, r in pb.routes], "label": [n for n, _ in pb.routes]}

    def show(self, t_s: float) -> None:
        """Draw the people of the frame nearest ``t_s`` (s) and the field snapshot nearest ``t_s``."""
        pb = self.pb
        if pb.n_frames:
            x, y, code = pb.people_at(pb.frame_index(t_s))
            self.people_src.data = {"x": x, "y": y, "code": code}
        if self.field_name is not None and len(pb.field_times_s):
            arr = pb.fields[self.field_name][pb.field_index(t_s)]
            dx = float(pb.field_x_m[1] - pb.field_x_m[0]) if len(pb.field_x_m) > 1 else 1.0
            dy = float(pb.field_y_m[1] - pb.field_y_m[0]) if len(pb.field_y_m) > 1 else 1.0
            self.field_src.data = {"image": [arr], "x": [float(pb.field_x_m[0]) - dx / 2],
                                   "y": [float(pb.field_y_m[0]) - dy / 2], "dw": [dx * arr.shape[1]],
                                   "dh": [dy * arr.shape[0]]}

    def set_layers(self, shown: set[str]) -> None:
        """Show the layers named in ``shown`` (field, people, paths, routes)."""
        if self.field_renderer is not None:
            self.field_renderer.visible = "field" in shown
        self.people.visible = "people" in shown
        self.paths.visible = "paths" in shown
        self.routes.visible = "routes" in shown


# ============================================================================ the page
class PlannerView:
    """One session's planner page (see the module docstring).

    Args:
        ctx: the UI context (plant; ``ctx.extra["planner_runs"]`` is the shared run manager).
        lang: ``en`` or ``zh``.
        actor: the signed-in user (running needs one of :data:`PLANNER_ROLES`).
        session_id: identifies the session for the one-run-at-a-time rule.
    """

    def __init__(self, ctx: UIContext, lang: str = "en", actor: Any | None = None,
                 session_id: str | None = None) -> None:
        self.ctx = ctx
        self.lang = lang
        self.actor = actor
        self.session_id = session_id or uuid.uuid4().hex
        self.runs = planner_runs_for(ctx)
        self.pending: str | None = None
        self._callback = None
        self._shown_routes: dict[str, int] = {}
        self.map_a: PlanMap | None = None
        self.map_b: PlanMap | None = None
        self.scene = None
        self.vtk = None
        self._suspend = False
        t = lambda k, **kw: tr(k, lang, **kw)
        plant = ctx.plant
        inv = list(plant.inventories)
        self.mode = pn.widgets.RadioButtonGroup(options={t("pl_library"): "library", t("pl_compose"): "compose"},
                                                value="library", button_type="default", width=240,
                                                css_classes=["planner-mode"])
        lib = list_scenarios()
        titles = scenario_titles()
        title_key = "title_zh" if lang == "zh" else "title"
        self.library = pn.widgets.Select(name=t("pl_library_select"),
                                         options={titles.get(n, {}).get(title_key, n): n for n in lib},
                                         value="h2s_confined_space" if "h2s_confined_space" in lib else (lib or [None])[0],
                                         width=240, css_classes=["planner-library"])
        w = 115
        default_eq = "V-1102" if "V-1102" in inv else (inv[0] if inv else None)
        self.equipment = pn.widgets.Select(name=t("equipment"), options=inv, value=default_eq, width=w,
                                           css_classes=["planner-equipment"])
        self.event_type = pn.widgets.Select(name=t("pl_event_type"), value="release", width=w,
                                            options={t(f"ev_{e}"): e for e in EVENT_TYPES})
        self.substance = pn.pane.HTML("", width=240, css_classes=["planner-substance"], margin=(0, 10))
        self.amount = pn.widgets.RadioButtonGroup(options={t("pl_rate"): "rate", t("pl_hole"): "hole"}, value="rate",
                                                  width=240, button_type="default")
        # no start/end bounds: the scenario schema checks the values and reports them located
        self.rate = pn.widgets.FloatInput(name=t("pl_rate"), value=0.05, step=0.01, width=w, css_classes=["pl-rate"])
        self.hole = pn.widgets.FloatInput(name=t("pl_hole"), value=0.01, step=0.005, width=w)
        self.release_duration = pn.widgets.FloatInput(name=t("pl_release_s"), value=180.0, step=30.0, width=w)
        self.wind_speed = pn.widgets.FloatInput(name=t("pl_wind_speed"), value=2.0, step=0.5, width=w)
        self.wind_from = pn.widgets.FloatInput(name=t("pl_wind_from"), value=0.0, step=10.0, width=w,
                                               css_classes=["pl-wind-from"])
        self.stability = pn.widgets.Select(name=t("pl_stability"), options=list(STABILITIES), value="D", width=w)
        self.time_of_day = pn.widgets.TextInput(name=t("pl_time_of_day"), value="10:00", width=w,
                                                css_classes=["pl-time-of-day"])
        self.shift = pn.widgets.Select(name=t("pl_shift"), options={t("pl_shift_auto"): "",
                                                                    **{term("shift", s, lang): s for s in plant.shifts}},
                                       value="", width=w)
        self.people_limit = pn.widgets.IntInput(name=t("pl_people_limit"), value=60, step=10, width=w,
                                                css_classes=["pl-people"])
        self.duration = pn.widgets.FloatInput(name=t("pl_duration"), value=300.0, step=60.0, width=w,
                                              css_classes=["pl-duration"])
        self.run_button = pn.widgets.Button(name=t("pl_run"), button_type="primary", width=240,
                                            css_classes=["planner-run"])
        self.run_button.on_click(self._on_run)
        self.progress = pn.indicators.Progress(value=0, max=100, width=240, visible=False, bar_color="info")
        self.status = pn.pane.HTML("", width=250, css_classes=["planner-status"], margin=(0, 10))
        self.errors = pn.pane.HTML("", width=250, css_classes=["planner-errors"], margin=(0, 10))
        self.compose_box = pn.Column(pn.Row(self.equipment, self.event_type), self.substance, self.amount,
                                     pn.Row(self.rate, self.hole), pn.Row(self.release_duration, self.stability),
                                     pn.Row(self.wind_speed, self.wind_from), pn.Row(self.time_of_day, self.shift),
                                     pn.Row(self.people_limit, self.duration), visible=False)
        self.mode.param.watch(lambda e: setattr(self.compose_box, "visible", e.new == "compose"), "value")
        self.mode.param.watch(lambda e: setattr(self.library, "visible", e.new == "library"), "value")
        self.equipment.param.watch(self._on_equipment, "value")
        self._on_equipment()
        # viewing
        self.run_select = pn.widgets.Select(name=t("pl_show_run"), options={}, width=230, css_classes=["pl-run-a"])
        self.compare_select = pn.widgets.Select(name=t("pl_compare"), options={t("pl_none"): ""}, value="", width=230,
                                                css_classes=["pl-run-b"])
        self.field_select = pn.widgets.Select(name=t("pl_field"), options={}, width=190)
        self.layers = pn.widgets.CheckBoxGroup(value=["field", "people", "paths", "routes"], inline=True,
                                               options={t(f"pl_layer_{k}"): k for k in ("field", "people", "paths",
                                                                                         "routes")})
        self.show_3d = pn.widgets.Checkbox(name=t("pl_3d"), value=False, css_classes=["pl-3d"])
        self.player = self._make_player(2)
        self.player.visible = False
        self.player_box = pn.Row(self.player)
        self.clock = pn.pane.HTML("", css_classes=["planner-clock"], width=260)
        self.summary = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["planner-summary"])
        self.metrics = pn.pane.HTML(f"<i>{html.escape(t('pl_no_run'))}</i>", width=380, css_classes=["planner-metrics-box"])
        self.metrics.width = 350
        self.timeline = pn.pane.HTML("", width=560, max_height=260, styles={"overflow-y": "auto"},
                                     css_classes=["planner-timeline-box"])
        self.routes_note = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["planner-routes-note"])
        self.box_3d = pn.Column(pn.Spacer(height=0), sizing_mode="stretch_width")
        self.run_select.param.watch(self._on_select, "value")
        self.compare_select.param.watch(self._on_select, "value")
        self.field_select.param.watch(self._on_select, "value")
        self.layers.param.watch(self._on_layers, "value")
        self.show_3d.param.watch(self._on_3d, "value")
        self.main_row = pn.Row(self.metrics)
        self.lower_row = pn.Row(self.timeline)
        self._refresh_runs()

    # ------------------------------------------------------------------ helpers
    @property
    def allowed(self) -> bool:
        """Whether the signed-in user may use the planner."""
        return self.actor is not None and self.actor.has(*PLANNER_ROLES)

    def _t(self, key: str, **kw: Any) -> str:
        return tr(key, self.lang, **kw)

    def _on_equipment(self, *_: Any) -> None:
        inv = self.ctx.plant.inventories.get(self.equipment.value)
        sub = substance(inv.substance, self.lang) if inv is not None else "—"
        self.substance.object = f"<span style='font-size:12px'>{html.escape(self._t('pl_substance'))}: <b>{html.escape(sub)}</b></span>"

    def compose_form(self) -> ComposeForm:
        """The compose form's values (nothing validated here)."""
        rate = self.amount.value == "rate"
        return ComposeForm(equipment=self.equipment.value or "", plant=self.ctx.plant.id, event_type=self.event_type.value,
                           rate_kg_s=self.rate.value if rate else None, hole_diameter_m=None if rate else self.hole.value,
                           release_duration_s=self.release_duration.value or None, wind_speed_m_s=self.wind_speed.value,
                           wind_from_deg=self.wind_from.value, stability=self.stability.value,
                           time_of_day=(self.time_of_day.value or "").strip(), shift=self.shift.value or None,
                           people_limit=self.people_limit.value or None, duration_s=self.duration.value)

    def _record(self, key: str) -> RunRecord | None:
        return self.runs.get(key) if key else None

    def _playback(self, key: str) -> Playback | None:
        rec = self._record(key)
        return rec.playback if rec is not None else None

    # ------------------------------------------------------------------ running
    async def _on_run(self, _event: Any = None) -> None:
        if not self.allowed:
            self.errors.object = self._err(self._t("pl_needs_role", roles=", ".join(PLANNER_ROLES)))
            return
        if self.mode.value == "library":
            source: Any = self.library.value
            label = str(self.library.value)
        else:
            source = compose_scenario(self.compose_form())
            label = f"{self.event_type.value} {self.equipment.value}, {self.wind_speed.value:g} m/s " \
                    f"{self.wind_from.value:g}°"
        self.errors.object = ""
        self.run_button.disabled = True
        try:
            loop = asyncio.get_running_loop()
            rec = await loop.run_in_executor(None, self.runs.submit, self.session_id, source, label)
        except ScenarioValidationError as err:
            composed = self.mode.value != "library"    # the user filled a form: name its fields, not the YAML's
            items = "".join(f"<li>{html.escape(user_issue(i.field, i.message, self.lang)) if composed else html.escape(i.field) + ': ' + html.escape(i.message)}"
                            f"{' (line ' + str(i.line) + ')' if getattr(i, 'line', None) and not composed else ''}</li>"
                            for i in err.issues)
            where = "" if composed else f" <i>{html.escape(str(err.path))}</i>"
            self.errors.object = (f"<div style='color:#c62828;font-size:12px'><b>{html.escape(self._t('pl_invalid'))}"
                                  f"</b>{where}<ul>{items}</ul></div>")
            return
        except (RuntimeError, FileNotFoundError) as err:
            self.errors.object = self._err(str(err))
            return
        finally:
            self.run_button.disabled = False
        self.pending = rec.key
        self.poll()
        self.start()

    def _err(self, text: str) -> str:
        return f"<div style='color:#c62828;font-size:12px'>{html.escape(text)}</div>"

    def start(self) -> None:
        """Poll the run manager every 0.5 s (from ``pn.state.onload`` or after Run)."""
        self.runs.warm()
        if self._callback is None and pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
            self._callback = pn.state.add_periodic_callback(self.poll, period=POLL_MS)

    def stop(self) -> None:
        """Stop polling (session closed)."""
        if self._callback is not None:
            self._callback.stop()
            self._callback = None

    def poll(self) -> None:
        """Advance the progress display; show a run when its results arrive and its routes when they do."""
        self.runs.poll()
        rec = self._record(self.pending) if self.pending else None
        if rec is not None:
            self.progress.visible = not rec.done
            self.progress.value = int(100 * self.runs.progress(rec))
            stage = self._t(f"pl_stage_{rec.stage}")
            elapsed, estimate = rec.elapsed_s(), self.runs.estimate_s(rec)
            # honest: no figure before a finished run has measured this machine; past it, say so
            key = ("pl_progress_first" if not self.runs.calibrated else
                   "pl_progress_over" if elapsed > estimate and not rec.done else "pl_progress")
            text = self._t(key, stage=stage, elapsed=elapsed, estimate=estimate)
            self.status.object = (f"<div style='font-size:12px'><b>{html.escape(rec.label)}</b><br>"
                                  f"{html.escape(text)}</div>")
            if rec.status == "failed":
                self.errors.object = self._err(rec.error)
                self.pending = None
            elif rec.status == "done":
                self.pending = None
                self.status.object = (f"<div style='font-size:12px'><b>{html.escape(rec.label)}</b>: "
                                      f"{html.escape(self._t('pl_stage_done'))} ({rec.playback.wall_time_s:.0f} s)</div>")
                self._refresh_runs(select=rec.key)
        # routes that arrived after the results
        for key in {self.run_select.value, self.compare_select.value} - {"", None}:
            rec = self._record(key)
            if rec is not None and rec.playback is not None and self._shown_routes.get(key) != (not rec.routes_pending):
                self._shown_routes[key] = not rec.routes_pending
                for m in (self.map_a, self.map_b):
                    if m is not None and m.pb.key == key:
                        m.set_routes(rec.playback)
                self._routes_note()
                if self.scene is not None:
                    self._update_3d()
        if self.pending is None and self._callback is not None and not any(
                r.routes_pending for r in self.runs.finished()):
            self.stop()

    # ------------------------------------------------------------------ viewing
    def _refresh_runs(self, select: str | None = None) -> None:
        done = self.runs.finished()
        opts = {f"{r.label} · {r.key[:6]}": r.key for r in reversed(done)}
        if not opts:
            return
        # one batched update, so the maps are rebuilt once: two rebuilds in one callback send the
        # browser a patch that refers to the first (already replaced) figure ("reference … isn't known")
        value = select if select in opts.values() else (self.run_select.value if self.run_select.value in
                                                        opts.values() else next(iter(opts.values())))
        b_value = self.compare_select.value if self.compare_select.value in opts.values() else ""
        self._suspend = True
        try:
            self.compare_select.param.update(options={self._t("pl_none"): "", **opts}, value=b_value)
            self.run_select.param.update(options=opts, value=value)
        finally:
            self._suspend = False
        self._on_select()

    def _on_select(self, *_: Any) -> None:
        if self._suspend:
            return
        a = self._playback(self.run_select.value)
        if a is None:
            return
        fields = {a.field_meta[n].label if n != "flux_kw_m2" else self._t("pl_heat_flux"): n for n in a.fields}
        if self.field_select.options != fields:
            value = self.field_select.value if self.field_select.value in fields.values() else \
                next(iter(fields.values()), None)
            self._suspend = True
            try:
                self.field_select.param.update(options=fields, value=value)
            finally:
                self._suspend = False
        b = self._playback(self.compare_select.value) if self.compare_select.value != self.run_select.value else None
        width = 490 if b is not None else 600
        label = lambda key: getattr(self._record(key), "label", "")
        self.map_a = PlanMap(self.ctx.plant, a, self.field_select.value, self.lang, width=width,
                             title=f"A: {label(self.run_select.value)}")
        self.map_b = (PlanMap(self.ctx.plant, b, self.field_select.value, self.lang, width=width,
                              title=f"B: {label(self.compare_select.value)}") if b is not None else None)
        self._on_layers()
        if self.player.end != max(a.n_frames - 1, 1) or not self.player.visible:
            # a new widget: Panel's Player does not pass a changed ``end`` to its slider in the browser
            value = min(self.player.value, max(a.n_frames - 1, 1))
            self.player = self._make_player(a.n_frames, value)
            self.player_box.objects = [self.player]
        self._show(self.player.value)
        # fresh panes: comparing puts both maps side by side, the metrics (A, B, delta) below
        self.map_a.figure.css_classes = ["planner-map-a"]  # the Bokeh pane does not pass its own css_classes on
        pane_a = pn.pane.Bokeh(self.map_a.figure)
        if self.map_b is not None:
            self.map_b.figure.css_classes = ["planner-map-b"]
            self.main_row.objects = [pane_a, pn.pane.Bokeh(self.map_b.figure)]
        else:
            self.main_row.objects = [pane_a, self.metrics]
        self.lower_row.objects = [self.metrics, self.timeline] if self.map_b is not None else [self.timeline]
        self.metrics.width = 470 if b is not None else 350
        self.timeline.width = 560
        self.metrics.object = metrics_html(a, b, self.lang)
        self.timeline.object = timeline_html(a, self.lang)
        s = a.summary
        self.summary.object = (f"<div style='font-size:12px;color:#37474f'>{html.escape(self._t('pl_summary', **s))}</div>")
        # the new maps already hold the routes known now; changing their sources again in this same
        # callback would reach the browser before the figures do ("reference … isn't known")
        self._shown_routes = {m.pb.key: not getattr(self._record(m.pb.key), "routes_pending", False)
                              for m in (self.map_a, self.map_b) if m is not None}
        self._routes_note()
        if self.scene is not None:
            self._update_3d()

    def _routes_note(self) -> None:
        notes = []
        for m in (self.map_a, self.map_b):
            if m is None:
                continue
            rec = self._record(m.pb.key)
            if rec is not None and rec.routes_pending:
                notes.append(self._t("pl_routes_pending"))
            elif m.pb.routes_note:
                notes.append(m.pb.routes_note)
            else:
                notes.append(self._t("pl_routes_n", n=len(m.pb.routes)))
        self.routes_note.object = "<span style='font-size:11px;color:#607d8b'>" + html.escape(" | ".join(notes)) + "</span>"

    def _on_layers(self, *_: Any) -> None:
        shown = set(self.layers.value)
        for m in (self.map_a, self.map_b):
            if m is not None:
                m.set_layers(shown)

    def _make_player(self, n_frames: int, value: int = 0) -> pn.widgets.Player:
        player = pn.widgets.Player(start=0, end=max(n_frames - 1, 1), value=value, interval=PLAYER_INTERVAL_MS,
                                   loop_policy="once", show_loop_controls=False, width=430,
                                   css_classes=["planner-player"])
        player.param.watch(self._on_frame, "value")
        return player

    def _on_frame(self, event: Any) -> None:
        self._show(int(event.new))

    def _show(self, k: int) -> None:
        t0 = time.perf_counter()
        a = self.map_a
        if a is None or not a.pb.n_frames:
            return
        k = min(max(int(k), 0), a.pb.n_frames - 1)
        t_s = float(a.pb.frame_times_s[k])
        a.show(t_s)
        if self.map_b is not None:
            self.map_b.show(t_s)
        self.clock.object = (f"<b class='planner-time' style='font-size:14px'>"
                             f"{html.escape(self._t('pl_time', t=t_s))}</b>")
        if self.scene is not None:
            self._update_3d()
        FRAME_TIMES_S.append(time.perf_counter() - t0)
        doc = pn.state.curdoc
        if doc is not None and doc.session_context is not None:
            doc.add_next_tick_callback(lambda: FRAME_DISPATCH_S.append(time.perf_counter() - t0))

    # ------------------------------------------------------------------ 3D (optional)
    def _on_3d(self, event: Any) -> None:
        if event.new and self.scene is None:
            import pyvista as pv

            from .scene import PlantScene

            self.scene = PlantScene(self.ctx.plant)
            self._plume = pv.PolyData(np.zeros((1, 3)))
            self._plume_actor = self.scene.plotter.add_mesh(self._plume, color="#ff6f00", opacity=0.45, name="plume")
            self._plume_actor.SetVisibility(False)
            self.vtk = pn.pane.VTK(self.scene.plotter.ren_win, sizing_mode="stretch_width", height=460,
                                   orientation_widget=False, enable_keybindings=False, css_classes=["planner-3d"])
            self.box_3d.objects = [self.vtk]
            self._update_3d(sync=False)
            self.vtk.synchronize()
        elif not event.new:
            self.box_3d.objects = [pn.Spacer(height=0)]
            self.scene = self.vtk = None

    def _update_3d(self, sync: bool = True) -> None:
        """Copy the current frame (people, routes, the field as a translucent surface) into the 3D scene."""
        import pyvista as pv

        from .snapshot import IncidentView

        a = self.map_a
        if a is None or self.scene is None:
            return
        pb = a.pb
        k = min(int(self.player.value), max(pb.n_frames - 1, 0))
        t_s = float(pb.frame_times_s[k]) if pb.n_frames else 0.0
        x, y, code = pb.people_at(k) if pb.n_frames else (np.zeros(0), np.zeros(0), np.zeros(0, int))
        snap = SimpleNamespace(sensor_xyz=np.zeros((0, 3)), sensor_code=np.zeros(0), incident=IncidentView(
            "planner", (), tuple(r for _, r in pb.routes), version=hash((pb.key, len(pb.routes))) & 0x7FFFFFFF),
            people_xyz=np.column_stack([x, y, np.zeros(len(x))]), people_code=STATE_TO_SCENE[np.asarray(code, int)])
        self.scene.update(snap)  # type: ignore[arg-type]
        surface = None
        if a.field_name is not None and len(pb.field_times_s):
            meta = pb.field_meta[a.field_name]
            arr = pb.fields[a.field_name][pb.field_index(t_s)]
            level = meta.thresholds[0][0] if meta.thresholds else meta.low
            if float(arr.max()) >= level:
                dx = float(pb.field_x_m[1] - pb.field_x_m[0])
                img = pv.ImageData(dimensions=(arr.shape[1], arr.shape[0], 1), spacing=(dx, dx, 1.0),
                                   origin=(float(pb.field_x_m[0]), float(pb.field_y_m[0]), 0.0))
                img.point_data["v"] = arr.ravel().astype(float)
                surf = img.threshold(level, scalars="v").extract_surface(algorithm="dataset_surface")
                if surf.n_points:
                    v = surf.point_data["v"]
                    ratio = np.log10(np.maximum(v, level) / level) if meta.log else (v - level) / max(level, 1e-9)
                    surf.points[:, 2] = 1.0 + np.minimum(8.0 * ratio, 40.0)  # height shows the level above the threshold
                    surf.clear_data()
                    surface = surf
        self._plume.copy_from(surface if surface is not None else pv.PolyData(np.zeros((1, 3))))
        self._plume_actor.SetVisibility(surface is not None)
        if sync and self.vtk is not None:
            self.vtk.synchronize()

    # ------------------------------------------------------------------ page
    def layout(self) -> pn.viewable.Viewable:
        """The page body: scenario controls on the left; playback, maps, metrics and timeline on the right."""
        t = lambda k, **kw: html.escape(tr(k, self.lang, **kw))
        if not self.allowed:
            return pn.pane.HTML(f"<div class='planner-denied' style='font-size:14px;color:#c62828;margin:20px'>"
                                f"{t('pl_needs_role', roles=', '.join(PLANNER_ROLES))}</div>")
        controls = pn.Column(pn.pane.HTML(f"<h4 style='margin:4px 0'>{t('pl_scenario')}</h4>"), self.mode,
                             self.library, self.compose_box, self.run_button, self.progress, self.status, self.errors,
                             width=262)
        view = pn.Column(pn.Row(self.run_select, self.compare_select, self.field_select),
                         pn.Row(self.player_box, self.clock), self.summary, self.main_row,
                         pn.Row(self.layers, self.show_3d), self.routes_note,
                         self.lower_row,
                         self.box_3d, sizing_mode="stretch_width")
        return pn.Row(controls, view, sizing_mode="stretch_width")


def planner_page(ctx: UIContext) -> pn.template.BootstrapTemplate:
    """Panel app factory (one call per browser session) for ``{prefix}/planner``."""
    lang = session_lang()
    actor = session_actor(ctx)
    sid = pn.state.curdoc.session_context.id if pn.state.curdoc and pn.state.curdoc.session_context else None
    view = PlannerView(ctx, lang=lang, actor=actor, session_id=sid)
    if view.allowed:
        pn.state.onload(view.start)
        pn.state.on_session_destroyed(lambda _ctx: view.stop())
    return page_template(ctx, "planner", lang, actor, [view.layout()])
