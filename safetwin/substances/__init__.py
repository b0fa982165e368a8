"""The one substance table of SafeTwin: names and aliases, physical and toxic properties, exposure limits.

A leaf of the package: it imports nothing else of SafeTwin, and every layer (plant files, gas
tests, detectors, consequence models) resolves substance names here.

>>> from safetwin.substances import canonical_name, get_substance
>>> get_substance(canonical_name("hydrogen_sulfide")).cas
'7783-06-4'
"""
from .exposure_limits import ALWAYS_TOXIC, LIMITS, ExposureLimits, LimitKind
from .names import ALIASES, CANONICAL, UnknownSubstance, canonical_name, chinese_name, is_oxygen, normalise
from .properties import (
    DURATIONS_S, MOLAR_VOLUME_L_25C, ProbitConstants, Substance, ToxicLevels, get_substance, mg_m3_to_ppm,
    ppm_to_mg_m3, substance_names,
)

__all__ = [
    "ALWAYS_TOXIC", "ALIASES", "CANONICAL", "DURATIONS_S", "LIMITS", "MOLAR_VOLUME_L_25C", "ExposureLimits", "LimitKind",
    "ProbitConstants", "Substance", "ToxicLevels", "UnknownSubstance", "canonical_name", "chinese_name", "get_substance",
    "is_oxygen",
    "mg_m3_to_ppm", "normalise", "ppm_to_mg_m3", "substance_names",
]
