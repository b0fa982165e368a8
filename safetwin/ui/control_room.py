"""The live control room: 3D plant, detectors and people, alarms with acknowledge, head-counts.

Core object: :class:`ControlRoom` (one per browser session; :meth:`ControlRoom.layout` gives the
page). A periodic callback (1 s) polls the shared :class:`~.snapshot.SnapshotSource`; when the
snapshot changed it copies the new arrays into the scene's meshes and calls ``synchronize()`` on the
VTK pane — the scene is never rebuilt, and unchanged arrays (buildings, tanks) are not re-sent.

Every tick's server time is recorded in :data:`TICK_TIMES_S` (all sessions of the process) so the
benchmark (``benchmarks/bench_ui.py``) can report it.

Example (no server needed)::

    >>> from safetwin.plant_models.loader import load_plant, bundled_plant_path
    >>> from safetwin.twin.state import TwinState
    >>> from safetwin.ui.common import UIContext
    >>> ctx = UIContext(SnapshotSource(TwinState(load_plant(bundled_plant_path("small_plant")))))
    >>> room = ControlRoom(ctx, lang="en")
    >>> room.tick() is None     # nothing changed since the room drew its first snapshot
    True
"""
from __future__ import annotations

import collections
import html
import time
from datetime import datetime, timezone
from typing import Any

import panel as pn

from .common import UIContext, legend_html, page_template, session_actor, session_lang
from .i18n import tr
from .scene import DETECTOR_COLOURS, PERSON_COLOURS, ROUTE_COLOUR, ZONE_STYLE, PlantScene
from .snapshot import DETECTOR_STATES, PERSON_STATES, Snapshot, SnapshotSource

#: update period of the live view, ms
PERIOD_MS = 1000
#: server time (s) of the recent ticks of every control-room session in this process
TICK_TIMES_S: collections.deque[float] = collections.deque(maxlen=10_000)
#: roles allowed to acknowledge alarms
ACK_ROLES = ("operator", "safety_engineer", "admin")
LEVEL_BG = {"HH": "#d50000", "LL": "#d50000", "H": "#fb8c00", "L": "#fb8c00", "ROC": "#fb8c00",
            "W": "#fdd835", "FAULT": "#9e9e9e", "STALE": "#bdbdbd"}


def _utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%H:%M:%S") if ts > 0 else "—"


