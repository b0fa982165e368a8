"""The ingest pipeline without MQTT: one inbound message → decoded, validated, deduplicated,
applied to TwinState, handed to the history writer and, when live, to the alarm engine.

:meth:`Ingestor.handle` never raises: every message ends up applied (fully or partly) or
counted as rejected by reason in :class:`~safetwin.live_bridge.rejects.RejectCounter`.
:meth:`Ingestor.handle_burst` processes the messages of one socket read together: each is
decoded, validated and handed to history as before, but the live readings of consecutive
gateway batches are concatenated and applied to TwinState and submitted to the alarm engine
once per burst (same result as one by one: both walk the readings in arrival order).
History rows go to the sink's ``put_record`` (columns; the bridge's durable ingest log,
:mod:`~safetwin.live_bridge.ingestlog`), else ``put_prepared_readings`` (row tuples), else
``put_readings`` (dicts). Every row names the site.
Times: float seconds since the Unix epoch (UTC) inside; RFC 3339 with zone in payloads. History
keeps the time the source gave (its key ends with it, so a redelivered message is the same row
whenever it arrives); the live state uses the arrival time instead of a source time more than
``skew_tolerance_s`` in the future (flagged ``clock_skew``).

Example::

    >>> from safetwin.plant_models.loader import load_plant, bundled_plant_path
    >>> from safetwin.twin.state import TwinState
    >>> state = TwinState(load_plant(bundled_plant_path("small_plant")))
    >>> ing = Ingestor(state, site="site1")
    >>> import time; now = time.time()
    >>> from safetwin.live_bridge.payloads import iso_ms
    >>> p = ('{"sid":"GD-01","seq":1,"ts":"%s","v":3.5}' % iso_ms(now)).encode()
    >>> ing.handle("pst/v1/site1/a/u/sensor/GD-01/reading", p).applied
    1
    >>> state.reading("GD-01").value
    3.5
"""
from __future__ import annotations

import logging
import math
import operator
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol

import msgspec
import shapely

from safetwin.plant_models.geometry import assembly_approaches
from safetwin.twin.state import TwinState
from safetwin.twin.weather import MetObservation, screen_observation

from . import payloads as P
from . import topics as T
from .dedupe import SeqTracker
from .rejects import RejectCounter
from .sparkplug.host import NAMESPACE as SPB_NAMESPACE
from .sparkplug.host import SparkplugError, SparkplugHost

log = logging.getLogger(__name__)

_BOM = b"\xef\xbb\xbf"
_UTC = timezone.utc
#: earliest plausible source time (s); earlier means a unit mix-up (ms/ns) or an unset clock
MIN_TS = datetime(2000, 1, 1, tzinfo=_UTC).timestamp()
#: payload quality → twin quality (None: decided by range)
_Q = {"good": None, "uncertain": None, "bad": "fault", "stale": "stale"}
#: batch layouts (sensor ids in order) whose registry columns are kept (:meth:`Ingestor._layout`),
#: and parsed topics kept
MAX_LAYOUTS = 1024
_astuple = msgspec.structs.astuple
_le = operator.le
_timestamp = datetime.timestamp
_RETAINED_KINDS = frozenset({T.META, T.EQUIPMENT, T.GW_STATUS})
#: met quantity (plant schema ``measures``) → field of the observation message
_MET_FIELDS = {"wind_speed": "wind_speed_m_s", "wind_direction": "wind_from_deg", "sigma_theta": "sigma_theta_deg",
               "temperature": "temperature_c", "solar_radiation": "solar_w_m2", "delta_t": "delta_t_k"}


class HistorySink(Protocol):
    """What the ingestor needs of the history writer (``BatchWriter`` fits)."""

    def put_readings(self, rows: Any) -> None: ...
    # optional: put_prepared_readings(rows) (row tuples), put_rows(rows) + put_record(columns) (the log)
    def put_positions(self, rows: Any) -> None: ...


class AlarmSink(Protocol):
    def submit_readings(self, readings: Any) -> None: ...
    def command(self, cmd: str, alarm_id: str, ts: float, by: str = "", shelve_s: float = 3600.0) -> None: ...


@dataclass(slots=True)
class Outcome:
    """What became of one message: readings/fixes applied live, stored only, rejected."""

    kind: str = ""
    applied: int = 0       # changed the live state
    history: int = 0       # rows handed to history (live or not)
    rejected: int = 0
    reason: str = ""


