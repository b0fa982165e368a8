"""Rebuild a site's live twin from its history after a restart, before anything is published.

A restarted bridge used to start from an empty :class:`~safetwin.twin.state.TwinState`: no
latest values, nobody on site, and within one publishing period the retained muster status said
``pob 0`` and lost the list of missing persons. :func:`rebuild_twin` restores, for one site:

* the **latest reading of every sensor** of the plant -- from the store, and from the part of the
  site's ingest log that the indexer had not yet copied into the store (acknowledged readings
  are durable in the log first, see :mod:`~safetwin.live_bridge.ingestlog`). The log tail is read
  before the store, so a record indexed (and its segment deleted) in between is found in the
  store;
* the **last position of every person** seen within ``people_window_s`` (a shift; people seen
  before are taken to have left) -- so POB, occupancy and the muster status with the missing
  persons' last known places come back; people whose fix is old count as *location stale*, never
  as mustered (:mod:`.people`).

Alarm states come from the retained alarm topics (:meth:`LiveBridge._restore_retained`), and
equipment states from their retained topics when the bridge subscribes.

Example::

    >>> from safetwin.plant_models.loader import load_plant, bundled_plant_path
    >>> from safetwin.twin.store import Position, Reading, Store
    >>> from datetime import datetime, timezone
    >>> store, t = Store.open("sqlite://"), datetime(2025, 1, 1, 8, tzinfo=timezone.utc)
    >>> _ = store.write_readings([Reading("small_plant", "GD-01", t, 12.5, "%LEL", site="s1", seq=1, source="GD-01")])
    >>> _ = store.write_positions([Position("small_plant", "P-1", t, 120.0, 20.0, site="s1")])
    >>> state = TwinState(load_plant(bundled_plant_path("small_plant")))
    >>> r = rebuild_twin(state, store, "s1", now=t.timestamp() + 60)
    >>> (r.readings, r.people, state.reading("GD-01").value, state.person("P-1").x)
    (1, 1, 12.5, 120.0)
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from safetwin.twin.state import TwinState

from .ingestlog import expand_record, list_segments, read_frames, read_progress, segment_name

log = logging.getLogger(__name__)

#: people last seen longer ago than this are not rebuilt (s): one long shift
PEOPLE_WINDOW_S = 12 * 3600.0


@dataclass(frozen=True)
class RebuildReport:
    """What :func:`rebuild_twin` restored: sensors with a value, of them from the log tail, people,
    and the time it took (s)."""

    readings: int
    from_log: int
    people: int
    seconds: float


def rebuild_twin(state: TwinState, store: Any, site: str, *, log_dir: str | Path | None = None,
                 before_segment: int | None = None, people_window_s: float = PEOPLE_WINDOW_S,
                 skew_tolerance_s: float = 2.0, now: float | None = None) -> RebuildReport:
    """Fill ``state`` with the site's latest readings and people positions (see the module
    docstring). ``log_dir``/``before_segment``: the site's ingest log and the first segment of
    the running bridge (older segments are the previous run's). Source times more than
    ``skew_tolerance_s`` in the future are not "latest" (a skewed clock must not pin a value).
    Times in s since the epoch."""
    t0 = time.perf_counter()
    now = time.time() if now is None else now
    latest: dict[str, tuple[float, float | None, str]] = {}   # sensor -> (ts, value, quality)
    from_log = 0
    if log_dir is not None:
        for row in _unindexed_rows(Path(log_dir), before_segment, site):
            if row[9] == site and row[1] in state.sensors and row[2] <= now + skew_tolerance_s:
                held = latest.get(row[1])
                if held is None or row[2] > held[0]:
                    latest[row[1]] = (row[2], row[4], row[6])
        from_log = len(latest)
    until = datetime.fromtimestamp(now + skew_tolerance_s, timezone.utc)
    for sid, r in store.latest_readings(site, list(state.sensors), plant_id=state.plant.id, until=until).items():
        ts = r.ts.timestamp()
        held = latest.get(sid)
        if held is None or ts > held[0]:
            latest[sid] = (ts, r.value, r.quality)
    if latest:
        sids = list(latest)
        state.apply_readings(sids, [latest[s][1] for s in sids], [latest[s][0] for s in sids],
                             [latest[s][2] for s in sids], now)
    since = datetime.fromtimestamp(now - people_window_s, timezone.utc)
    fixes = store.latest_positions(site, since, plant_id=state.plant.id)
    if fixes:
        state.update_positions([p.person_id for p in fixes], [p.x_m for p in fixes], [p.y_m for p in fixes],
                               [p.ts.timestamp() for p in fixes], z=[p.z_m for p in fixes])
    report = RebuildReport(len(latest), from_log, len(fixes), time.perf_counter() - t0)
    log.info("twin of site %s rebuilt: %d sensor values (%d from the ingest log), %d people, %.2f s",
             site, report.readings, report.from_log, report.people, report.seconds)
    return report


def _unindexed_rows(directory: Path, before_segment: int | None, site: str) -> list[tuple[Any, ...]]:
    """History rows of the log records the indexer had not reached (segments below
    ``before_segment``); a segment deleted meanwhile was indexed, so is in the store."""
    progress = read_progress(directory)
    seg0, off0 = int(progress.get("segment", 0)), int(progress.get("offset", 0))
    rows: list[tuple[Any, ...]] = []
    for n in list_segments(directory):
        if n < seg0 or (before_segment is not None and n >= before_segment):
            continue
        try:
            with open(directory / segment_name(n), "rb") as f:
                if n == seg0:
                    f.seek(off0)
                data = f.read()
        except FileNotFoundError:
            continue
        bodies, _used, _torn = read_frames(data)
        for body in bodies:
            rows.extend(expand_record(body, site))
    return rows

