"""The UI's login: a page that gets a JWT from ``POST /auth/token`` and keeps it in a cookie.

Core objects: :class:`UIAuthMiddleware` (guards every UI route, HTTP and WebSocket) and
:func:`add_login_routes` (``{prefix}/login``, ``{prefix}/session``, ``{prefix}/logout``).

The token in the cookie is checked with the API's own rules (:func:`safetwin.twin.api.auth.current_actor`):
a user's JWT signed with the API's secret, or a static service token (``SAFETWIN_API_TOKENS``) —
so the UI is behind exactly the same login as the API. The cookie is ``HttpOnly`` and
``SameSite=Strict``; the Panel sessions read it (Bokeh passes cookies to the session) to learn
who the user is and which roles they hold.
"""
from __future__ import annotations

import html
import inspect
import json
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from safetwin.twin.api.auth import current_actor
from safetwin.twin.workflows.roles import Actor

from .i18n import normalise_lang, tr

COOKIE = "safetwin_ui"


def actor_for_token(app: FastAPI, token: str | None) -> Actor | None:
    """The actor a token (JWT or static service token) belongs to on ``app``, or None."""
    if not token:
        return None
    try:
        result = current_actor(SimpleNamespace(app=app), token)  # type: ignore[arg-type]
        if inspect.isawaitable(result):
            result = _run_without_loop(result)
    except HTTPException:
        return None
    return result if isinstance(result, Actor) else None


def _run_without_loop(coro: Any) -> Any:
    """Finish a coroutine that never suspends (the API's ``current_actor`` does no I/O, by design).

    The UI needs the answer in synchronous code (Panel session factories) and must not block the
    event loop; should the coroutine ever suspend, it is closed and the token treated as invalid.
    """
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()
    return None


class UIAuthMiddleware:
    """ASGI middleware: requests under ``prefix`` need a valid UI cookie.

    HTTP requests without one are redirected to the login page (303); WebSocket handshakes are
    refused (close code 4401). ``open_paths`` (the login routes) stay public.
    """

    def __init__(self, app: Any, *, fastapi_app: FastAPI, prefix: str, open_paths: set[str]) -> None:
        self.app = app
        self.fastapi_app = fastapi_app
        self.prefix = prefix.rstrip("/")
        self.open_paths = open_paths

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        kind = scope.get("type")
        path = scope.get("path", "")
        guarded = kind in ("http", "websocket") and (path == self.prefix or path.startswith(self.prefix + "/"))
        if not guarded or path in self.open_paths:
            await self.app(scope, receive, send)
            return
        token = _cookie(scope, COOKIE)
        if actor_for_token(self.fastapi_app, token) is not None:
            await self.app(scope, receive, send)
            return
        if kind == "websocket":
            await send({"type": "websocket.close", "code": 4401})
            return
        query = scope.get("query_string", b"").decode("latin-1")
        target = path + (f"?{query}" if query else "")
        lang = "zh" if "lang=zh" in query else "en"
        response = RedirectResponse(f"{self.prefix}/login?lang={lang}&next={quote(target, safe='')}", status_code=303)
        await response(scope, receive, send)


def _cookie(scope: dict, name: str) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                k, _, v = part.strip().partition("=")
                if k == name:
                    return v or None
    return None


def _safe_next(target: str | None, prefix: str) -> str:
    """Only redirect inside the UI (no open redirects)."""
    if target and target.startswith(prefix + "/") and not target.startswith("//"):
        return target
    return prefix + "/control-room"


def login_page(prefix: str, lang: str, next_url: str) -> str:
    """The login page's HTML: user + password (OAuth2 password flow) or a service token."""
    t = lambda k: html.escape(tr(k, lang))  # noqa: E731 - short local alias
    other = "zh" if lang == "en" else "en"
    other_label = "中文" if other == "zh" else "English"
    return f"""<!doctype html><html lang="{'zh-CN' if lang == 'zh' else 'en'}"><head><meta charset="utf-8">
<title>{t('app')} — {t('login')}</title>
<style>body{{font-family:system-ui,sans-serif;background:#263238;color:#eceff1;display:flex;
justify-content:center;align-items:center;height:100vh;margin:0}}form{{background:#37474f;padding:28px 32px;
border-radius:8px;width:320px}}label{{display:block;margin-top:12px;font-size:14px}}input{{width:100%;
padding:7px;margin-top:4px;box-sizing:border-box}}button{{margin-top:18px;width:100%;padding:9px;
background:#00897b;color:white;border:0;border-radius:4px;font-size:15px}}#err{{color:#ff8a80;
min-height:1.2em;margin-top:10px}}a{{color:#80cbc4}}</style></head><body>
<form id="f"><h2>{t('app')}</h2><div style="text-align:right"><a href="{prefix}/login?lang={other}&next={quote(next_url, safe='')}">{other_label}</a></div>
<label>{t('user')}<input id="u" name="username" autocomplete="username"></label>
<label>{t('password')}<input id="p" name="password" type="password" autocomplete="current-password"></label>
<label>{t('or_token')}<input id="t" name="token" type="password"></label>
<button id="go" type="submit">{t('login')}</button><div id="err"></div></form>
<script>
const next = {json.dumps(next_url)};
document.getElementById('f').addEventListener('submit', async (ev) => {{
  ev.preventDefault();
  const err = document.getElementById('err'); err.textContent = '';
  let token = document.getElementById('t').value.trim();
  try {{
    if (!token) {{
      const body = new URLSearchParams({{username: document.getElementById('u').value,
                                         password: document.getElementById('p').value}});
      const r = await fetch('/auth/token', {{method: 'POST', body}});
      if (!r.ok) {{ err.textContent = (await r.json()).detail || r.status; return; }}
      token = (await r.json()).access_token;
    }}
    const s = await fetch('{prefix}/session', {{method: 'POST', headers: {{'Content-Type': 'application/json'}},
                                                 body: JSON.stringify({{token}})}});
    if (!s.ok) {{ err.textContent = (await s.json()).detail || s.status; return; }}
    window.location.assign(next);
  }} catch (e) {{ err.textContent = String(e); }}
}});
</script></body></html>"""


def add_login_routes(app: FastAPI, prefix: str, cookie_max_age_s: int) -> set[str]:
    """Add the login page, the cookie endpoint and logout; returns their (public) paths."""
    login_path, session_path, logout_path = f"{prefix}/login", f"{prefix}/session", f"{prefix}/logout"

    @app.get(login_path, include_in_schema=False)
    def ui_login(request: Request) -> HTMLResponse:
        lang = normalise_lang(request.query_params.get("lang"))
        return HTMLResponse(login_page(prefix, lang, _safe_next(request.query_params.get("next"), prefix)))

    @app.post(session_path, include_in_schema=False)
    async def ui_session(request: Request) -> JSONResponse:
        try:
            token = str((await request.json()).get("token", ""))
        except (ValueError, AttributeError):
            token = ""
        actor = actor_for_token(app, token)
        if actor is None:
            return JSONResponse({"detail": "invalid or expired token"}, status_code=401)
        resp = JSONResponse({"user": actor.user_id, "roles": sorted(actor.roles)})
        resp.set_cookie(COOKIE, token, max_age=cookie_max_age_s, httponly=True, samesite="strict", path=prefix)
        return resp

    @app.get(logout_path, include_in_schema=False)
    def ui_logout() -> RedirectResponse:
        resp = RedirectResponse(login_path, status_code=303)
        resp.delete_cookie(COOKIE, path=prefix)
        return resp

    return {login_path, session_path, logout_path}
