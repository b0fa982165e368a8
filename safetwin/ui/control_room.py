"""The live control room: the plant plan with people and detectors, the alarm banner and list
(ISA-18.2 states, acknowledge and shelve), who is at risk and where to send them, head-counts.

Core object: :class:`ControlRoom` (one per browser session; :meth:`ControlRoom.layout` gives the
page). A periodic callback (1 s) polls the shared :class:`~.snapshot.SnapshotSource` and sends, in
one message, only what changed: people and detector arrays to the 2D plan (:mod:`.plan_view`),
panels whose HTML changed, and the clock's beat (:mod:`.live_status`, whose browser-side timer
shows the staleness banner when the beats stop or the live feed falls silent). The 3D scene
(:mod:`.scene`, second tab) keeps the geometry and is re-sent only when the incident changes.

Colours follow ISA-101 (:mod:`.hmi`): grey for normal, colour only for abnormal.

Every tick's server time is recorded in :data:`TICK_TIMES_S` (all sessions of the process).

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
from typing import Any

import panel as pn

from . import cr_panels
from .common import UIContext, page_template, session_actor, session_connected, session_lang
from .i18n import tr
from .live_status import LiveStatus
from .plan_view import PlanView
from .scene import PlantScene
from .snapshot import Snapshot, SnapshotSource
from .terms import term

#: update period of the live view, ms
PERIOD_MS = 1000
#: server time (s) of the recent ticks of every control-room session in this process
TICK_TIMES_S: collections.deque[float] = collections.deque(maxlen=10_000)
#: roles allowed to acknowledge and shelve alarms
ACK_ROLES = ("operator", "safety_engineer", "admin")
#: height of the plan and of the 3D view (px)
PLAN_HEIGHT_PX = 560
#: how long the shelve button shelves an alarm (s)
SHELVE_S = 3600.0


def _h4(text: str) -> pn.pane.HTML:
    return pn.pane.HTML(f"<h4 style='margin:6px 0 2px 0'>{html.escape(text)}</h4>")


class ControlRoom:
    """One session's control room over a shared snapshot source (see the module docstring).

    Args:
        ctx: the UI context (snapshot source, workflows).
        lang: ``en`` or ``zh``.
        actor: the signed-in user (acknowledging and shelving need one of :data:`ACK_ROLES`).
    """

    def __init__(self, ctx: UIContext, lang: str = "en", actor: Any | None = None) -> None:
        self.ctx = ctx
        self.source: SnapshotSource = ctx.source
        self.lang = lang
        self.actor = actor
        self.plan = PlanView(ctx.plant, lang=lang, height=PLAN_HEIGHT_PX)
        self.scene = PlantScene(ctx.plant)
        self._seq = -1
        self._beat = 0
        self._callback = None
        self.last_tick_s = 0.0
        self.ticks = 0
        t = lambda k, **kw: tr(k, lang, **kw)  # noqa: E731
        self.plan_pane = pn.pane.Bokeh(self.plan.figure, sizing_mode="stretch_width", height=PLAN_HEIGHT_PX)
        self.vtk = pn.pane.VTK(self.scene.plotter.ren_win, sizing_mode="stretch_width", height=PLAN_HEIGHT_PX,
                               min_width=600, orientation_widget=False, enable_keybindings=False,
                               name="plant-3d", css_classes=["plant-3d"])
        self.live = LiveStatus(text={"clock": t("clock"), "view_stale": t("view_stale"), "feed_stale": t("feed_stale"),
                                     "lag": t("twin_lag")}, sizing_mode="stretch_width", css_classes=["cr-live"])
        self.status = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cr-status"])
        self.banner = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cr-banner"])
        self.alarm_table = pn.pane.HTML("", sizing_mode="stretch_width", max_height=420,
                                        styles={"overflow": "auto"}, css_classes=["cr-alarms"])
        self.ack_select = pn.widgets.MultiSelect(options=[], value=[], size=5, width=260,
                                                css_classes=["ack-select"])
        self.ack_button = pn.widgets.Button(label=t("acknowledge"), color="primary", disabled=True,
                                            css_classes=["ack-button"])
        self.ack_button.on_click(self._on_ack)
        self.shelve_button = pn.widgets.Button(label=t("shelve"), color="default", disabled=True,
                                               css_classes=["shelve-button"])
        self.shelve_button.on_click(self._on_shelve)
        self.ack_note = pn.pane.HTML("", css_classes=["cr-ack-note"])
        self.risk = pn.pane.HTML("", sizing_mode="stretch_width", max_height=360, styles={"overflow": "auto"},
                                 css_classes=["cr-risk"])
        self.steps = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cr-steps"])
        self.muster = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cr-muster"])
        self.areas = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cr-areas"])
        self.permits = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cr-permits"])
        self.incident = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cr-incident"])
        self.legend = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cr-legend"])
        self._permit_last = 0.0
        self.tick()

    # ------------------------------------------------------------------ view

    def layout(self) -> pn.viewable.Viewable:
        """The page body: status and alarm banner on top, the plan (and the 3D tab) with its legend
        beside the alarm list, the people at risk and the head-counts."""
        t = lambda k: tr(k, self.lang)  # noqa: E731
        side = pn.Column(
            _h4(t("alarms")), self.alarm_table,
            pn.Row(self.ack_select, pn.Column(self.ack_button, self.shelve_button, self.ack_note)),
            _h4(t("at_risk")), self.risk, _h4(t("area_steps")), self.steps,
            _h4(t("muster")), self.muster, _h4(t("people_by_area")), self.areas,
            _h4(t("permits")), self.permits,
            width=560, styles={"overflow-y": "auto"}, height=760)
        views = pn.Tabs((t("plan_live"), pn.Column(self.plan_pane, sizing_mode="stretch_width", css_classes=["plan-view"])),
                        (t("plant_3d"), self.vtk), dynamic=True, sizing_mode="stretch_width")
        left = pn.Column(views, self.legend, self.incident, sizing_mode="stretch_width")
        top = pn.Column(self.live, pn.Row(self.banner, self.status, sizing_mode="stretch_width"),
                        sizing_mode="stretch_width")
        return pn.Column(top, pn.Row(left, side, sizing_mode="stretch_both"), sizing_mode="stretch_both")

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
        """One update: the clock's beat always; the views when the shared snapshot changed.

        Returns the snapshot shown (None when it had not changed since the last tick).
        """
        if self._callback is not None and not session_connected():
            return None   # the tab was closed; the session waits to expire
        snap = self.source.latest()
        changed = snap.seq != self._seq
        t0 = time.perf_counter()
        with pn.io.hold():   # one message per tick, whatever changed
            self._beat += 1
            self.live.param.update(beat=self._beat, twin_ts=snap.twin_ts, feed_age_s=snap.feed_age_s)
            if changed:
                self._seq = snap.seq
                self.plan.update(snap)
                if self.scene.update(snap) and (self._callback is not None or self.ticks > 0):
                    self.vtk.synchronize()
                self._update_panels(snap)
        if not changed:
            return None
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
            f"<div style='font-size:14px;margin-left:16px'><b>{html.escape(t('pob'))}:</b> {snap.pob}"
            f" &nbsp; <b>{html.escape(t('mustered'))}:</b> {snap.mustered}</div>"))
        self._set(self.banner, cr_panels.alarm_banner_html(snap.alarms, snap.shelved, self.lang))
        self._set(self.alarm_table, cr_panels.alarm_list_html(snap.alarms, snap.shelved, snap.earlier_alarms, self.lang))
        selectable = [a.alarm_id for a in snap.alarms]
        if self.ack_select.options != selectable:
            keep = [v for v in self.ack_select.value if v in selectable]
            self.ack_select.options = selectable
            self.ack_select.value = keep
        self.ack_button.disabled = not any(a.state in ("active", "returned") for a in snap.alarms)
        self.shelve_button.disabled = not (selectable and self.source.can_shelve)
        self._set(self.risk, cr_panels.risk_html(snap.risk, self.lang))
        self._set(self.steps, cr_panels.area_steps_html(snap.risk, self.lang))
        self._set(self.legend, cr_panels.legend(snap.incident, self.lang))
        per_mp = " ".join(f"{html.escape(k)}: <b>{v}</b>" for k, v in snap.muster.items())
        expected = sum(snap.expected.values())
        unaccounted = (f"<b style='color:#e00000'>{snap.unaccounted}</b>" if snap.evacuation_active and snap.unaccounted
                       else f"<b>{snap.unaccounted}</b>")   # a head-count gap matters only in an evacuation
        self._set(self.muster, (
            f"<div style='font-size:13px' class='muster-counts'>{html.escape(t('mustered'))}: <b>{snap.mustered}</b> / "
            f"{html.escape(t('pob'))} <b>{snap.pob}</b> ({html.escape(t('expected'))} {expected}) &nbsp; "
            f"{html.escape(t('unaccounted'))}: {unaccounted}<br>{per_mp}</div>"))
        rows = "".join(
            f"<tr><td>{html.escape(a)}</td><td style='text-align:right'>{n}</td>"
            f"<td style='text-align:right'>{snap.expected.get(a, 0)}</td>"
            f"<td style='text-align:right;{'color:#e00000;font-weight:700' if snap.danger_by_area.get(a) else ''}'>"
            f"{snap.danger_by_area.get(a, 0)}</td></tr>"
            for a, n in snap.occupancy.items())
        self._set(self.areas, (
            f"<table style='font-size:13px;width:100%'><tr><th>{t('area')}</th><th>{t('people')}</th>"
            f"<th>{t('expected')}</th><th>{t('in_danger')}</th></tr>{rows}</table>"))
        inc = snap.incident
        if inc is None:
            self._set(self.incident, f"<i style='font-size:12px'>{html.escape(t('no_incident'))}</i>")
        else:
            notes = " ".join(html.escape(n) for n in inc.notes)
            self._set(self.incident, f"<div style='font-size:13px'><b>{html.escape(t('incident'))}</b> "
                                     f"{html.escape(inc.title)} ({html.escape(inc.kind)}) {notes}</div>")
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
            f"<tr><td>{html.escape(p.id)}</td><td>{html.escape(term('permit_type', p.type, self.lang))}</td>"
            f"<td style='{'color:#e00000;font-weight:700' if p.state == 'suspended' else ''}'>"
            f"{html.escape(t('suspended') if p.state == 'suspended' else term('permit_state', p.state, self.lang))}</td>"
            f"<td>{html.escape(getattr(p, 'title', '')[:40])}</td></tr>" for p in permits[:50])
        return (f"<table style='font-size:12px;width:100%'><tr><th>{t('permit')}</th><th>{t('type')}</th>"
                f"<th>{t('state')}</th><th></th></tr>{rows}</table>")

    def _allowed(self) -> bool:
        if self.actor is None or not self.actor.has(*ACK_ROLES):
            self.ack_note.object = f"<span style='color:#e00000'>{html.escape(tr('ack_needs_role', self.lang))}</span>"
            return False
        return True

    def _on_ack(self, _event: Any = None) -> None:
        if not self._allowed():
            return
        n = self.source.acknowledge(list(self.ack_select.value), by=self.actor.user_id)
        self.ack_note.object = html.escape(tr("acknowledged_n", self.lang, n=n))
        self.ack_select.value = []
        self.tick()

    def _on_shelve(self, _event: Any = None) -> None:
        if not self._allowed():
            return
        if not self.source.can_shelve:
            self.ack_note.object = html.escape(tr("no_shelve", self.lang))
            return
        n = self.source.shelve(list(self.ack_select.value), by=self.actor.user_id, duration_s=SHELVE_S)
        self.ack_note.object = html.escape(tr("shelved_done", self.lang, n=n))
        self.ack_select.value = []


def control_room_page(ctx: UIContext) -> pn.template.BootstrapTemplate:
    """Panel app factory (one call per browser session) for ``{prefix}/control-room``."""
    lang = session_lang()
    actor = session_actor(ctx)
    room = ControlRoom(ctx, lang=lang, actor=actor)
    pn.state.onload(room.start)
    pn.state.on_session_destroyed(lambda _ctx: room.stop())
    return page_template(ctx, "control-room", lang, actor, [room.layout()])
