"""What every reader returns: features in the plant frame with their properties, and every
problem and every left-over item located (file, item, field) — nothing is dropped unreported.

>>> from shapely.geometry import Point
>>> r = SourceResult("site.dxf")
>>> r.feature("gates", Point(1, 2), {"id": "G-1"}, ref="INSERT 2F")
>>> r.not_mapped("LINE 30", "layer", "no rule for layer 'NOTES'")
>>> len(r.features), str(r.unmapped[0])
(1, "site.dxf: feature 'LINE 30': field 'layer': no rule for layer 'NOTES'")
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shapely.geometry.base import BaseGeometry

from safetwin.plant_models.loader import Issue


@dataclass
class RawFeature:
    """One imported item before validation: its target, geometry (local frame, m) and properties."""

    target: str
    geometry: BaseGeometry
    properties: dict[str, Any]
    file: str
    ref: str

    @property
    def label(self) -> str:
        """``id`` when known, else the source reference (handle, feature index, row)."""
        return str(self.properties.get("id") or self.ref)


@dataclass
class SourceResult:
    """Features read from one source file, with its errors and its unmapped items."""

    file: str
    features: list[RawFeature] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)
    unmapped: list[Issue] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    sensors: list[dict[str, Any]] = field(default_factory=list)
    """Complete sensor records (a tag list's good rows), keyed by ``id``."""

    def feature(self, target: str, geometry: BaseGeometry, properties: dict[str, Any], *, ref: str) -> None:
        self.features.append(RawFeature(target, geometry, properties, self.file, ref))

    def error(self, item: str, field_name: str, message: str) -> None:
        self.errors.append(Issue(self.file, item, field_name, message))

    def not_mapped(self, item: str, field_name: str, message: str) -> None:
        self.unmapped.append(Issue(self.file, item, field_name, message))
