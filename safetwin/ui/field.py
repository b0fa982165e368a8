"""The phone page for field work, ``{prefix}/field``: report a hazard with photos, walk an inspection
round by scanning checkpoint codes, enter a portable gas test on a permit and sign its next step —
online or offline.

Core objects: :func:`add_field_routes` (the page, its script and style, the web-app manifest and the
service worker) and :class:`FieldApiForward` (the page's calls into the field API, signed in with
the UI's login cookie).

**Offline capture.** Every capture goes into the browser's outbox first (IndexedDB; photos kept as
blobs) with an idempotency key made when it is captured, and is sent from there: at once, when the
browser comes back online, when the page opens, on the sync button, and every 20 s while the outbox
is not empty. The server applies a key once (``safetwin.twin.workflows.services.captures``), so a
capture whose answer was lost and that is sent again arrives once. A capture leaves the outbox when
the server answered *applied* or *duplicate*, or refused it (it is then listed with the reason). A
signed-out phone (401) keeps its outbox until the user signs in again, and an outbox is only ever
sent by the user who captured it (the page asks who is signed in before it sends). The service
worker keeps the page's shell so that it opens without network; browsers run service workers only
on HTTPS or localhost, and on plain HTTP the outbox still works while the page stays open.

**Calls into the API.** The page calls ``{prefix}/field/api/<path>``; :class:`FieldApiForward` turns
that into ``/<path>`` with the UI cookie's token as the bearer token, for the phone's routes only
(``field/…`` and ``inspections/rounds/…``). The token stays in the ``HttpOnly``, ``SameSite=Strict``
cookie, and the API's own authentication and role checks apply unchanged.

Example::

    >>> from safetwin.ui.field import forwarded_path
    >>> forwarded_path("/ui", "/ui/field/api/field/hazards"), forwarded_path("/ui", "/ui/field/api/users")
    ('/field/hazards', None)
"""
from __future__ import annotations

import hashlib
import html
import json
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from .auth import COOKIE, _cookie, actor_for_token
from .i18n import field_labels, normalise_lang, tr

if TYPE_CHECKING:
    from safetwin.plant_models.loader import Plant

STATIC = Path(__file__).resolve().parent / "static" / "field"
#: API paths the phone page may call through the forwarder (everything else answers 404)
FORWARDED = ("field/", "inspections/rounds/")
#: what the photo inputs offer (the server judges the bytes: JPEG, PNG or WebP)
PHOTO_TYPES = "image/jpeg,image/png,image/webp"
_MEDIA = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".webmanifest": "application/manifest+json", ".svg": "image/svg+xml"}


def forwarded_path(prefix: str, path: str) -> str | None:
    """The API path a page call ``{prefix}/field/api/<path>`` stands for, or None when it is not one
    of the phone's routes (:data:`FORWARDED`)."""
    base = prefix.rstrip("/") + "/field/api/"
    if not path.startswith(base):
        return None
    rest = path[len(base):]
    if ".." in rest.split("/") or not rest.startswith(FORWARDED):
        return None
    return "/" + rest


class FieldApiForward:
    """ASGI middleware: ``{prefix}/field/api/<path>`` → ``/<path>`` with ``Authorization: Bearer <UI cookie>``.

    Installed outside the UI's login middleware, so a page call without a valid cookie reaches the
    API without a token and gets the API's 401 (never the login page's redirect).
    """

    def __init__(self, app: Any, *, prefix: str) -> None:
        self.app = app
        self.prefix = prefix.rstrip("/")
        self.base = self.prefix + "/field/api/"

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope.get("type") != "http" or not path.startswith(self.base):
            await self.app(scope, receive, send)
            return
        target = forwarded_path(self.prefix, path)
        if target is None:
            resp = JSONResponse({"detail": f"{path} is not a field route of the phone page", "code": "not_found"},
                                status_code=404)
            await resp(scope, receive, send)
            return
        headers = [(k, v) for k, v in scope.get("headers", []) if k != b"authorization"]
        token = _cookie(scope, COOKIE)
        if token:
            headers.append((b"authorization", b"Bearer " + token.encode("latin-1")))
        await self.app({**scope, "path": target, "raw_path": target.encode(), "headers": headers}, receive, send)


