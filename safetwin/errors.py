"""Errors shared across SafeTwin's input formats, and look-ups by id that name the closest ids."""
from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import TypeVar


class LocatedValidationError(ValueError):
    """An input (plant, scenario, …) with every problem found, each located by file and field."""

    kind = "input"

    def __init__(self, path: Path | str, issues: Sequence[object]):
        self.path = path
        self.issues = list(issues)
        lines = "\n".join(f"  - {i}" for i in self.issues)
        super().__init__(f"{self.kind} {path} has {len(self.issues)} error(s):\n{lines}")


def closest_ids(wanted: str, candidates: Iterable[str], *, n: int = 3) -> list[str]:
    """Up to ``n`` of ``candidates`` that look most like ``wanted``, best first (difflib's
    similarity ratio, ignoring case; at least 0.6 as in :func:`difflib.get_close_matches`; ties in
    id order).

    >>> closest_ids("DS-710", ["TK-101", "DS-702", "DS-701", "SP-201"])
    ['DS-701', 'DS-702']
    """
    matcher = difflib.SequenceMatcher()
    matcher.set_seq2(str(wanted).casefold())
    scored = []
    for candidate in {str(c) for c in candidates}:
        matcher.set_seq1(candidate.casefold())
        if matcher.real_quick_ratio() >= 0.6 and matcher.quick_ratio() >= 0.6 and matcher.ratio() >= 0.6:
            scored.append((-matcher.ratio(), candidate))
    return [candidate for _, candidate in sorted(scored)[:n]]


def unknown_id_message(what: str, wanted: str, candidates: Iterable[str], *, owner: str = "") -> str:
    """``"plant demo_plant has no equipment 'DS-710'; closest: 'DS-701', 'DS-702'"`` — or, when none is
    close, the count and the first few ids the owner has."""
    ids = sorted(str(c) for c in candidates)
    head = f"{owner} has no {what} {wanted!r}" if owner else f"no {what} {wanted!r}"
    near = closest_ids(wanted, ids)
    if near:
        return f"{head}; closest: {', '.join(repr(c) for c in near)}"
    if not ids:
        return f"{head}; it has none"
    more = ", …" if len(ids) > 5 else ""
    return f"{head}; it has {len(ids)}: {', '.join(repr(c) for c in ids[:5])}{more}"


class UnknownIdError(KeyError):
    """A look-up by id that failed; the message names the closest ids (:func:`closest_ids`).

    A :class:`KeyError`, so code that catches ``KeyError`` keeps working; ``str()`` gives the sentence
    (not the quoted key a bare ``KeyError`` prints)."""

    def __init__(self, what: str, wanted: str, candidates: Iterable[str], *, owner: str = ""):
        ids = list(candidates)
        self.what = what
        self.wanted = wanted
        self.suggestions = closest_ids(wanted, ids)
        self.message = unknown_id_message(what, wanted, ids, owner=owner)
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


V = TypeVar("V")


class IdMap(dict[str, V]):
    """Features by id (a plain ``dict``) whose failed ``[id]`` raises :class:`UnknownIdError` naming
    the closest ids; ``get`` and ``in`` behave as for any dict.

    >>> equipment = IdMap({"DS-701": 1, "DS-702": 2}, what="equipment", owner="plant demo_plant")
    >>> equipment["DS-710"]
    Traceback (most recent call last):
    ...
    safetwin.errors.UnknownIdError: plant demo_plant has no equipment 'DS-710'; closest: 'DS-701', 'DS-702'
    """

    def __init__(self, items: Mapping[str, V] | Iterable[tuple[str, V]] = (), *, what: str = "item",
                 owner: str = ""):
        super().__init__(items)
        self.what = what
        self.owner = owner

    def __missing__(self, key: str) -> V:
        raise UnknownIdError(self.what, key, self.keys(), owner=self.owner)


class MissingExtraError(ImportError):
    """A feature needs an optional extra that is not installed; the message says which and how."""


def require_extra(module: str, *, extra: str, purpose: str) -> ModuleType:
    """Import ``module`` from the optional extra ``extra`` (ui, cluster, postgres), or raise
    :class:`MissingExtraError` saying what needs it and how to install it.

    >>> require_extra("no_such_xyz", extra="ui", purpose="the web UI")
    Traceback (most recent call last):
    ...
    safetwin.errors.MissingExtraError: the web UI needs the 'ui' extra: pip install 'safetwin[ui]' (no module 'no_such_xyz')
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise MissingExtraError(f"{purpose} needs the {extra!r} extra: pip install 'safetwin[{extra}]' "
                                f"(no module {err.name!r})", name=err.name) from err
