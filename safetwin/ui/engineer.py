"""The safety engineer's page: the four-colour risk map, consequence zones on demand, GeoJSON export.

Core object: :class:`EngineerView`. The register units come from ``WorkflowService.risk_map()``;
consequence zones are computed for the chosen equipment and weather with
``emergency_planner.plant_consequence.zones_at_equipment`` (in a worker thread, so the server's
event loop keeps serving the live control rooms). Layers toggle with checkboxes; a click on a zone
shows its details; the download is a GeoJSON FeatureCollection in WGS84 (RFC 7946).

The "individual risk contours" layer draws a QRA result's contours (1e-4 … 1e-8 /yr): read from
the ``qra_dir`` given to ``mount_ui`` (a ``run_qra`` output folder), or computed on demand by a
button (a coarse, in-process ``run_qra`` on a 10 m grid, ~10 s for the demo plant, in a worker
thread). The contours are kept in ``ctx.extra`` and shared by every engineer session.
"""
from __future__ import annotations

import asyncio
import html
import io
import json
from pathlib import Path
from typing import Any

import panel as pn
from bokeh.models import ColumnDataSource

from safetwin.emergency_planner.physics.consequence import Weather
from safetwin.emergency_planner.plant_consequence import default_grid, release_at_equipment, zones_at_equipment
from safetwin.plant_models.export import local_geojson_to_wgs84

from .common import UIContext, legend_html, page_template, session_actor, session_lang
from .i18n import tr
from .terms import message, substance
from .risk_map import QRA_COLOURS, load_qra_contours, qra_label, risk_figure, threshold_text, zone_features
from safetwin.twin.workflows.risk import COLOURS

#: grid spacing (m) used for the page's consequence runs, by release kind (coarser than the
#: 1001² default grid: about 1 s per run instead of 8-10 s, zones within a grid cell)
GRID_SPACING_M = {"toxic_gas": 20.0, "flammable_gas": 8.0}
FIRE_GRID_SPACING_M = 4.0
STABILITIES = ("A", "B", "C", "D", "E", "F")
#: the on-demand QRA: grid spacing (m) and the margins (m) tried in turn until the grid covers the
#: plant's off-site targets (``run_qra`` raises ValueError when a target lies outside the grid)
QRA_GRID_M = 10.0
QRA_MARGINS_M = (500.0, 1000.0, 2000.0)
ENGINEER_ROLES = ("safety_engineer", "planner", "operator", "admin")


def compute_zones(plant: Any, equipment_id: str, wind_speed_m_s: float, wind_from_deg: float,
                  stability: str) -> Any:
    """Consequence zones at ``equipment_id`` under the given weather, on the page's grid."""
    release = release_at_equipment(plant, equipment_id)
    grid = default_grid(release, spacing_m=GRID_SPACING_M.get(release.kind, FIRE_GRID_SPACING_M))
    return zones_at_equipment(plant, equipment_id, Weather(wind_speed_m_s, wind_from_deg, stability), grid=grid)


def compute_qra_contours(plant: Any, out_dir: str) -> dict:
    """A coarse, in-process QRA of ``plant`` (``QRA_GRID_M`` grid); its contours level /yr → polygon.

    Also writes the QRA outputs (contours GeoJSON, criteria report, …) into ``out_dir``.
    """
    from safetwin.emergency_planner.qra import run_qra

    last: Exception | None = None
    for margin in QRA_MARGINS_M:
        try:
            res = run_qra(plant, grid_m=QRA_GRID_M, margin_m=margin, out_dir=out_dir, scheduler="serial",
                          progress=False)
        except ValueError as exc:  # an off-site target outside the grid: widen the margin
            last = exc
            continue
        return dict(sorted(res.contours.items(), reverse=True))
    raise ValueError(f"QRA grid cannot cover the plant's targets: {last}")


def offsite_receptors(plant: Any) -> list[dict[str, Any]]:
    """The plant's off-site receptors (``qra.yaml`` ``population.offsite``: id, name, polygon in the
    plant frame); none when the plant declares none or its QRA file cannot be read."""
    from safetwin.emergency_planner.qra.config import load_config

    try:
        return list(load_config(plant.path)["population"].get("offsite") or [])
    except (OSError, ValueError, KeyError):
        return []


