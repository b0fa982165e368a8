"""A deterministic year of safety-workflow history for the demo, seeded on the first start of an
empty store, so the four-colour map, the KPI cockpit and its trend show real figures.

What is written (every record through the workflow rules, with the time moved by a clock, so the
audit chain, the KPIs and the state machines see an ordinary year):

* a risk unit per plant area, graded by LEC so all four colours appear (RED … BLUE);
* about 70 hazards over the year, in every state of the closed loop (reported … closed, invalid,
  an extension asked for, a major hazard with its 五定 plan), some closed late, a few overdue now;
* permits of each of the eight GB 30871 types, mostly closed, some active now, one suspended
  by a gas alarm, one draft, submitted, cancelled and expired;
* certificates of the people named on them (valid, expiring soon, expired);
* alarm cases from detector alarms, handled and closed, two still open;
* emergency plans, the drill plan of last year and this year, drills carried out and their
  evaluations (synthetic RTLS tracks of a muster drill, evaluated by the drill indicator system).

The content depends only on the plant and the day of the first start (``now``): two stores seeded
on the same day hold the same records. :func:`seed_history` refuses nothing silently: every step
the rules refuse is listed in :attr:`SeedReport.refused` (the demo prints them).
"""
from __future__ import annotations

import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from safetwin.twin.events import AlarmRaised
from safetwin.twin.workflows.errors import WorkflowError
from safetwin.twin.workflows.notify import Notifier
from safetwin.twin.workflows.roles import Actor
from safetwin.twin.workflows.service import WorkflowService

__all__ = ["SeedReport", "seed_history", "store_is_empty"]

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
#: LEC factors (likelihood, exposure, consequence) per area kind → RED (D > 320), ORANGE (160-320),
#: YELLOW (70-160), BLUE (< 70)
AREA_RISK: dict[str, tuple[str, tuple[float, float, float]]] = {
    "A-CL2": ("chlorine drum leak in the drum store", (6, 6, 15)),
    "A-LPG": ("LPG sphere BLEVE after a jet fire", (3, 6, 40)),
    "A-TANKFARM": ("gasoline tank overfill and bund fire", (3, 6, 15)),
    "A-PU1": ("H2S release from the sour water stripper", (3, 6, 15)),
    "A-PU3": ("LPG flange leak in the gas separation unit", (3, 3, 40)),
    "A-REFRIG": ("ammonia release from the refrigeration skid", (3, 6, 15)),
    "A-PU2": ("hexane pump seal leak", (3, 3, 15)),
    "A-LOADING": ("tanker overfill during loading", (1, 6, 15)),
    "A-UTILITIES": ("boiler flame-out and explosion", (1, 3, 40)),
    "A-WORKSHOP": ("struck by a forklift in the warehouse", (1, 6, 7)),
    "A-NORTHYARD": ("dropped load in the laydown yard", (1, 3, 15)),
    "A-CONTROL": ("slip and fall in the laboratory", (1, 6, 3)),
    "A-ADMIN": ("canteen kitchen fire", (0.5, 6, 3)),
}
HAZARD_TITLES = {
    "equipment": ["flange weeping at a pump", "missing guard on a coupling", "corroded pipe support",
                  "pressure gauge out of calibration", "valve handwheel missing", "leaking steam trap"],
    "person": ["worker without a harness at height", "no gas detector carried", "smoking outside the shelter"],
    "environment": ["oil sheen in the drain", "bund drain valve left open", "blocked storm-water gully"],
    "management": ["permit not displayed at the job", "expired fire-extinguisher check", "training record missing"],
}
#: the eight GB 30871 operations: (type, level, area whose centre the work is at, title)
PERMITS = [
    ("hot_work", "first", "A-PU1", "weld repair of a pipe support"),
    ("confined_space", None, "A-TANKFARM", "tank inspection"),
    ("blind_plate", None, "A-PU2", "blind the feed line"),
    ("work_at_height", "II", "A-PU3", "replace column insulation"),
    ("lifting", "second", "A-NORTHYARD", "lift a heat-exchanger bundle"),
    ("temp_power", None, "A-WORKSHOP", "temporary power for the welding shop"),
    ("excavation", None, "A-UTILITIES", "dig for a fire-water main"),
    ("road_closure", None, "A-LOADING", "close the loading road for a crane"),
]
#: certificate types the people on the permits need (the rule pack's worker and guardian certificates)
CERTS = {"worker": ["hot_work", "confined_space", "work_at_height", "crane_operator", "electrician"],
         "fitter": ["hot_work", "work_at_height"], "guardian": ["guardian"]}


