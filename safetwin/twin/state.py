"""TwinState: the live mirror of a plant — readings, people, equipment states and alarms.

One object per plant, shared by the MQTT bridge (which writes) and the API/UI (which read).
Every public method takes the state's lock, so it is safe from any thread; readers get copies.
People are kept column-wise in numpy arrays so that a gateway batch of positions is applied
and located (area look-up) in one vectorised step.

Times are seconds since the Unix epoch (UTC) as floats; positions are local metres.

Example::

    >>> from safetwin.plant_models.loader import load_plant, bundled_plant_path
    >>> state = TwinState(load_plant(bundled_plant_path("small_plant")))
    >>> state.update_position("P-1", 50.0, 30.0, ts=1.0)
    True
    >>> state.person("P-1").area_id
    'A-STORE'
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from shapely.geometry.base import BaseGeometry

from safetwin.plant_models.loader import Plant

from .events import (
    AlarmCleared,
    AlarmRaised,
    EquipmentStateChanged,
    EventBus,
    MetObservationApplied,
    PersonEnteredArea,
    PersonLeftArea,
    ReadingApplied,
)
from .spatial import NO_AREA, AreaIndex, points_in_polygon, points_within_radius
from .weather import MetObservation

QUALITIES = ("ok", "stale", "out_of_range", "fault")
_QUALITY_SET = frozenset(QUALITIES)
#: batches of at least this many readings are applied by :meth:`TwinState._apply_grouped`
_VECTOR_MIN = 64
#: A reading older than this many reporting periods is stale.
STALE_PERIODS = 3.0


class UnknownSensorError(KeyError):
    """A reading names a sensor the plant does not have."""


@dataclass(slots=True)
class Reading:
    """The latest reading of one sensor, and the one before it (``prev_value`` at ``prev_ts``,
    NaN before a second reading) for the rate-of-change check of :mod:`.sensor_health`."""

    sensor_id: str
    value: float
    ts: float
    quality: str
    received_ts: float
    prev_value: float = float("nan")
    prev_ts: float = float("nan")


@dataclass(slots=True)
class PersonView:
    """A copy of one person's live position."""

    person_id: str
    x: float
    y: float
    z: float
    ts: float
    area_id: str | None


@dataclass(slots=True)
class EquipmentState:
    equipment_id: str
    state: str
    ts: float
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Alarm:
    alarm_id: str
    source_id: str
    level: str
    ts: float
    message: str = ""
    acknowledged: bool = False
    returned: bool = False    # ISA-18.2 RTN_UNACK: the condition is gone, the alarm awaits acknowledgement


