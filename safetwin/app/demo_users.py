"""The demo's users: one per role, with passwords generated on the first start of an empty store.

The passwords are random per install (never in the repository): they are written once to
``<data_dir>/demo-users.json`` (mode 0600, beside the store) and printed at every start, so whoever
started the demo can log in as an operator, an engineer, a manager … A store that already had
users (an earlier install, a bootstrap administrator) gets no demo users.

Example::

    >>> sorted(DEMO_USERS)[:3]
    ['admin', 'applicant', 'approver']
    >>> DEMO_USERS["engineer"]
    ('safety_engineer',)
"""
from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

__all__ = ["DEMO_USERS", "USERS_FILE", "ensure_demo_users", "demo_user_lines"]

#: demo user id → roles (one user per role; a second approver signs the steps a first may not sign twice)
DEMO_USERS: dict[str, tuple[str, ...]] = {
    "admin": ("admin",), "operator": ("operator",), "engineer": ("safety_engineer",), "manager": ("manager",),
    "planner": ("planner",), "applicant": ("applicant",), "approver": ("approver",), "approver2": ("approver",),
    "guardian": ("guardian",), "worker": ("worker",), "fitter": ("worker",),
}
#: the file (in the data directory) that keeps the generated passwords of this install
USERS_FILE = "demo-users.json"


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (0600 from the start, no window)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def ensure_demo_users(users: Any, data_dir: Path, *, fresh: bool) -> dict[str, str]:
    """The demo users' passwords (user id → password).

    ``fresh``: the store had no user before this start — then each missing demo user is created
    with a new random password and the passwords are saved in ``data_dir/demo-users.json``. On a
    later start the saved file is read back; an install whose file is gone, or whose store had users
    of its own, returns ``{}``. ``users`` is the workflow service's :class:`~safetwin.twin.workflows.users.Users`.
    """
    path = Path(data_dir) / USERS_FILE
    if not fresh:
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        known = {u["id"] for u in users.list()}
        return {uid: pw for uid, pw in saved.items() if uid in known and isinstance(pw, str)}
    have = {u["id"] for u in users.list()}
    out: dict[str, str] = {}
    for uid, roles in DEMO_USERS.items():
        if uid in have:
            continue
        password = secrets.token_urlsafe(9)        # 12 characters, ~72 bits
        users.create(uid, password, list(roles), full_name=f"demo {uid}")
        out[uid] = password
    if out:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_private(path, json.dumps(out, indent=1))
    return out


def demo_user_lines(passwords: dict[str, str]) -> list[str]:
    """The banner lines listing each demo user with its roles and password."""
    if not passwords:
        return []
    width = max(len(u) for u in passwords)
    lines = ["demo users (passwords generated for this install, kept in the data dir's demo-users.json):"]
    for uid, pw in passwords.items():
        roles = ", ".join(DEMO_USERS.get(uid, ()))
        lines.append(f"  {uid:<{width}}  {pw}   ({roles})")
    return lines
