"""A simulated plant: realistic MQTT traffic for every detector, person and piece of equipment.

:class:`PlantSimulator` turns a :class:`~safetwin.plant_models.loader.Plant` into the inbound
traffic of schema ``pst/v1`` (see ``docs/mqtt-topics.md``), without I/O of its own:

* **Detectors** report every ``period_s / rate`` seconds: a normal value per sensor type with
  Gaussian noise (0.5 % of span), a slow drift (±1 % of span over about an hour) and, at
  ``fault_rate_per_h`` per sensor, occasional faults — *stuck* (value frozen), *out of range*
  (above ``range_max``), *dropout* (silent) or *bad* (``q: "bad"``, no value). Readings travel
  in gateway batches (one gateway per area, ``gw/{gw}/readings``, QoS 1) every
  ``gateway_period_s``.
* **Gas**: the simulator has no physics of its own. The caller passes the released
  ``substance`` and a concentration function ``c(x_m, y_m, t_s) -> mg/m³`` (``t_s`` in seconds
  since the simulation start; e.g. the planner's ``plume_as_function`` or
  ``puff_train(...).concentration_at``); each detector adds the concentration at its position
  read in its unit by :mod:`safetwin.plant_models.detectors` (ppm via the molar mass at 25 °C,
  %LEL via the LFL for every flammable gas, mg/m3 as is, oxygen heads displaced by the gas
  volume fraction; toxic heads see only their own gas).
* **People**: every person of the chosen shift (the plant's headcount per area) wears a tag
  and walks (``walk_speed_m_s``) along the plant's road graph
  (:func:`safetwin.plant_models.geometry.road_graph`, roads and walkways) between their home
  area and other work areas, dwelling at random points inside areas. Fixes go out as omlox Location batches of one RTLS
  engine (``rtls/{engine}/locations``) every ``tag_period_s / rate``.
* **Equipment**: every item's state is published retained at start (pumps ``running``,
  others ``normal``); pumps occasionally stop and start again.
* **Weather**: every weather station publishes an observation record every ``period_s / rate``
  (``met/{sid}/obs``, QoS 1) of what it ``measures``: the wind at its height (``wind(t_s) ->
  (speed at 10 m m/s, FROM deg)``, default a steady 3 m/s from 270°, read with 1 % + 0.1 m/s and
  2° of noise), and the atmosphere of the ``stability`` class as the EPA methods read it
  (EPA-454/R-99-005 §6.4): σθ at the centre of the class's σA band, 20 °C, by day the solar
  radiation of the SRDT column that gives the class at that wind speed (none gives E or F by day:
  then < 175 W/m²), at night none and ΔT = +0.5 K (classes E, F) or −0.3 K. Stations have the
  detectors' faults: dropout leaves the station silent (stale), bad flags the record, stuck
  repeats it, out of range reports an impossible wind speed.

Sources use a boot counter (start time in s), so restarting the simulator never looks like a
replay to the bridge's dedupe. Times: source timestamps are wall-clock UTC; ``t_s`` of the
physics is seconds since the simulation start.

Example (no broker needed)::

    >>> from safetwin.plant_models.loader import load_plant, bundled_plant_path
    >>> sim = PlantSimulator(load_plant(bundled_plant_path("small_plant")), "site1",
    ...                      SimConfig(seed=1, fault_rate_per_h=0.0), start_ts=1.75e9)
    >>> kinds = {m.topic.split("/")[-1] for m in sim.advance(6.0)}
    >>> sorted(kinds)          # gas readings, people's positions, the met station's observations
    ['locations', 'obs', 'readings']
"""
from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, NamedTuple

import numpy as np
from shapely.geometry import Point

from safetwin.plant_models.detectors import clean_air_reading, response_factor
from safetwin.plant_models.geometry import road_graph
from safetwin.plant_models.loader import Plant
from safetwin.substances import get_substance

from .payloads import MAX_BATCH, iso_ms
from .topics import Topics

log = logging.getLogger(__name__)

