"""The risk register: risk units graded by LEC or LS into four colours, and the four-colour risk map.

A unit is a plant area or a polygon (local m); its level is the worst of its assessed risk
events (RED / ORANGE / YELLOW / BLUE, :mod:`safetwin.twin.workflows.risk`).
"""
from __future__ import annotations

from typing import Any

import numpy as np
from shapely.geometry import Polygon

from .. import risk
from ..domain import RiskEvent, RiskUnit
from ..errors import GuardFailed
from ..roles import Actor
from .context import RecordService, WorkflowContext, check_local_polygon


class RiskRegisterService(RecordService):
    """Risk units of one site (see the module docstring)."""

    def __init__(self, ctx: WorkflowContext) -> None:
        super().__init__(ctx)
        self._to_wgs84: Any = None               # pyproj transformer, built on first use

    def create_risk_unit(self, actor: Actor, *, name: str, area_id: str | None = None,
                         polygon: list[tuple[float, float]] | None = None) -> RiskUnit:
        actor.require("safety_engineer", action="edit the risk register")
        if (area_id is None) == (polygon is None):
            raise GuardFailed("give exactly one of area_id or polygon", "bad_geometry")
        if area_id is not None and area_id not in self.plant.areas:
            raise GuardFailed(f"unknown area {area_id!r}", "bad_area")
        if polygon is not None:
            check_local_polygon(polygon, "polygon")
        u = RiskUnit(id=self.repo.new_id("RU"), site_id=self.site_id, state="draft", created_at=self.clock(),
                     created_by=actor.user_id, name=name, area_id=area_id, polygon=polygon, layer=risk.LAYER["BLUE"])
        self.repo.save("risk_unit", u, actor=actor.user_id, action="create", expected_version=None, level=u.level)
        return u

    def assess_risk(self, actor: Actor, unit_id: str, *, description: str, method: str, factors: dict[str, float],
                    measures: list[str] | None = None) -> RiskUnit:
        """Add a graded risk event; the unit's level is the worst of its events."""
        actor.require("safety_engineer", action="assess risk")
        if method == "LEC":
            score, level = risk.grade_lec(factors.get("L", -1), factors.get("E", -1), factors.get("C", -1))
        elif method == "LS":
            score, level = risk.grade_ls(factors.get("L", -1), factors.get("S", -1))
        else:
            raise GuardFailed("method must be LEC or LS", "bad_method")
        with self._locks.hold("risk_unit", unit_id):
            u, ver = self.repo.get("risk_unit", unit_id, RiskUnit)
            u.events.append(RiskEvent(description=description, method=method, factors=factors, score=score,
                                      level=level, measures=measures or []))
            u.level = risk.worst(e.level for e in u.events)
            u.layer, u.state = risk.LAYER[u.level], "assessed"
            self.repo.save("risk_unit", u, actor=actor.user_id, action="assess", expected_version=ver, level=u.level)
        return u

    def risk_map(self, frame: str = "wgs84") -> dict:
        """The four-colour risk map as a GeoJSON FeatureCollection.

        ``frame="wgs84"`` (default): RFC 7946 lon/lat degrees — the local polygons are shifted into
        the plant's projected CRS (:func:`~safetwin.plant_models.export.to_projected`) and
        transformed with pyproj. ``frame="local"``: the plant's local metres (x east, y north).
        """
        if frame not in ("wgs84", "local"):
            raise GuardFailed(f"frame must be 'wgs84' or 'local', not {frame!r}", "bad_frame")
        feats = []
        for u in self.repo.list("risk_unit", RiskUnit, limit=100000):
            geom = self.plant.areas[u.area_id].geometry if u.area_id else Polygon(u.polygon)
            if frame == "wgs84":
                geom = self._wgs84(geom)
            feats.append(risk.feature(u.id, u.name, geom, u.level))
        out: dict[str, Any] = {"type": "FeatureCollection", "features": feats}
        if frame == "local":
            out["crs_note"] = f"local metres of plant {self.plant.id} (x east, y north from its origin)"
        return out

    def _wgs84(self, geom: Any) -> Any:
        """A local-frame geometry (m) in WGS84 lon/lat (degrees)."""
        import shapely
        from pyproj import Transformer

        from safetwin.plant_models.export import to_projected

        if self._to_wgs84 is None:
            self._to_wgs84 = Transformer.from_crs(self.plant.crs, "EPSG:4326", always_xy=True)
        t = self._to_wgs84
        return shapely.transform(to_projected(self.plant, geom),
                                 lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))
