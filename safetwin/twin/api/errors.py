"""One error shape for every refusal of the API, and a cap on request bodies.

Every 4xx/5xx answer of the API is an :class:`ErrorOut` — ``{"detail", "code"}`` plus, for a
request that failed validation, ``errors`` (where and what, never the value sent): a rule
refusal of the workflows (:class:`~safetwin.twin.workflows.errors.WorkflowError`), an
authentication or role refusal, an unknown record, a malformed request and a body over the cap
all look alike to a client.

:class:`BodyLimit` is plain ASGI middleware: a request whose body is over ``max_bytes`` gets 413
before any route reads it (by its ``Content-Length``, or while it streams when it has none).
"""
from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from ..workflows.errors import WorkflowError

#: stable codes of the HTTP-level refusals (rule refusals carry their own code)
STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
                409: "conflict", 413: "body_too_large", 422: "invalid_request", 429: "too_many_attempts",
                503: "unavailable"}
#: what each documented status means, for the OpenAPI
STATUS_MEANING = {
    400: "the request body is not JSON",
    401: "no bearer token, or one that is invalid, expired or revoked (user deactivated, deleted or password reset)",
    403: "the user's current roles do not allow this, or a segregation-of-duties rule refuses this user",
    404: "no such record",
    409: "the record's state does not allow this action, or it changed since it was read (version conflict)",
    413: "request body larger than the server's limit",
    422: "the request is malformed, or a rule guard refused it (gas test, certificate, SIMOPS, validity …)",
    429: "too many failed logins: the account or the client address is locked for a while",
    503: "the safety workflows are not configured on this server",
}
MAX_MESSAGE = 300
MAX_LOC = 64


class FieldError(BaseModel):
    """One problem of a malformed request: where (path of keys and indexes) and what."""

    loc: list[str | int] = Field(description="where: 'body', 'query', 'path' … then keys and list indexes")
    msg: str
    type: str


class ErrorOut(BaseModel):
    """Every refusal of the API: what went wrong for a person (``detail``) and for a program (``code``)."""

    detail: str = Field(description="what went wrong and, where it helps, what to do (never the value sent)")
    code: str = Field(description="stable machine code: not_found, wrong_role, own_approval, gas_test_failed, "
                                  "invalid_request, account_locked …")
    errors: list[FieldError] | None = Field(default=None, description="for a malformed request: each problem")


class ApiError(HTTPException):
    """An HTTP refusal with its machine ``code`` (answered as an :class:`ErrorOut`)."""

    def __init__(self, status: int, detail: str, code: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status, detail, headers=headers)
        self.code = code


def error_response(status: int, detail: str, code: str | None = None, errors: list[dict] | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    """An :class:`ErrorOut` response."""
    body: dict[str, Any] = {"detail": detail[:2000], "code": code or STATUS_CODES.get(status, "error")}
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=headers)


def _loc(parts: Any) -> list[str | int]:
    return [p if isinstance(p, int) else str(p)[:MAX_LOC] for p in parts]


def validation_errors(exc: RequestValidationError) -> list[dict]:
    """Where and what for each problem, without the input value (which may be huge or secret)."""
    return [{"loc": _loc(e.get("loc", ())), "msg": str(e.get("msg", ""))[:MAX_MESSAGE], "type": str(e.get("type", ""))}
            for e in exc.errors()[:50]]


def allowed_methods(app: Any, scope: dict) -> str:
    """The ``Allow`` header of a 405: the methods of *every* route at the request's path (Starlette
    names only those of the first route it found there, e.g. ``GET`` of a path that also has a POST)."""
    methods: set[str] = set()
    for route in app.router.routes:
        found = getattr(route, "methods", None)
        if found and route.matches(scope)[0] != Match.NONE:
            methods |= found
    return ", ".join(sorted(methods))


def install_error_handlers(app: FastAPI) -> None:
    """Answer every refusal in the one :class:`ErrorOut` shape."""

    @app.exception_handler(WorkflowError)
    async def _refused(_request: Request, exc: WorkflowError) -> JSONResponse:
        return error_response(exc.status, str(exc), exc.code)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail, default=str)
        code = getattr(exc, "code", None)
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": allowed_methods(request.app, request.scope)}
        return error_response(exc.status_code, detail, code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = validation_errors(exc)
        first = problems[0] if problems else {"loc": [], "msg": "invalid"}
        where = ".".join(str(p) for p in first["loc"])
        return error_response(422, f"invalid request: {where}: {first['msg']}"
                              + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
                              "invalid_request", problems)


class BodyLimit:
    """ASGI middleware refusing request bodies over ``max_bytes`` with 413 (see the module docstring)."""

    def __init__(self, app: Any, *, max_bytes: int, own_limit_paths: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.own_limit_paths = own_limit_paths   # routes that read their body in bounded chunks themselves

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("path") in self.own_limit_paths:
            await self.app(scope, receive, send)
            return
        for key, value in scope.get("headers", ()):
            if key == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared < 0 or declared > self.max_bytes:
                    await self._too_large(scope, receive, send)
                    return
                break
        seen = 0
        started = False

        async def limited_receive() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return message

        async def tracking_send(message: dict) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._too_large(scope, receive, send)

    async def _too_large(self, scope: dict, receive: Any, send: Any) -> None:
        response = error_response(413, f"request body larger than {self.max_bytes} bytes", "body_too_large",
                                  headers={"Connection": "close"})
        await response(scope, receive, send)


class _TooLarge(HTTPException):
    """A streamed body went over the cap: FastAPI passes an HTTPException raised while it reads a
    body on to the exception handlers (any other error there becomes a 400)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"request body larger than {max_bytes} bytes")
        self.code = "body_too_large"
