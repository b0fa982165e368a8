"""DrillRecord: what happened in one drill, as plain arrays and events (no I/O in the data itself).

A drill record holds the people's tracks (``person`` index, ``t_s`` seconds from the drill's t0,
``x_m``/``y_m`` in the plant frame) as numpy arrays sorted by person then time, and the drill's
events (``t_s``, ``kind``, ``source``, ``detail``). Loaders here:

* :func:`from_incident` — a simulated drill (:func:`safetwin.emergency_planner.incident.run_incident`);
* :func:`from_run_folder` — the output folder of ``safetwin scenario run`` (a simulated drill on disk);
* :func:`load_drill_log` — the drill's manual log (JSON or YAML, format in ``docs/drills.md``):
  alarm raised, report to the authority, response start, head count reported with its number …;
  merged into a record with :meth:`DrillRecord.with_log`.

Recorded drills are read by the wiring layer (:mod:`safetwin.app.drill_records`): from the twin's
history in the store and from a raw MQTT recording.

Example::

    >>> import numpy as np
    >>> rec = DrillRecord.from_arrays("demo", ["P-1", "P-1", "P-2"], [0.0, 60.0, 0.0],
    ...                               [0.0, 10.0, 5.0], [0.0, 0.0, 5.0])
    >>> rec.person_ids, rec.n_people, rec.t_s.tolist()
    (['P-1', 'P-2'], 2, [0.0, 60.0, 0.0])
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from safetwin.errors import LocatedValidationError

__all__ = ["DrillEvent", "DrillRecord", "DrillLog", "DrillLogError", "LOG_KINDS", "from_incident",
           "from_run_folder", "load_drill_log", "parse_drill_log"]

#: manual log entry kinds and the event kind each becomes in the record
LOG_KINDS: dict[str, str] = {
    "alarm_raised": "alarm",                 # site alarm sounded / evacuation alarm
    "alarm_acknowledged": "alarm_ack",       # the control room acknowledged the first detector alarm
    "reported_to_authority": "report_authority",
    "response_started": "response_start",    # emergency response (plan) activated
    "evacuation_ordered": "evacuation_ordered",
    "headcount_reported": "headcount_reported",
    "resource_arrived": "resource_arrived",  # a team or engine in action at the scene
    "drill_ended": "drill_end",
    "note": "note",
}


@dataclass(frozen=True)
class DrillEvent:
    """One timeline entry: ``t_s`` seconds from the drill's t0, ``kind``, ``source`` and details."""

    t_s: float
    kind: str
    source: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class DrillRecord:
    """A drill's tracks and events (see the module docstring). ``t0`` is the drill's start (UTC);
    ``expected_headcount`` the people who should be accounted for (None: the tracked people);
    ``roster`` their ids when known (names the people never tracked); ``moving_from_s`` per tracked
    person the earliest time (s) a muster arrival may count — a simulated person's start of
    movement (alarm + pre-movement), None for a recorded drill (the alarm is the bound)."""

    scenario: str
    person_ids: list[str]
    person: np.ndarray          # int32 index into person_ids, sorted (person, t)
    t_s: np.ndarray             # float64 s from t0
    x_m: np.ndarray
    y_m: np.ndarray
    events: list[DrillEvent] = field(default_factory=list)
    t0: datetime | None = None
    expected_headcount: int | None = None
    source: str = "recorded"    # recorded | simulated
    plant_id: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)  # figures known without tracks (simulated runs)
    roster: list[str] | None = None
    moving_from_s: np.ndarray | None = None

    @classmethod
    def from_arrays(cls, scenario: str, person: Any, t_s: Any, x_m: Any, y_m: Any, **kw: Any) -> DrillRecord:
        """Build from parallel arrays (person ids as strings, times s, positions m); sorts them."""
        pid = np.asarray(person).astype(str)
        ids, idx = np.unique(pid, return_inverse=True)
        t = np.asarray(t_s, float)
        order = np.lexsort((t, idx))
        return cls(scenario, [str(i) for i in ids], idx[order].astype(np.int32), t[order],
                   np.asarray(x_m, float)[order], np.asarray(y_m, float)[order], **kw)

    @property
    def n_people(self) -> int:
        """Number of tracked people."""
        return len(self.person_ids)

    @property
    def headcount(self) -> int:
        """People who must be accounted for: ``expected_headcount`` or the tracked people."""
        return self.expected_headcount if self.expected_headcount is not None else self.n_people

    def first(self, *kinds: str) -> DrillEvent | None:
        """The earliest event of any of ``kinds`` (None when there is none)."""
        ev = [e for e in self.events if e.kind in kinds]
        return min(ev, key=lambda e: e.t_s) if ev else None

    def with_log(self, log: DrillLog) -> DrillRecord:
        """A copy with the manual log's events merged (times re-based to this record's t0) and its
        expected head count, scenario and t0 where the record has none. A kind the log records
        (e.g. ``alarm``) replaces the record's events of that kind: the log is the drill's account."""
        t0 = self.t0 or log.t0
        logged = log.events_relative_to(t0)
        kinds = {e.kind for e in logged if e.kind != "note"}
        events = [e for e in self.events if e.kind not in kinds] + logged
        events.sort(key=lambda e: e.t_s)
        return replace(self, events=events, t0=t0, metrics={**self.metrics, "drill_log": True},
                       expected_headcount=log.expected_headcount if log.expected_headcount is not None
                       else self.expected_headcount,
                       scenario=self.scenario or log.scenario or "",
                       roster=list(log.drill.roster) if log.drill.roster else self.roster)