@dataclass(frozen=True, slots=True)
class IngestConfig:
    """Tolerances (s): future source times within ``skew_tolerance_s`` are trusted; beyond,
    the arrival time is used and ``clock_skew`` flagged. Readings older than ``max_live_age_s``
    go to history only (``late_history``). ``flood_rate_per_s``/``flood_burst`` bound how many
    readings per second one single-reading source feeds the alarm queue before being conflated.
    A position fix farther than ``position_margin_m`` outside the site boundary and the declared
    off-site assembly points (their discs and approach corridors from the gates), or with a height
    beyond ``max_abs_z_m``, is implausible (a tag or engine fault) and rejected."""

    skew_tolerance_s: float = 2.0
    max_live_age_s: float = 300.0
    flood_rate_per_s: float = 50.0
    flood_burst: float = 100.0
    position_margin_m: float = 100.0
    max_abs_z_m: float = 500.0


class Ingestor:
    """Decode → validate → dedupe → TwinState + history + alarm queue, for one site."""

    def __init__(self, state: TwinState, site: str, *, history: HistorySink | None = None,
                 alarms: AlarmSink | None = None, rejects: RejectCounter | None = None,
                 config: IngestConfig = IngestConfig(), plant_id: str | None = None,
                 on_cmd_response: Callable[[str, P.CmdResponseMsg], None] | None = None,
                 sparkplug: SparkplugHost | None = None) -> None:
        self.state = state
        self.site = site
        self.history = history
        self.alarms = alarms
        self.rejects = rejects or RejectCounter()
        self.config = config
        self.plant_id = plant_id or state.plant.id
        self.on_cmd_response = on_cmd_response
        #: the Sparkplug B host (``spBv1.0/…`` topics); None: those topics are unknown
        self.sparkplug = sparkplug
        self.tracker = SeqTracker()
        self.units = {sid: s.unit for sid, s in state.sensors.items()}
        self.ranges = {sid: (s.range_min, s.range_max) for sid, s in state.sensors.items()}
        self.equipment = set(state.plant.equipment)
        #: where a position fix may plausibly lie: the site and the off-site assembly points' approaches
        #: and discs, plus the margin
        self._plausible_area = state.plant.boundary.union(assembly_approaches(state.plant)).buffer(
            config.position_margin_m)
        shapely.prepare(self._plausible_area)
        self.meta: dict[str, P.MetaMsg] = {}
        self.gateways: dict[str, bool] = {}
        #: (gateway, boot, seq) of the gateway batches handled since :meth:`take_receipts`, new
        #: and duplicate alike (both are durable once history is); None: not collected
        self.receipts: list[tuple[str, int, int]] | None = None
        self.messages = 0
        self.readings_applied = 0
        self.readings_history = 0
        self.positions_applied = 0
        #: live readings of the current burst's batches waiting to be applied (sids, values,
        #: times, qualities); None outside :meth:`handle_burst`
        self._burst: tuple[list[str], list[float | None], list[float], list[str]] | None = None
        #: inbound topics seen, parsed (at most MAX_LAYOUTS)
        self._parsed: dict[str, T.ParsedTopic] = {}
        #: registry columns per batch layout (sensor ids in order), see :meth:`_layout`
        self._layouts: dict[tuple[str, ...], tuple[list[str | None], list[float], list[float], bool]] = {}
        #: the history sink takes a message's rows as columns (the durable ingest log)
        self._columns = hasattr(history, "put_rows") and hasattr(history, "put_record")
        self._handlers: dict[str, Callable[[str, bytes, float], Outcome]] = {
            T.READING: self._reading, T.BATCH: self._batch, T.LOCATION: self._location,
            T.LOCATIONS: self._locations, T.EQUIPMENT: self._equipment, T.META: self._meta,
            T.GW_STATUS: self._status, T.TWIN_CMD: self._alarm_cmd, T.CMD_RESPONSE: self._cmd_response,
            T.MET: self._met,
        }

    # ------------------------------------------------------------------ entry point
    def handle_burst(self, messages: list[tuple[str, bytes]], received_ts: float | None = None) -> None:
        """Process the messages ``(topic, payload)`` received together, in order; never raises.
        When it returns, every live reading among them is applied to TwinState and queued for
        the alarm engine (one ``apply_readings`` and one alarm submission for the batches of the
        burst) and every history row handed to the history sink. ``received_ts`` (s) defaults
        to now; outcomes are counted (``messages``, ``readings_applied``, rejects), not returned."""
        now = time.time() if received_ts is None else received_ts
        self._burst = ([], [], [], [])
        try:
            for topic, payload in messages:
                self.handle(topic, payload, now)
        finally:
            self._flush_burst(now)
            self._burst = None

    def _flush_burst(self, now: float) -> None:
        """Apply the live readings collected from the burst's batches so far."""
        b = self._burst
        if b is None or not b[0]:
            return
        self._burst = ([], [], [], [])
        try:
            self._apply_live(*b, now, None)
        except Exception as exc:  # never crash the bridge
            log.exception("applying a burst of %d readings failed", len(b[0]))
            self.rejects.reject("internal_error", "", None, f"{type(exc).__name__}: {exc}", len(b[0]))

    def handle(self, topic: str, payload: bytes, received_ts: float | None = None) -> Outcome:
        """Process one message; never raises. ``received_ts`` defaults to now (s)."""
        self.messages += 1
        now = time.time() if received_ts is None else received_ts
        try:
            if topic.startswith(SPB_NAMESPACE) and self.sparkplug is not None:
                return self._sparkplug(topic, payload, now)
            pt = self._parsed.get(topic)
            if pt is None:
                pt = T.parse_topic(topic, self.site)
                if pt is None:
                    return self._reject("unknown_topic", topic, payload, "not in the pst/v1 inbound schema")
                if len(self._parsed) < MAX_LAYOUTS:   # (bounded: a flood of new topics must not grow memory)
                    self._parsed[topic] = pt
            if self._burst is not None and pt.kind != T.BATCH and self._burst[0]:
                self._flush_burst(now)   # anything else sees the state of the batches before it
            if not payload:
                if pt.kind in _RETAINED_KINDS:
                    return Outcome(pt.kind)  # an empty retained message deletes retained state
                return self._reject("empty", topic, payload, "empty payload")
            cap = P.MAX_SINGLE_BYTES if pt.kind in (T.READING, T.LOCATION, T.EQUIPMENT, T.META,
                                                     T.GW_STATUS, T.MET) else P.MAX_BATCH_BYTES
            if len(payload) > cap:
                return self._reject("too_large", topic, payload[:64], f"{len(payload)} bytes > {cap}")
            # Nesting is checked before decoding, except for gateway batches (the hot path, ~10 %
            # of its CPU): their typed decoder refuses nested values in every field it knows, and
            # unknown fields nested past the interpreter's recursion limit end as "too_deep" below.
            if pt.kind != T.BATCH and P.too_deep(payload):
                return self._reject("too_deep", topic, payload[:64],
                                    f"arrays/objects nested deeper than {P.MAX_NESTING} levels")
            if payload.startswith(_BOM):
                payload = payload[3:]
            out = self._handlers[pt.kind](topic, payload, now) if pt.entity is not None else Outcome()
            if out.kind == "":
                out.kind = pt.kind
            return out
        except msgspec.ValidationError as exc:  # (a DecodeError subclass: first)
            text = str(exc)
            reason = "not_object" if text.startswith("Expected `object`") else "invalid_field"
            return self._reject(reason, topic, payload, text)
        except msgspec.DecodeError as exc:
            reason = "not_utf8" if _not_utf8(payload) else "malformed_json"
            return self._reject(reason, topic, payload, str(exc))
        except _Reject as r:
            return self._reject(r.reason, topic, payload, r.detail)
        except RecursionError:   # the nesting check above should have caught it
            return self._reject("too_deep", topic, payload[:64], "nesting too deep to decode")
        except Exception as exc:
            log.exception("ingest failed on %s", topic)
            return self._reject("internal_error", topic, payload, f"{type(exc).__name__}: {exc}")

    def take_receipts(self) -> list[tuple[str, int, int]] | None:
        """The receipts collected since the last call (None when not collecting)."""
        got = self.receipts
        if got:
            self.receipts = []
        return got

    def _reject(self, reason: str, topic: str, payload: bytes | None, detail: str, n: int = 1) -> Outcome:
        self.rejects.reject(reason, topic, payload, detail, n)
        return Outcome(rejected=n, reason=reason)

    # ------------------------------------------------------------------ readings
    def _source_ts(self, ts: float, now: float) -> tuple[float, bool]:
        """(time to use, is live); flags clock skew and late data."""
        if ts < MIN_TS:
            raise _Reject("bad_timestamp", f"source time {ts} is before 2000 (unit mix-up?)")
        if ts > now + self.config.skew_tolerance_s:
            self.rejects.flag("clock_skew")
            return now, True
        if ts < now - self.config.max_live_age_s:
            self.rejects.flag("late_history")
            return ts, False
        return ts, True

    def _admit(self, sid: str, boot: int, seq: int, source_time: datetime, now: float) -> tuple[str, float, float, bool]:
        """One source record past the replay check: (source key, source time s, time used s, live);
        a duplicate is rejected, a counter restart or a replay is flagged."""
        source = sid if boot == 0 else f"{sid}#{boot}"
        source_ts = source_time.timestamp()
        ts, live = self._source_ts(source_ts, now)
        verdict = self.tracker.check(source, seq, source_ts)
        if verdict == "duplicate":
            raise _Reject("duplicate", f"({source}, {seq}) already seen")
        if verdict != "new":
            self.rejects.flag(verdict)
        return source, source_ts, ts, live

    def _reading(self, topic: str, payload: bytes, now: float) -> Outcome:
        m = P.decode_reading(payload)
        if topic.split("/")[6] != m.sid:
            raise _Reject("topic_mismatch", f"topic names {topic.split('/')[6]!r}, payload {m.sid!r}")
        source, source_ts, ts, live = self._admit(m.sid, m.boot, m.seq, m.ts, now)
        flood = live and not self.tracker.allow(source, now, self.config.flood_rate_per_s, self.config.flood_burst)
        if flood:
            self.rejects.flag("flood")
        out = Outcome(T.READING)
        rows: list[tuple] = []
        submit: list[tuple[str, float | None, float, str]] = []
        self._one(m.sid, m.v, m.u, m.q, source_ts, ts, live and not m.hist, now, source, m.seq, rows, submit, out)
        self._flush(rows, submit, out, now, conflate=flood, topic=topic)
        return out

    def _batch(self, topic: str, payload: bytes, now: float) -> Outcome:
        """A gateway batch. Entries are decoded raw (:class:`~.payloads.RawBatchEntry`: times
        checked by the decoder, ids once per distinct value); the common all-clean batch is then
        turned into history columns and live columns by a few list comprehensions, anything
        unusual by the per-entry loop of :meth:`_batch_entries`. TwinState, history and the
        alarm queue each get the whole batch in one call."""
        m = P.decode_raw_batch(payload)
        if topic.split("/")[4] != m.gw:
            raise _Reject("topic_mismatch", f"topic names gateway {topic.split('/')[4]!r}, payload {m.gw!r}")
        if self.receipts is not None:
            self.receipts.append((m.gw, m.boot, m.seq))
        r = m.r
        n = len(r)
        # one pass over the entries: columns (tuples) of ids, times, values, units, qualities
        sids, times, vals, us, qs = zip(*map(_astuple, r)) if n else ((), (), (), (), ())
        layout = self._layouts.get(sids)
        if layout is None:
            layout = self._layout(sids)
        units_l, lows, highs, known = layout
        if not known:   # an id outside the registry must still be a well-formed id
            for i, (sid, unit) in enumerate(zip(sids, units_l)):
                if unit is None:
                    P.check_id(sid, f"$.r[{i}].sid")
        source = m.gw if m.boot == 0 else f"{m.gw}#{m.boot}"
        verdict = self.tracker.check(source, m.seq, m.ts.timestamp())
        if verdict == "duplicate":
            raise _Reject("duplicate", f"({source}, {m.seq}) already seen")
        if verdict != "new":
            self.rejects.flag(verdict)
        out = Outcome(T.BATCH)
        if n == 0:
            return out
        first = times[0]
        # gateways send one time per reading; a batch stamped once converts one datetime
        tss = ([first.timestamp()] * n if times[-1] == first and times.count(first) == n
               else list(map(_timestamp, times)))
        base = m.seq * P.MAX_BATCH
        plant_id = self.plant_id
        fast = (known and None not in vals and qs.count("good") == n
                and (us.count(None) == n or all(u is None or u == un for u, un in zip(us, units_l)))
                and min(tss) >= max(MIN_TS, now - self.config.max_live_age_s)
                and max(tss) <= now + self.config.skew_tolerance_s)
        if fast:
            if all(map(_le, lows, vals)) and all(map(_le, vals, highs)):   # (the usual case, at C speed)
                quals = ["ok"] * n
            else:
                quals = ["ok" if lo <= v <= hi else "out_of_range" for lo, v, hi in zip(lows, vals, highs)]
            if self._columns:   # the durable log takes the message as columns: no per-row tuples
                self.history.put_record(plant_id, source, now, base, sids, tss, vals,  # type: ignore[union-attr]
                                        units_l, quals, self.site)
                rows = None
                out.history = n
                self.readings_history += n
            else:
                site = self.site
                rows = [(plant_id, s, t, now, v, un, q, source, base + i, site)
                        for i, (s, t, v, un, q) in enumerate(zip(sids, tss, vals, units_l, quals))]
            if m.hist:
                sids, vals, tss, quals = [], [], [], []
        else:
            rows, sids, vals, tss, quals = self._batch_entries(m, tss, units_l, source, base, topic, payload,
                                                               now, out)
        if rows:
            self._history_rows(rows)
            out.history = len(rows)
            self.readings_history += len(rows)
        if sids:
            b = self._burst
            if b is not None:         # a burst: applied once for all its batches
                b[0].extend(sids)
                b[1].extend(vals)
                b[2].extend(tss)
                b[3].extend(quals)
                out.applied = len(sids)
            else:
                self._apply_live(sids, vals, tss, quals, now, out)
        return out

    def _layout(self, sids: tuple[str, ...]) -> tuple[list[str | None], list[float], list[float], bool]:
        """The registry columns of a batch's sensor ids (units, range minima and maxima; None /
        NaN for an unknown id) and whether every id is known; kept for the next batch with the
        same ids in the same order (what a gateway sends), at most :data:`MAX_LAYOUTS`."""
        units = self.units
        nan = math.nan
        ranges = [self.ranges.get(s, (nan, nan)) for s in sids]
        units_l = [units.get(s) for s in sids]
        layout = (units_l, [lh[0] for lh in ranges], [lh[1] for lh in ranges], None not in units_l)
        if len(self._layouts) >= MAX_LAYOUTS:
            self._layouts.clear()   # (random ids in a flood of bad batches must not grow memory)
        self._layouts[sids] = layout
        return layout

    def _apply_live(self, sids: list[str], vals: list[float | None], tss: list[float], quals: list[str],
                    now: float, out: Outcome | None) -> None:
        """Apply live readings (columns, in arrival order) to TwinState and queue the applied
        ones for the alarm engine; older-than-held ones are counted ``out_of_order``."""
        skipped = self.state.apply_readings(sids, vals, tss, quals, now)
        if skipped:
            self.rejects.flag("out_of_order", len(skipped))
            skip = set(skipped)
            keep = [i for i in range(len(sids)) if i not in skip]
            sids = [sids[i] for i in keep]
            vals = [vals[i] for i in keep]
            tss = [tss[i] for i in keep]
            quals = [quals[i] for i in keep]
        if out is not None:
            out.applied = len(sids)
        self.readings_applied += len(sids)
        if sids and self.alarms is not None:
            submit = getattr(self.alarms, "submit_columns", None)
            if submit is not None:
                submit(sids, vals, tss, quals)
            else:
                self.alarms.submit_readings(list(zip(sids, vals, tss, quals)))

    def _batch_entries(self, m: P.RawBatchMsg, tss_in: list[float], units_l: list[str | None],
                       source: str, base: int, topic: str, payload: bytes, now: float, out: Outcome
                       ) -> tuple[list[tuple], list[str], list[float | None], list[float], list[str]]:
        """The per-entry path of :meth:`_batch` (unknown sensors, units, missing values, bad
        qualities, skewed or late times): (history rows, live sids, values, times, qualities)."""
        ranges, plant_id, qmap, site = self.ranges, self.plant_id, _Q, self.site
        future = now + self.config.skew_tolerance_s
        oldest_live = now - self.config.max_live_age_s
        live_ok = not m.hist
        rows: list[tuple] = []
        sids: list[str] = []
        vals: list[float | None] = []
        tss: list[float] = []
        quals: list[str] = []
        for i, e in enumerate(m.r):
            sid, v, q = e.sid, e.v, e.q
            unit = units_l[i]
            t = tss_in[i]
            if unit is None or (e.u is not None and e.u != unit) or t < MIN_TS or (v is None and q == "good"):
                out.rejected += 1
                rj = self._entry_reject(sid, e.u, unit, t, v)
                self.rejects.reject(rj.reason, topic, payload, f"r[{i}]: {rj.detail}")
                continue
            live = live_ok
            t_live = t
            if t > future:
                self.rejects.flag("clock_skew")
                t_live = now
            elif t < oldest_live:
                self.rejects.flag("late_history")
                live = False
            if v is None:
                quality = "fault"
            else:
                quality = qmap[q]
                if quality is None:
                    lo, hi = ranges[sid]
                    quality = "ok" if lo <= v <= hi else "out_of_range"
            rows.append((plant_id, sid, t, now, v, unit, quality, source, base + i, site))
            if live:
                sids.append(sid)
                vals.append(v)
                tss.append(t_live)
                quals.append(quality)
        return rows, sids, vals, tss, quals

    def _entry_reject(self, sid: str, u: str | None, unit: str | None, t: float, v: float | None) -> _Reject:
        """Why a batch entry is rejected (the rare path of :meth:`_batch`)."""
        if t < MIN_TS:
            return _Reject("bad_timestamp", f"source time {t} is before 2000 (unit mix-up?)")
        if unit is None:
            self.rejects.log_once("sensor:" + sid, f"reading for unknown sensor {sid!r} rejected")
            return _Reject("unknown_sensor", f"sensor {sid!r} is not in the plant registry")
        if u is not None and u != unit:
            return _Reject("unit_mismatch", f"{sid}: unit {u!r}, registry says {unit!r}")
        return _Reject("missing_value", f"{sid}: null value with quality good")

    def _history_rows(self, rows: list[tuple]) -> None:
        """Hand prepared reading rows (store.READING_ROW_FIELDS order, times as float seconds)
        to the history sink: ``put_rows`` (the durable ingest log), else
        ``put_prepared_readings``, else the classic row dicts."""
        h = self.history
        if h is None:
            return
        if self._columns:
            h.put_rows(rows)  # type: ignore[attr-defined]
            return
        put = getattr(h, "put_prepared_readings", None)
        if put is not None:
            put(rows)
            return
        fts = datetime.fromtimestamp
        h.put_readings([{"plant_id": r[0], "sensor_id": r[1], "ts": fts(r[2], _UTC), "received_ts": fts(r[3], _UTC),
                         "value": r[4], "unit": r[5], "quality": r[6], "source": r[7], "seq": r[8],
                         "site": r[9]} for r in rows])

    def _one(self, sid: str, v: float | None, u: str | None, q: str, source_ts: float, ts: float,
             live: bool, now: float, source: str, seq: int, rows: list, submit: list, out: Outcome) -> None:
        """Validate one reading and queue its effects (raises _Reject): history at the source's
        time ``source_ts``, the live state at ``ts`` (s)."""
        unit = self.units.get(sid)
        if unit is None:
            self.rejects.log_once("sensor:" + sid, f"reading for unknown sensor {sid!r} rejected")
            raise _Reject("unknown_sensor", f"sensor {sid!r} is not in the plant registry")
        if u is not None and u != unit:
            raise _Reject("unit_mismatch", f"{sid}: unit {u!r}, registry says {unit!r}")
        if v is None:
            if q == "good":
                raise _Reject("missing_value", f"{sid}: null value with quality good")
            quality = "fault"
        else:
            quality = _Q[q]
            if quality is None:
                lo, hi = self.ranges[sid]
                quality = "ok" if lo <= v <= hi else "out_of_range"
        rows.append((self.plant_id, sid, source_ts, now, v, unit, quality, source, seq, self.site))
        if live:
            if self.state.apply_reading(sid, math.nan if v is None else v, ts, quality, now):
                out.applied += 1
                submit.append((sid, v, ts, quality))
            else:
                self.rejects.flag("out_of_order")

    def _flush(self, rows: list, submit: list, out: Outcome, now: float, *, conflate: bool, topic: str) -> None:
        if rows:
            self._history_rows(rows)
            out.history += len(rows)
            self.readings_history += len(rows)
        if submit:
            self.readings_applied += len(submit)
            if self.alarms is not None:
                if conflate and hasattr(self.alarms, "submit_conflated"):
                    self.alarms.submit_conflated(submit)  # type: ignore[attr-defined]
                else:
                    self.alarms.submit_readings(submit)

    # ------------------------------------------------------------------ Sparkplug B
    def _sparkplug(self, topic: str, payload: bytes, now: float) -> Outcome:
        """A Sparkplug B message (:mod:`.sparkplug.host`): its mapped metrics validated and applied
        like single readings; a refused metric is counted with its index and name, the rest of
        the message is used."""
        if self._burst is not None and self._burst[0]:
            self._flush_burst(now)
        if not payload:
            raise _Reject("empty", "empty payload")
        if len(payload) > P.MAX_BATCH_BYTES:
            return self._reject("too_large", topic, payload[:64], f"{len(payload)} bytes > {P.MAX_BATCH_BYTES}")
        try:
            res = self.sparkplug.handle(topic, payload, now)  # type: ignore[union-attr]
        except SparkplugError as exc:
            raise _Reject(exc.reason, exc.detail) from None
        out = Outcome("sparkplug")
        for _i, reason, detail in res.rejected:
            out.rejected += 1
            self.rejects.reject(reason, topic, payload, detail)
        rows: list[tuple] = []
        submit: list[tuple[str, float | None, float, str]] = []
        for r in res.readings:
            try:
                ts, live = self._source_ts(r.ts, now)
                self._one(r.sensor, r.value, None, r.quality, r.ts, ts, live and not r.historical, now, r.source,
                          r.seq, rows, submit, out)
            except _Reject as rj:
                out.rejected += 1
                self.rejects.reject(rj.reason, topic, payload, f"metrics[{r.index}] {r.name!r}: {rj.detail}")
        self._flush(rows, submit, out, now, conflate=False, topic=topic)
        return out

    # ------------------------------------------------------------------ people
    def _location(self, topic: str, payload: bytes, now: float) -> Outcome:
        m = P.decode_location(payload)
        if topic.split("/")[4] != m.provider_id:
            raise _Reject("topic_mismatch", f"topic names tag {topic.split('/')[4]!r}, payload {m.provider_id!r}")
        seq = m.properties.get("seq")
        if type(seq) is int and seq >= 0:
            verdict = self.tracker.check(m.provider_id, seq, m.timestamp_generated.timestamp())
            if verdict == "duplicate":
                raise _Reject("duplicate", f"({m.provider_id}, {seq}) already seen")
        return self._apply_locations([m], now, topic, payload)

    def _locations(self, topic: str, payload: bytes, now: float) -> Outcome:
        m = P.decode_locations(payload)
        if topic.split("/")[4] != m.engine:
            raise _Reject("topic_mismatch", f"topic names engine {topic.split('/')[4]!r}, payload {m.engine!r}")
        source = m.engine if m.boot == 0 else f"{m.engine}#{m.boot}"
        if self.tracker.check(source, m.seq, now) == "duplicate":
            raise _Reject("duplicate", f"({source}, {m.seq}) already seen")
        return self._apply_locations(m.locations, now, topic, payload)

    def _apply_locations(self, locs: list[P.LocationMsg], now: float, topic: str, payload: bytes) -> Outcome:
        out = Outcome(T.LOCATION)
        ids: list[str] = []
        xs: list[float] = []
        ys: list[float] = []
        zs: list[float] = []
        tss: list[float] = []
        rows: list[dict[str, Any]] = []
        area, max_z = self._plausible_area, self.config.max_abs_z_m
        for i, loc in enumerate(locs):
            source_ts = loc.timestamp_generated.timestamp()
            c = loc.position.coordinates
            z = c[2] if len(c) > 2 else 0.0
            try:
                ts, live = self._source_ts(source_ts, now)
                if not shapely.contains_xy(area, c[0], c[1]) or abs(z) > max_z:
                    raise _Reject("implausible_position",
                                  f"({c[0]:.6g}, {c[1]:.6g}, {z:.6g}) m is more than {self.config.position_margin_m:g} m "
                                  f"outside the site and its assembly points or {max_z:g} m off the ground")
            except _Reject as r:
                out.rejected += 1
                out.reason = r.reason
                self.rejects.reject(r.reason, topic, payload, f"[{i}]: {r.detail}")
                continue
            pid = loc.trackables[0] if loc.trackables else loc.provider_id
            rows.append({"plant_id": self.plant_id, "site": self.site, "person_id": pid,
                         "ts": datetime.fromtimestamp(source_ts, _UTC),
                         "x_m": c[0], "y_m": c[1], "z_m": z,
                         "area_id": self.state.area_of(c[0], c[1]) if not live else None})
            if live:
                ids.append(pid)
                xs.append(c[0])
                ys.append(c[1])
                zs.append(z)
                tss.append(ts)
        if ids:
            out.applied = self.state.update_positions(ids, xs, ys, tss, z=zs)
            self.positions_applied += out.applied
            # area of each live fix for history: take it from the state after the update
            for r in rows:
                if r["area_id"] is None:
                    r["area_id"] = self.state.area_of(r["x_m"], r["y_m"])
        if rows and self.history is not None:
            self.history.put_positions(rows)
        out.history = len(rows)
        return out

    # ------------------------------------------------------------------ equipment, meta, status, commands
    def _equipment(self, topic: str, payload: bytes, now: float) -> Outcome:
        m = P.decode_equipment(payload)
        if topic.split("/")[4] != m.eid:
            raise _Reject("topic_mismatch", f"topic names {topic.split('/')[4]!r}, payload {m.eid!r}")
        if m.eid not in self.equipment:
            raise _Reject("unknown_equipment", f"equipment {m.eid!r} is not in the plant")
        source = m.eid if m.boot == 0 else f"{m.eid}#{m.boot}"
        ts, _live = self._source_ts(m.ts.timestamp(), now)
        if self.tracker.check(source, m.seq, ts) == "duplicate":
            raise _Reject("duplicate", f"({source}, {m.seq}) already seen")
        attrs = {"desired": m.desired, "src": m.src, "quality": m.q}
        ok = self.state.set_equipment_state(m.eid, m.state, ts, **attrs)
        return Outcome(T.EQUIPMENT, applied=int(ok))

    def _met(self, topic: str, payload: bytes, now: float) -> Outcome:
        """An observation record of a met station: screened (:func:`safetwin.twin.weather.screen_observation`)
        and made the twin's live weather. A quantity the plant does not list in the station's
        ``measures`` is refused (``undeclared_quantity``); an implausible value keeps the record, as
        a station fault the twin shows (flag ``met_fault``)."""
        m = P.decode_met(payload)
        if topic.split("/")[4] != m.sid:
            raise _Reject("topic_mismatch", f"topic names {topic.split('/')[4]!r}, payload {m.sid!r}")
        station = self.state.sensors.get(m.sid) if m.sid in self.units else None
        if station is None:
            self.rejects.log_once("sensor:" + m.sid, f"met observation of unknown station {m.sid!r} rejected")
            raise _Reject("unknown_sensor", f"station {m.sid!r} is not in the plant registry")
        if getattr(station.type, "value", station.type) != "weather":
            raise _Reject("not_a_met_station", f"sensor {m.sid!r} is not a weather station")
        declared = {getattr(q, "value", q) for q in station.measures}
        given = {q for q, v in _MET_FIELDS.items() if getattr(m, v) is not None}
        if declared and not given <= declared:
            raise _Reject("undeclared_quantity", f"{m.sid}: {sorted(given - declared)} not in its measures "
                                                 f"{sorted(declared)}")
        _source, _source_ts, ts, live = self._admit(m.sid, m.boot, m.seq, m.ts, now)
        if not live or m.hist:
            return Outcome(T.MET)
        obs = screen_observation(MetObservation(
            m.sid, ts, m.period_s, m.wind_speed_m_s, m.wind_from_deg, m.sigma_theta_deg,
            None if m.temperature_c is None else m.temperature_c + 273.15, m.solar_w_m2, m.delta_t_k,
            received_ts=now), m.q)
        if obs.quality == "fault":
            self.rejects.flag("met_fault")
        ok = self.state.apply_met_observation(obs)
        if not ok:
            self.rejects.flag("out_of_order")
        return Outcome(T.MET, applied=int(ok))

    def _meta(self, topic: str, payload: bytes, now: float) -> Outcome:
        m = P.decode_meta(payload)
        if topic.split("/")[6] != m.sid:
            raise _Reject("topic_mismatch", f"topic names {topic.split('/')[6]!r}, payload {m.sid!r}")
        if m.sid not in self.units:
            raise _Reject("unknown_sensor", f"metadata for unknown sensor {m.sid!r}")
        if m.u is not None and m.u != self.units[m.sid]:
            self.rejects.flag("meta_unit_mismatch")
        self.meta[m.sid] = m
        return Outcome(T.META, applied=1)

    def _status(self, topic: str, payload: bytes, now: float) -> Outcome:
        m = P.decode_status(payload)
        self.gateways[topic.split("/")[4]] = m.online
        if not m.online:
            self.rejects.flag("gateway_offline")
        return Outcome(T.GW_STATUS, applied=1)

    def _alarm_cmd(self, topic: str, payload: bytes, now: float) -> Outcome:
        m = P.decode_alarm_cmd(payload)
        if self.alarms is not None:
            self.alarms.command(m.cmd, m.alarm_id, now, m.by, m.shelve_s)
        return Outcome(T.TWIN_CMD, applied=1)

    def _cmd_response(self, topic: str, payload: bytes, now: float) -> Outcome:
        m = P.decode_cmd_response(payload)
        if self.on_cmd_response is not None:
            self.on_cmd_response(topic.split("/")[4], m)
        return Outcome(T.CMD_RESPONSE, applied=1)


class _Reject(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        self.reason, self.detail = reason, detail


def _not_utf8(payload: bytes) -> bool:
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False