#: ``f(x_m, y_m, t_s) -> mg/m³`` over broadcastable arrays (t_s: s since simulation start)
ConcentrationFunction = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
#: ``wind(t_s) -> (speed at 10 m m/s, FROM direction deg)`` (t_s: s since simulation start)
WindFunction = Callable[[float], tuple[float, float]]
FAULT_KINDS = ("stuck", "out_of_range", "dropout", "bad")


class Message(NamedTuple):
    """One MQTT message to publish (``gw_seq``: the sequence number of a gateway batch, else -1)."""

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False
    gw_seq: int = -1


@dataclass(frozen=True)
class SimConfig:
    """Settings of the simulated plant (times in s, speeds in m/s, rates per hour)."""

    rate: float = 1.0                  # multiplies every detector's and tag's reporting rate
    gateway_period_s: float = 1.0      # a gateway publishes its batch this often
    tag_period_s: float = 1.0          # a tag reports this often (before ``rate``)
    noise_frac: float = 0.005          # noise std as a fraction of the sensor span
    drift_frac: float = 0.01           # drift amplitude as a fraction of the span
    drift_period_s: float = 3600.0
    fault_rate_per_h: float = 0.5      # faults per sensor per hour
    fault_duration_s: tuple[float, float] = (30.0, 180.0)
    walk_speed_m_s: float = 1.3
    dwell_s: tuple[float, float] = (20.0, 120.0)
    shift: str | None = None           # None: the plant's first shift ("day" in the bundled plants)
    people: int | None = None          # override the shift headcount (spread over its areas)
    pump_toggle_per_h: float = 1.0     # state changes per pump per hour
    seed: int = 0
    engine: str = "rtls-sim"


def random_point_in(geom: Any, rng: random.Random, tries: int = 50) -> tuple[float, float]:
    """A uniformly random point inside a polygon (rejection sampling; the representative point
    after ``tries`` misses)."""
    minx, miny, maxx, maxy = geom.bounds
    for _ in range(tries):
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if geom.contains(Point(x, y)):
            return (x, y)
    p = geom.representative_point()
    return (p.x, p.y)


# ================================================================== people
@dataclass
class Walker:
    """One person: dwelling in an area or walking a polyline at ``speed`` m/s."""

    person_id: str
    tag_id: str
    home_area: str
    x: float
    y: float
    speed: float
    path: list[tuple[float, float]] = field(default_factory=list)
    cum: list[float] = field(default_factory=list)   # cumulative length along path (m)
    leg_start_s: float = 0.0
    dwell_until_s: float = 0.0
    target_area: str = ""

    def position(self, t_s: float) -> tuple[float, float]:
        if not self.path:
            return (self.x, self.y)
        d = (t_s - self.leg_start_s) * self.speed
        if d >= self.cum[-1]:
            return self.path[-1]
        k = max(0, int(np.searchsorted(self.cum, d, side="right")) - 1)
        seg = self.cum[k + 1] - self.cum[k]
        f = 0.0 if seg <= 0 else (d - self.cum[k]) / seg
        (x0, y0), (x1, y1) = self.path[k], self.path[k + 1]
        return (x0 + f * (x1 - x0), y0 + f * (y1 - y0))

    def arrived(self, t_s: float) -> bool:
        return not self.path or (t_s - self.leg_start_s) * self.speed >= self.cum[-1]


# ================================================================== detectors
@dataclass
class _Detector:
    sid: str
    gw: str
    x: float
    y: float
    unit: str
    stype: str
    gas_response: float             # reading change (sensor unit) per mg/m³ of the released gas
    lo: float
    hi: float
    base: float
    period_s: float
    next_s: float
    drift_phase: float
    fault: str = ""
    fault_until_s: float = 0.0
    stuck_value: float | None = None


@dataclass
class _Station:
    """A simulated weather station (see the module docstring)."""

    sid: str
    period_s: float
    next_s: float
    measures: set[str]
    height_m: float
    seq: int = 0
    fault: str = ""
    fault_until_s: float = 0.0
    stuck: dict[str, Any] | None = None
    latlon: tuple[float, float] | None = None


