"""Recorded drills read back for evaluation: from the twin's history and from a raw MQTT recording.

* :func:`from_store` — every RTLS position fix of a plant between two UTC times (one parameterised
  query) and each gas alarm raised in the window, as a :class:`DrillRecord`;
* :func:`from_mqtt_recording` — a raw MQTT recording (``safetwin bridge record``, JSON Lines):
  omlox locations and gas readings above each detector's alarm level.

The evaluation itself is pure (:mod:`safetwin.emergency_planner.drill`); these readers join it to
the store (twin) and the wire format (live bridge), so they live in the wiring layer.
"""
from __future__ import annotations

from datetime import datetime, timezone
from operator import itemgetter
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from safetwin.emergency_planner.drill.record import DrillEvent, DrillRecord
from safetwin.live_bridge import payloads as P
from safetwin.live_bridge.recorder import read_recording
from safetwin.twin.store.store import POSITIONS, epoch_to_sqlite_text

__all__ = ["from_store", "from_mqtt_recording"]


def _utc(t: datetime, what: str) -> datetime:
    if t.tzinfo is None:
        raise ValueError(f"{what} must be a timezone-aware (UTC) datetime, got {t!r}")
    return t.astimezone(timezone.utc)


def from_store(store: Any, plant: Any, start: datetime, end: datetime, *, events: list[DrillEvent] | None = None,
               scenario: str = "", expected_headcount: int | None = None,
               alarm_kinds: tuple[str, ...] = ("LVL", "ROC")) -> DrillRecord:
    """A recorded drill from the twin's history: every position fix of ``plant`` with
    ``start <= ts < end`` (one parameterised query) and each gas/fire alarm raised in the window as a
    ``detection`` event, its first acknowledgement as ``alarm_ack`` (alarm ids ``{sensor}_{kind}``,
    kinds ``alarm_kinds``). Times are seconds from ``start``; ``events`` (e.g. from a drill log) are
    merged."""
    start, end = _utc(start, "start"), _utc(end, "end")
    if end <= start:
        raise ValueError(f"the drill window is empty: end {end.isoformat()} <= start {start.isoformat()}")
    t0 = start.timestamp()
    # One parameterised query on the driver's cursor (fixed identifiers; values bound): epoch seconds
    # computed in SQL and plain tuples back, no Python datetime or ORM row per fix; no ORDER BY
    # (from_arrays sorts (person, t) with numpy, faster than the database sorting text keys).
    table = POSITIONS.name
    if store.engine.dialect.name == "sqlite":   # naive UTC text, the same format the store writes
        sql = (f"SELECT person_id, (julianday(ts) - 2440587.5) * 86400.0, x_m, y_m FROM {table} "
               "WHERE plant_id = ? AND ts >= ? AND ts < ?")
        params: tuple = (plant.id, epoch_to_sqlite_text(t0), epoch_to_sqlite_text(end.timestamp()))
    else:
        sql = (f"SELECT person_id, EXTRACT(EPOCH FROM ts)::float8, x_m, y_m FROM {table} "
               "WHERE plant_id = %s AND ts >= %s AND ts < %s")
        params = (plant.id, start, end)
    with store.engine.connect() as conn:
        cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cur.execute(sql, params)
            rows = cur.fetchall()
        finally:
            cur.close()
    if rows:
        n = len(rows)
        col = [np.fromiter(map(itemgetter(k), rows), float, n) for k in (1, 2, 3)]
        t = np.round(col[0] - t0, 3)   # ms: the resolution of RTLS source times
        rec = DrillRecord.from_arrays(scenario, list(map(itemgetter(0), rows)), t, col[1], col[2])
    else:
        rec = DrillRecord(scenario, [], np.zeros(0, np.int32), np.zeros(0), np.zeros(0), np.zeros(0))
    ev: list[DrillEvent] = []
    seen: set[str] = set()
    acked: set[str] = set()
    previous: dict[str, str] = {}
    alarms = sorted(store.alarm_events(since=start, until=end), key=lambda a: a.ts)
    for a in alarms:
        kind = a.alarm_id.rsplit("_", 1)[-1]
        before, previous[a.alarm_id] = previous.get(a.alarm_id), a.state
        if kind not in alarm_kinds:
            continue
        t = a.ts.timestamp() - t0
        if a.state == "UNACK" and a.alarm_id not in seen:
            seen.add(a.alarm_id)
            ev.append(DrillEvent(t, "detection", a.sensor_id or a.alarm_id, {"alarm_id": a.alarm_id, "level": a.level}))
        # ISA-18.2 acknowledgement: UNACK → ACKED, or RTN_UNACK → NORMAL (twin.alarms.rules)
        elif (a.state == "ACKED" or (a.state == "NORMAL" and before == "RTN_UNACK")) and a.alarm_id not in acked:
            acked.add(a.alarm_id)
            ev.append(DrillEvent(t, "alarm_ack", a.sensor_id or a.alarm_id, {"alarm_id": a.alarm_id}))
    ev += list(events or [])
    ev.sort(key=lambda e: e.t_s)
    rec.events, rec.t0, rec.expected_headcount = ev, start, expected_headcount
    rec.source, rec.plant_id = "recorded", plant.id
    # the twin's alarm store records every acknowledgement: a raised alarm without one was not acknowledged
    rec.metrics["alarm_acks_recorded"] = bool(seen)
    return rec


