"""Path segments that name one of a fixed set of actions (``/permits/{permit_id}/{action}``), or
an id that is not one of a few reserved words (``/users/{user_id}`` is not ``/users/me``).

A plain ``{action}`` segment matches any word, so ``POST /permits/P-1/history`` would reach the
action route and be refused as an unknown action (422) although the path exists for ``GET``: the
right answer is 405 with ``Allow: GET``. :func:`action_segment` registers a Starlette path
convertor that matches only the named actions, so any other word is left to the routes that own
it (the OpenAPI path stays ``{action}``, with the actions as its enum). :func:`id_segment` does the
same for an id beside a fixed path: ``PATCH /users/me`` is 405 (``/users/me`` is read-only), not
a change of a user called "me".

Example::

    >>> from typing import Literal
    >>> action_segment("demo_action", Literal["start", "stop"])
    '{action:demo_action}'
    >>> from starlette.convertors import CONVERTOR_TYPES
    >>> CONVERTOR_TYPES["demo_action"].regex
    'start|stop'
"""
from __future__ import annotations

import re
from typing import Any, get_args

from starlette.convertors import Convertor, register_url_convertor

__all__ = ["action_segment", "id_segment"]


class _Choice(Convertor[str]):
    """A path segment that is one of ``choices`` (kept as the string)."""

    def __init__(self, regex: str) -> None:
        self.regex = regex

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return str(value)


def action_segment(name: str, actions: Any) -> str:
    """The ``{action:<name>}`` segment matching only the values of the ``Literal`` ``actions``
    (the convertor is registered under ``name``, once per process)."""
    choices = tuple(str(a) for a in get_args(actions))
    if not choices:
        raise ValueError(f"{name}: give the actions as a Literal of strings")
    register_url_convertor(name, _Choice("|".join(re.escape(c) for c in choices)))
    return "{action:" + name + "}"


def id_segment(param: str, *reserved: str) -> str:
    """The ``{<param>:<param>}`` segment matching any one segment but the ``reserved`` words.

    >>> id_segment("demo_id", "me")
    '{demo_id:demo_id}'
    >>> import re
    >>> from starlette.convertors import CONVERTOR_TYPES
    >>> [bool(re.fullmatch(CONVERTOR_TYPES["demo_id"].regex, w)) for w in ("bob", "me", "meg")]
    [True, False, True]
    """
    words = "|".join(re.escape(w) for w in reserved)
    register_url_convertor(param, _Choice(f"(?!(?:{words})(?:/|$))[^/]+"))
    return "{" + param + ":" + param + "}"