# ============================================================================ simulated drill
def from_incident(res: Any, t0: datetime | None = None) -> DrillRecord:
    """A simulated drill: the agents' trajectories (plus each arrival at its muster point) and the
    timeline of an :class:`~safetwin.emergency_planner.incident.IncidentResult`."""
    ev = res.evacuation
    if ev is not None and len(ev.trajectories.get("time_s", [])):
        tr = ev.trajectories
        person, t, x, y = (np.asarray(tr["person"], np.int32), np.asarray(tr["time_s"], float),
                           np.asarray(tr["x_m"], float), np.asarray(tr["y_m"], float))
        arrived = np.flatnonzero(np.isfinite(ev.arrival_time_s))   # the fix at arrival (inside the goal)
        person = np.concatenate([person, arrived.astype(np.int32)])
        t = np.concatenate([t, ev.arrival_time_s[arrived]])
        x = np.concatenate([x, ev.final_position[arrived, 0]])
        y = np.concatenate([y, ev.final_position[arrived, 1]])
        order = np.lexsort((t, person))
        ids = list(ev.ids)
        person, t, x, y = person[order], t[order], x[order], y[order]
    else:
        ids, person, t, x, y = [], np.zeros(0, np.int32), np.zeros(0), np.zeros(0), np.zeros(0)
    skip = {"departure", "arrival"}  # per-person events are in the tracks already
    events = [DrillEvent(float(e.time_s), e.kind, str(e.source), dict(e.detail)) for e in res.events
              if e.kind not in skip]
    metrics = {k: res.metrics.get(k) for k in ("people_above_aegl2_dose", "max_harm_probability")}
    # people of the plan move after alerting + pre-movement: their muster counts from then on
    moving = np.asarray(ev.start_moving_s, float).copy() if ev is not None else None
    return DrillRecord(res.scenario.name, ids, person, t, x, y, events, t0=t0,
                       expected_headcount=ev.n if ev is not None else None, source="simulated",
                       plant_id=res.plant_id, metrics=metrics, roster=list(ids) if ev is not None else None,
                       moving_from_s=moving)


# ============================================================================ drill log
class DrillLogError(LocatedValidationError):
    """A drill log file with every problem found (file, field)."""

    kind = "drill log"


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LogEntry(_M):
    """One manual log entry: ``t_s`` (s from t0) or ``time`` (ISO 8601 with zone), its ``kind``."""

    kind: Literal["alarm_raised", "alarm_acknowledged", "reported_to_authority", "response_started",
                  "evacuation_ordered", "headcount_reported", "resource_arrived", "drill_ended", "note"]
    t_s: float | None = Field(default=None, ge=0)
    time: datetime | None = None
    by: str = ""
    count: int | None = Field(default=None, ge=0, description="head count reported (headcount_reported)")
    text: str = ""

    @model_validator(mode="after")
    def _check(self) -> LogEntry:
        if (self.t_s is None) == (self.time is None):
            raise ValueError("give exactly one of t_s (s from t0) or time (ISO 8601 with zone)")
        if self.time is not None and self.time.tzinfo is None:
            raise ValueError("time needs a zone (e.g. 2026-12-04T10:00:00Z)")
        if self.kind == "headcount_reported" and self.count is None:
            raise ValueError("headcount_reported needs count (people reported accounted for)")
        return self


class DrillInfo(_M):
    id: str = ""
    scenario: str = ""
    t0: datetime | None = None
    expected_headcount: int | None = Field(default=None, ge=0)
    roster: list[str] = Field(default_factory=list, description="ids of the people who must be accounted for")
    title: str = ""