class TwinState:
    """The live mirror of ``plant`` (see the module docstring)."""

    def __init__(self, plant: Plant, bus: EventBus | None = None, area_cell_m: float = 1.0):
        self.plant = plant
        self.bus = bus or EventBus()
        self._lock = threading.RLock()
        self.sensors = plant.sensors
        self.areas = AreaIndex({k: a.geometry for k, a in plant.areas.items()}, cell_m=area_cell_m)
        self._readings: dict[str, Reading] = {}
        self._equipment: dict[str, EquipmentState] = {}
        self._alarms: dict[str, Alarm] = {}
        self._met: dict[str, MetObservation] = {}
        # people, column-wise
        self._slot: dict[str, int] = {}
        self._pid: list[str] = []
        cap = 1024
        self._x = np.zeros(cap)
        self._y = np.zeros(cap)
        self._z = np.zeros(cap)
        self._ts = np.full(cap, -np.inf)
        self._area = np.full(cap, NO_AREA, dtype=np.int32)
        self._ranges = {s.id: (s.range_min, s.range_max) for s in plant.meta.sensors}
        self._sensor_index = {sid: i for i, sid in enumerate(self._ranges)}
        mp = plant.meta.muster_points
        self._muster_ids = [m.id for m in mp]
        self._muster_xy = np.array([m.position for m in mp], dtype=float).reshape(-1, 2)
        # calibration due times (s since the epoch): the plant file's, updated by the equipment register
        self._calibration_due: dict[str, float] = {
            s.id: s.calibration_due.timestamp() for s in plant.meta.sensors if s.calibration_due is not None}

    # ------------------------------------------------------------------ readings

    def apply_reading(self, sensor_id: str, value: float, ts: float, quality: str | None = None,
                      received_ts: float | None = None) -> bool:
        """Apply one reading; returns False when it is older than the one held (history keeps it).

        ``quality`` defaults to ``ok``, or ``out_of_range`` outside the sensor's range.
        Raises :class:`UnknownSensorError` for a sensor the plant does not have.
        """
        rng = self._ranges.get(sensor_id)
        if rng is None:
            raise UnknownSensorError(sensor_id)
        if quality is None:
            quality = "ok" if rng[0] <= value <= rng[1] else "out_of_range"
        elif quality not in QUALITIES:
            raise ValueError(f"quality must be one of {QUALITIES}, got {quality!r}")
        with self._lock:
            held = self._readings.get(sensor_id)
            if held is not None and ts < held.ts:
                return False
            r = Reading(sensor_id, float(value), float(ts), quality, received_ts if received_ts is not None else float(ts),
                        *((held.value, held.ts) if held is not None else ()))
            self._readings[sensor_id] = r
        if self.bus.has_subscribers(ReadingApplied):
            self.bus.publish(ReadingApplied(sensor_id, r.value, r.ts, quality))
        return True

    def apply_readings(self, sensor_ids: list[str], values: list[float | None], ts: list[float],
                       qualities: list[str], received_ts: float) -> list[int]:
        """Apply a batch of readings (e.g. one gateway message) under one lock acquisition.

        ``values`` in each sensor's unit (None = no number, held as NaN), ``ts`` source times
        and ``received_ts`` the arrival time (s since the epoch); ``qualities`` from
        :data:`QUALITIES`. Returns the indices of the readings that were *not* applied because
        they are older than the one held (history keeps them); usually an empty list.
        Raises :class:`UnknownSensorError` (nothing applied) for a sensor the plant lacks.

        >>> from safetwin.plant_models.loader import load_plant, bundled_plant_path
        >>> st = TwinState(load_plant(bundled_plant_path("small_plant")))
        >>> st.apply_readings(["GD-01", "GD-01"], [1.0, 2.0], [10.0, 9.0], ["ok", "ok"], 10.5)
        [1]
        >>> st.reading("GD-01").value
        1.0
        """
        ranges = self._ranges
        if not set(qualities) <= _QUALITY_SET:
            bad = next(q for q in qualities if q not in _QUALITY_SET)
            raise ValueError(f"quality must be one of {QUALITIES}, got {bad!r}")
        unknown = set(sensor_ids) - ranges.keys()
        if unknown:
            raise UnknownSensorError(next(s for s in sensor_ids if s in unknown))
        nan = float("nan")
        skipped: list[int] | None = None
        if len(sensor_ids) >= _VECTOR_MIN:
            skipped = self._apply_grouped(sensor_ids, values, ts, qualities, received_ts)
        if skipped is None:
            skipped = []
            held_map = self._readings
            with self._lock:
                for i, (sid, v, t, q) in enumerate(zip(sensor_ids, values, ts, qualities)):
                    held = held_map.get(sid)
                    fv = nan if v is None else float(v)
                    if held is None:
                        held_map[sid] = Reading(sid, fv, float(t), q, received_ts)
                    elif t < held.ts:
                        skipped.append(i)
                    else:
                        # readers only ever get copies, so the held record is updated in place
                        held.prev_value, held.prev_ts = held.value, held.ts
                        held.value, held.ts, held.quality, held.received_ts = fv, float(t), q, received_ts
        if self.bus.has_subscribers(ReadingApplied):
            skip = set(skipped)
            for i, (sid, v, t, q) in enumerate(zip(sensor_ids, values, ts, qualities)):
                if i not in skip:
                    self.bus.publish(ReadingApplied(sid, nan if v is None else float(v), float(t), q))
        return skipped

    def _apply_grouped(self, sensor_ids: list[str], values: list[float | None], ts: list[float],
                       qualities: list[str], received_ts: float) -> list[int] | None:
        """The vectorised case of :meth:`apply_readings` (a burst of many readings of few
        sensors): when every sensor's readings come in non-decreasing time, none older than
        the one held, the result of applying them one by one is each sensor's last reading,
        so only that one is written (numpy finds them). Returns ``[]`` when applied, ``None``
        (nothing changed) when some reading would be skipped: the caller's loop decides."""
        idx = self._sensor_index
        sidx = np.fromiter(map(idx.__getitem__, sensor_ids), dtype=np.intp, count=len(sensor_ids))
        t = np.asarray(ts, dtype=float)
        order = np.argsort(sidx, kind="stable")
        s_sorted = sidx[order]
        t_sorted = t[order]
        same = s_sorted[1:] == s_sorted[:-1]
        if np.any(same & (t_sorted[1:] < t_sorted[:-1])):
            return None
        firsts = order[np.flatnonzero(np.r_[True, ~same])].tolist()
        lasts = order[np.flatnonzero(np.r_[~same, True])].tolist()
        held_map = self._readings
        nan = float("nan")
        with self._lock:
            for i in firsts:
                held = held_map.get(sensor_ids[i])
                if held is not None and ts[i] < held.ts:
                    return None
            for i in lasts:
                sid, v, tt, q = sensor_ids[i], values[i], float(ts[i]), qualities[i]
                fv = nan if v is None else float(v)
                held = held_map.get(sid)
                if held is None:
                    held_map[sid] = Reading(sid, fv, tt, q, received_ts)
                else:
                    held.prev_value, held.prev_ts = held.value, held.ts
                    held.value, held.ts, held.quality, held.received_ts = fv, tt, q, received_ts
        return []

    def reading(self, sensor_id: str) -> Reading | None:
        """The latest reading of a sensor (a copy), or None."""
        with self._lock:
            r = self._readings.get(sensor_id)
            return None if r is None else Reading(r.sensor_id, r.value, r.ts, r.quality, r.received_ts, r.prev_value,
                                                  r.prev_ts)

    def readings(self) -> dict[str, Reading]:
        """Copies of every sensor's latest reading."""
        with self._lock:
            return {k: Reading(r.sensor_id, r.value, r.ts, r.quality, r.received_ts, r.prev_value, r.prev_ts)
                    for k, r in self._readings.items()}

    def mark_stale(self, now: float, periods: float = STALE_PERIODS) -> list[str]:
        """Mark readings older than ``periods`` reporting periods at ``now`` as stale; returns their ids."""
        out = []
        with self._lock:
            for sid, r in self._readings.items():
                if r.quality == "ok" and now - r.ts > periods * self.sensors[sid].period_s:
                    r.quality = "stale"
                    out.append(sid)
        return out

    # ------------------------------------------------------------------ weather

    def apply_met_observation(self, obs: MetObservation) -> bool:
        """Make ``obs`` (a screened record, :func:`.weather.screen_observation`) its station's live
        weather; False when it is older than the record held. Publishes :class:`MetObservationApplied`.
        Raises :class:`UnknownSensorError` for a station the plant does not have."""
        if obs.station_id not in self._ranges:
            raise UnknownSensorError(obs.station_id)
        with self._lock:
            held = self._met.get(obs.station_id)
            if held is not None and obs.ts < held.ts:
                return False
            self._met[obs.station_id] = obs
        self.bus.publish(MetObservationApplied(obs.station_id, obs.ts, obs.quality))
        return True

    def met_observation(self, station_id: str | None = None) -> MetObservation | None:
        """The latest record of ``station_id`` (default: the plant's ``weather_station``), or None."""
        sid = station_id or self.plant.meta.weather_station
        with self._lock:
            return self._met.get(sid) if sid else None

    # ------------------------------------------------------------------ people

    def _grow(self, need: int) -> None:
        cap = len(self._x)
        if need <= cap:
            return
        new = max(need, 2 * cap)
        for name, fill in (("_x", 0.0), ("_y", 0.0), ("_z", 0.0), ("_ts", -np.inf), ("_area", NO_AREA)):
            old = getattr(self, name)
            arr = np.full(new, fill, dtype=old.dtype)
            arr[:cap] = old
            setattr(self, name, arr)

    def _slots_for(self, person_ids) -> np.ndarray:
        slot = self._slot
        missing = [p for p in dict.fromkeys(person_ids) if p not in slot]
        if missing:
            n0 = len(self._pid)
            self._grow(n0 + len(missing))
            for k, p in enumerate(missing):
                slot[p] = n0 + k
            self._pid.extend(missing)
        return np.fromiter((slot[p] for p in person_ids), dtype=np.int64, count=len(person_ids))

    def update_positions(self, person_ids: list[str], x, y, ts, z=None) -> int:
        """Apply a batch of position fixes (m, s); returns how many changed the live state.

        A fix older than the one held for that person is ignored (late or replayed message);
        within a batch the latest fix per person wins. Area changes publish
        :class:`PersonEnteredArea` / :class:`PersonLeftArea`.
        """
        n = len(person_ids)
        if n == 0:
            return 0
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        ts = np.broadcast_to(np.asarray(ts, dtype=float), (n,))
        z = np.zeros(n) if z is None else np.broadcast_to(np.asarray(z, dtype=float), (n,))
        with self._lock:
            slots = self._slots_for(person_ids)
            # latest fix per person within the batch: stable sort by time, keep last per slot
            order = np.argsort(ts, kind="stable")
            rev = order[::-1]
            _, first_in_rev = np.unique(slots[rev], return_index=True)
            pick = rev[first_in_rev]
            s = slots[pick]
            newer = ts[pick] >= self._ts[s]
            pick, s = pick[newer], s[newer]
            if s.size == 0:
                return 0
            new_area = self.areas.area_numbers(x[pick], y[pick])
            old_area = self._area[s]
            self._x[s] = x[pick]
            self._y[s] = y[pick]
            self._z[s] = z[pick]
            self._ts[s] = ts[pick]
            self._area[s] = new_area
            changed = np.flatnonzero(new_area != old_area)
            events: list[PersonLeftArea | PersonEnteredArea] = []
            if changed.size and (self.bus.has_subscribers(PersonEnteredArea) or self.bus.has_subscribers(PersonLeftArea)):
                ids = self.areas.ids
                for k in changed:
                    pid, t = self._pid[s[k]], float(ts[pick[k]])
                    if old_area[k] != NO_AREA:
                        events.append(PersonLeftArea(pid, ids[old_area[k]], t))
                    if new_area[k] != NO_AREA:
                        events.append(PersonEnteredArea(pid, ids[new_area[k]], t))
        for e in events:
            self.bus.publish(e)
        return int(s.size)

    def update_position(self, person_id: str, x: float, y: float, ts: float, z: float = 0.0) -> bool:
        """Apply one position fix (m, s); False when it is older than the one held."""
        with self._lock:
            slot = self._slot.get(person_id)
            if slot is None:
                slot = int(self._slots_for([person_id])[0])
            elif ts < self._ts[slot]:
                return False
            old = int(self._area[slot])
            new = self.areas.area_number(x, y)
            self._x[slot], self._y[slot], self._z[slot], self._ts[slot] = x, y, z, ts
            self._area[slot] = new
        if new != old:
            ids = self.areas.ids
            if old != NO_AREA:
                self.bus.publish(PersonLeftArea(person_id, ids[old], ts))
            if new != NO_AREA:
                self.bus.publish(PersonEnteredArea(person_id, ids[new], ts))
        return True

    def person(self, person_id: str) -> PersonView | None:
        """A copy of one person's position, or None when never seen."""
        with self._lock:
            s = self._slot.get(person_id)
            if s is None:
                return None
            a = self._area[s]
            return PersonView(person_id, float(self._x[s]), float(self._y[s]), float(self._z[s]), float(self._ts[s]),
                              None if a == NO_AREA else self.areas.ids[a])

    def people(self) -> dict[str, np.ndarray]:
        """Copies of all people's columns: ``id``, ``x``, ``y``, ``z``, ``ts``, ``area`` (area id or None)."""
        with self._lock:
            n = len(self._pid)
            return {
                "id": np.array(self._pid, dtype=object),
                "x": self._x[:n].copy(),
                "y": self._y[:n].copy(),
                "z": self._z[:n].copy(),
                "ts": self._ts[:n].copy(),
                "area": self.areas._id_array[self._area[:n]],
            }

    @property
    def head_count(self) -> int:
        with self._lock:
            return len(self._pid)

    def occupancy(self) -> dict[str | None, int]:
        """People per area id (``None`` for people outside every area)."""
        with self._lock:
            n = len(self._pid)
            counts = np.bincount(self._area[:n] + 1, minlength=len(self.areas.ids) + 1)
        out: dict[str | None, int] = {aid: int(c) for aid, c in zip(self.areas.ids, counts[1:])}
        out[None] = int(counts[0])
        return out

    # ------------------------------------------------------------------ spatial queries

    def people_in_polygon(self, polygon: BaseGeometry) -> list[str]:
        """Ids of the people inside ``polygon`` (local frame)."""
        with self._lock:
            n = len(self._pid)
            mask = points_in_polygon(polygon, self._x[:n], self._y[:n])
            return [self._pid[i] for i in np.flatnonzero(mask)]

    def people_within(self, x: float, y: float, radius_m: float) -> list[str]:
        """Ids of the people within ``radius_m`` of (x, y)."""
        with self._lock:
            n = len(self._pid)
            mask = points_within_radius(x, y, radius_m, self._x[:n], self._y[:n])
            return [self._pid[i] for i in np.flatnonzero(mask)]

    def people_in_area(self, area_id: str) -> list[str]:
        """Ids of the people whose live position is in the named area."""
        k = self.areas.ids.index(area_id)
        with self._lock:
            n = len(self._pid)
            return [self._pid[i] for i in np.flatnonzero(self._area[:n] == k)]

    def sensors_in_area(self, area: str | BaseGeometry) -> list[str]:
        """Ids of the sensors whose position lies in a named area or a polygon."""
        ids = list(self.sensors)
        xy = np.array([self.sensors[i].position for i in ids], dtype=float).reshape(-1, 2)
        if isinstance(area, str):
            mask = self.areas.area_ids(xy[:, 0], xy[:, 1]) == area
        else:
            mask = points_in_polygon(area, xy[:, 0], xy[:, 1])
        return [i for i, m in zip(ids, mask) if m]

    def area_of(self, x: float, y: float) -> str | None:
        """The named area containing (x, y), or None."""
        return self.areas.area_of(x, y)

    def nearest_muster_point(self, x: float, y: float) -> tuple[str, float]:
        """Nearest muster point by straight-line distance: (id, distance in m)."""
        if not self._muster_ids:
            raise LookupError("the plant has no muster points")
        d = np.hypot(self._muster_xy[:, 0] - x, self._muster_xy[:, 1] - y)
        k = int(np.argmin(d))
        return self._muster_ids[k], float(d[k])

    # ------------------------------------------------------------------ calibration

    def set_calibration_due(self, sensor_id: str, due_ts: float | None) -> None:
        """Record when ``sensor_id``'s calibration falls due (s since the epoch; None: not tracked)."""
        if sensor_id not in self.sensors:
            raise UnknownSensorError(sensor_id)
        with self._lock:
            if due_ts is None:
                self._calibration_due.pop(sensor_id, None)
            else:
                self._calibration_due[sensor_id] = float(due_ts)

    def calibration_due(self, sensor_id: str) -> float | None:
        """When ``sensor_id``'s calibration falls due (s since the epoch), or None when not tracked."""
        with self._lock:
            return self._calibration_due.get(sensor_id)

    # ------------------------------------------------------------------ equipment and alarms

    def set_equipment_state(self, equipment_id: str, state: str, ts: float, **attributes: Any) -> bool:
        """Record an equipment state (e.g. ``running``, ``tripped``, ``ESD``); False if older than held."""
        if equipment_id not in self.plant.equipment:
            raise KeyError(f"unknown equipment {equipment_id!r}")
        with self._lock:
            held = self._equipment.get(equipment_id)
            if held is not None and ts < held.ts:
                return False
            self._equipment[equipment_id] = EquipmentState(equipment_id, state, ts, dict(attributes))
        self.bus.publish(EquipmentStateChanged(equipment_id, state, ts, dict(attributes)))
        return True

    def equipment_states(self) -> dict[str, EquipmentState]:
        with self._lock:
            return {k: EquipmentState(v.equipment_id, v.state, v.ts, dict(v.attributes)) for k, v in self._equipment.items()}

    def raise_alarm(self, alarm_id: str, source_id: str, level: str, ts: float, message: str = "",
                    returned: bool = False) -> None:
        """Make an alarm active (or update its level) and publish :class:`AlarmRaised`; ``returned``:
        its condition is gone but it awaits acknowledgement (ISA-18.2 RTN_UNACK)."""
        with self._lock:
            self._alarms[alarm_id] = Alarm(alarm_id, source_id, level, ts, message, returned=returned)
        self.bus.publish(AlarmRaised(alarm_id, source_id, level, ts, message, returned))

    def clear_alarm(self, alarm_id: str, ts: float) -> bool:
        """Remove an active alarm; False when it was not active."""
        with self._lock:
            alarm = self._alarms.pop(alarm_id, None)
        if alarm is None:
            return False
        self.bus.publish(AlarmCleared(alarm_id, alarm.source_id, ts))
        return True

    def set_alarm_acknowledged(self, alarm_id: str, acknowledged: bool = True) -> bool:
        """Mark an active alarm (un)acknowledged; False when it is not active."""
        with self._lock:
            alarm = self._alarms.get(alarm_id)
            if alarm is None:
                return False
            alarm.acknowledged = acknowledged
            return True

    def active_alarms(self) -> list[Alarm]:
        with self._lock:
            return [Alarm(a.alarm_id, a.source_id, a.level, a.ts, a.message, a.acknowledged, a.returned)
                    for a in self._alarms.values()]
