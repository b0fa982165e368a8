"""Roles of SafeTwin users and the actor performing an action."""
from __future__ import annotations

from dataclasses import dataclass, field

from .errors import Forbidden

ROLES: tuple[str, ...] = (
    "worker", "applicant", "approver", "guardian", "safety_engineer", "planner", "operator", "manager", "admin",
)

#: Legacy API-token roles (``SAFETWIN_API_TOKENS``) mapped onto user roles.
LEGACY_ROLE_MAP: dict[str, str] = {
    "viewer": "worker", "operator": "operator", "engineer": "safety_engineer",
    "planner": "planner", "manager": "manager", "admin": "admin",
}


@dataclass(frozen=True)
class Actor:
    """Who performs an action: a user id and the roles they hold."""

    user_id: str
    roles: frozenset[str] = field(default_factory=frozenset)

    def has(self, *roles: str) -> bool:
        """True when the actor holds any of ``roles`` (admin holds every role)."""
        return "admin" in self.roles or any(r in self.roles for r in roles)

    def require(self, *roles: str, action: str = "do this") -> None:
        """Raise :class:`Forbidden` unless the actor holds one of ``roles``."""
        if not self.has(*roles):
            raise Forbidden(f"{self.user_id} (roles {sorted(self.roles)}) may not {action}; needs one of {list(roles)}",
                            "wrong_role")


#: The actor used for automatic actions (alarm-driven suspension, expiry, escalation).
SYSTEM = Actor("system", frozenset({"admin"}))