class DrillLog(_M):
    """A drill's manual log (see the module docstring and docs/drills.md)."""

    drill: DrillInfo = Field(default_factory=DrillInfo)
    events: list[LogEntry] = Field(default_factory=list)

    @property
    def t0(self) -> datetime | None:
        return self.drill.t0

    @property
    def scenario(self) -> str:
        return self.drill.scenario

    @property
    def expected_headcount(self) -> int | None:
        return self.drill.expected_headcount

    def events_relative_to(self, t0: datetime | None) -> list[DrillEvent]:
        """The entries as :class:`DrillEvent` with times in s from ``t0``."""
        out = []
        for k, e in enumerate(self.events):
            if e.t_s is not None:
                t = e.t_s
            else:
                if t0 is None:
                    raise DrillLogError("(log)", [f"events[{k}].time: an absolute time needs the drill's t0 "
                                                  "(drill.t0 or the record's start)"])
                t = (e.time - t0).total_seconds()  # type: ignore[operator]
            detail: dict[str, Any] = {"by": e.by} if e.by else {}
            if e.count is not None:
                detail["count"] = e.count
            if e.text:
                detail["text"] = e.text
            out.append(DrillEvent(float(t), LOG_KINDS[e.kind], e.by or "log", detail))
        return out


def parse_drill_log(doc: Any, where: str = "(log)") -> DrillLog:
    """Validate a parsed drill log; raises :class:`DrillLogError` naming every bad field."""
    try:
        log = DrillLog.model_validate(doc)
    except ValidationError as err:
        issues = []
        for e in err.errors():
            loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e["loc"]).lstrip(".")
            issues.append(f"{where}: {loc or '(top)'}: {e['msg']}")
        raise DrillLogError(where, issues) from None
    if log.drill.t0 is not None and log.drill.t0.tzinfo is None:
        raise DrillLogError(where, [f"{where}: drill.t0: needs a zone (e.g. 2026-12-04T10:00:00Z)"])
    return log


def load_drill_log(path: str | Path) -> DrillLog:
    """Read a drill log (``.json``, ``.yaml`` or ``.yml``); :class:`DrillLogError` with located issues."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as err:
        raise DrillLogError(p, [f"{p}: cannot read: {err}"]) from None
    try:
        doc = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        raise DrillLogError(p, [f"{p}: not valid {'JSON' if p.suffix.lower() == '.json' else 'YAML'}: {err}"]) from None
    if not isinstance(doc, dict):
        raise DrillLogError(p, [f"{p}: (top): expected a mapping with 'drill' and 'events'"])
    return parse_drill_log(doc, str(p))


# ============================================================================ files
def from_run_folder(path: str | Path) -> DrillRecord:
    """A drill written by ``safetwin scenario run --out DIR`` (or ``IncidentResult.write``):
    ``trajectories.parquet`` (plus each person's arrival fix from ``people.parquet``), ``events.json``
    and ``metrics.json``."""
    import pyarrow.parquet as pq

    d = Path(path)
    for name in ("trajectories.parquet", "events.json"):
        if not (d / name).exists():
            raise FileNotFoundError(f"{d}: no {name} (expected the output folder of `safetwin scenario run`)")
    tr = pq.read_table(d / "trajectories.parquet", columns=["time_s", "person_id", "x_m", "y_m"]).to_pydict()
    pid, t, x, y = list(tr["person_id"]), list(tr["time_s"]), list(tr["x_m"]), list(tr["y_m"])
    expected = roster = None
    if (d / "people.parquet").exists():
        pp = pq.read_table(d / "people.parquet", columns=["person_id", "arrival_time_s", "x_m", "y_m"]).to_pydict()
        expected = len(pp["person_id"])
        roster = [str(p) for p in pp["person_id"]]
        for p, a, px, py in zip(pp["person_id"], pp["arrival_time_s"], pp["x_m"], pp["y_m"]):
            if a is not None and np.isfinite(a):
                pid.append(p), t.append(a), x.append(px), y.append(py)
    doc = json.loads((d / "events.json").read_text(encoding="utf-8"))
    events = [DrillEvent(float(e["time_s"]), e["kind"], str(e.get("source", "")), dict(e.get("detail") or {}))
              for e in doc.get("events", []) if e["kind"] not in ("departure", "arrival")]
    departures = {str(e["source"]): float(e["time_s"]) for e in doc.get("events", []) if e["kind"] == "departure"}
    metrics = json.loads((d / "metrics.json").read_text(encoding="utf-8")) if (d / "metrics.json").exists() else {}
    rec = DrillRecord.from_arrays(doc.get("scenario", ""), pid, t, x, y, events=events, expected_headcount=expected,
                                  source="simulated", plant_id=doc.get("plant", ""),
                                  metrics={k: metrics.get(k) for k in ("people_above_aegl2_dose", "max_harm_probability")},
                                  roster=roster)
    # the simulated people move after alerting + pre-movement (their departure events); never: +inf
    rec.moving_from_s = np.array([departures.get(p, np.inf) for p in rec.person_ids])
    return rec
