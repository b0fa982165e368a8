"""What every workflow service shares: the site's settings, plant, rule pack, stores, clock and locks.

:class:`WorkflowContext` is built once per site by :class:`~safetwin.twin.workflows.service.WorkflowService`
and handed to each record service (:class:`RecordService`). ``state`` is the live TwinState once
the service is attached to one (None before). Locks: permit transitions share one lock because
their guards (SIMOPS, live alarms) look at the other permits; other records are locked one by one
(striped locks), so unrelated records change in parallel.
"""
from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from shapely.geometry import Polygon

from safetwin.plant_models.geometry import area_index
from safetwin.plant_models.loader import Plant

from ..errors import GuardFailed
from ..locks import StripedLocks
from ..notify import Notifier
from ..repository import Repository
from ..rulepack import RulePack
from ..settings import WorkflowSettings
from ..users import Users

#: sensor types whose alarms stop work nearby and that can serve a gas test
GAS_SENSOR_TYPES = ("flammable_gas", "toxic_gas", "oxygen")
#: largest |coordinate| (m) accepted in the plant's local frame
MAX_LOCAL_M = 1e5


def check_local_polygon(points: list[tuple[float, float]], what: str) -> Polygon:
    """A valid polygon of ≥ 3 finite points within ±:data:`MAX_LOCAL_M` m, or :class:`GuardFailed`.

    >>> check_local_polygon([(0, 0), (10, 0), (10, 10)], "work_polygon").area
    50.0
    """
    if len(points) < 3 or not all(math.isfinite(v) and abs(v) <= MAX_LOCAL_M for xy in points for v in xy):
        raise GuardFailed(f"{what} must have ≥ 3 finite points within ±{MAX_LOCAL_M:g} m of the plant origin",
                          "bad_geometry")
    poly = Polygon(points)
    if not poly.is_valid or poly.area <= 0:
        raise GuardFailed(f"{what} must be a valid polygon with an area (local metres)", "bad_geometry")
    return poly


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


@dataclass
class WorkflowContext:
    """The shared parts of one site's workflows (see the module docstring)."""

    settings: WorkflowSettings
    plant: Plant
    site_id: str
    pack: RulePack
    repo: Repository
    users: Users
    notifier: Notifier
    clock: Callable[[], datetime]
    state: Any = None                                                   # TwinState once attached
    acknowledge_alarm: Callable[[str, str], None] | None = None
    """Acknowledge an alarm in the alarm engine (alarm id, by whom): the wiring passes the live
    bridge's; without it the TwinState's alarm is acknowledged directly."""
    #: gates a person named on a permit must pass: (person, role on the permit, time) → reasons (empty: pass)
    people_gates: list[Callable[[str, str, datetime], list[str]]] = field(default_factory=list)
    permit_lock: threading.RLock = field(default_factory=threading.RLock)
    locks: StripedLocks = field(default_factory=StripedLocks)

    def named_problems(self, named: dict[str, str], at: datetime) -> list[str]:
        """Why people named on a permit (person → role: holder, worker, guardian) may not be, by every gate."""
        return [why for person, role in named.items() for gate in self.people_gates for why in gate(person, role, at)]

    def plant_area_of(self, x: float, y: float) -> str | None:
        """The plant area holding the point (local m), or None: the smallest, by the plant's one point
        → area rule (:mod:`safetwin.plant_models.geometry.areas`)."""
        return area_index(self.plant).area_of(x, y)


class RecordService:
    """Base of the per-record services: the shared context under the names their methods use."""

    def __init__(self, ctx: WorkflowContext) -> None:
        self.ctx = ctx
        self.settings, self.plant, self.site_id, self.pack = ctx.settings, ctx.plant, ctx.site_id, ctx.pack
        self.repo, self.users, self.notifier, self.clock = ctx.repo, ctx.users, ctx.notifier, ctx.clock
        self._permit_lock, self._locks = ctx.permit_lock, ctx.locks

    @property
    def state(self) -> Any:
        """The live TwinState (None until the workflows are attached to one)."""
        return self.ctx.state
