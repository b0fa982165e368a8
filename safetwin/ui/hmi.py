"""The control room's colours, after the ISA-101 high-performance HMI convention: grey for every
normal state, colour only for what is abnormal, one colour per alarm priority.

Core objects: the palettes (:data:`DETECTOR_COLOURS`, :data:`PERSON_COLOURS`,
:data:`PRIORITY_COLOURS`, :data:`ZONE_COLOURS`, :data:`ROUTE_COLOUR`) and :func:`blend`, which gives
the colour a translucent fill shows on the plan's ground (what the legend must show for it).

Every colour the plan view draws comes from here, and so does every legend swatch: what the
legend says is what is drawn (the browser test samples the rendered pixels against these).

Example::

    >>> blend("#e00000", GROUND_COLOUR, ZONE_ALPHA)
    '#e36767'
    >>> is_grey(DETECTOR_COLOURS[0]), is_grey(DETECTOR_COLOURS[3])      # normal grey, high-high red
    (True, False)
"""
from __future__ import annotations

#: the plan's background (outside the plant) and ground (inside the plant boundary)
BACKGROUND_COLOUR = "#f2f2f2"
GROUND_COLOUR = "#e6e6e6"
ROAD_COLOUR = "#cccccc"
BUILDING_COLOUR = "#b3b3b3"
EQUIPMENT_COLOUR = "#c4c4c4"
OUTLINE_COLOUR = "#8c8c8c"
TEXT_COLOUR = "#333333"

#: alarm priority (1 highest) → colour: red, orange, yellow; 4 = diagnostic (faults, stale heads)
PRIORITY_COLOURS = {1: "#e00000", 2: "#ff7f00", 3: "#f2c500", 4: "#a020c0"}
#: detector colours by display code (normal, warning, high, high-high, fault / no data)
DETECTOR_COLOURS = ("#595959", PRIORITY_COLOURS[3], PRIORITY_COLOURS[2], PRIORITY_COLOURS[1], PRIORITY_COLOURS[4])
#: person colours by display code (working, evacuating, mustered, in danger)
PERSON_COLOURS = ("#808080", "#1f5fd1", "#404040", PRIORITY_COLOURS[1])
#: consequence zone fill colours (drawn at :data:`ZONE_ALPHA` over the ground)
ZONE_COLOURS = {"RED": "#e00000", "ORANGE": "#ff7f00", "YELLOW": "#f2c500"}
ZONE_ALPHA = 0.55
#: recommended evacuation routes
ROUTE_COLOUR = "#1f5fd1"
#: the wind arrow and the scale bar
WIND_COLOUR = "#1a1a1a"


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def blend(colour: str, under: str, alpha: float) -> str:
    """``colour`` drawn with opacity ``alpha`` (0–1) over ``under``, as ``#rrggbb``."""
    top, bottom = _rgb(colour), _rgb(under)
    return "#" + "".join(f"{round(alpha * a + (1 - alpha) * b):02x}" for a, b in zip(top, bottom))


def is_grey(colour: str, tolerance: int = 8) -> bool:
    """True when ``colour``'s channels differ by at most ``tolerance`` (a grey)."""
    rgb = _rgb(colour)
    return max(rgb) - min(rgb) <= tolerance


def legend_colours() -> dict[str, str]:
    """Every colour a legend entry shows, keyed ``detector:<code>``, ``person:<code>``, ``zone:<level>``
    and ``route`` (zones as they look on the ground)."""
    out = {f"detector:{k}": c for k, c in enumerate(DETECTOR_COLOURS)}
    out.update({f"person:{k}": c for k, c in enumerate(PERSON_COLOURS)})
    out.update({f"zone:{lvl}": blend(c, GROUND_COLOUR, ZONE_ALPHA) for lvl, c in ZONE_COLOURS.items()})
    out["route"] = ROUTE_COLOUR
    return out