def from_mqtt_recording(path: str | Path, plant: Any, *, t0: datetime | None = None, scenario: str = "",
                        alarm_level: str = "high") -> DrillRecord:
    """A recorded drill from a raw MQTT recording (``safetwin bridge record``, JSON Lines): omlox
    location batches and single locations give the tracks (source times), gas readings at or above
    each detector's ``alarm_level`` give ``detection`` events. Undecodable messages are skipped and
    counted in ``metrics["skipped_messages"]``. t0 defaults to the earliest fix or reading."""
    sensors = {s.id: s for s in plant.meta.sensors}
    pid: list[str] = []
    ts: list[float] = []
    xs: list[float] = []
    ys: list[float] = []
    first_alarm: dict[str, float] = {}
    skipped = 0
    for m in read_recording(path):
        parts = m.topic.split("/")
        try:
            if "rtls" in parts and parts[-1] in ("locations", "location"):
                locs = P.decode_locations(m.payload).locations if parts[-1] == "locations" \
                    else [P.decode_location(m.payload)]
                for loc in locs:
                    c = loc.position.coordinates
                    pid.append(loc.trackables[0] if loc.trackables else loc.provider_id)
                    ts.append(loc.timestamp_generated.timestamp())
                    xs.append(c[0])
                    ys.append(c[1])
            elif parts[-1] in ("reading", "readings"):
                entries = [P.decode_reading(m.payload)] if parts[-1] == "reading" else P.decode_batch(m.payload).r
                for e in entries:
                    s = sensors.get(e.sid)
                    if s is None or s.alarm is None or e.v is None:
                        continue
                    if e.v >= getattr(s.alarm, alarm_level):
                        first_alarm[e.sid] = min(first_alarm.get(e.sid, np.inf), e.ts.timestamp())
        except (msgspec.ValidationError, msgspec.DecodeError):
            skipped += 1
    times = ts + list(first_alarm.values())
    base = t0.timestamp() if t0 is not None else (min(times) if times else 0.0)
    start = t0 or (datetime.fromtimestamp(base, timezone.utc) if times else None)
    rec = DrillRecord.from_arrays(scenario, pid, np.asarray(ts, float) - base, xs, ys, t0=start, source="recorded",
                                  plant_id=plant.id, metrics={"skipped_messages": skipped})
    rec.events = sorted((DrillEvent(t - base, "detection", sid, {"level": alarm_level})
                         for sid, t in first_alarm.items()), key=lambda e: e.t_s)
    return rec