class ControlRoom:
    """One session's control room over a shared snapshot source (see the module docstring).

    Args:
        ctx: the UI context (snapshot source, workflows).
        lang: ``en`` or ``zh``.
        actor: the signed-in user (acknowledging needs one of :data:`ACK_ROLES`).
    """

    def __init__(self, ctx: UIContext, lang: str = "en", actor: Any | None = None) -> None:
        self.ctx = ctx
        self.source: SnapshotSource = ctx.source
        self.lang = lang
        self.actor = actor
        self.scene = PlantScene(ctx.plant)
        self._seq = -1
        self._callback = None
        self.last_tick_s = 0.0
        self.ticks = 0
        t = lambda k, **kw: tr(k, lang, **kw)  # noqa: E731
        self.vtk = pn.pane.VTK(self.scene.plotter.ren_win, sizing_mode="stretch_both", min_height=560,
                               min_width=600, orientation_widget=False, enable_keybindings=False,
                               name="plant-3d", css_classes=["plant-3d"])
        self.status = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cr-status"])
        self.alarm_table = pn.pane.HTML("", sizing_mode="stretch_width", max_height=230,
                                        styles={"overflow-y": "auto"}, css_classes=["cr-alarms"])
        self.ack_select = pn.widgets.MultiSelect(options=[], value=[], size=4, width=230, name="",
                                                css_classes=["ack-select"])
        self.ack_button = pn.widgets.Button(name=t("acknowledge"), button_type="warning", disabled=True)
        self.ack_button.on_click(self._on_ack)
        self.ack_note = pn.pane.HTML("", css_classes=["cr-ack-note"])
        self.muster = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cr-muster"])
        self.areas = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cr-areas"])
        self.permits = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cr-permits"])
        self.incident = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cr-incident"])
        self.legend = pn.pane.HTML(self._legend(), css_classes=["cr-legend"])
        self._permit_last = 0.0
        self.tick()

    # ------------------------------------------------------------------ view

    def _legend(self) -> str:
        t = lambda k: tr(k, self.lang)  # noqa: E731
        det = legend_html([(c, t(f"det_{s}")) for c, s in zip(DETECTOR_COLOURS, DETECTOR_STATES)], t("detector"), "circle")
        ppl = legend_html([(c, t(f"p_{'danger' if s == 'in_danger' else s}")) for c, s in zip(PERSON_COLOURS, PERSON_STATES)],
                          t("person"))
        zones = legend_html([(c, t(f"zone_{lvl.lower()}")) for lvl, (c, _h) in ZONE_STYLE.items()]
                            + [(ROUTE_COLOUR, t("route"))], t("incident"))
        return (f'<div style="display:flex;gap:22px"><div>{det}</div><div>{ppl}</div><div>{zones}</div></div>')

    def layout(self) -> pn.viewable.Viewable:
        """The page body: the 3D view with its legend beside the alarm and head-count panels."""
        t = lambda k: tr(k, self.lang)  # noqa: E731
        side = pn.Column(
            self.status,
            pn.pane.HTML(f"<h4 style='margin:4px 0'>{html.escape(t('alarms'))}</h4>"),
            self.alarm_table, pn.Row(self.ack_select, pn.Column(self.ack_button, self.ack_note)),
            pn.pane.HTML(f"<h4 style='margin:4px 0'>{html.escape(t('muster'))}</h4>"), self.muster,
            pn.pane.HTML(f"<h4 style='margin:4px 0'>{html.escape(t('people_by_area'))}</h4>"), self.areas,
            pn.pane.HTML(f"<h4 style='margin:4px 0'>{html.escape(t('permits'))}</h4>"), self.permits,
            width=430, styles={"overflow-y": "auto"}, height=700)
        left = pn.Column(pn.pane.HTML(f"<h4 style='margin:4px 0'>{html.escape(t('plant_3d'))}</h4>"),
                         self.vtk, self.legend, self.incident, sizing_mode="stretch_both")
        return pn.Row(left, side, sizing_mode="stretch_both")

    def start(self) -> None:
        """Start the 1 Hz updates of this session (call from ``pn.state.onload``)."""
        if self._callback is None:
            self._callback = pn.state.add_periodic_callback(self.tick, period=PERIOD_MS)

    def stop(self) -> None:
        """Stop the updates (session closed)."""
        if self._callback is not None:
            self._callback.stop()
            self._callback = None

    # ------------------------------------------------------------------ updates

    def tick(self) -> Snapshot | None:
        """One update: read the shared snapshot; if it changed, push it to the views.

        Returns the snapshot shown (None when the snapshot had not changed since the last tick).
        """
        snap = self.source.latest()
        if snap.seq == self._seq:
            return None
        t0 = time.perf_counter()
        self._seq = snap.seq
        self.scene.update(snap)
        if self._callback is not None or self.ticks > 0:
            self.vtk.synchronize()
        self._update_panels(snap)
        self.last_tick_s = time.perf_counter() - t0
        self.ticks += 1
        TICK_TIMES_S.append(self.last_tick_s)
        return snap

    def _set(self, pane: pn.pane.HTML, text: str) -> None:
        if pane.object != text:
            pane.object = text

    def _update_panels(self, snap: Snapshot) -> None:
        t = lambda k, **kw: tr(k, self.lang, **kw)  # noqa: E731
        self._set(self.status, (
            f"<div style='font-size:13px'><b>{html.escape(t('clock'))}:</b> "
            f"<span class='twin-clock'>{_utc(snap.twin_ts)} UTC</span> &nbsp; "
            f"<b>{html.escape(t('pob'))}:</b> {snap.pob} &nbsp; <b>{html.escape(t('alarms'))}:</b> {len(snap.alarms)}"
            f" &nbsp; <span style='color:#78909c'>{html.escape(t('update_ms'))}: {self.last_tick_s * 1e3:.0f}</span></div>"))
        if snap.alarms:
            rows = "".join(
                f"<tr><td style='background:{LEVEL_BG.get(a.level, '#e0e0e0')};font-weight:600'>{html.escape(a.level)}</td>"
                f"<td>{html.escape(a.alarm_id)}</td><td>{_utc(a.ts)}</td><td>{'✓' if a.acknowledged else '—'}</td>"
                f"<td>{html.escape(a.message[:60])}</td></tr>" for a in snap.alarms[:200])
            table = (f"<table class='alarm-list' style='font-size:12px;width:100%;border-collapse:collapse'>"
                     f"<tr><th>{t('level')}</th><th>{t('alarm_id')}</th><th>{t('time_utc')}</th><th>{t('acked')}</th>"
                     f"<th>{t('message')}</th></tr>{rows}</table>")
        else:
            table = f"<i>{html.escape(t('no_alarms'))}</i>"
        self._set(self.alarm_table, table)
        unacked = [a.alarm_id for a in snap.alarms if not a.acknowledged]
        if self.ack_select.options != unacked:
            keep = [v for v in self.ack_select.value if v in unacked]
            self.ack_select.options = unacked
            self.ack_select.value = keep
        self.ack_button.disabled = not unacked
        per_mp = " ".join(f"{html.escape(k)}: <b>{v}</b>" for k, v in snap.muster.items())
        expected = sum(snap.expected.values())
        self._set(self.muster, (
            f"<div style='font-size:13px' class='muster-counts'>{html.escape(t('mustered'))}: <b>{snap.mustered}</b> / "
            f"{html.escape(t('pob'))} <b>{snap.pob}</b> ({html.escape(t('expected'))} {expected}) &nbsp; "
            f"{html.escape(t('unaccounted'))}: <b style='color:#c62828'>{snap.unaccounted}</b><br>{per_mp}</div>"))
        rows = "".join(
            f"<tr><td>{html.escape(a)}</td><td style='text-align:right'>{n}</td>"
            f"<td style='text-align:right'>{snap.expected.get(a, 0)}</td>"
            f"<td style='text-align:right;color:{'#c62828' if snap.danger_by_area.get(a) else 'inherit'}'>"
            f"{snap.danger_by_area.get(a, 0)}</td></tr>"
            for a, n in snap.occupancy.items())
        self._set(self.areas, (
            f"<table style='font-size:12px;width:100%'><tr><th>{t('area')}</th><th>{t('people')}</th>"
            f"<th>{t('expected')}</th><th>{t('in_danger')}</th></tr>{rows}</table>"))
        inc = snap.incident
        if inc is None:
            self._set(self.incident, f"<i style='font-size:12px'>{html.escape(t('no_incident'))}</i>")
        else:
            zs = ", ".join(f"{z.level}: {html.escape(z.label)}" for z in inc.zones)
            self._set(self.incident, f"<div style='font-size:12px'><b>{html.escape(t('incident'))}</b> "
                                     f"{html.escape(inc.title)} ({html.escape(inc.kind)}) — {zs}</div>")
        now = time.monotonic()
        if now - self._permit_last > 5.0:  # permits change slowly; don't query the store every second
            self._permit_last = now
            self._set(self.permits, self._permits_html())

    def _permits_html(self) -> str:
        t = lambda k: tr(k, self.lang)  # noqa: E731
        wf = self.ctx.workflows
        if wf is None:
            return f"<i style='font-size:12px'>{html.escape(t('no_workflows'))}</i>"
        try:
            permits = wf.list_permits(state="active") + wf.list_permits(state="suspended")
        except Exception as exc:
            return f"<i style='font-size:12px'>{html.escape(str(exc)[:120])}</i>"
        if not permits:
            return f"<i style='font-size:12px'>{html.escape(t('no_permits'))}</i>"
        rows = "".join(
            f"<tr><td>{html.escape(p.id)}</td><td>{html.escape(p.type)}</td>"
            f"<td style='{'color:#c62828;font-weight:700' if p.state == 'suspended' else ''}'>"
            f"{html.escape(t('suspended') if p.state == 'suspended' else p.state)}</td>"
            f"<td>{html.escape(getattr(p, 'title', '')[:40])}</td></tr>" for p in permits[:50])
        return (f"<table style='font-size:12px;width:100%'><tr><th>{t('permit')}</th><th>{t('type')}</th>"
                f"<th>{t('state')}</th><th></th></tr>{rows}</table>")

    def _on_ack(self, _event: Any = None) -> None:
        t = lambda k, **kw: tr(k, self.lang, **kw)  # noqa: E731
        if self.actor is None or not self.actor.has(*ACK_ROLES):
            self.ack_note.object = f"<span style='color:#c62828'>{html.escape(t('ack_needs_role'))}</span>"
            return
        ids = list(self.ack_select.value)
        n = self.source.acknowledge(ids, by=self.actor.user_id)
        self.ack_note.object = html.escape(t("acknowledged_n", n=n))
        self.ack_select.value = []
        self.tick()


def control_room_page(ctx: UIContext) -> pn.template.BootstrapTemplate:
    """Panel app factory (one call per browser session) for ``{prefix}/control-room``."""
    lang = session_lang()
    actor = session_actor(ctx)
    room = ControlRoom(ctx, lang=lang, actor=actor)
    pn.state.onload(room.start)
    pn.state.on_session_destroyed(lambda _ctx: room.stop())
    return page_template(ctx, "control-room", lang, actor, [room.layout()])