def _baseline(sensor: Any, lo: float, hi: float, first_level: float | None) -> float:
    """A normal reading per sensor type (in the sensor's unit)."""
    span = hi - lo
    unit = sensor.unit
    if clean_air_reading(sensor):      # oxygen heads read 20.9 %vol in clean air
        return clean_air_reading(sensor)
    if unit == "degC":
        return 25.0
    if unit in ("binary", "kW/m2"):
        return lo
    if first_level is not None:
        return lo + 0.05 * (first_level - lo)
    return lo + 0.01 * span


# ================================================================== the simulator
class PlantSimulator:
    """Traffic generator of one plant (see the module docstring). Call :meth:`start_messages`
    once, then :meth:`advance` with increasing simulation times; or let :meth:`run` publish."""

    def __init__(self, plant: Plant, site: str, config: SimConfig | None = None, *,
                 concentration: ConcentrationFunction | None = None, substance: str | None = None,
                 start_ts: float | None = None, wind: WindFunction | None = None, stability: str = "D") -> None:
        from safetwin.twin.alarms import rule_for_sensor

        self.plant = plant
        self.cfg = cfg = config or SimConfig()
        self.topics = Topics(site)
        self.rng = random.Random(cfg.seed)
        self.nrng = np.random.default_rng(cfg.seed)
        self.start_ts = time.time() if start_ts is None else start_ts
        self.boot = int(self.start_ts) % 2**31
        self.t_s = 0.0
        self.concentration = concentration
        if concentration is not None and not substance:
            raise ValueError("a concentration function needs the released substance's name")
        released = get_substance(substance) if concentration is not None and substance else None
        # detectors, one gateway per area
        self.detectors: list[_Detector] = []
        self.met_rng = random.Random(cfg.seed + 7919)     # the stations' own draws: detector traffic is unchanged
        self.stations = [_Station(s.id, s.period_s / cfg.rate, self.met_rng.uniform(0.0, s.period_s / cfg.rate),
                                  {getattr(q, "value", q) for q in s.measures} or {"wind_speed", "wind_direction"},
                                  s.height_m)
                         for s in plant.sensors.values() if getattr(s.type, "value", s.type) == "weather"]
        self.wind: WindFunction = wind or (lambda t_s: (3.0, 270.0))
        self.stability = stability
        for s in plant.sensors.values():
            stype = getattr(s.type, "value", s.type)
            if stype == "weather":
                continue
            rule = rule_for_sensor(s)
            first = rule.levels[0][1] if rule is not None and rule.levels and rule.direction > 0 else None
            period = s.period_s / cfg.rate
            gw = "gw-" + (s.area_id or "site")
            self.detectors.append(_Detector(
                s.id, gw, float(s.position[0]), float(s.position[1]), s.unit, stype,
                response_factor(s, released) if released is not None else 0.0,
                s.range_min, s.range_max, _baseline(s, s.range_min, s.range_max, first), period,
                self.rng.uniform(0.0, period), self.rng.uniform(0.0, 2 * math.pi)))
        #: sensors the plant maps to Sparkplug B metrics: published by a simulated edge node
        #: (:mod:`.sparkplug.edge`) instead of their area's gateway
        self.sparkplug_tags = {s.id: s.sparkplug for s in plant.sensors.values() if s.sparkplug is not None}
        self._spb_buf: dict[tuple[str, str], dict[str | None, list[tuple[str, float | None, float]]]] = {}
        self._gw_buf: dict[str, list[dict[str, Any]]] = {d.gw: [] for d in self.detectors}
        self._gw_seq: dict[str, int] = dict.fromkeys(self._gw_buf, 0)
        self._next_gw_s = cfg.gateway_period_s
        # people on roads
        self.roads = road_graph(plant)
        self.areas = {k: a.geometry for k, a in plant.areas.items()}
        self.walkers: list[Walker] = self._make_people()
        self._loc_seq = 0
        self._next_tag_s = 0.0
        # equipment
        self._eq_seq: dict[str, int] = dict.fromkeys(plant.equipment, 0)
        self._pumps = [e for e, q in plant.equipment.items() if getattr(q.kind, "value", q.kind) == "pump"]
        self._pump_state = dict.fromkeys(self._pumps, "running")
        self.published = {"readings": 0, "positions": 0, "messages": 0}

    # ---- people
    def _make_people(self) -> list[Walker]:
        shifts = self.plant.shifts or {}
        shift = shifts.get(self.cfg.shift) if self.cfg.shift else next(iter(shifts.values()), None)
        headcount = dict(shift.headcount) if shift is not None else {}
        headcount = {a: n for a, n in headcount.items() if a in self.areas} or (
            {next(iter(self.areas)): 10} if self.areas else {})
        if self.cfg.people is not None:
            total = sum(headcount.values()) or 1
            ids = list(headcount)
            headcount = {a: self.cfg.people * n // total for a, n in headcount.items()}
            for k in range(self.cfg.people - sum(headcount.values())):
                headcount[ids[k % len(ids)]] += 1
        out = []
        for area, n in headcount.items():
            for _ in range(n):
                k = len(out)
                x, y = random_point_in(self.areas[area], self.rng)
                w = Walker(f"P-{k:04d}", f"T-{k:04d}", area, x, y,
                           self.cfg.walk_speed_m_s * self.rng.uniform(0.8, 1.2))
                w.dwell_until_s = self.rng.uniform(*self.cfg.dwell_s)
                out.append(w)
        return out

    def _update_walker(self, w: Walker, t: float) -> tuple[float, float]:
        if w.path and w.arrived(t):
            w.x, w.y = w.path[-1]
            w.path, w.cum = [], []
            w.dwell_until_s = t + self.rng.uniform(*self.cfg.dwell_s)
        if not w.path and t >= w.dwell_until_s and len(self.areas) > 1:
            # next trip: mostly between the home area and other work areas
            if w.target_area and w.target_area != w.home_area and self.rng.random() < 0.6:
                dest = w.home_area
            else:
                dest = self.rng.choice([a for a in self.areas if a != w.target_area] or [w.home_area])
            goal = random_point_in(self.areas[dest], self.rng)
            w.path = self.roads.route((w.x, w.y), goal) or [(w.x, w.y), goal]
            w.cum = [0.0]
            for a, b in zip(w.path, w.path[1:]):
                w.cum.append(w.cum[-1] + math.dist(a, b))
            w.leg_start_s = t
            w.target_area = dest
        return w.position(t)

    # ---- messages
    def start_messages(self) -> list[Message]:
        """Retained messages to send once: gateway/RTLS status online and every equipment state."""
        ts = iso_ms(self.start_ts)
        out = [Message(self.topics.gw_status(g), _enc({"online": True, "ts": ts}), 1, True) for g in self._gw_buf]
        out.append(Message(self.topics.gw_status(self.cfg.engine).replace("/gw/", "/rtls/"),
                           _enc({"online": True, "ts": ts}), 1, True))
        for eid in self.plant.equipment:
            out.append(self._equipment_msg(eid, self._pump_state.get(eid, "normal"), self.start_ts))
        return out

    def stop_messages(self) -> list[Message]:
        """Retained offline status of the gateways and the RTLS engine."""
        ts = iso_ms(self.start_ts + self.t_s)
        out = [Message(self.topics.gw_status(g), _enc({"online": False, "ts": ts}), 1, True) for g in self._gw_buf]
        out.append(Message(self.topics.gw_status(self.cfg.engine).replace("/gw/", "/rtls/"),
                           _enc({"online": False, "ts": ts}), 1, True))
        return out

    def _equipment_msg(self, eid: str, state: str, ts: float) -> Message:
        self._eq_seq[eid] += 1
        body = {"eid": eid, "seq": self._eq_seq[eid], "ts": iso_ms(ts), "state": state, "boot": self.boot}
        return Message(self.topics.equipment(eid), _enc(body), 1, True)

    def advance(self, t_s: float) -> list[Message]:
        """Advance the simulation to ``t_s`` seconds after the start and return the messages
        that became due (readings in gateway batches, tag batches, equipment changes)."""
        cfg = self.cfg
        out: list[Message] = []
        t0, self.t_s = self.t_s, max(self.t_s, t_s)
        t_s = self.t_s
        # detectors due in (t0, t_s]
        due: list[tuple[_Detector, float]] = []
        for d in self.detectors:
            while d.next_s <= t_s:
                due.append((d, d.next_s))
                d.next_s += d.period_s
        if due:
            self._read(due)
        # gateways
        if t_s >= self._next_gw_s:
            self._next_gw_s = t_s + cfg.gateway_period_s
            out.extend(self._flush_gateways())
        # weather stations
        for st in self.stations:
            while st.next_s <= t_s:
                msg = self._met_message(st, st.next_s)
                if msg is not None:
                    out.append(msg)
                st.next_s += st.period_s
        # tags
        if self.walkers and t_s >= self._next_tag_s:
            self._next_tag_s = t_s + cfg.tag_period_s / cfg.rate
            out.extend(self._tag_messages(t_s))
        # pumps start/stop now and then
        dt = t_s - t0
        for eid in self._pumps:
            if self.rng.random() < cfg.pump_toggle_per_h * dt / 3600.0:
                self._pump_state[eid] = "stopped" if self._pump_state[eid] == "running" else "running"
                out.append(self._equipment_msg(eid, self._pump_state[eid], self.start_ts + t_s))
        self.published["messages"] += len(out)
        return out

    def flush(self) -> list[Message]:
        """Publish what the gateways still hold (call at the end)."""
        out = self._flush_gateways()
        self.published["messages"] += len(out)
        return out

    def _read(self, due: list[tuple[_Detector, float]]) -> None:
        cfg = self.cfg
        ts = np.array([t for _, t in due])
        extra = np.zeros(len(due))
        if self.concentration is not None:
            xs = np.array([d.x for d, _ in due])
            ys = np.array([d.y for d, _ in due])
            c = np.asarray(self.concentration(xs, ys, ts), dtype=float)
            c = np.where(np.isfinite(c), np.maximum(c, 0.0), 0.0)
            extra = np.array([d.gas_response for d, _ in due]) * c
        noise = self.nrng.standard_normal(len(due))
        p_fault = cfg.fault_rate_per_h / 3600.0
        for k, (d, t) in enumerate(due):
            span = d.hi - d.lo
            if d.fault and t >= d.fault_until_s:
                d.fault, d.stuck_value = "", None
            if not d.fault and p_fault > 0 and self.rng.random() < p_fault * d.period_s * cfg.rate:
                d.fault = self.rng.choice(FAULT_KINDS)
                d.fault_until_s = t + self.rng.uniform(*cfg.fault_duration_s)
            if d.fault == "dropout":
                continue
            entry: dict[str, Any] = {"sid": d.sid, "ts": iso_ms(self.start_ts + t)}
            if d.fault == "bad":
                entry["v"] = None
                entry["q"] = "bad"
            else:
                if d.unit == "binary":
                    v = d.lo if extra[k] <= 0 else d.hi
                else:
                    drift = cfg.drift_frac * span * math.sin(2 * math.pi * t / cfg.drift_period_s + d.drift_phase)
                    v = d.base + drift + cfg.noise_frac * span * noise[k] + extra[k]
                    v = min(max(v, d.lo), d.hi) if extra[k] == 0 else max(v, d.lo)
                if d.fault == "stuck":
                    if d.stuck_value is None:
                        d.stuck_value = v
                    v = d.stuck_value
                elif d.fault == "out_of_range":
                    v = d.hi + 0.1 * span
                entry["v"] = round(float(v), 4)
            tag = self.sparkplug_tags.get(d.sid)
            if tag is not None:
                self._spb_buf.setdefault((tag.group, tag.edge), {}).setdefault(tag.device, []).append(
                    (tag.metric, entry["v"], self.start_ts + t))
                continue
            self._gw_buf[d.gw].append(entry)

    def take_sparkplug(self) -> dict[tuple[str, str], dict[str | None, list[tuple[str, float | None, float]]]]:
        """The Sparkplug values read since the last call: (group, edge) → device → (metric,
        value or None for a bad reading, time s); :meth:`run` publishes them through edge nodes."""
        out, self._spb_buf = self._spb_buf, {}
        self.published["readings"] += sum(len(v) for devs in out.values() for v in devs.values())
        return out

    def _met_message(self, st: _Station, t: float) -> Message | None:
        """The observation record of station ``st`` at simulation time ``t`` (None when it is silent)."""
        from safetwin.emergency_planner.physics.stability import (SIGMA_A_CLASS_CENTRE_DEG, is_epa_night,
                                                                   sigma_class, srdt_class, wind_speed_at_height)
        from safetwin.plant_models.export import site_latlon_deg

        cfg = self.cfg
        if st.fault and t >= st.fault_until_s:
            st.fault, st.stuck = "", None
        rng = self.met_rng
        if not st.fault and cfg.fault_rate_per_h > 0 and rng.random() < cfg.fault_rate_per_h / 3600.0 * st.period_s * cfg.rate:
            st.fault = rng.choice(FAULT_KINDS)
            st.fault_until_s = t + rng.uniform(*cfg.fault_duration_s)
        if st.fault == "dropout":
            return None
        st.seq += 1
        ts = self.start_ts + t
        if st.fault == "stuck" and st.stuck is not None:
            body = dict(st.stuck, seq=st.seq, ts=iso_ms(ts))
            return Message(self.topics.met(st.sid), _enc(body))
        speed_10, frm = self.wind(t)
        cls = sigma_class(self.stability)
        speed = float(wind_speed_at_height(speed_10, max(st.height_m, 0.1), cls)) if abs(st.height_m - 10.0) > 1e-6 else speed_10
        body: dict[str, Any] = {"sid": st.sid, "seq": st.seq, "ts": iso_ms(ts), "period_s": 600.0, "boot": self.boot}
        if "wind_speed" in st.measures:
            body["wind_speed_m_s"] = round(max(speed * (1 + 0.01 * rng.gauss(0.0, 1.0)) + 0.1 * rng.gauss(0.0, 1.0), 0.0), 2)
        if "wind_direction" in st.measures:
            body["wind_from_deg"] = round(float((frm + 2.0 * rng.gauss(0.0, 1.0)) % 360.0), 1)
        if "sigma_theta" in st.measures:
            body["sigma_theta_deg"] = SIGMA_A_CLASS_CENTRE_DEG[cls]
        if "temperature" in st.measures:
            body["temperature_c"] = 20.0
        if st.latlon is None:
            st.latlon = site_latlon_deg(self.plant)
        night = is_epa_night(datetime.fromtimestamp(ts, timezone.utc), *st.latlon)
        if "solar_radiation" in st.measures:
            body["solar_w_m2"] = 0.0 if night else next(
                (sr for sr in (1000.0, 800.0, 425.0) if srdt_class(speed_10, solar_radiation_w_m2=sr) == cls), 100.0)
        if "delta_t" in st.measures:
            body["delta_t_k"] = next((dt for dt in (0.5, -0.3) if night and srdt_class(
                speed_10, delta_t_dz_k_m=dt, is_night=True) == cls), 0.5 if cls in ("E", "F") else -0.3)
        if st.fault == "bad":
            body["q"] = "bad"
        elif st.fault == "out_of_range" and "wind_speed_m_s" in body:
            body["wind_speed_m_s"] = 99.0
        st.stuck = body
        return Message(self.topics.met(st.sid), _enc(body))

    def _flush_gateways(self) -> list[Message]:
        out = []
        for gw, buf in self._gw_buf.items():
            while buf:
                part, buf[:] = buf[:MAX_BATCH], buf[MAX_BATCH:]
                self._gw_seq[gw] += 1
                body = {"gw": gw, "seq": self._gw_seq[gw], "ts": iso_ms(self.start_ts + self.t_s),
                        "boot": self.boot, "r": part}
                out.append(Message(self.topics.batch(gw), _enc(body), gw_seq=self._gw_seq[gw]))
                self.published["readings"] += len(part)
        return out

    def _tag_messages(self, t: float) -> list[Message]:
        ts = iso_ms(self.start_ts + t)
        locs = []
        for w in self.walkers:
            x, y = self._update_walker(w, t)
            locs.append({"provider_id": w.tag_id, "position": {"type": "Point", "coordinates": [round(x, 2), round(y, 2)]},
                         "crs": "local", "timestamp_generated": ts, "trackables": [w.person_id],
                         "accuracy": 0.3})
        out = []
        for k in range(0, len(locs), MAX_BATCH):
            self._loc_seq += 1
            body = {"engine": self.cfg.engine, "seq": self._loc_seq, "boot": self.boot, "locations": locs[k:k + MAX_BATCH]}
            out.append(Message(self.topics.locations(self.cfg.engine), _enc(body)))
        self.published["positions"] += len(locs)
        return out

    # ---- publishing
    def _edge_nodes(self, endpoint: Any) -> dict[tuple[str, str], Any]:
        """A started Sparkplug edge node per (group, edge) of the mapped sensors."""
        from .sparkplug.edge import EdgeNode
        metrics: dict[tuple[str, str], dict[str | None, list[str]]] = {}
        for tag in self.sparkplug_tags.values():
            metrics.setdefault((tag.group, tag.edge), {}).setdefault(tag.device, []).append(tag.metric)
        return {key: EdgeNode(endpoint, key[0], key[1], devs).start() for key, devs in metrics.items()}

    def _publish_sparkplug(self, edges: dict[tuple[str, str], Any]) -> None:
        for key, devices in self.take_sparkplug().items():
            for device, values in devices.items():
                edges[key].publish(device, values)

    def run(self, host: str, port: int, seconds: float | None = None, *, username: str | None = None,
            password: str | None = None, tls_ca_file: str | None = None, tick_s: float = 0.05,
            stop: Any = None) -> dict[str, int]:
        """Publish in real time (QoS 1) until ``seconds`` have passed (None: until ``stop``, a
        ``threading.Event``, is set). Returns the counts published (all PUBACKed). The gateways
        keep each batch until the bridge's receipt confirms it and send it again otherwise
        (:mod:`.gateway`)."""
        from .gateway import StoreAndForward
        from .mqtt_client import BrokerEndpoint, mqtt_client, unique_client_id
        c = mqtt_client(unique_client_id("safetwin-sim"), BrokerEndpoint(host, port, username, password, tls_ca_file),
                        max_inflight=1000, unlimited_queue=True)
        c.will_set(self.topics.gw_status(next(iter(self._gw_buf), "gw-site")), _enc({"online": False}), 1, True)
        held = {gw: StoreAndForward(gw, self.boot) for gw in self._gw_buf}
        edges = self._edge_nodes(BrokerEndpoint(host, port, username, password, tls_ca_file))

        def on_receipt(client: Any, userdata: Any, msg: Any) -> None:
            saf = held.get(msg.topic.rsplit("/", 1)[-1])
            if saf is not None:
                try:
                    saf.confirm(json.loads(msg.payload))
                except (ValueError, TypeError, AttributeError):
                    log.warning("unreadable receipt on %s", msg.topic)
        c.on_message = on_receipt
        c.on_connect = lambda client, *a: client.subscribe(self.topics.receipts("+"), qos=1)
        c.connect(host, port)
        c.loop_start()
        infos = []

        def send(m: Message) -> None:
            infos.append(c.publish(m.topic, m.payload, m.qos, m.retain))
            if m.gw_seq >= 0:
                held[m.topic.split("/")[4]].hold(m.gw_seq, m.topic, m.payload, time.monotonic())
        try:
            for m in self.start_messages():
                infos.append(c.publish(m.topic, m.payload, m.qos, m.retain))
            wall0 = time.monotonic()
            self.start_ts = time.time() - self.t_s if self.t_s == 0.0 else self.start_ts
            while True:
                t = time.monotonic() - wall0
                if seconds is not None and t >= seconds:
                    break
                if stop is not None and stop.is_set():
                    break
                for m in self.advance(t):
                    send(m)
                self._publish_sparkplug(edges)
                for saf in held.values():
                    for topic, payload in saf.due(time.monotonic()):
                        infos.append(c.publish(topic, payload, 1))
                time.sleep(tick_s)
                infos = [i for i in infos if not i.is_published()] if len(infos) > 5000 else infos
            for m in self.flush() + self.stop_messages():
                send(m)
            self._publish_sparkplug(edges)
            for i in infos:
                i.wait_for_publish(30)
        finally:
            c.disconnect()
            c.loop_stop()
            for edge in edges.values():
                edge.stop()
        return dict(self.published)


def _enc(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()
