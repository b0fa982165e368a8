"""Risk grading (LEC, 5×5 LS matrix) into RED/ORANGE/YELLOW/BLUE and the four-colour map.

Boundaries (documented convention, lower bound inclusive): LEC D ≥ 320 RED, ≥ 160 ORANGE,
≥ 70 YELLOW, else BLUE. LS (variant A, DB37/T 2882): R ≥ 20 RED, ≥ 15 ORANGE, ≥ 9 YELLOW, else BLUE.

>>> grade_lec(6, 6, 15)     # D = 540
(540.0, 'RED')
>>> grade_ls(3, 3)
(9.0, 'YELLOW')
"""
from __future__ import annotations

from collections.abc import Iterable

from shapely.geometry import Polygon, mapping

from .errors import GuardFailed

LEVELS = ("RED", "ORANGE", "YELLOW", "BLUE")
COLOURS = {"RED": "#e53935", "ORANGE": "#fb8c00", "YELLOW": "#fdd835", "BLUE": "#1e88e5"}
#: management layer each level implies (configurable per site)
LAYER = {"RED": "company", "ORANGE": "department", "YELLOW": "workshop", "BLUE": "team"}
LEC_L = (10, 6, 3, 1, 0.5, 0.2, 0.1)
LEC_E = (10, 6, 3, 2, 1, 0.5)
LEC_C = (100, 40, 15, 7, 3, 1)
LEC_CUTS = ((320, "RED"), (160, "ORANGE"), (70, "YELLOW"))
LS_CUTS = ((20, "RED"), (15, "ORANGE"), (9, "YELLOW"))


def _cut(score: float, cuts) -> str:
    for lo, lvl in cuts:
        if score >= lo:
            return lvl
    return "BLUE"


def grade_lec(l: float, e: float, c: float) -> tuple[float, str]:  # noqa: E741 (L, E, C: the method's names)
    """D = L·E·C on the published scales, graded."""
    for name, v, scale in (("L", l, LEC_L), ("E", e, LEC_E), ("C", c, LEC_C)):
        if v not in scale:
            raise GuardFailed(f"LEC {name}={v} is not on the scale {scale}", "bad_factor")
    d = float(l * e * c)
    return d, _cut(d, LEC_CUTS)


def grade_ls(l: int, s: int) -> tuple[float, str]:  # noqa: E741 (L, S: the method's names)
    """R = L·S on a 5×5 matrix (1..5 each), graded."""
    if not (1 <= l <= 5 and 1 <= s <= 5) or int(l) != l or int(s) != s:
        raise GuardFailed(f"L and S must be integers 1..5, got {l}, {s}", "bad_factor")
    r = float(l * s)
    return r, _cut(r, LS_CUTS)


def worst(levels: Iterable[str]) -> str:
    """The highest of some levels (BLUE when none)."""
    ls = list(levels)
    return min(ls, key=LEVELS.index) if ls else "BLUE"


def feature(unit_id: str, name: str, geom: Polygon, level: str) -> dict:
    """One GeoJSON feature of the four-colour map (local metres)."""
    return {"type": "Feature", "geometry": mapping(geom),
            "properties": {"id": unit_id, "name": name, "level": level, "colour": COLOURS[level], "layer": LAYER[level]}}