def threat_summary_html(result: Any, lang: str) -> str:
    """The threat-zone summary of a consequence result: per zone its threshold, its reach from the
    release point and its area (like ALOHA's threat-zone summary); "" without a result."""
    if result is None:
        return ""
    rel = result.release
    t = lambda k, **kw: html.escape(tr(k, lang, **kw))  # noqa: E731
    rows = []
    for z in result.zones:
        if z.geometry.is_empty:
            continue
        reach = z.max_distance_m(rel.x_m, rel.y_m)
        area = f"{z.area_m2 / 1e6:.2f} km²" if z.area_m2 >= 1e5 else f"{z.area_m2:,.0f} m²"
        rows.append(f"<tr><td><span style='display:inline-block;width:10px;height:10px;background:"
                    f"{COLOURS.get(z.level, '#9e9e9e')}'></span> {html.escape(z.label)}</td>"
                    f"<td class='v'>{html.escape(threshold_text(z.threshold, z.units))}</td><td class='v'>{reach:,.0f} m</td>"
                    f"<td class='v'>{area}</td></tr>")
    head = (f"<b>{t('threat_summary')}</b><div style='color:#607d8b'>{html.escape(rel.equipment_id or '')} "
            f"({html.escape(substance(rel.substance, lang))}), {t('kind_' + str(result.kind))}</div>")
    if not rows:
        return f"<div style='font-size:12px'>{head}<i>{t('no_zone')}</i></div>"
    return (f"<div style='font-size:12px'>{head}<table class='threat-summary'><tr><th>{t('zone')}</th>"
            f"<th>{t('threshold')}</th><th>{t('reach')}</th><th>{t('area_m2')}</th></tr>{''.join(rows)}</table></div>")


def basemap_url(ctx: UIContext) -> str:
    """The URL template of the local basemap tiles (served by ``mount_ui``, behind the login)."""
    return ctx.prefix + "/basemap/{Z}/{X}/{Y}.png"


def qra_contours_for(ctx: UIContext) -> dict | None:
    """The contours shared by all engineer sessions: computed earlier, or read from ``qra_dir``."""
    contours = ctx.extra.get("qra_contours")
    if contours is None and ctx.extra.get("qra_dir"):
        try:
            contours = load_qra_contours(ctx.extra["qra_dir"])
        except (FileNotFoundError, ValueError):  # no (or unreadable) QRA output yet: the button computes one
            return None
        ctx.extra["qra_contours"] = contours
        ctx.extra.setdefault("qra_origin", str(ctx.extra["qra_dir"]))   # the legend names the folder, not its path
    return contours