@dataclass
class SeedReport:
    """What :func:`seed_history` wrote (counts by kind) and each step the rules refused."""

    counts: dict[str, int] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)

    def add(self, kind: str, n: int = 1) -> None:
        """Count ``n`` records of ``kind``."""
        self.counts[kind] = self.counts.get(kind, 0) + n

    def line(self) -> str:
        """One banner line, e.g. ``13 risk units, 70 hazards, …``."""
        text = ", ".join(f"{n} {kind}" for kind, n in self.counts.items())
        return text + (f"; {len(self.refused)} step(s) refused: {self.refused[:3]}" if self.refused else "")


class _Clock:
    """The seeding service's clock: set to each event's time in turn."""

    def __init__(self, t: datetime) -> None:
        self.t = t

    def __call__(self) -> datetime:
        return self.t


def store_is_empty(workflows: WorkflowService) -> bool:
    """True when the store has no risk unit, hazard or permit yet (a first start)."""
    from safetwin.twin.workflows.domain import Hazard, Permit, RiskUnit

    repo = workflows.repo
    return not any(repo.list(kind, model, limit=1) for kind, model in (("risk_unit", RiskUnit), ("hazard", Hazard),
                                                                        ("permit", Permit)))


def _actor(uid: str) -> Actor:
    from .demo_users import DEMO_USERS

    return Actor(uid, frozenset(DEMO_USERS[uid]))


def _centre(plant: Any, area_id: str, dx: float = 0.0) -> tuple[float, float]:
    p = plant.areas[area_id].geometry.representative_point()
    return float(p.x) + dx, float(p.y)


def _square(x: float, y: float, half_m: float = 4.0) -> list[tuple[float, float]]:
    return [(x - half_m, y - half_m), (x + half_m, y - half_m), (x + half_m, y + half_m), (x - half_m, y + half_m)]


