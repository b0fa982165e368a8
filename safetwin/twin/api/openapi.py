"""The API's own documentation: what each route needs and can refuse, served from local assets.

:func:`install_docs` gives an app

* an OpenAPI document in which every operation says which roles it admits — in its description
  and as the extension ``x-required-roles`` (a list; ``[]`` = any signed-in user; absent = no
  login needed) — and documents each refusal it can answer (400, 401, 403, 404, 409, 413,
  422, 429, 503, and any a route declares itself) with the one error schema :class:`~.errors.ErrorOut`;
* ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) whose scripts, styles and icon are served by the
  app itself from the ``fastapi-offline`` package's copies (``/docs-assets/…``): a plant network
  with no internet shows them as they are (FastAPI's recipe "Custom Docs UI Static Assets"); ReDoc's
  bundle is served with the one address it would fetch from a CDN (its attribution logo) pointed at
  the local icon. ``tests/ui/test_docs_offline.py`` opens both pages in Chromium with the network cut.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from importlib.resources import files
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from .errors import STATUS_MEANING, ErrorOut

ASSETS_URL = "/docs-assets"
REDOC_JS_URL = "/redoc-assets/redoc.standalone.js"
REDOC_CDN_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
ROLES_ATTR = "required_roles"


def _calls(dependant: Any) -> Iterable[Callable[..., Any]]:
    for dep in dependant.dependencies:
        yield dep.call
        yield from _calls(dep)


def required_roles(route: APIRoute, auth_call: Callable[..., Any]) -> list[str] | None:
    """The roles a route admits (``[]`` = any signed-in user), None when it needs no login."""
    calls = list(_calls(route.dependant))
    for call in calls:
        roles = getattr(call, ROLES_ATTR, None)
        if roles is not None:
            return list(roles)
    return [] if auth_call in calls else None


def _statuses(route: APIRoute, method: str, roles: list[str] | None, workflow: bool) -> list[int]:
    has_params = bool(route.dependant.path_params or route.dependant.query_params or route.body_field
                      or route.dependant.header_params)
    out = []
    if route.body_field is not None:
        out.append(400)          # a body that is not JSON at all
    if roles is not None:
        out.append(401)
    if roles or (roles is not None and method != "GET"):
        out.append(403)
    if route.dependant.path_params or (workflow and method != "GET"):
        out.append(404)
    if workflow and method in ("POST", "PATCH", "PUT", "DELETE"):
        out.append(409)
    if route.body_field is not None or (route.dependant.path_params and method != "GET"):
        out.append(413)
    if has_params or (workflow and method != "GET"):
        out.append(422)
    if workflow:
        out.append(503)
    return out


def build_openapi(app: FastAPI, auth_call: Callable[..., Any], workflow_routes: set[int],
                  extra_statuses: dict[tuple[str, str], list[int]]) -> dict[str, Any]:
    """The app's OpenAPI document with the roles and the refusals of every operation (see the module)."""
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    comps = schema.setdefault("components", {}).setdefault("schemas", {})
    err = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    comps.update(err.pop("$defs", {}))
    comps["ErrorOut"] = err
    comps.pop("HTTPValidationError", None)
    comps.pop("ValidationError", None)
    ref = {"$ref": "#/components/schemas/ErrorOut"}
    for route in app.routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        roles = required_roles(route, auth_call)
        for method in route.methods:
            op = schema["paths"].get(route.path_format, {}).get(method.lower())
            if op is None:
                continue
            if roles is not None:
                op["x-required-roles"] = roles
                who = ("any signed-in user" if not roles else
                       "one of " + ", ".join(f"`{r}`" for r in roles) + " (or `admin`)")
                op["description"] = (op.get("description") or "").rstrip() + f"\n\n**Roles:** {who}."
            statuses = _statuses(route, method, roles, id(route) in workflow_routes)
            statuses += extra_statuses.get((method, route.path_format), [])
            responses = op.setdefault("responses", {})
            statuses += [int(k) for k in responses if k.isdigit() and int(k) >= 400]   # declared by the route
            for status in sorted(set(statuses)):
                declared = responses.get(str(status), {}).get("description")
                responses[str(status)] = {"description": declared or STATUS_MEANING.get(status, "refused"),
                                          "content": {"application/json": {"schema": ref}}}
    return schema


def install_docs(app: FastAPI, *, auth_call: Callable[..., Any], workflow_routes: set[int],
                 extra_statuses: dict[tuple[str, str], list[int]] | None = None) -> None:
    """Serve ``/openapi.json`` with roles and refusals, ``/docs`` and ``/redoc`` from local assets.

    The app must be built with ``docs_url=None, redoc_url=None`` (this adds its own)."""
    extra = extra_statuses or {}

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app, auth_call, workflow_routes, extra)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    assets = files("fastapi_offline") / "static"
    # ReDoc's bundle fetches one image from a CDN (its attribution logo): served pointing at the local icon
    redoc_js = (assets / "redoc.standalone.js").read_text(encoding="utf-8").replace(REDOC_CDN_LOGO,
                                                                                   f"{ASSETS_URL}/favicon.png")

    async def redoc_bundle(_request: Request) -> Response:
        return Response(redoc_js, media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"})

    app.add_route(REDOC_JS_URL, redoc_bundle, include_in_schema=False)
    app.mount(ASSETS_URL, StaticFiles(directory=str(assets)), name="docs-assets")
    oauth2_redirect = "/docs/oauth2-redirect"

    async def swagger_ui(_request: Request) -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} — Swagger UI",
                                   oauth2_redirect_url=oauth2_redirect,
                                   swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
                                   swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
                                   swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True})

    async def swagger_ui_redirect(_request: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc(_request: Request) -> HTMLResponse:
        return get_redoc_html(openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} — ReDoc",
                              redoc_js_url=REDOC_JS_URL,
                              redoc_favicon_url=f"{ASSETS_URL}/favicon.png", with_google_fonts=False)

    # plain routes like FastAPI's own documentation pages (open, outside the OpenAPI)
    app.add_route("/docs", swagger_ui, include_in_schema=False)
    app.add_route(oauth2_redirect, swagger_ui_redirect, include_in_schema=False)
    app.add_route("/redoc", redoc, include_in_schema=False)
