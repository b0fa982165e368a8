"""Shared page chrome: the UI context handed to every page factory, language and user of a session.

Core objects: :class:`UIContext` (what the pages read: the snapshot source, the plant, the
workflow service, the FastAPI app for auth) and :func:`page_template` (a Bootstrap template with
navigation, language switch and the signed-in user; it makes no request outside the server).
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import panel as pn

from .auth import COOKIE, actor_for_token
from .i18n import normalise_lang, tr
from .snapshot import SnapshotSource

if TYPE_CHECKING:
    from fastapi import FastAPI

    from safetwin.twin.workflows.roles import Actor

PAGES = (("control-room", "control_room"), ("planner", "planner"),  # planner link: ui/planner.py
         ("engineer", "engineer"), ("manager", "manager"), ("plant-check", "plant_check"), ("field", "field_page"))
HEADER_BG = "#263238"


@dataclass
class UIContext:
    """Everything the page factories need; one per mounted plant.

    ``app`` is the FastAPI app whose auth rules apply; ``workflows`` a WorkflowService or None.
    """

    source: SnapshotSource
    app: FastAPI | None = None
    workflows: Any | None = None
    prefix: str = "/ui"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def plant(self):
        """The plant being shown."""
        return self.source.plant


def session_lang() -> str:
    """The language of the current Panel session (``?lang=zh`` or English)."""
    args = pn.state.session_args or {}
    value = (args.get("lang") or [None])[0]
    return normalise_lang(value)


def session_connected() -> bool:
    """False when the current Panel session's browser has gone (its WebSocket closed; the session
    lingers until it expires): a periodic update then sends nothing — a send on the closed socket
    fails and logs a warning each time. True outside a server session."""
    ctx = getattr(pn.state.curdoc, "session_context", None)
    session = getattr(ctx, "_session", None)   # Bokeh's ServerSession; no public accessor
    return session is None or session.connection_count > 0


def session_actor(ctx: UIContext) -> Actor | None:
    """The signed-in actor of the current Panel session (from the UI cookie), or None."""
    cookies = pn.state.cookies or {}
    if ctx.app is None:
        return None
    return actor_for_token(ctx.app, cookies.get(COOKIE))


def page_template(ctx: UIContext, page: str, lang: str, actor: Actor | None, main: list[Any]) -> pn.template.BootstrapTemplate:
    """A page with navigation links, the language switch and the signed-in user."""
    links = []
    for slug, key in PAGES:
        style = "font-weight:700;text-decoration:underline" if slug == page else ""
        links.append(f'<a style="color:#eceff1;margin-right:18px;{style}" href="{ctx.prefix}/{slug}?lang={lang}">'
                     f"{html.escape(tr(key, lang))}</a>")
    other = "zh" if lang == "en" else "en"
    switch = (f'<a id="lang-switch" style="color:#80cbc4;margin-right:18px" href="{ctx.prefix}/{page}?lang={other}">'
              f'{"中文" if other == "zh" else "English"}</a>')
    who = html.escape(actor.user_id if actor else "?")
    user = (f'<span style="color:#b0bec5">{html.escape(tr("signed_in_as", lang))}: {who}</span> '
            f'<a style="color:#80cbc4;margin-left:8px" href="{ctx.prefix}/logout">{html.escape(tr("logout", lang))}</a>')
    plant = f'<span style="color:#b0bec5;margin-right:22px">{html.escape(ctx.plant.name)}</span>'
    header = pn.pane.HTML(f'<div style="display:flex;align-items:center;font-size:14px;white-space:nowrap">{plant}'
                          f'{"".join(links)}<span>{switch}</span>{user}</div>',
                          sizing_mode="stretch_width", margin=(0, 10))
    title = tr("app", lang)
    return pn.template.BootstrapTemplate(title=title, header=[header], main=main, header_background=HEADER_BG,
                                         sidebar=[], collapsed_sidebar=True)


def legend_html(items: list[tuple[str, str]], title: str, shape: str = "square") -> str:
    """A small HTML legend: (CSS colour, label) pairs; ``shape`` square, circle or diamond. Each
    swatch carries its colour in ``data-colour`` (tests sample the rendered pixels against it)."""
    radius = "50%" if shape == "circle" else "2px"
    turn = "transform:rotate(45deg) scale(0.8);" if shape == "diamond" else ""
    rows = "".join(f'<div style="display:flex;align-items:center;margin:2px 0"><span class="swatch" data-colour="{c}" '
                   f'style="display:inline-block;width:14px;height:14px;border-radius:{radius};{turn}background:{c};'
                   f'border:1px solid #1a1a1a;margin-right:6px"></span>{html.escape(label)}</div>' for c, label in items)
    return f'<div style="font-size:12px"><b>{html.escape(title)}</b>{rows}</div>'