class _Seeder:
    """One seeding pass (see the module docstring)."""

    def __init__(self, svc: WorkflowService, clock: _Clock, now: datetime, store: Any, site_id: str) -> None:
        self.svc, self.clock, self.now, self.store, self.site_id = svc, clock, now, store, site_id
        self.rng = random.Random(f"safetwin-demo:{svc.plant.id}")
        self.report = SeedReport()

    def at(self, t: datetime) -> None:
        self.clock.t = t

    def step(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run one workflow step ``fn(*args, **kwargs)``; a refusal is recorded, not raised (the demo
        must start)."""
        try:
            return fn(*args, **kwargs)
        except (WorkflowError, ValueError, KeyError) as err:
            self.report.refused.append(f"{what}: {err}")
            return None

    # ------------------------------------------------------------------ risk register
    def risk_units(self) -> None:
        eng = _actor("engineer")
        self.at(self.now - 360 * DAY)
        for area_id, (event, (lik, exp, con)) in AREA_RISK.items():
            if area_id not in self.svc.plant.areas:
                continue
            area = self.svc.plant.areas[area_id]
            unit = self.step(f"risk unit {area_id}", self.svc.create_risk_unit, eng,
                             name=getattr(area, "name", area_id) or area_id, area_id=area_id)
            if unit is None:
                continue
            self.step(f"assess {area_id}", self.svc.assess_risk, eng, unit.id, description=event, method="LEC",
                      factors={"L": lik, "E": exp, "C": con},
                      measures=["detectors with interlocks", "operating procedure", "emergency drill"])
            self.report.add("risk units")

    # ------------------------------------------------------------------ hazards
    def hazards(self) -> None:
        """70 hazards over the year: the older ones closed (some late, some still open and overdue),
        the last ten of the month in every state of the closed loop."""
        areas = [a for a in self.svc.plant.areas if a in AREA_RISK]
        recent = ["reported", "confirmed", "plan_pending", "assigned", "rectifying", "extension",
                  "pending_verification", "verified", "closed", "invalid"]
        n = 70
        for k in range(n):
            j = k - (n - len(recent))
            days_ago = 3.0 * (len(recent) - j) if j >= 0 else 35 + 325 * (n - len(recent) - k) / (n - len(recent))
            reported = self.now - timedelta(days=days_ago, hours=self.rng.randint(1, 8))
            cat = self.rng.choice(sorted(HAZARD_TITLES))
            title = self.rng.choice(HAZARD_TITLES[cat])
            target = recent[j] if j >= 0 else ("overdue" if k % 13 == 7 else "invalid" if k % 23 == 11 else "closed")
            level = "major" if k % 17 == 5 or target == "plan_pending" else "general"
            x, y = _centre(self.svc.plant, self.rng.choice(areas), dx=self.rng.uniform(-20, 20))
            self._hazard(reported, cat, title, level, x, y, target, late=(k % 9 == 4))

    def _hazard(self, reported: datetime, cat: str, title: str, level: str, x: float, y: float, target: str,
                late: bool) -> None:
        svc = self.svc
        eng, man, rect = _actor("engineer"), _actor("manager"), _actor("fitter")
        self.at(reported)
        h = self.step(f"report {title}", lambda: svc.report_hazard(_actor("worker"), title=title, category=cat,
                                                                   level=level, x=x, y=y))
        if h is None:
            return
        self.report.add("hazards")
        act = lambda who, action, **kw: self.step(f"{h.id} {action}",  # noqa: E731
                                                  lambda: svc.hazard_action(who, h.id, action, **kw))
        if target == "reported":
            return
        if target == "invalid":
            act(eng, "invalidate", reason="duplicate report")
            return
        self.at(reported + 2 * HOUR)
        act(eng, "confirm")
        if target == "confirmed":
            return
        if level == "major":        # the 五定 plan, then the manager assigns (plan_pending waits for that)
            act(eng, "plan", plan={"measures": f"repair: {title}", "responsible": "fitter", "funds": 20000.0,
                                   "deadline": reported + 25 * DAY, "contingency": "isolate and monitor daily"})
            if target == "plan_pending":
                return
            act(man, "assign")
        else:
            act(eng, "assign", rectifier="fitter")
        if target == "assigned":
            return
        self.at(reported + 6 * HOUR)
        act(rect, "accept")
        if target in ("rectifying", "overdue"):
            return
        if target == "extension":
            act(rect, "extend", new_deadline=reported + 14 * DAY, reason="spare part on order")
            return
        done = reported + (timedelta(days=self.rng.uniform(9, 20)) if late else
                           timedelta(days=self.rng.uniform(1, 5) if level == "general" else self.rng.uniform(8, 20)))
        self.at(min(done, self.now - HOUR))
        act(rect, "rectify", measures=f"fixed: {title}", evidence=["photo-after.jpg"])
        if target == "pending_verification":
            return
        self.at(self.clock.t + 3 * HOUR)
        act(eng, "verify", ok=True, note="checked on site")
        if target == "verified":
            return
        act(man if level == "major" else eng, "close")

    # ------------------------------------------------------------------ certificates and permits
    def certificates(self) -> None:
        eng = _actor("engineer")
        self.at(self.now - 365 * DAY)
        for k, (who, types) in enumerate(CERTS.items()):
            for j, ctype in enumerate(types):
                issued = self.now - timedelta(days=700 + 30 * j)
                expires = self.now + timedelta(days=900 - 40 * j)
                self.step(f"certificate {who}/{ctype}", self.svc.add_certificate, eng, person_id=who, type=ctype,
                          number=f"CN-{who[:3].upper()}-{k}{j:02d}", issued_at=issued, expires_at=expires)
                self.report.add("certificates")
        # one certificate expiring within a month, one expired in spring (a holder who left the site)
        for who, ctype, issued, expires in (("approver2", "electrician", -1000, 20), ("planner", "hot_work", -1200, -150)):
            self.step(f"certificate {who}/{ctype}", self.svc.add_certificate, eng, person_id=who, type=ctype,
                      number=f"CN-{who[:3].upper()}-X", issued_at=self.now + issued * DAY,
                      expires_at=self.now + expires * DAY)
            self.report.add("certificates")

    def _approve(self, pid: str) -> None:
        signer = {"approver": ["approver", "approver2"], "safety_engineer": ["engineer"], "operator": ["operator"],
                  "manager": ["manager"]}
        p = self.svc.permit(pid)
        for role in p.chain[len(p.approvals):]:
            signed = {a.approver for a in self.svc.permit(pid).approvals}
            who = next(u for u in signer[role] if u not in signed)
            self.svc.permit_action(_actor(who), pid, "approve")

    def _gas_test(self, pid: str, ptype: str) -> None:
        readings = [("methane", 0.1, "%vol")] + ([("oxygen", 20.9, "%vol")] if ptype == "confined_space" else [])
        self.svc.add_gas_test(_actor("guardian"), pid, readings=readings, sampled_at=self.clock() - 5 * timedelta(minutes=1),
                              instrument_id="PGD-7")

    def permit(self, ptype: str, level: str | None, area_id: str, title: str, start: datetime, end_state: str,
               hours: float = 6.0) -> str | None:
        """One permit from draft to ``end_state`` (draft, submitted, cancelled, approved, active,
        suspended, closed, expired), its work at ``area_id``'s centre."""
        svc = self.svc
        self.at(start - 2 * HOUR)
        x, y = _centre(svc.plant, area_id)
        p = self.step(f"{ptype} permit", lambda: svc.create_permit(
            _actor("applicant"), type=ptype, level=level, title=title, work_polygon=_square(x, y), holder="worker",
            guardian="guardian", workers=["worker", "fitter"] if ptype == "hot_work" else ["worker"],
            jha=f"JHA for {title}", planned_start=start, planned_end=start + timedelta(hours=hours)))
        if p is None:
            return None
        self.report.add("permits")
        pid = p.id
        flow: list[tuple[str, Callable[[], Any]]] = []
        applicant = _actor("applicant")
        if end_state == "draft":
            return pid
        flow.append(("submit", lambda: svc.permit_action(applicant, pid, "submit")))
        if end_state == "cancelled":
            flow.append(("cancel", lambda: svc.permit_action(applicant, pid, "cancel", reason="job postponed")))
        elif end_state != "submitted":
            flow.append(("approve", lambda: self._approve(pid)))
        for what, fn in flow:
            if self.step(f"{pid} {what}", fn) is None and what != "approve":
                return pid
        if end_state in ("submitted", "cancelled", "approved"):
            return pid
        if end_state == "expired":
            self.at(start + timedelta(hours=hours + 400))
            self.step(f"{pid} expire", lambda: svc.expire_due(self.clock()))
            return pid
        self.at(start)
        if svc.pack.type_rule(ptype).gas_test.required:
            self.step(f"{pid} gas test", lambda: self._gas_test(pid, ptype))
        if ptype == "confined_space":   # continuous monitoring by a portable monitor (GB 30871 6.5)
            self.step(f"{pid} monitor", lambda: svc.monitor_reading(
                _actor("guardian"), pid, instrument_id="PGD-9", sampled_at=self.clock(),
                readings=[("oxygen", 20.9, "%vol"), ("methane", 0.0, "%vol")]))
        if self.step(f"{pid} start", lambda: svc.permit_action(_actor("worker"), pid, "start")) is None:
            return pid
        if end_state == "active":
            return pid
        if end_state == "suspended":
            self.at(start + HOUR)
            self.step(f"{pid} suspend", lambda: svc.permit_action(_actor("guardian"), pid, "suspend",
                                                                  reason="gusts above the lifting limit"))
            return pid
        self.at(start + timedelta(hours=hours * 0.8))
        self.step(f"{pid} complete", lambda: svc.permit_action(_actor("worker"), pid, "complete"))
        if ptype == "hot_work":
            self.at(self.clock.t + timedelta(minutes=35))
            self.step(f"{pid} fire watch", lambda: svc.permit_action(_actor("guardian"), pid, "fire_watch_done",
                                                                      note="no embers"))
        self.at(self.clock.t + timedelta(minutes=20))
        self.step(f"{pid} close", lambda: svc.permit_action(_actor("approver"), pid, "close", note="site clear"))
        return pid

    def permits(self) -> None:
        """Each type about every six weeks over the year (closed), then the states of today's board."""
        for week in range(2, 52, 3):
            ptype, level, area_id, title = PERMITS[week % len(PERMITS)]
            start = (self.now - timedelta(weeks=52 - week)).replace(hour=8, minute=0, second=0, microsecond=0)
            self.permit(ptype, level, area_id, title, start, "closed")
        today = self.now.replace(minute=0, second=0, microsecond=0)
        board = [("work_at_height", "I", "A-PU3", "paint the pipe rack", "active"),
                 ("lifting", "second", "A-NORTHYARD", "lift a pump skid", "suspended"),
                 ("excavation", None, "A-UTILITIES", "repair a drain", "approved"),
                 ("blind_plate", None, "A-PU2", "remove the blind after the turnaround", "submitted"),
                 ("road_closure", None, "A-LOADING", "close the loading road", "draft"),
                 ("hot_work", "second", "A-WORKSHOP", "grinding in the workshop", "cancelled")]
        for k, (ptype, level, area_id, title, state) in enumerate(board):
            self.permit(ptype, level, area_id, title, today - HOUR + k * timedelta(minutes=5), state, hours=8)
        self.permit("temp_power", None, "A-WORKSHOP", "power for a welding set", self.now - 40 * DAY, "expired", hours=24)
        # an active hot-work job near a detector, stopped by its gas alarm (an automatic suspension)
        self._alarm_suspension(today - 30 * DAY)

    def _alarm_suspension(self, start: datetime) -> None:
        sensor = next((s for s in self.svc.plant.meta.sensors if s.type.value == "flammable_gas"
                       and s.area_id == "A-PU2"), None)
        if sensor is None:
            return
        svc = self.svc
        self.at(start - 2 * HOUR)
        x, y = sensor.position
        p = self.step("hot work near a detector", lambda: svc.create_permit(
            _actor("applicant"), type="hot_work", level="first", title="cut out a corroded nozzle",
            work_polygon=_square(x + 3, y), holder="worker", guardian="guardian", jha="hot work beside a pump",
            planned_start=start, planned_end=start + 6 * HOUR))
        if p is None:
            return
        self.report.add("permits")
        self.step(f"{p.id} submit", lambda: svc.permit_action(_actor("applicant"), p.id, "submit"))
        self.step(f"{p.id} approve", lambda: self._approve(p.id))
        self.at(start)
        self.step(f"{p.id} gas test", lambda: self._gas_test(p.id, "hot_work"))
        self.step(f"{p.id} start", lambda: svc.permit_action(_actor("worker"), p.id, "start"))
        self.at(start + 2 * HOUR)
        self.step("gas alarm", lambda: svc.on_alarm(AlarmRaised(f"{sensor.id}_LVL", sensor.id, "high",
                                                                self.clock().timestamp(), "seal leak at a pump")))
        self.at(start + 4 * HOUR)
        self.step(f"{p.id} cancel", lambda: svc.permit_action(_actor("engineer"), p.id, "cancel",
                                                              reason="job re-planned after the leak"))

    # ------------------------------------------------------------------ alarm cases
    def alarm_cases(self) -> None:
        """Detector alarms over the year: acknowledged, handled and closed; the two newest still open."""
        sensors = [s for s in self.svc.plant.meta.sensors if s.alarm is not None]
        op = _actor("operator")
        n = 16
        for k in range(n):
            s = sensors[(7 * k) % len(sensors)]
            t = self.now - timedelta(days=350 * (n - k) / n, hours=self.rng.randint(0, 23))
            self.at(t)
            level = ("warning", "high", "high_high")[k % 3]
            self.step(f"alarm {s.id}", self.svc.on_alarm,
                      AlarmRaised(f"{s.id}_LVL", s.id, level, t.timestamp(), "reading above the alarm level"))
            cases = [c for c in self.svc.list_alarm_cases(state="raised", limit=50) if c.source_id == s.id]
            if not cases:
                continue
            self.report.add("alarm cases")
            if k >= n - 2:
                continue
            cid = cases[0].id
            self.at(t + timedelta(minutes=2 + k % 5))
            self.step(f"{cid} ack", self.svc.alarm_action, op, cid, "acknowledge")
            self.at(self.clock.t + timedelta(minutes=10))
            self.step(f"{cid} act", self.svc.alarm_action, op, cid, "act",
                      "field check: sampling line purged, reading back to normal")
            self.at(self.clock.t + HOUR)
            self.step(f"{cid} close", self.svc.alarm_action, _actor("engineer"), cid, "close", "reviewed: no release")

    # ------------------------------------------------------------------ drills
    def drills(self) -> None:
        """Emergency plans, the drill plan of last and this year, drills done and their evaluations."""
        from safetwin.twin.workflows import drill_store as ds

        site, store = self.site_id, self.store
        effective = (self.now - timedelta(days=425)).replace(hour=0)    # due dates 8 and 2 months ago
        plans = [("P-COMPREHENSIVE", "comprehensive", "site emergency plan"),
                 ("P-SPECIAL-TOXIC", "special", "toxic gas release"),
                 ("P-ONSITE-CL2", "onsite", "chlorine drum leak"),
                 ("P-ONSITE-LPG", "onsite", "LPG sphere fire")]
        for pid, kind, title in plans:
            self.step(f"plan {pid}", ds.add_emergency_plan, store, site, pid, kind, effective, title)
        for year in range(effective.year, self.now.year + 1):
            self.step(f"drill plan {year}", ds.generate_plan, store, site, year, hazardous_chemicals=True)
        items = sorted(ds.plan_items(store, site), key=lambda it: it["due_by"])
        done = 0
        for k, it in enumerate(items):
            due = it["due_by"]
            missed = it.get("plan_id") == "P-ONSITE-LPG" and self.now - 120 * DAY < due   # overdue now
            if due > self.now or missed:
                continue
            when = min(due - timedelta(days=10 + k % 20), self.now - 2 * DAY).replace(hour=9, minute=30, second=0,
                                                                                        microsecond=0)
            drill_id = f"D-{when:%Y-%m}-{k:02d}"
            scenario = "chlorine_drum_leak_wind_shift" if k % 2 == 0 else "lpg_sphere_jet_fire_domino"
            got = self.step(f"drill {drill_id}", ds.record_drill, store, site, drill_id, when,
                            ended_at=when + 45 * timedelta(minutes=1), plan_id=it.get("plan_id"), plan_item_id=it["id"],
                            scenario=scenario, title=it.get("requirement", ""))
            if got is None:
                continue
            done += 1
            ev = self._evaluate(drill_id, scenario, when, quality=k % 4)
            if ev is not None:
                self.step(f"evaluation {drill_id}", ds.save_evaluation, store, ev, site)
                self.report.add("drill evaluations")
        self.report.add("drills", done)

    def _evaluate(self, drill_id: str, scenario: str, when: datetime, quality: int) -> Any:
        """A muster drill's synthetic RTLS tracks (people walking from their work place to the nearest
        muster point after the alarm) evaluated by the drill indicator system; ``quality`` 0-3 makes
        a slower pre-movement, a late acknowledgement, a wrong head count or a person missing."""
        from safetwin.emergency_planner.drill.evaluate import evaluate
        from safetwin.emergency_planner.drill.record import DrillEvent, DrillRecord
        from safetwin.twin.population import shift_population

        plant = self.svc.plant
        rng = np.random.default_rng(zlib.crc32(drill_id.encode()))
        ids, xy, _ = shift_population(plant, "day", seed=quality)
        ids, xy = ids[:60], xy[:60]
        musters = np.array([mp.position for mp in plant.meta.muster_points], float)
        alarm_s = 30.0 + 20.0 * (quality == 1)
        pid: list[str] = []
        ts: list[float] = []
        xs: list[float] = []
        ys: list[float] = []
        missing = ids[-1] if quality == 3 else None
        for person, (x0, y0) in zip(ids, xy):
            goal = musters[np.argmin(np.hypot(musters[:, 0] - x0, musters[:, 1] - y0))]
            start_s = alarm_s + rng.uniform(20, 90 if quality != 0 else 150)
            dist = float(np.hypot(*(goal - (x0, y0))))
            stop = 1.0 if person != missing else 0.4        # the missing person never reaches the muster point
            walk_s = stop * dist / rng.uniform(1.0, 1.4)
            for t in np.linspace(0.0, start_s + walk_s + 30.0, 12):
                f = float(np.clip((t - start_s) / max(walk_s, 1e-6), 0.0, stop))
                pid.append(person)
                ts.append(float(t))
                xs.append(float(x0 + f * (goal[0] - x0)))
                ys.append(float(y0 + f * (goal[1] - y0)))
        count = len(ids) - (1 if quality in (2, 3) else 0)
        events = [DrillEvent(0.0, "detection", "drill"), DrillEvent(alarm_s, "alarm", "control room"),
                  DrillEvent(alarm_s + (15.0 if quality != 1 else 140.0), "alarm_ack", "control room"),
                  DrillEvent(alarm_s + 60.0, "response_start", "incident commander"),
                  DrillEvent(max(ts) + 60.0, "headcount_reported", "muster wardens", {"count": count})]
        rec = DrillRecord.from_arrays(scenario, pid, ts, xs, ys, events=events, expected_headcount=len(ids), t0=when,
                                      source="recorded", plant_id=plant.id)
        return self.step(f"evaluate {drill_id}", lambda: evaluate(rec, plant, drill_id=drill_id,
                                                                  now=when + 2 * HOUR).to_dict())


def seed_history(workflows: WorkflowService, store: Any, *, now: datetime | None = None,
                 site_id: str | None = None) -> SeedReport:
    """Write the demo's year of history (module docstring) into ``workflows``' store, as of ``now``
    (default: the start of the current UTC hour). The records go through a second service on the same
    store and audit key whose clock walks through the year; nobody is notified of the past."""
    now = (now or datetime.now(timezone.utc)).replace(minute=0, second=0, microsecond=0)
    clock = _Clock(now)
    svc = WorkflowService(workflows.repo.engine, workflows.plant, settings=workflows.settings, notifier=Notifier(),
                          clock=clock, site_id=site_id or workflows.site_id, audit=workflows.audit.setup)
    try:
        seeder = _Seeder(svc, clock, now, store, svc.site_id)
        seeder.risk_units()
        seeder.certificates()
        seeder.hazards()
        seeder.alarm_cases()
        seeder.permits()
        seeder.drills()
    finally:
        svc.close()
    return seeder.report
