"""Substance names: one canonical name per substance, with the aliases plants and instruments use.

Plant files, detector lists and portable gas instruments spell the same gas in many ways
(``hydrogen_sulfide``, ``H2S``, ``硫化氢``, ``NH3``, ``LPG``). Every part of SafeTwin resolves a name
through :func:`canonical_name` before looking anything up, so a gas known anywhere is known
everywhere.

>>> canonical_name("Hydrogen_Sulfide"), canonical_name("NH3"), canonical_name("液氯")
('hydrogen sulfide', 'ammonia', 'chlorine')
>>> canonical_name("amonia")
Traceback (most recent call last):
...
safetwin.substances.names.UnknownSubstance: "unknown substance 'amonia'; did you mean 'ammonia'?"
"""
from __future__ import annotations

import difflib

CANONICAL: tuple[str, ...] = (
    "chlorine", "ammonia", "hydrogen sulfide", "methane", "propane", "n-butane", "n-hexane", "gasoline", "kerosene",
    "hydrogen", "ethylene", "benzene", "carbon monoxide", "sulfur dioxide", "hydrogen cyanide",
)
"""Canonical names (lower case, as in the property table)."""

ALIASES: dict[str, str] = {
    # formulas and abbreviations
    "cl2": "chlorine", "nh3": "ammonia", "h2s": "hydrogen sulfide", "ch4": "methane", "c3h8": "propane",
    "c4h10": "n-butane", "c6h14": "n-hexane", "h2": "hydrogen", "c2h4": "ethylene", "c6h6": "benzene",
    "co": "carbon monoxide", "so2": "sulfur dioxide", "hcn": "hydrogen cyanide",
    # trade and common names (a mixture is represented by its surrogate in the property table)
    "lpg": "propane", "natural gas": "methane", "lng": "methane", "hexane": "n-hexane", "butane": "n-butane",
    "petrol": "gasoline", "diesel": "kerosene", "hydrogen sulphide": "hydrogen sulfide",
    "sulphur dioxide": "sulfur dioxide", "ethene": "ethylene",
    # Chinese names used on plant drawings and detector lists
    "氯气": "chlorine", "液氯": "chlorine", "氨": "ammonia", "氨气": "ammonia", "液氨": "ammonia",
    "硫化氢": "hydrogen sulfide", "甲烷": "methane", "天然气": "methane", "丙烷": "propane", "液化石油气": "propane",
    "正丁烷": "n-butane", "丁烷": "n-butane", "正己烷": "n-hexane", "己烷": "n-hexane", "汽油": "gasoline",
    "柴油": "kerosene", "煤油": "kerosene", "氢气": "hydrogen", "乙烯": "ethylene", "苯": "benzene",
    "一氧化碳": "carbon monoxide", "二氧化硫": "sulfur dioxide", "氰化氢": "hydrogen cyanide",
}
"""Alias → canonical name; keys are normalised (see :func:`normalise`)."""

OXYGEN_NAMES = frozenset({"o2", "oxygen", "氧气", "氧"})
"""Names of oxygen, which gas tests judge by its own range (it is not a hazardous substance)."""


class UnknownSubstance(KeyError):
    """A name that is neither a canonical substance name nor an alias; the message suggests the closest."""


def normalise(name: str) -> str:
    """Lower case, ``_`` and runs of white space as one space, stripped."""
    return " ".join(str(name).replace("_", " ").split()).lower()


def canonical_name(name: str) -> str:
    """The canonical substance name for a name or alias (case, ``_`` and spaces do not matter).

    Raises :class:`UnknownSubstance` with the closest known names when there is none."""
    key = normalise(name)
    if key in CANONICAL:
        return key
    if key in ALIASES:
        return ALIASES[key]
    close = difflib.get_close_matches(key, [*CANONICAL, *ALIASES], n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else f"; known: {', '.join(CANONICAL)}"
    raise UnknownSubstance(f"unknown substance {name!r}{hint}")


def is_oxygen(name: str) -> bool:
    """True for oxygen under any of its names."""
    return normalise(name) in OXYGEN_NAMES


CHINESE: dict[str, str] = {
    "chlorine": "氯气", "ammonia": "氨", "hydrogen sulfide": "硫化氢", "methane": "甲烷", "propane": "丙烷",
    "n-butane": "正丁烷", "n-hexane": "正己烷", "gasoline": "汽油", "kerosene": "煤油", "hydrogen": "氢气",
    "ethylene": "乙烯", "benzene": "苯", "carbon monoxide": "一氧化碳", "sulfur dioxide": "二氧化硫",
    "hydrogen cyanide": "氰化氢",
}
"""Canonical name → the Chinese name shown on 中文 pages."""
#: trade names whose Chinese name differs from their surrogate's (LPG is not 丙烷 on a drawing)
_CHINESE_TRADE = {"lpg": "液化石油气", "diesel": "柴油", "natural gas": "天然气", "lng": "液化天然气", "petrol": "汽油"}


def chinese_name(name: str) -> str:
    """The Chinese name of a substance name or alias; the name itself when unknown.

    >>> chinese_name("hydrogen_sulfide"), chinese_name("LPG"), chinese_name("unobtainium")
    ('硫化氢', '液化石油气', 'unobtainium')
    """
    key = normalise(name)
    if key in _CHINESE_TRADE:
        return _CHINESE_TRADE[key]
    try:
        return CHINESE.get(canonical_name(name), name)
    except UnknownSubstance:
        return name