class EngineerView:
    """One session's engineer page (see the module docstring)."""

    def __init__(self, ctx: UIContext, lang: str = "en", actor: Any | None = None) -> None:
        self.ctx = ctx
        self.lang = lang
        self.actor = actor
        self.result: Any | None = None
        t = lambda k: tr(k, lang)  # noqa: E731
        plant = ctx.plant
        inv = list(plant.inventories)
        self.equipment = pn.widgets.Select(name=t("equipment"), options=inv, value=inv[0] if inv else None, width=220,
                                           css_classes=["engineer-equipment"])
        self.wind_speed = pn.widgets.FloatInput(name=t("wind_speed"), value=3.0, start=0.5, end=30.0, step=0.5, width=220)
        self.wind_from = pn.widgets.FloatInput(name=t("wind_from"), value=270.0, start=0.0, end=360.0, step=10.0, width=220)
        self.stability = pn.widgets.Select(name=t("stability"), options=list(STABILITIES), value="D", width=220)
        self.compute = pn.widgets.Button(name=t("compute"), button_type="primary", width=220)
        self.compute.on_click(self._on_compute)
        self.publish = pn.widgets.Button(name=t("control_room") + " ⟵", button_type="light", width=220, disabled=True)
        self.publish.on_click(self._on_publish)
        self.qra_button = pn.widgets.Button(name=t("qra_compute"), button_type="default", width=220,
                                            css_classes=["qra-compute"])
        self.qra_button.on_click(self._on_qra)
        self.qra_legend = pn.pane.HTML("", width=260, css_classes=["qra-legend"])
        options = {t("layer_plant"): "plant", t("layer_register"): "register", t("layer_consequence"): "consequence",
                   t("layer_qra"): "qra"}
        self.basemap = ctx.extra.get("basemap")   # a PlantBasemap when the server has basemap tiles
        if self.basemap is not None:
            options[t("layer_basemap")] = "basemap"
        self.layer_toggle = pn.widgets.CheckBoxGroup(name=t("layers"), value=list(options.values()), options=options)
        self.layer_toggle.param.watch(self._on_layers, "value")
        self.download = pn.widgets.FileDownload(callback=self._geojson, filename=f"{plant.id}-risk-zones.geojson",
                                                label=t("download_geojson"), button_type="success", width=220)
        self.details = pn.pane.HTML(f"<i>{html.escape(t('click_zone'))}</i>", width=260, css_classes=["zone-details"])
        self.notes = pn.pane.HTML("", width=260, css_classes=["zone-notes"])
        self.summary = pn.pane.HTML("", width=260, css_classes=["threat-summary"])
        self.map_pane = pn.pane.Bokeh(sizing_mode="fixed", css_classes=["risk-map"])
        self._features: list[dict] = []
        self._render()

    # ------------------------------------------------------------------ data

    def _register(self) -> dict | None:
        wf = self.ctx.workflows
        if wf is None:
            return None
        try:
            try:
                return wf.risk_map(frame="local")  # plant metres, like the rest of the map
            except TypeError:  # a service whose risk_map() has no frame argument returns metres
                return wf.risk_map()
        except Exception:
            return None

    def _render(self) -> None:
        register = self._register()
        zones = list(self.result.zones) if self.result is not None else []
        eid = getattr(getattr(self.result, "release", None), "equipment_id", "") or ""
        fc = zone_features(register, zones, equipment_id=eid)
        self._features = fc["features"]
        qra = qra_contours_for(self.ctx)
        release = getattr(self.result, "release", None)
        fig, self.layers = risk_figure(self.ctx.plant, self._features, self.lang, width=740, height=560, qra=qra,
                                       source_xy=(release.x_m, release.y_m) if release is not None else None,
                                       receptors=offsite_receptors(self.ctx.plant),
                                       basemap_url=basemap_url(self.ctx) if self.basemap is not None else None,
                                       basemap_attribution=getattr(self.basemap, "attribution", ""))
        self._qra_legend(qra)
        self.summary.object = threat_summary_html(self.result, self.lang)
        for name in ("register", "consequence", "qra"):
            src: ColumnDataSource = self.layers[name][0].data_source
            src.selected.on_change("indices", self._make_on_select(src))
        self._on_layers()
        self.map_pane.object = fig
        if not register or not register.get("features"):
            self.notes.object = f"<i style='font-size:12px'>{html.escape(tr('no_register', self.lang))}</i>"
        else:
            self.notes.object = ""
        if self.result is not None and self.result.notes:
            items = "".join(f"<li>{html.escape(message(n, self.lang))}</li>" for n in self.result.notes)
            self.notes.object += f"<div style='font-size:11px'><b>{html.escape(tr('notes', self.lang))}</b><ul>{items}</ul></div>"

    def _make_on_select(self, src: ColumnDataSource):
        def on_select(_attr: str, _old: list[int], new: list[int]) -> None:
            if not new:
                return
            props = json.loads(src.data["props"][new[0]])
            rows = "".join(f"<tr><td><b>{html.escape(str(key))}</b></td><td>{html.escape(str(v))}</td></tr>"
                           for key, v in props.items() if key not in ("colour",))
            self.details.object = (f"<div style='font-size:12px'><b>{html.escape(tr('zone_details', self.lang))}</b>"
                                   f"<table>{rows}</table></div>")
        return on_select

    def _qra_legend(self, qra: dict | None) -> None:
        t = lambda k, **kw: tr(k, self.lang, **kw)  # noqa: E731
        if not qra:
            self.qra_legend.object = f"<i style='font-size:12px'>{html.escape(t('qra_none'))}</i>"
            return
        items = legend_html([(QRA_COLOURS.get(lv, "#9575cd"), qra_label(lv)) for lv in sorted(qra, reverse=True)],
                            t("qra_legend"))
        origin = self.ctx.extra.get("qra_origin")
        if isinstance(origin, dict):   # computed on this page: the grid, not the server's folder
            text = t("qra_computed", grid=origin.get("grid_m", QRA_GRID_M))
        else:
            text = t("qra_loaded", src=Path(str(origin)).name) if origin else ""
        src = f"<div style='font-size:11px;color:#607d8b'>{html.escape(text)}</div>" if text else ""
        self.qra_legend.object = items + src

    # ------------------------------------------------------------------ callbacks

    def _on_layers(self, *_: Any) -> None:
        shown = set(self.layer_toggle.value)
        for name, renderers in self.layers.items():
            for r in renderers:
                r.visible = name in shown

    async def _on_compute(self, _event: Any = None) -> None:
        self.compute.loading = True
        self.compute.name = tr("computing", self.lang)
        try:
            loop = asyncio.get_running_loop()
            args = (self.ctx.plant, self.equipment.value, float(self.wind_speed.value), float(self.wind_from.value),
                    self.stability.value)
            self.result = await loop.run_in_executor(None, compute_zones, *args)
        except (KeyError, ValueError) as exc:
            self.notes.object = f"<span style='color:#c62828'>{html.escape(str(exc))}</span>"
            return
        finally:
            self.compute.loading = False
            self.compute.name = tr("compute", self.lang)
        self.publish.disabled = self.actor is None or not self.actor.has(*ENGINEER_ROLES)
        self._render()

    async def _on_qra(self, _event: Any = None) -> None:
        import tempfile

        self.qra_button.loading = True
        self.qra_button.name = tr("computing", self.lang)
        try:
            out_dir = self.ctx.extra.get("qra_dir") or tempfile.mkdtemp(prefix="safetwin-qra-")
            loop = asyncio.get_running_loop()
            contours = await loop.run_in_executor(None, compute_qra_contours, self.ctx.plant, str(out_dir))
        except (KeyError, ValueError, FileNotFoundError) as exc:
            self.notes.object = f"<span style='color:#c62828'>QRA: {html.escape(str(exc)[:300])}</span>"
            return
        finally:
            self.qra_button.loading = False
            self.qra_button.name = tr("qra_compute", self.lang)
        self.ctx.extra["qra_contours"] = contours
        self.ctx.extra["qra_origin"] = {"grid_m": QRA_GRID_M}
        if "qra" not in self.layer_toggle.value:
            self.layer_toggle.value = [*self.layer_toggle.value, "qra"]
        self._render()

    def _on_publish(self, _event: Any = None) -> None:
        if self.result is not None and self.actor is not None and self.actor.has(*ENGINEER_ROLES):
            # a zoning study drawn on the live twin: nobody is evacuated by it
            self.ctx.source.set_incident(self.result, title=f"study: {self.equipment.value}", declared=False)

    def _geojson(self) -> io.StringIO:
        fc = {"type": "FeatureCollection", "features": self._features}
        out = local_geojson_to_wgs84(self.ctx.plant, fc) if self._features else {"type": "FeatureCollection",
                                                                                    "features": []}
        out["name"] = f"{self.ctx.plant.id} risk zones"
        return io.StringIO(json.dumps(out))

    # ------------------------------------------------------------------ page

    def layout(self) -> pn.viewable.Viewable:
        """The page body: controls, the map, the legend and the details."""
        t = lambda k, **kw: tr(k, self.lang, **kw)  # noqa: E731
        m = self.ctx.plant.meta
        crs = t("crs_note", crs=m.crs, e=m.origin.easting, n=m.origin.northing)
        controls = pn.Column(self.equipment, self.wind_speed, self.wind_from, self.stability, self.compute,
                             self.publish, self.qra_button, pn.pane.HTML(f"<b>{html.escape(t('layers'))}</b>"),
                             self.layer_toggle,
                             self.download, width=240)
        info = pn.Column(self.summary, self.qra_legend, self.details, self.notes, width=270)
        return pn.Column(pn.Row(controls, self.map_pane, info),
                         pn.pane.HTML(f"<span style='font-size:12px;color:#546e7a'>{html.escape(crs)}</span>"))


def engineer_page(ctx: UIContext) -> pn.template.BootstrapTemplate:
    """Panel app factory (one call per browser session) for ``{prefix}/engineer``."""
    lang = session_lang()
    actor = session_actor(ctx)
    view = EngineerView(ctx, lang=lang, actor=actor)
    return page_template(ctx, "engineer", lang, actor, [view.layout()])
