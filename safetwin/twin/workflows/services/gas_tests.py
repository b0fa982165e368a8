"""Gas tests of permits: from a live detector near the work, or a portable instrument entry.

A test is judged by the site's rule pack (:func:`safetwin.twin.workflows.gas.judge`: limits by
substance, %LEL / %vol / ppm / mg/m³) and recorded on the permit; a live reading must be a good
reading of a gas detector within the suspension radius (at least 10 m) of the work polygon.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from shapely.geometry import Point, Polygon

from .. import gas as gasrules
from .. import permits as permit_rules
from ..domain import GasTest, Permit
from ..errors import GuardFailed
from ..roles import Actor
from .context import GAS_SENSOR_TYPES, RecordService, WorkflowContext
from .permits import PermitService


class GasTestService(RecordService):
    """Gas tests recorded on permits (see the module docstring)."""

    def __init__(self, ctx: WorkflowContext, permits: PermitService) -> None:
        super().__init__(ctx)
        self.permits = permits

    def add_gas_test(self, actor: Actor, permit_id: str, *, gas: str | None = None, value: float | None = None,
                     unit: str | None = None, sampled_at: datetime | None = None, instrument_id: str | None = None,
                     sensor_id: str | None = None) -> Permit:
        """Record a gas test from a live sensor (``sensor_id``) or a portable instrument entry, judged by the pack."""
        actor.require("guardian", "safety_engineer", "operator", "applicant", action="record a gas test")
        with self._permit_lock:
            p, ver = self.repo.get("permit", permit_id, Permit)
            if sensor_id is not None:
                if self.state is None:
                    raise GuardFailed("no live twin attached; enter a portable reading", "no_twin")
                s = self.plant.sensors.get(sensor_id)
                r = self.state.reading(sensor_id)
                if s is None or s.type.value not in GAS_SENSOR_TYPES or not s.gas:
                    raise GuardFailed(f"{sensor_id!r} is not a gas sensor of this plant", "bad_sensor")
                if r is None or r.quality != "ok":
                    raise GuardFailed(f"sensor {sensor_id} has no good reading ({r.quality if r else 'none'})",
                                      "bad_reading")
                dist = Polygon(p.work_polygon).distance(Point(s.position))
                limit = max(self.pack.suspension.radius_m, 10.0)
                if dist > limit:
                    raise GuardFailed(f"sensor {sensor_id} is {dist:.0f} m from the work (> {limit:g} m); not representative",
                                      "sensor_too_far")
                gas, value, unit = s.gas, r.value, s.unit
                sampled_at = datetime.fromtimestamp(r.ts, timezone.utc)
                source = "sensor"
            else:
                if gas is None or value is None or unit is None or sampled_at is None:
                    raise GuardFailed("a portable gas test needs gas, value, unit and sampled_at", "incomplete")
                source = "portable"
            if unit not in ("%LEL", "%vol", "ppm", "mg/m3"):
                raise GuardFailed(f"unit {unit!r} is not a concentration", "bad_unit")
            if sampled_at > self.clock() + timedelta(minutes=1):
                raise GuardFailed("sampled_at is in the future", "bad_time")
            ok, why, clause = gasrules.judge(self.pack, gas, float(value), unit, p.type)
            test = GasTest(sampled_at=sampled_at, gas=gas, value=float(value), unit=unit, source=source,
                           sensor_id=sensor_id, instrument_id=instrument_id, analyst=actor.user_id, passed=ok,
                           reason=why, limit_rule=clause)
            permit_rules.add_gas_test(p, test)
            self.permits.save_permit(p, ver, actor.user_id, "gas_test")
        return p
