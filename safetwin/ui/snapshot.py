"""A shared, lock-protected snapshot of the live twin for the UI sessions.

Core objects: :class:`SnapshotSource` (one per served plant) and :class:`Snapshot` (immutable,
numpy columns). Every browser session polls :meth:`SnapshotSource.latest` once per second; the
first caller after ``min_interval_s`` rebuilds the snapshot from the :class:`TwinState` under the
source's lock, the others reuse it, so the cost of reading the twin does not grow with the number
of sessions. ``seq`` only advances when something visible changed, so sessions skip idle ticks.

The MQTT threads never touch the UI: they write into the TwinState; this module only reads it
(through its thread-safe copy methods) on the server's event loop.

Person states shown in the control room (codes in :data:`PERSON_STATES`):

* ``mustered`` — a fresh fix inside a muster point's radius (the rule of
  ``live_bridge.people.muster_status``);
* ``in_danger`` — inside a RED or ORANGE zone of the declared incident, or within
  :data:`DANGER_RADIUS_M` of a detector in high / high-high alarm whose health votes (a faulty or
  stale head puts nobody in danger, :mod:`safetwin.twin.sensor_health`), or marked at risk by the
  recommendations of a declared incident (:meth:`SnapshotSource.set_recommendations`);
* ``evacuating`` — a declared incident is shown (an alarm alone, or a forecast the live monitor has
  not declared, does not evacuate anyone), and neither of the above;
* ``working`` — otherwise.

Example::

    >>> from safetwin.plant_models.loader import load_plant, bundled_plant_path
    >>> from safetwin.twin.state import TwinState
    >>> state = TwinState(load_plant(bundled_plant_path("small_plant")))
    >>> _ = state.update_position("P-1", 120.0, 20.0, ts=100.0)
    >>> snap = SnapshotSource(state, clock=lambda: 101.0).latest()
    >>> snap.people_ids.tolist(), PERSON_STATES[snap.people_code[0]]
    (['P-1'], 'mustered')
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from safetwin.twin.events import AlarmStateChanged
from safetwin.twin.sensor_health import assess_sensors
from safetwin.twin.state import TwinState

from .risk_view import RiskView, risk_view

log = logging.getLogger(__name__)

#: detector display codes, index = code
DETECTOR_STATES = ("normal", "warning", "high", "highhigh", "fault")
#: person display codes, index = code
PERSON_STATES = ("working", "evacuating", "mustered", "in_danger")
#: alarm level (TwinState ``Alarm.level``) → detector code
LEVEL_CODE = {"W": 1, "H": 2, "L": 2, "ROC": 2, "HH": 3, "LL": 3, "FAULT": 4, "STALE": 4}
#: alarm level → sort priority (1 first)
LEVEL_PRIORITY = {"HH": 1, "LL": 1, "FAULT": 2, "H": 2, "L": 2, "ROC": 2, "W": 3, "STALE": 3}
#: people within this distance (m) of a detector in H/HH alarm are shown as in danger
DANGER_RADIUS_M = 25.0
#: sensor types drawn as detectors (weather stations are left out)
DETECTOR_TYPES = frozenset({"flammable_gas", "toxic_gas", "oxygen", "flame", "smoke", "heat"})


#: alarm states as the control room lists them (ISA-18.2): active and unacknowledged, active and
#: acknowledged, returned to normal but unacknowledged, shelved
ALARM_STATES = ("active", "acked", "returned", "shelved")


@dataclass(frozen=True, slots=True)
class AlarmRow:
    """One alarm as the UI lists it (``ts`` s since the Unix epoch, UTC; ``state`` one of
    :data:`ALARM_STATES`; ``area`` the work area of its sensor; ``prio`` the engine's priority,
    0 when unknown)."""

    alarm_id: str
    source_id: str
    level: str
    ts: float
    message: str
    acknowledged: bool
    state: str = "active"
    area: str | None = None
    prio: int = 0

    @property
    def priority(self) -> int:
        """ISA-18.2 priority, 1 highest (the engine's, else by level)."""
        return self.prio or LEVEL_PRIORITY.get(self.level, 4)


@dataclass(frozen=True, slots=True)
class ZoneView:
    """A consequence zone to draw: level RED/ORANGE/YELLOW, label, geometry (plant frame, m)."""

    level: str
    label: str
    geometry: BaseGeometry
    threshold: float | None = None
    units: str = ""


@dataclass(frozen=True, slots=True)
class IncidentView:
    """A consequence result shown on the live views: zones, recommended routes, notes.

    ``routes`` are polylines in the plant frame, shape (k, 2) m each; ``version`` changes when the
    incident is replaced, so views rebuild their hazard meshes only then.
    """

    title: str
    zones: tuple[ZoneView, ...]
    routes: tuple[np.ndarray, ...] = ()
    notes: tuple[str, ...] = ()
    kind: str = ""
    version: int = 0
    declared: bool = True


@dataclass(frozen=True)
class Snapshot:
    """What the UI shows at one instant; arrays must be treated as read-only.

    Positions are plant-frame metres; ``built_ts`` is the wall time (s, UTC epoch) of the build and
    ``twin_ts`` the newest source time seen in the twin.
    """

    seq: int
    built_ts: float
    twin_ts: float
    sensor_ids: tuple[str, ...]
    sensor_xyz: np.ndarray
    sensor_value: np.ndarray
    sensor_unit: tuple[str, ...]
    sensor_code: np.ndarray
    people_ids: np.ndarray
    people_xyz: np.ndarray
    people_code: np.ndarray
    people_area: np.ndarray
    alarms: tuple[AlarmRow, ...]
    occupancy: dict[str, int]
    expected: dict[str, int]
    danger_by_area: dict[str, int]
    muster: dict[str, int]
    pob: int
    mustered: int
    incident: IncidentView | None
    build_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    weather: dict[str, Any] | None = None
    #: shelved alarms (hidden from the list's active part, ISA-18.2)
    shelved: tuple[AlarmRow, ...] = ()
    #: alarms carried over from before this run (restored at start, not raised again since)
    earlier_alarms: int = 0
    #: seconds since the live feed last delivered a message (None without a feed)
    feed_age_s: float | None = None
    #: the latest recommendations as the control room lists them
    risk: RiskView | None = None

    @property
    def unaccounted(self) -> int:
        """People on board not at a muster point."""
        return self.pob - self.mustered

    @property
    def evacuation_active(self) -> bool:
        """True when a declared incident is shown."""
        return self.incident is not None and self.incident.declared


class SnapshotSource:
    """Builds :class:`Snapshot` objects from a TwinState, shared by all UI sessions.

    Args:
        state: the live twin.
        acknowledge: ``fn(alarm_id, by)`` that acknowledges an alarm in the alarm engine (e.g.
            ``LiveBridge.acknowledge``); without it the TwinState's flag is set directly.
        expected_shift: the shift whose head-count per area is the expected count.
        stale_s: a position fix older than this (s) is not counted as mustered.
        min_interval_s: snapshots are rebuilt at most this often (s); sessions poll once a second
            each, so a snapshot shared for up to this long adds up to this much to the twin time's lag
            on the page (0.5 s put the page 2.06 s behind at worst under load, 0.2 s costs a few ms of
            build per session and second).
        clock: wall clock (s since the Unix epoch), injectable for tests.
        shelve: ``fn(alarm_id, by, duration_s)`` that shelves an alarm in the alarm engine; without
            it alarms cannot be shelved from the UI.
        feed: a counter of the messages the live feed delivered (e.g. the bridge's ingestor's
            ``messages``); the snapshot's ``feed_age_s`` is the time since it last moved.

    Alarms already active when the source is made (restored by the bridge from before a restart)
    are only counted (``Snapshot.earlier_alarms``), not listed, until this run sees a transition of
    theirs; they still colour their detector.
    """

    def __init__(self, state: TwinState, *, acknowledge: Callable[[str, str], Any] | None = None,
                 expected_shift: str | None = "day", stale_s: float = 30.0, min_interval_s: float = 0.2,
                 clock: Callable[[], float] = time.time, shelve: Callable[[str, str, float], Any] | None = None,
                 feed: Callable[[], int] | None = None) -> None:
        self.state = state
        self.plant = state.plant
        self._ack = acknowledge
        self._shelve = shelve
        self._feed = feed
        self._feed_count = -1
        self._feed_ts = clock()
        self._earlier = {a.alarm_id for a in state.active_alarms()}
        self._risk: RiskView | None = None
        #: alarm id → (ISA-18.2 state, priority) of the transitions seen in this run
        self._alarm_meta: dict[str, tuple[str, int]] = {}
        self._shelved: dict[str, AlarmRow] = {}
        self._sensor_area = {sn.id: state.area_of(sn.position[0], sn.position[1]) for sn in self.plant.meta.sensors}
        state.bus.subscribe(AlarmStateChanged, self._on_alarm_transition)
        self.stale_s = stale_s
        self.min_interval_s = min_interval_s
        self.clock = clock
        self._lock = threading.Lock()
        self._snap: Snapshot | None = None
        self._seq = 0
        self._incident: IncidentView | None = None
        self._incident_version = 0
        #: the live weather (a callable returning an object with ``summary()``, e.g. the live mode's
        #: :class:`~safetwin.emergency_planner.live.weather.LiveWeatherSource`); shown when set
        self.weather: Callable[[], Any] | None = None
        sensors = [s for s in self.plant.meta.sensors if getattr(s.type, "value", s.type) in DETECTOR_TYPES]
        self._sensor_ids = tuple(s.id for s in sensors)
        self._sensor_unit = tuple(s.unit for s in sensors)
        self._sensor_xyz = np.array([(s.position[0], s.position[1], s.height_m) for s in sensors],
                                    dtype=float).reshape(-1, 3)
        self._sensor_index = {sid: k for k, sid in enumerate(self._sensor_ids)}
        mps = self.plant.mustering_points   # on-site muster points and off-site assembly points
        self._mp_ids = [m.id for m in mps]
        self._mp_xy = np.array([m.position for m in mps], dtype=float).reshape(-1, 2)
        self._mp_r = np.array([m.radius_m for m in mps], dtype=float)
        shifts = self.plant.shifts
        shift = shifts.get(expected_shift) if expected_shift else None
        self.expected: dict[str, int] = dict(shift.headcount) if shift else {}

    # ------------------------------------------------------------------ incident

    def set_incident(self, result: Any | None, *, routes: Sequence[Sequence[Sequence[float]]] = (),
                     title: str = "", declared: bool = True) -> IncidentView | None:
        """Show a consequence result (``zones_at_equipment(...)``) and routes; ``None`` clears it.

        ``result`` needs ``zones`` (objects with ``level``, ``label``, ``geometry``) and may carry
        ``notes`` and ``kind``; ``routes`` are polylines of (x, y) m in the plant frame.
        ``declared=False`` shows a forecast without evacuating anyone.
        """
        with self._lock:
            self._incident_version += 1
            if result is None and not routes:
                self._incident = None
            else:
                zones = tuple(ZoneView(z.level, z.label, z.geometry, getattr(z, "threshold", None),
                                       getattr(z, "units", "")) for z in (getattr(result, "zones", None) or ())
                              if not z.geometry.is_empty)
                release = getattr(result, "release", None)
                self._incident = IncidentView(
                    title=title or (getattr(release, "equipment_id", None) or ""), zones=zones,
                    routes=tuple(np.asarray(r, dtype=float).reshape(-1, 2) for r in routes),
                    notes=tuple(getattr(result, "notes", ()) or ()), kind=str(getattr(result, "kind", "") or ""),
                    version=self._incident_version, declared=declared)
            self._snap = None  # force a rebuild on the next poll
            return self._incident

    @property
    def incident(self) -> IncidentView | None:
        """The incident currently shown, if any."""
        with self._lock:
            return self._incident

    # ------------------------------------------------------------------ recommendations

    def set_recommendations(self, doc: dict[str, Any] | None) -> RiskView | None:
        """Show a live evaluation document's recommendations (who is at risk, per-area steps,
        labelled routes); ``None`` clears them."""
        view = risk_view(doc) if doc is not None else None
        with self._lock:
            self._risk = view
            self._snap = None
        return view

    # ------------------------------------------------------------------ alarms

    def _on_alarm_transition(self, ev: AlarmStateChanged) -> None:
        """Keep each alarm's ISA-18.2 state and priority; shelved alarms are listed apart."""
        with self._lock:
            self._alarm_meta[ev.alarm_id] = (ev.state, int(ev.priority))
            if ev.state == "SHELVED":
                self._shelved[ev.alarm_id] = AlarmRow(ev.alarm_id, ev.source_id, ev.level, ev.ts, ev.message, False,
                                                      "shelved", self._sensor_area.get(ev.source_id), int(ev.priority))
            else:
                self._shelved.pop(ev.alarm_id, None)
            self._snap = None

    @property
    def can_shelve(self) -> bool:
        """True when alarms can be shelved from the UI (an alarm engine is connected)."""
        return self._shelve is not None

    def shelve(self, alarm_ids: Sequence[str], by: str, duration_s: float = 3600.0) -> int:
        """Shelve alarms for ``duration_s`` s on behalf of ``by``; returns how many were sent."""
        if self._shelve is None:
            return 0
        for aid in alarm_ids:
            self._shelve(aid, by, duration_s)
        return len(alarm_ids)

    def acknowledge(self, alarm_ids: Sequence[str], by: str) -> int:
        """Acknowledge alarms on behalf of ``by``; returns how many were sent or set."""
        n = 0
        for aid in alarm_ids:
            if self._ack is not None:
                self._ack(aid, by)
                n += 1
            elif self.state.set_alarm_acknowledged(aid, True):
                n += 1
        with self._lock:
            self._snap = None
        return n

    # ------------------------------------------------------------------ snapshots

    def latest(self) -> Snapshot:
        """The current snapshot, rebuilt when older than ``min_interval_s`` (thread-safe)."""
        with self._lock:
            now = self.clock()
            snap = self._snap
            if snap is None or now - snap.built_ts >= self.min_interval_s:
                snap = self._build(now, snap)
                self._snap = snap
            return snap

    def _build(self, now: float, prev: Snapshot | None) -> Snapshot:
        t0 = time.perf_counter()
        st = self.state
        active = st.active_alarms()
        alarms, earlier = self._alarm_rows(active)
        readings = st.readings()
        n_s = len(self._sensor_ids)
        value = np.full(n_s, np.nan)
        code = np.full(n_s, 4, dtype=np.int8)  # no data until a good reading arrives
        twin_ts = 0.0
        for sid, k in self._sensor_index.items():
            r = readings.get(sid)
            if r is None:
                continue
            value[k] = r.value
            twin_ts = max(twin_ts, r.ts)
            if r.quality == "ok":
                code[k] = 0
        for sid, k in self._sensor_index.items():   # past calibration: suspect, drawn like a fault head
            due = st.calibration_due(sid)
            if due is not None and twin_ts > due and code[k] == 0:
                code[k] = 4
        for a in active:   # earlier-run alarms too: they are not listed, but their detector shows them
            if a.returned:   # back to normal, awaiting acknowledgement: the list shows it, the head is normal
                continue
            k = self._sensor_index.get(a.source_id)
            c = LEVEL_CODE.get(a.level)
            if k is None or c is None:
                continue
            # the worst process level wins; a fault only shows when no level alarm is active
            if c == 4:
                if code[k] == 0:
                    code[k] = 4
            elif code[k] in (0, 4) or c > code[k]:
                code[k] = c
        p = st.people()
        n = len(p["id"])
        xyz = np.column_stack([p["x"], p["y"], p["z"]]) if n else np.empty((0, 3))
        if n:
            twin_ts = max(twin_ts, float(np.max(p["ts"])))
        fresh = (now - p["ts"]) <= self.stale_s
        at_mp = np.zeros(n, dtype=bool)
        per_mp: dict[str, int] = {}
        for mid, (mx, my), r in zip(self._mp_ids, self._mp_xy, self._mp_r):
            inside = (np.hypot(p["x"] - mx, p["y"] - my) <= r) & fresh
            per_mp[mid] = int(inside.sum())
            at_mp |= inside
        danger = np.zeros(n, dtype=bool)
        incident = self._incident
        evac = incident is not None and incident.declared
        if evac and n:
            for z in incident.zones:
                if z.level in ("RED", "ORANGE"):
                    danger |= shapely.contains_xy(z.geometry, p["x"], p["y"])
        hot_ids = {a.source_id for a in active
                   if not a.returned and a.level in ("H", "HH", "L", "LL") and a.source_id in self._sensor_index}
        if hot_ids and n:
            health = assess_sensors(st, twin_ts, hot_ids)
            for sid in hot_ids:
                if not health[sid].votes:
                    continue
                k = self._sensor_index[sid]
                sx, sy = self._sensor_xyz[k, 0], self._sensor_xyz[k, 1]
                danger |= np.hypot(p["x"] - sx, p["y"] - sy) <= DANGER_RADIUS_M
        risk = self._risk
        if risk is not None and risk.declared and risk.people and n:   # the recommendations' people at risk
            danger |= np.isin(p["id"], [r.id for r in risk.people])
        danger &= ~at_mp
        pcode = np.zeros(n, dtype=np.int8)
        if evac:
            pcode[:] = 1
        pcode[at_mp] = 2
        pcode[danger] = 3
        areas = p["area"]
        occ = dict.fromkeys(self.plant.areas, 0)
        dng = dict.fromkeys(self.plant.areas, 0)
        for a, d in zip(areas, danger):
            if a is None:
                continue
            occ[a] += 1
            if d:
                dng[a] += 1
        seq = self._seq
        changed = (prev is None or prev.alarms != alarms or prev.incident is not incident or prev.risk is not risk
                   or prev.shelved != tuple(self._shelved.values())
                   or not np.array_equal(prev.people_xyz, xyz) or not np.array_equal(prev.people_code, pcode)
                   or not np.array_equal(prev.sensor_code, code)
                   or not np.array_equal(prev.sensor_value, value, equal_nan=True))
        if changed:
            self._seq += 1
            seq = self._seq
        return Snapshot(seq=seq, built_ts=now, twin_ts=twin_ts, sensor_ids=self._sensor_ids,
                        sensor_xyz=self._sensor_xyz, sensor_value=value, sensor_unit=self._sensor_unit,
                        sensor_code=code, people_ids=p["id"], people_xyz=xyz, people_code=pcode,
                        people_area=areas, alarms=alarms, occupancy=occ, expected=self.expected,
                        danger_by_area=dng, muster=per_mp, pob=n, mustered=int(at_mp.sum()),
                        incident=incident, build_s=time.perf_counter() - t0,
                        weather=self._weather_summary(), shelved=tuple(self._shelved.values()),
                        earlier_alarms=earlier, feed_age_s=self._feed_age(now), risk=risk)

    def _alarm_rows(self, active: Sequence[Any]) -> tuple[tuple[AlarmRow, ...], int]:
        """The listed alarms (priority first, newest first) and how many are from before this run."""
        rows = []
        earlier = 0
        for a in active:
            meta = self._alarm_meta.get(a.alarm_id)
            if meta is None and a.alarm_id in self._earlier:
                earlier += 1
                continue
            state = "returned" if a.returned else "acked" if a.acknowledged else "active"
            rows.append(AlarmRow(a.alarm_id, a.source_id, a.level, a.ts, a.message, a.acknowledged, state,
                                 self._sensor_area.get(a.source_id), meta[1] if meta else 0))
        return tuple(sorted(rows, key=lambda r: (r.priority, -r.ts))), earlier

    def _feed_age(self, now: float) -> float | None:
        """Seconds since the feed's message counter last moved (None without a feed)."""
        if self._feed is None:
            return None
        try:
            count = int(self._feed())
        except Exception:  # a feed that cannot be read is as silent as a stopped one
            return now - self._feed_ts
        if count != self._feed_count:
            self._feed_count, self._feed_ts = count, now
        return max(0.0, now - self._feed_ts)

    def _weather_summary(self) -> dict[str, Any] | None:
        """The live weather in force (station or visible fallback), or None without a source."""
        if self.weather is None:
            return None
        try:
            return self.weather().summary()
        except Exception:  # a broken weather source never breaks the control room
            log.exception("live weather for the snapshot failed")
            return None
