"""Gas tests of permits: a live detector near the work, a portable (multi-gas) instrument, and the
portable monitor that keeps watching a job that needs continuous monitoring.

A test is judged by the site's rule pack (:func:`safetwin.twin.workflows.gas.judge_readings`:
limits by substance, %LEL / %vol / ppm / mg/m³, every reading of a multi-gas instrument) and
recorded on the permit; a live reading must be a good reading of a gas detector within the
suspension radius (at least 10 m) of the work polygon. A portable instrument names each gas by
substance id or alias (``NH3``, ``ammonia``, ``液氨``).

The portable monitor (GB 30871-2022 6.5: a portable multi-gas monitor inside a confined space for
the whole job, recorded every 2 h; 5.3.1 d: special hot work monitored throughout) sends its
readings with :meth:`GasTestService.monitor_reading`: each one is judged; a failing one
suspends the active permit (an over-limit alarm stops the work, 6.5) and is recorded, a passing
one is recorded as a test at most every ``log_every_min`` of the pack.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

from shapely.geometry import Point, Polygon

from .. import gas as gasrules
from .. import permits as permit_rules
from ..domain import GasTest, Permit, PortableMonitor
from ..errors import GuardFailed
from ..roles import Actor
from .context import GAS_SENSOR_TYPES, RecordService, WorkflowContext
from .permits import PermitService

GAS_TESTER_ROLES = ("guardian", "safety_engineer", "operator", "applicant")
MONITOR_ROLES = ("guardian", "safety_engineer", "operator", "applicant", "worker")


class GasTestService(RecordService):
    """Gas tests recorded on permits (see the module docstring)."""

    def __init__(self, ctx: WorkflowContext, permits: PermitService) -> None:
        super().__init__(ctx)
        self.permits = permits

    def _check_time(self, sampled_at: datetime) -> None:
        if sampled_at > self.clock() + timedelta(minutes=1):
            raise GuardFailed("sampled_at is in the future", "bad_time")

    def _live_reading(self, p: Permit, sensor_id: str) -> tuple[tuple[str, float, str], datetime]:
        if self.state is None:
            raise GuardFailed("no live twin attached; enter a portable reading", "no_twin")
        s = self.plant.sensors.get(sensor_id)
        if s is None or s.type.value not in GAS_SENSOR_TYPES or not s.gas:
            raise GuardFailed(f"{sensor_id!r} is not a gas sensor of this plant", "bad_sensor")
        r = self.state.reading(sensor_id)
        if r is None or r.quality != "ok":
            raise GuardFailed(f"sensor {sensor_id} has no good reading ({r.quality if r else 'none'})", "bad_reading")
        dist = Polygon(p.work_polygon).distance(Point(s.position))
        limit = self.permits.representative_m()
        if dist > limit:
            raise GuardFailed(f"sensor {sensor_id} is {dist:.0f} m from the work (> {limit:g} m); not representative",
                              "sensor_too_far")
        return (s.gas, max(float(r.value), 0.0), s.unit), datetime.fromtimestamp(r.ts, timezone.utc)

    def add_gas_test(self, actor: Actor, permit_id: str, *, gas: str | None = None, value: float | None = None,
                     unit: str | None = None, sampled_at: datetime | None = None, instrument_id: str | None = None,
                     sensor_id: str | None = None, readings: Sequence[tuple[str, float, str]] | None = None,
                     point: str = "") -> Permit:
        """Record a gas test judged by the pack: from a live sensor (``sensor_id``), or a portable
        instrument: one gas (``gas``, ``value``, ``unit``) or several read at once (``readings`` of
        (gas, value, unit)), with ``sampled_at``."""
        actor.require(*GAS_TESTER_ROLES, action="record a gas test")
        with self._permit_lock:
            p, ver = self.repo.get("permit", permit_id, Permit)
            if sensor_id is not None:
                if readings or gas is not None:
                    raise GuardFailed("give either sensor_id or portable readings, not both", "incomplete")
                one, sampled_at = self._live_reading(p, sensor_id)
                entries: list[tuple[str, float, str]] = [one]
                source = "sensor"
            else:
                entries = list(readings or [])
                if gas is not None or value is not None or unit is not None:
                    if gas is None or value is None or unit is None:
                        raise GuardFailed("a portable reading needs gas, value and unit", "incomplete")
                    entries.append((gas, float(value), unit))
                if not entries or sampled_at is None:
                    raise GuardFailed("a portable gas test needs sampled_at and at least one reading "
                                      "(gas, value, unit, or readings)", "incomplete")
                source = "portable"
            self._check_time(sampled_at)
            ok, why, judged = gasrules.judge_readings(self.pack, entries, p.type)
            test = GasTest(sampled_at=sampled_at, source=source, readings=judged, sensor_id=sensor_id,
                           instrument_id=instrument_id, point=point, analyst=actor.user_id, passed=ok, reason=why)
            permit_rules.add_gas_test(p, test)
            self.permits.save_permit(p, ver, actor.user_id, "gas_test")
        return p

    def monitor_reading(self, actor: Actor, permit_id: str, *, instrument_id: str,
                        readings: Sequence[tuple[str, float, str]], sampled_at: datetime) -> Permit:
        """One reading of the portable monitor watching the permit (see the module docstring)."""
        actor.require(*MONITOR_ROLES, action="feed a gas monitor")
        suspend_reason = None
        with self._permit_lock:
            p, ver = self.repo.get("permit", permit_id, Permit)
            if p.state not in ("submitted", "approved", "active", "suspended"):
                raise GuardFailed(f"permit {p.id} is {p.state}: no monitoring to feed", "invalid_transition")
            self._check_time(sampled_at)
            ok, why, judged = gasrules.judge_readings(self.pack, readings, p.type)
            m = p.monitor
            if m is None or m.instrument_id != instrument_id:
                m = p.monitor = PortableMonitor(instrument_id=instrument_id, attached_at=self.clock(),
                                                attached_by=actor.user_id)
            if m.last_at is not None and sampled_at < m.last_at:
                raise GuardFailed(f"monitor {instrument_id}: reading older than the last one ({m.last_at.isoformat()})",
                                  "bad_time")
            m.last_at, m.last_passed, m.last_reason = sampled_at, ok, why
            cm = self.pack.type_rule(p.type).gas_test.continuous
            every = timedelta(minutes=cm.log_every_min if cm is not None else 120.0)
            if not ok or m.logged_at is None or sampled_at - m.logged_at >= every:
                p.gas_tests.append(GasTest(sampled_at=sampled_at, source="monitor", readings=judged,
                                           instrument_id=instrument_id, analyst=actor.user_id, passed=ok, reason=why))
                m.logged_at = sampled_at
            self.permits.save_permit(p, ver, actor.user_id, "monitor")
            if not ok and p.state == "active":
                suspend_reason = f"portable monitor {instrument_id} over the limit: {why}"
        if suspend_reason is not None:
            self.permits.suspend_one(p.id, suspend_reason, "gas_alarm", self.clock())
            p = self.permits.permit(p.id)
        return p