@lru_cache(maxsize=1)
def _assets() -> dict[str, tuple[bytes, str]]:
    """The static files of the page (name → content, media type), read once."""
    return {p.name: (p.read_bytes(), _MEDIA[p.suffix]) for p in STATIC.iterdir() if p.suffix in _MEDIA}


def assets_version() -> str:
    """A short digest of the page's static files: it names the service worker's cache, so a new
    release replaces the cached shell."""
    digest = hashlib.sha256()
    for name, (body, _) in sorted(_assets().items()):
        digest.update(name.encode() + b"\0" + body)
    return digest.hexdigest()[:12]


def plant_places(plant: Plant) -> list[dict[str, Any]]:
    """The plant's areas as places a hazard can be reported at: id, name and a point inside the
    area (local plant metres)."""
    out = []
    for area in plant.areas.values():
        p = area.geometry.representative_point()
        out.append({"id": area.id, "name": area.name, "x": round(float(p.x), 1), "y": round(float(p.y), 1)})
    return sorted(out, key=lambda a: a["name"])


def field_page(*, prefix: str, lang: str, user: str, plant: Plant) -> str:
    """The page's HTML in ``lang`` for ``user`` (the script builds the lists; every label is here or
    in the page's configuration)."""
    t = lambda k: html.escape(tr(k, lang))  # noqa: E731 - short local alias
    other = "zh" if lang == "en" else "en"
    version = assets_version()
    config = {"prefix": prefix, "lang": lang, "user": user, "version": version, "labels": field_labels(lang),
              "places": plant_places(plant)}
    config_json = json.dumps(config, ensure_ascii=False).replace("</", "<\\/")
    options = lambda pairs: "".join(f'<option value="{v}">{t(k)}</option>' for v, k in pairs)  # noqa: E731
    categories = options([("equipment", "fd_cat_equipment"), ("person", "fd_cat_person"),
                          ("environment", "fd_cat_environment"), ("management", "fd_cat_management")])
    levels = options([("general", "fd_level_general"), ("major", "fd_level_major")])
    units = "".join(f'<option value="{u}">{u}</option>' for u in ("%vol", "%LEL", "ppm", "mg/m3"))
    gases = "".join(f'<option value="{g}">' for g in ("O2", "CH4", "H2", "H2S", "CO", "NH3", "Cl2"))
    return f"""<!doctype html><html lang="{'zh-CN' if lang == 'zh' else 'en'}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<meta name="theme-color" content="#263238"><title>{t('fd_title')}</title>
<link rel="manifest" href="{prefix}/field/manifest.webmanifest">
<link rel="icon" href="{prefix}/field/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="{prefix}/field/app.css?v={version}"></head><body>
<header><b>{t('fd_title')}</b><span id="who">{html.escape(user)}</span>
<span id="net" class="net"></span><button id="sync" type="button">{t('fd_sync')} <span id="outbox-count">0</span></button>
<a href="{prefix}/field?lang={other}" id="lang-switch">{'中文' if other == 'zh' else 'English'}</a></header>
<div id="notice" role="status"></div>
<nav><button data-tab="hazard" class="on">{t('fd_tab_hazard')}</button><button data-tab="round">{t('fd_tab_round')}</button>
<button data-tab="gas">{t('fd_tab_gas')}</button><button data-tab="outbox">{t('fd_tab_outbox')}</button></nav>
<main>
<section id="tab-hazard" class="tab on"><form id="hazard-form">
<label>{t('fd_hz_title')}<input id="hz-title" required maxlength="200"></label>
<label>{t('fd_hz_category')}<select id="hz-category">{categories}</select></label>
<label>{t('fd_hz_level')}<select id="hz-level">{levels}</select></label>
<label>{t('fd_hz_place')}<select id="hz-place"></select></label>
<label>{t('fd_hz_description')}<textarea id="hz-desc" maxlength="4000" rows="3"></textarea></label>
<label>{t('fd_photos')}<input id="hz-photo" type="file" accept="{PHOTO_TYPES}" capture="environment" multiple></label>
<button id="hz-submit" type="submit" class="go">{t('fd_hz_submit')}</button></form></section>
<section id="tab-round" class="tab"><div id="rounds"></div><div id="round-detail" hidden>
<h3 id="round-name"></h3><ol id="checkpoints"></ol>
<form id="scan-form" hidden><h4 id="cp-name"></h4>
<label>{t('fd_code')}<input id="scan-code" autocomplete="off" autocapitalize="characters" required maxlength="64"></label>
<button id="scan-qr" type="button" hidden>{t('fd_scan_qr')}</button>
<input id="qr-photo" type="file" accept="image/*" capture="environment" hidden>
<div id="checklist"></div><button id="all-ok" type="button">{t('fd_all_ok')}</button>
<label>{t('fd_photos')}<input id="scan-photo" type="file" accept="{PHOTO_TYPES}" capture="environment" multiple></label>
<button id="scan-submit" type="submit" class="go">{t('fd_scan_submit')}</button></form>
<button id="round-complete" type="button" class="go">{t('fd_round_complete')}</button></div></section>
<section id="tab-gas" class="tab"><form id="gas-form">
<label>{t('fd_permit')}<select id="gas-permit" required></select></label><p id="permit-info"></p>
<div id="sign"><button type="button" data-action="approve" data-when="submitted" hidden>{t('fd_sign_approve')}</button>
<button type="button" data-action="start" data-when="approved" hidden>{t('fd_sign_start')}</button>
<button type="button" data-action="complete" data-when="active" hidden>{t('fd_sign_complete')}</button></div>
<label>{t('fd_gas')}<input id="gas-name" list="gas-names" required maxlength="32"></label>
<datalist id="gas-names">{gases}</datalist>
<div class="row">
<label>{t('fd_value')}<input id="gas-value" type="number" inputmode="decimal" step="any" min="0" required></label>
<label>{t('fd_unit')}<select id="gas-unit">{units}</select></label></div>
<label>{t('fd_instrument')}<input id="gas-instrument" maxlength="64"></label>
<button id="gas-submit" type="submit" class="go">{t('fd_gas_submit')}</button></form></section>
<section id="tab-outbox" class="tab"><h3>{t('fd_queued')}</h3><ul id="outbox"></ul>
<h3>{t('fd_refused')}</h3><ul id="refused"></ul><h3>{t('fd_sent')}</h3><ul id="sent"></ul></section>
</main><script id="field-config" type="application/json">{config_json}</script>
<script src="{prefix}/field/app.js?v={version}"></script></body></html>"""


