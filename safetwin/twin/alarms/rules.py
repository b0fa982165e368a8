"""Alarm rules and the ISA-18.2 alarm state machine of the twin.

Per sensor, :class:`AlarmRules` evaluates four independent alarms, each with its own id:

* ``{sid}_LVL`` — process level: warning / high / high-high (low / low-low for oxygen
  deficiency), with a deadband (clear only below ``limit - deadband``) and on/off delays
  (the condition must hold ``on_delay_s`` before the alarm activates and be gone
  ``off_delay_s`` before it returns to normal) so that noise does not make it chatter;
* ``{sid}_ROC`` — rate of change above ``roc_per_s`` (sensor units per second), measured over
  at least one reporting period;
* ``{sid}_FLT`` — sensor fault: quality bad/fault, out of range, or stuck (identical value for
  ``stuck_s``); a fault never suppresses the level alarm (an implausible gas value still raises
  its level alarm *and* the fault);
* ``{sid}_STL`` — stale: no reading for ``stale_periods`` reporting periods.

Each alarm follows ISA-18.2 (:class:`AlarmState`): NORMAL → UNACK (active, unacknowledged) →
ACKED, or → RTN_UNACK (returned to normal, unacknowledged) → NORMAL after ack; SHELVED hides an
alarm for a time; OUT_OF_SERVICE for a sensor under maintenance. Escalation (e.g. H → HH) while
acknowledged makes the alarm unacknowledged again.

Each sensor's settings (levels, deadband, delays, rate limit) are a :class:`.config.RuleConfig`.
:class:`AlarmRules` is not thread-safe: :class:`.engine.AlarmEngine` runs it on its own
thread. Times are seconds since the Unix epoch (UTC).

Example::

    >>> from safetwin.plant_models.loader import load_plant, bundled_plant_path
    >>> from safetwin.twin.state import TwinState
    >>> state = TwinState(load_plant(bundled_plant_path("small_plant")))
    >>> rules = AlarmRules(state)
    >>> [t.state.value for t in rules.evaluate("GD-01", 60.0, 100.0, "ok")]    # 60 %LEL, above HH (50)
    ['UNACK']
    >>> [a.level for a in state.active_alarms()]
    ['HH']
    >>> [t.state.value for t in rules.acknowledge("GD-01_LVL", 101.0, by="operator")]
    ['ACKED']
    >>> rules.evaluate("GD-01", 1.0, 110.0, "ok")    # gone, but not yet for off_delay_s (5 s)
    []
    >>> [t.state.value for t in rules.evaluate("GD-01", 1.0, 116.0, "ok")]     # acknowledged: straight to NORMAL
    ['NORMAL']
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import Enum

import numpy as np

from ..events import AlarmStateChanged
from ..state import TwinState
from .config import RuleConfig, rule_for_sensor

#: batches of at least this many readings try the vectorised quiet path of evaluate_many
_VECTOR_MIN = 64


class AlarmState(str, Enum):
    """ISA-18.2 alarm states."""

    NORMAL = "NORMAL"
    UNACK = "UNACK"              # active, unacknowledged
    ACKED = "ACKED"              # active, acknowledged
    RTN_UNACK = "RTN_UNACK"      # returned to normal, unacknowledged
    SHELVED = "SHELVED"
    SUPPRESSED = "SUPPRESSED"    # suppressed by design
    OUT_OF_SERVICE = "OUT_OF_SERVICE"


#: level name → ISA priority (1 highest)
PRIORITY = {"HH": 1, "LL": 1, "FAULT": 2, "H": 2, "L": 2, "ROC": 2, "W": 3, "STALE": 3}


@dataclass(slots=True)
class AlarmRecord:
    """The full ISA-18.2 record of one alarm (what the retained alarm topic carries)."""

    alarm_id: str
    source_id: str
    kind: str                 # LVL, ROC, FLT, STL
    state: AlarmState = AlarmState.NORMAL
    level: str = ""
    priority: int = 4
    value: float | None = None
    limit: float | None = None
    ts: float = 0.0           # time of the last transition (source time, s)
    raised_ts: float | None = None
    active: bool = False      # the condition, regardless of ack/shelve
    acked_by: str | None = None
    shelved_until: float | None = None
    message: str = ""
    seq: int = 0              # transition counter of this alarm


@dataclass(slots=True)
class _SensorTrack:
    last_value: float | None = None
    last_ts: float | None = None
    pending_level: int = 0         # level index (0 = none) the condition currently points to
    pending_since: float | None = None
    active_level: int = 0
    stuck_since: float | None = None
    last_seen: float | None = None
    roc_ref_v: float | None = None
    roc_ref_ts: float | None = None
    n_active: int = 0              # alarms of this sensor whose condition is active


class AlarmRules:
    """Evaluate the alarm rules of every sensor of a TwinState and keep the ISA-18.2 records.

    Not thread-safe on its own: call it from one thread (the :class:`AlarmEngine` does).
    Every transition is recorded in the TwinState (``raise_alarm``/``clear_alarm``), published on
    the state's bus as :class:`AlarmStateChanged` and returned.
    """

    def __init__(self, state: TwinState, configs: dict[str, RuleConfig] | None = None) -> None:
        self.state = state
        self.configs: dict[str, RuleConfig] = {}
        for sid, sensor in state.sensors.items():
            cfg = rule_for_sensor(sensor)
            if cfg is not None:
                self.configs[sid] = cfg
        if configs:
            self.configs.update(configs)
        self.records: dict[str, AlarmRecord] = {}
        self._tracks: dict[str, _SensorTrack] = {sid: _SensorTrack() for sid in self.configs}
        self._out_of_service: set[str] = set()
        self.fast_path = 0     # readings settled by the quiet-sensor fast path of evaluate_many
        self._quiet: dict[str, tuple[_SensorTrack, RuleConfig, float, float]] = {}
        self._build_quiet()

    def _build_quiet(self) -> None:
        """Per sensor: (track, config, direction-signed threshold, ROC reference interval s).
        A reading ``v`` with ``v * direction < threshold`` points to no level at all."""
        self._quiet = {}
        for sid, cfg in self.configs.items():
            if cfg.stuck_s is not None:
                continue  # stuck detection needs the full path
            thr = min((limit * cfg.direction for _, limit in cfg.levels), default=math.inf)
            self._quiet[sid] = (self._tracks[sid], cfg, thr, max(cfg.period_s, 1.0))
        self._vec_ids = list(self._quiet)
        self._vec_index = {sid: i for i, sid in enumerate(self._vec_ids)}
        # per quiet sensor (vector index): direction, signed threshold, range; for the grouped path
        entries = [self._quiet[sid] for sid in self._vec_ids]
        self._vec_dir = np.array([e[1].direction for e in entries], dtype=float)
        self._vec_thr = np.array([e[2] for e in entries], dtype=float)
        self._vec_lo = np.array([e[1].range_min for e in entries], dtype=float)
        self._vec_hi = np.array([e[1].range_max for e in entries], dtype=float)

    def evaluate_many(self, sids: list[str], values: list[float | None], ts: list[float],
                      qualities: list[str]) -> list[AlarmRecord]:
        """Evaluate a batch of live readings (columns; values in sensor units, ts in s).

        Same result as calling :meth:`evaluate` for each, but a reading of a *quiet* sensor
        (no alarm condition active, no level pending, quality ok, in range, below every level
        and no rate-of-change alarm due) only updates the sensor's track -- the common case,
        about ten times cheaper. Anything else takes the full path. A long batch (a burst of
        gateway messages) whose readings are all quiet is settled per sensor with numpy
        (:meth:`_evaluate_grouped`), with the same end state.
        """
        if len(sids) >= _VECTOR_MIN and self._evaluate_grouped(sids, values, ts, qualities):
            return []
        out: list[AlarmRecord] = []
        quiet, configs = self._quiet, self.configs
        fast = 0
        for sid, v, t, q in zip(sids, values, ts, qualities):
            cfg_now = configs.get(sid)
            if cfg_now is None:
                continue
            entry = quiet.get(sid)
            if entry is not None and q == "ok" and v is not None and entry[1] is cfg_now:
                tr, cfg, thr, roc_dt = entry
                if (tr.n_active == 0 and tr.active_level == 0 and tr.pending_since is None
                        and v * cfg.direction < thr and cfg.range_min <= v <= cfg.range_max
                        and (tr.last_ts is None or t >= tr.last_ts)):
                    roc = cfg.roc_per_s
                    if roc is not None:
                        ref_ts = tr.roc_ref_ts
                        if ref_ts is None:
                            tr.roc_ref_v, tr.roc_ref_ts = v, t
                        elif t - ref_ts >= roc_dt:
                            if (v - tr.roc_ref_v) / (t - ref_ts) * cfg.direction > roc:  # type: ignore[operator]
                                out.extend(self.evaluate(sid, v, t, q))
                                continue
                            tr.roc_ref_v, tr.roc_ref_ts = v, t
                    tr.pending_level = 0
                    tr.last_seen = t
                    tr.last_value = v
                    tr.last_ts = t
                    fast += 1
                    continue
            out.extend(self.evaluate(sid, v, t, q))
        self.fast_path += fast
        return out

    def _evaluate_grouped(self, sids: list[str], values: list[float | None], ts: list[float],
                          qualities: list[str]) -> bool:
        """Settle a batch in which every reading takes the quiet path of :meth:`evaluate_many`:
        per sensor, readings in non-decreasing time, all below every level and in range (checked
        for the whole batch at once with numpy), and no rate-of-change alarm at the points where
        the reference is due (readings are in time order per sensor, so a sensor has such a
        point only if its last reading is one; only then are its readings visited). Then only
        each sensor's track end state is written. Returns False, having changed nothing, when
        any reading needs the full path."""
        n = len(sids)
        if qualities.count("ok") != n:
            return False
        idx = self._vec_index
        try:
            sidx = np.fromiter(map(idx.__getitem__, sids), dtype=np.intp, count=n)
        except KeyError:
            return False          # a sensor without quiet path (or without rules): the loop decides
        try:
            v = np.array(values, dtype=float)
        except (TypeError, ValueError):
            return False
        quiet_values = ((v * self._vec_dir[sidx] < self._vec_thr[sidx]) & (v >= self._vec_lo[sidx])
                        & (v <= self._vec_hi[sidx]))
        if not quiet_values.all():
            return False          # (NaN fails too)
        t = np.asarray(ts, dtype=float)
        order = np.argsort(sidx, kind="stable")
        s_sorted = sidx[order]
        t_sorted = t[order]
        same = s_sorted[1:] == s_sorted[:-1]
        if np.any(same & (t_sorted[1:] < t_sorted[:-1])):
            return False
        starts = np.flatnonzero(np.r_[True, ~same])
        ends = np.r_[starts[1:], n]
        configs, quiet, ids = self.configs, self._quiet, self._vec_ids
        plan = []
        for g, a, b, first, last in zip(s_sorted[starts].tolist(), starts.tolist(), ends.tolist(),
                                        order[starts].tolist(), order[ends - 1].tolist()):
            sid = ids[g]
            tr, cfg, _thr, roc_dt = quiet[sid]
            if configs.get(sid) is not cfg or tr.n_active or tr.active_level or tr.pending_since is not None:
                return False
            if tr.last_ts is not None and ts[first] < tr.last_ts:
                return False
            ref_v, ref_ts = tr.roc_ref_v, tr.roc_ref_ts
            roc = cfg.roc_per_s
            if roc is not None:
                j = 0
                if ref_ts is None:
                    ref_v, ref_ts, j = values[first], ts[first], 1
                if ts[last] - ref_ts >= roc_dt:     # some reading is due as the new reference
                    sel = order[a:b]
                    tsel = t_sorted[a:b]
                    while j < tsel.size:
                        due = np.flatnonzero(tsel[j:] - ref_ts >= roc_dt)
                        if due.size == 0:
                            break
                        k = j + int(due[0])
                        i = int(sel[k])
                        if (values[i] - ref_v) / (ts[i] - ref_ts) * cfg.direction > roc:  # type: ignore[operator]
                            return False
                        ref_v, ref_ts, j = values[i], ts[i], k + 1
            plan.append((tr, last, ref_v, ref_ts))
        for tr, last, ref_v, ref_ts in plan:
            tr.pending_level = 0
            tr.last_seen = tr.last_ts = ts[last]
            tr.last_value = values[last]
            tr.roc_ref_v, tr.roc_ref_ts = ref_v, ref_ts
        self.fast_path += n
        return True

    # ---------------------------------------------------------------- evaluation
    def evaluate(self, sid: str, value: float | None, ts: float, quality: str) -> list[AlarmRecord]:
        """Evaluate one live reading (value in sensor units, ts in s); returns the transitions."""
        cfg = self.configs.get(sid)
        if cfg is None:
            return []
        tr = self._tracks[sid]
        if tr.last_ts is not None and ts < tr.last_ts:
            return []  # older than what the rules already saw: history only
        out: list[AlarmRecord] = []
        tr.last_seen = ts
        # stale recovers on any reading
        self._set(out, sid, "STL", False, "STALE", ts, value, None, "")
        bad = quality in ("fault", "out_of_range") or value is None or not (
            cfg.range_min <= value <= cfg.range_max)
        # stuck-at detection
        if cfg.stuck_s is not None and value is not None:
            if tr.last_value is not None and value == tr.last_value:
                if tr.stuck_since is None:
                    tr.stuck_since = tr.last_ts
            else:
                tr.stuck_since = None
        stuck = cfg.stuck_s is not None and tr.stuck_since is not None and ts - tr.stuck_since >= cfg.stuck_s
        fault_msg = "sensor fault: " + ("no value" if value is None else quality if quality != "ok" else
                                        "out of range" if bad else "stuck")
        self._set(out, sid, "FLT", bad or stuck, "FAULT", ts, value, None, fault_msg if (bad or stuck) else "")
        if value is not None and cfg.levels:
            self._eval_level(out, sid, cfg, tr, value, ts)
        if cfg.roc_per_s is not None and value is not None:
            # rate over at least one reporting period (never between two near-simultaneous samples)
            if tr.roc_ref_ts is None:
                tr.roc_ref_v, tr.roc_ref_ts = value, ts
            elif ts - tr.roc_ref_ts >= max(cfg.period_s, 1.0):
                rate = (value - tr.roc_ref_v) / (ts - tr.roc_ref_ts)  # type: ignore[operator]
                tr.roc_ref_v, tr.roc_ref_ts = value, ts
                self._set(out, sid, "ROC", rate * cfg.direction > cfg.roc_per_s, "ROC", ts, value,
                          cfg.roc_per_s, f"rate of change {rate:.3g}/s")
        if value is not None:
            tr.last_value = value
        tr.last_ts = ts
        return out

    def _eval_level(self, out: list[AlarmRecord], sid: str, cfg: RuleConfig, tr: _SensorTrack,
                    value: float, ts: float) -> None:
        d = cfg.direction
        # the level the value points to, with deadband towards lower severity
        target = 0
        for k, (_, limit) in enumerate(cfg.levels, start=1):
            if (value - limit) * d >= 0:
                target = k
            elif k <= tr.active_level and (value - (limit - d * cfg.deadband)) * d > 0:
                target = k  # inside the deadband of an active level: hold it
        if target > tr.active_level:
            if tr.pending_level != target or tr.pending_since is None:
                tr.pending_level, tr.pending_since = target, ts
            if ts - tr.pending_since >= cfg.on_delay_s:
                tr.active_level = target
                tr.pending_since = None
        elif target < tr.active_level:
            if tr.pending_level != target or tr.pending_since is None:
                tr.pending_level, tr.pending_since = target, ts
            if ts - tr.pending_since >= cfg.off_delay_s:
                tr.active_level = target
                tr.pending_since = None
        else:
            tr.pending_level, tr.pending_since = target, None
        k = tr.active_level
        name, limit = cfg.levels[k - 1] if k else ("", None)
        self._set(out, sid, "LVL", k > 0, name, ts, value, limit,
                  f"{sid} {name} {value:.4g} (limit {limit:.4g})" if k else "")

    def check_stale(self, now: float) -> list[AlarmRecord]:
        """Raise stale alarms for sensors silent for ``stale_periods`` periods at ``now`` (s)."""
        out: list[AlarmRecord] = []
        for sid, cfg in self.configs.items():
            tr = self._tracks[sid]
            ref = tr.last_seen
            if ref is None:
                continue
            if now - ref > cfg.stale_periods * cfg.period_s:
                self._set(out, sid, "STL", True, "STALE", now, None, None,
                          f"no reading for {now - ref:.0f} s")
        for rec in list(self.records.values()):
            if rec.state is AlarmState.SHELVED and rec.shelved_until is not None and now >= rec.shelved_until:
                out.extend(self.unshelve(rec.alarm_id, now, by="timer"))
        return out

    # ---------------------------------------------------------------- the state machine
    def _set(self, out: list[AlarmRecord], sid: str, kind: str, active: bool, level: str, ts: float,
             value: float | None, limit: float | None, message: str) -> None:
        aid = f"{sid}_{kind}"
        rec = self.records.get(aid)
        if rec is None:
            if not active:
                return
            rec = self.records[aid] = AlarmRecord(aid, sid, kind)
        was_active, old_level = rec.active, rec.level
        rec.active = active
        if active != was_active:
            tr = self._tracks.get(sid)
            if tr is not None:
                tr.n_active += 1 if active else -1
        if active:
            rec.value, rec.limit = value, limit
        if rec.state in (AlarmState.SHELVED, AlarmState.OUT_OF_SERVICE, AlarmState.SUPPRESSED):
            if active:
                rec.level, rec.message = level, message
            return
        if active and (not was_active or level != old_level):
            escalate = not was_active or PRIORITY.get(level, 4) < PRIORITY.get(old_level, 4)
            rec.level, rec.priority, rec.message = level, PRIORITY.get(level, 4), message
            if not was_active:
                rec.raised_ts = ts
            if escalate or rec.state is not AlarmState.ACKED:
                rec.state, rec.acked_by = AlarmState.UNACK, None
            self._emit(out, rec, ts)
        elif not active and was_active:
            rec.state = AlarmState.NORMAL if rec.state is AlarmState.ACKED else AlarmState.RTN_UNACK
            self._emit(out, rec, ts)

    def _emit(self, out: list[AlarmRecord], rec: AlarmRecord, ts: float) -> None:
        rec.ts = ts
        rec.seq += 1
        if rec.state in (AlarmState.UNACK, AlarmState.ACKED):
            self.state.raise_alarm(rec.alarm_id, rec.source_id, rec.level, ts, rec.message)
            if rec.state is AlarmState.ACKED:
                self.state.set_alarm_acknowledged(rec.alarm_id, True)
        elif rec.state is AlarmState.RTN_UNACK:
            self.state.raise_alarm(rec.alarm_id, rec.source_id, rec.level, ts, rec.message, returned=True)
        else:
            self.state.clear_alarm(rec.alarm_id, ts)
        snap = replace(rec)
        out.append(snap)
        self.state.bus.publish(AlarmStateChanged(
            rec.alarm_id, rec.source_id, rec.kind, rec.state.value, rec.level, rec.priority, ts,
            rec.value, rec.limit, rec.raised_ts, rec.acked_by, rec.message, rec.seq))

    def acknowledge(self, alarm_id: str, ts: float, by: str = "") -> list[AlarmRecord]:
        """Operator acknowledgement; returns the transition (empty when nothing to ack)."""
        rec = self.records.get(alarm_id)
        if rec is None or rec.state not in (AlarmState.UNACK, AlarmState.RTN_UNACK):
            return []
        rec.state = AlarmState.ACKED if rec.state is AlarmState.UNACK else AlarmState.NORMAL
        rec.acked_by = by or None
        out: list[AlarmRecord] = []
        self._emit(out, rec, ts)
        return out

    def shelve(self, alarm_id: str, ts: float, duration_s: float, by: str = "") -> list[AlarmRecord]:
        """Shelve an alarm for ``duration_s`` seconds (it leaves the active list)."""
        rec = self.records.get(alarm_id)
        if rec is None:
            return []
        rec.state, rec.shelved_until, rec.acked_by = AlarmState.SHELVED, ts + duration_s, by or None
        out: list[AlarmRecord] = []
        self._emit(out, rec, ts)
        return out

    def unshelve(self, alarm_id: str, ts: float, by: str = "") -> list[AlarmRecord]:
        """Return a shelved alarm to service: UNACK if its condition is active, else NORMAL."""
        rec = self.records.get(alarm_id)
        if rec is None or rec.state is not AlarmState.SHELVED:
            return []
        rec.shelved_until = None
        rec.state = AlarmState.UNACK if rec.active else AlarmState.NORMAL
        out: list[AlarmRecord] = []
        self._emit(out, rec, ts)
        return out

    def restore(self, rec: AlarmRecord) -> None:
        """Adopt a record from the retained alarm topic after a restart (no transition emitted)."""
        self.records[rec.alarm_id] = rec
        tr = self._tracks.get(rec.source_id)
        if tr is not None:
            tr.n_active = sum(1 for k in ("LVL", "ROC", "FLT", "STL")
                              if (r := self.records.get(f"{rec.source_id}_{k}")) is not None and r.active)
        cfg = self.configs.get(rec.source_id)
        if rec.kind == "LVL" and tr is not None and cfg is not None and rec.active:
            names = [n for n, _ in cfg.levels]
            if rec.level in names:
                tr.active_level = names.index(rec.level) + 1
        if rec.state in (AlarmState.UNACK, AlarmState.ACKED, AlarmState.RTN_UNACK):
            self.state.raise_alarm(rec.alarm_id, rec.source_id, rec.level, rec.ts, rec.message,
                                   returned=rec.state is AlarmState.RTN_UNACK)
            if rec.state is AlarmState.ACKED:
                self.state.set_alarm_acknowledged(rec.alarm_id, True)

    def current(self) -> list[AlarmRecord]:
        """Copies of every alarm not in NORMAL."""
        return [replace(r) for r in self.records.values() if r.state is not AlarmState.NORMAL]
