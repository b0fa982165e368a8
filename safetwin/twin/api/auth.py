"""Authentication and role checks for the API.

Users log in with the OAuth2 password flow (``POST /auth/token``) and get a JWT (HS256, secret
from ``SAFETWIN_JWT_SECRET`` or generated at start) carrying their id, their roles at login and
their token version. Every request then checks the user's *current* state
(:meth:`~safetwin.twin.workflows.users.Users.current`): a deactivated or deleted user, or a token
older than the user's last password reset, is refused (401); the roles that count are the ones
the user holds now, not the ones written in the token (a demotion acts on the next request).
Static service tokens (``SAFETWIN_API_TOKEN[S]``, token → legacy role) are still accepted for
machine clients; their roles map onto user roles (viewer → worker, engineer → safety_engineer …).

A route names the roles it admits with :func:`require_roles` (admin is always admitted);
:func:`require_role` keeps the old "least role" form for the twin's read routes.
401 = no or invalid token, 403 = valid token without a needed role.
"""
from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import jwt
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer

from safetwin.twin.workflows.roles import LEGACY_ROLE_MAP, ROLES, Actor

LEGACY_ROLES = ("viewer", "operator", "engineer", "planner", "manager", "admin")

oauth2 = OAuth2PasswordBearer(tokenUrl="auth/token", auto_error=False)


def role_for_token(tokens: dict[str, str], token: str) -> str | None:
    """The role of a static ``token`` among ``tokens`` (token -> role), None when unknown (constant time)."""
    found = None
    for known, role in tokens.items():
        if hmac.compare_digest(known.encode(), token.encode()):
            found = role
    return found


def issue_token(actor: Actor, secret: str, ttl_min: float, algorithm: str = "HS256", *, version: int = 0) -> str:
    """A signed JWT for ``actor``, valid ``ttl_min`` minutes, at the user's token ``version``."""
    now = datetime.now(timezone.utc)
    claims = {"sub": actor.user_id, "roles": sorted(actor.roles), "ver": version, "iat": now,
              "exp": now + timedelta(minutes=ttl_min)}
    return jwt.encode(claims, secret, algorithm=algorithm)


def _unauthorized(msg: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, msg, headers={"WWW-Authenticate": "Bearer"})


async def current_actor(request: Request, token: str | None = Depends(oauth2)) -> Actor:
    """FastAPI dependency: the authenticated actor, or 401.

    ``async`` on purpose: an HMAC check of the JWT (about 20 µs) and the user's current state from
    the in-process copy (a primary-key read when it is older than ``auth_recheck_s``), so it runs on
    the event loop instead of costing a thread-pool hop on every request. It never suspends (the
    UI calls it from synchronous code)."""
    if not token:
        raise _unauthorized("missing bearer token")
    app_state = request.app.state
    legacy = role_for_token(app_state.tokens, token) if app_state.tokens else None
    if legacy is not None:
        return Actor(f"token:{legacy}", frozenset({LEGACY_ROLE_MAP.get(legacy, legacy)}))
    settings = app_state.auth_settings
    try:
        claims = jwt.decode(token, settings.jwt_secret, algorithms=[settings.jwt_algorithm],
                            options={"require": ["exp", "sub"]})
    except jwt.PyJWTError as e:
        raise _unauthorized(f"invalid token: {e}") from None
    roles = claims.get("roles")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise _unauthorized("invalid token: roles")
    workflows = getattr(app_state, "workflows", None)
    if workflows is None:        # no user table on this server: the signed token is all there is
        return Actor(str(claims["sub"]), frozenset(roles))
    user = workflows.users.current(str(claims["sub"]))
    if user is None:
        raise _unauthorized("token revoked: the user no longer exists")
    if not user.active:
        raise _unauthorized("token revoked: the user is deactivated")
    if claims.get("ver", 0) != user.token_version:
        raise _unauthorized("token revoked: issued before the user's password was reset or the user was deactivated")
    return user.actor()


def require_roles(*roles: str) -> Callable[..., Actor]:
    """Dependency admitting actors holding any of ``roles`` (or admin); 403 otherwise."""
    bad = [r for r in roles if r not in ROLES]
    if bad:
        raise ValueError(f"unknown roles {bad}")

    async def check(actor: Actor = Depends(current_actor)) -> Actor:
        if roles and not actor.has(*roles):
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"{actor.user_id} (roles {sorted(actor.roles)}) needs one of {list(roles)}")
        return actor

    check.__name__ = f"require_{'_'.join(roles) or 'any'}"
    check.required_roles = roles  # type: ignore[attr-defined]  # read by the OpenAPI (x-required-roles)
    return check


def require_role(least: str) -> Callable[..., Actor]:
    """Legacy form: ``viewer`` admits any authenticated actor; higher legacy roles map onto user roles."""
    if least not in LEGACY_ROLES:
        raise ValueError(f"unknown role {least!r}")
    if least == "viewer":
        return require_roles()
    higher = LEGACY_ROLES[LEGACY_ROLES.index(least):]
    return require_roles(*{LEGACY_ROLE_MAP[r] for r in higher})