def add_field_routes(app: FastAPI, prefix: str, plant: Plant) -> set[str]:
    """Add the phone page and its files under ``prefix``; returns the public paths (the static files
    and the service worker, which hold no data). The page itself and ``{prefix}/field/me`` stay
    behind the UI's login; install :class:`FieldApiForward` outside the login middleware."""
    files = {f"{prefix}/field/{name}": name for name in _assets() if name != "sw.js"}
    sw_path = f"{prefix}/field-sw.js"       # one level up, so its scope may be {prefix}/field

    @app.get(prefix + "/field", include_in_schema=False)
    def field(request: Request) -> HTMLResponse:
        lang = normalise_lang(request.query_params.get("lang"))
        actor = actor_for_token(app, request.cookies.get(COOKIE))
        user = actor.user_id if actor is not None else ""
        return HTMLResponse(field_page(prefix=prefix, lang=lang, user=user, plant=plant),
                            headers={"Cache-Control": "no-cache"})

    @app.get(prefix + "/field/me", include_in_schema=False)
    def field_me(request: Request) -> JSONResponse:
        """Who is signed in (the page sends its outbox only as the user who captured it)."""
        actor = actor_for_token(app, request.cookies.get(COOKIE))
        return JSONResponse({"user": actor.user_id if actor else None, "roles": sorted(actor.roles) if actor else []},
                            headers={"Cache-Control": "no-store"})

    def static(name: str) -> Any:
        def serve() -> Response:
            body, media = _assets()[name]
            return Response(body, media_type=media, headers={"Cache-Control": "no-cache"})
        return serve

    for path, name in {**files, sw_path: "sw.js"}.items():
        app.add_api_route(path, static(name), methods=["GET"], include_in_schema=False)
    return {*files, sw_path}
