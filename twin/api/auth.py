"""Bearer-token authentication with roles for every route that reveals or changes data.

Tokens come from settings: ``SAFETWIN_API_TOKEN`` is an admin token, and
``SAFETWIN_API_TOKENS`` maps more tokens to roles as JSON (``{"tok": "operator"}``). Roles are
ordered: viewer < operator < engineer < planner < manager < admin; a route names the least role
it needs. Tokens are compared in constant time.
"""
from __future__ import annotations

import hmac
from collections.abc import Callable

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

ROLES = ("viewer", "operator", "engineer", "planner", "manager", "admin")

_bearer = HTTPBearer(auto_error=False)


def role_for_token(tokens: dict[str, str], token: str) -> str | None:
    """The role of ``token`` among ``tokens`` (token -> role), None when unknown."""
    found = None
    for known, role in tokens.items():
        if hmac.compare_digest(known.encode(), token.encode()):
            found = role
    return found


def require_role(least: str) -> Callable:
    """FastAPI dependency: 401 without a valid token, 403 when the token's role is below ``least``."""
    if least not in ROLES:
        raise ValueError(f"unknown role {least!r}")

    def check(request: Request, cred: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> str:
        if cred is None or cred.scheme.lower() != "bearer":
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing bearer token",
                                headers={"WWW-Authenticate": "Bearer"})
        role = role_for_token(request.app.state.tokens, cred.credentials)
        if role is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid token", headers={"WWW-Authenticate": "Bearer"})
        if ROLES.index(role) < ROLES.index(least):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {role!r} may not do this (needs {least!r})")
        return role

    return check
