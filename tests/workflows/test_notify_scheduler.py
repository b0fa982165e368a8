"""Notification channels (webhook to a local HTTP server) and the due-job scheduler driven by a fake clock."""
from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient

from safetwin.twin.api.app import create_app
from safetwin.twin.state import TwinState
from safetwin.app.notify_channels import WebhookChannel
from safetwin.twin.workflows.notify import Notification, Notifier
from safetwin.twin.workflows.scheduler import DueJobScheduler
from test_permits import approve_all, hot_permit
from wfhelpers import T0, Clock, certify


class _Hook(BaseHTTPRequestHandler):
    status = 204

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((self.path, self.headers["Content-Type"], json.loads(body)))
        self.send_response(self.server.status)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture()
def hook():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    srv.received, srv.status = [], 204
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_webhook_posts_json_to_the_receiver(hook):
    url = f"http://127.0.0.1:{hook.server_address[1]}/safety/hook"
    n = Notification(("bob", "gus"), "permits/PTW-1", "suspended", "STOP WORK", "plant-1", {"permit": "PTW-1"})
    Notifier([WebhookChannel(url)]).send(n)
    (path, ctype, body), = hook.received
    assert (path, ctype) == ("/safety/hook", "application/json")
    assert body["recipients"] == ["bob", "gus"] and body["event"] == "suspended" and body["data"] == {"permit": "PTW-1"}


def test_failing_webhook_is_counted_not_raised(hook):
    hook.status = 500
    url = f"http://127.0.0.1:{hook.server_address[1]}/x"
    dead = "http://127.0.0.1:9/nothing-listens"
    notifier = Notifier([WebhookChannel(url), WebhookChannel(dead, timeout_s=0.5)])
    notifier.send(Notification(("bob",), "hazards/H", "overdue", "late"))
    assert notifier.failures == 2 and len(hook.received) == 1


def test_permit_expiry_notifies_through_the_webhook(svc, actors, clock, hook):
    svc.notifier.add(WebhookChannel(f"http://127.0.0.1:{hook.server_address[1]}/n"))
    certify(svc, actors, "bob", "hot_work")
    certify(svc, actors, "gus", "guardian")
    p = hot_permit(svc, actors)
    svc.permit_action(actors["ann"], p.id, "submit")
    approve_all(svc, actors, p.id)
    hook.received.clear()
    assert svc.run_due_jobs(T0 + timedelta(hours=9)).expired_permits == [p.id]
    assert [b["event"] for _, _, b in hook.received] == ["expired"]
    assert set(hook.received[0][2]["recipients"]) == {"bob", "gus", "ann"}


def test_run_due_jobs_with_a_fake_clock(svc, actors, clock):
    a = actors
    certify(svc, a, "bob", "hot_work")
    certify(svc, a, "gus", "guardian")
    svc.add_certificate(a["sue"], person_id="cwo", type="hot_work", number="X", issued_at=T0 - timedelta(days=9),
                        expires_at=T0 + timedelta(days=100))
    p = hot_permit(svc, a)                                   # hot work first level: valid 8 h
    svc.permit_action(a["ann"], p.id, "submit")
    approve_all(svc, a, p.id)
    h = svc.report_hazard(a["bob"], title="t", category="equipment", level="general", x=5, y=5)
    svc.hazard_action(a["sue"], h.id, "confirm")
    svc.hazard_action(a["sue"], h.id, "assign", rectifier="cwo")   # deadline T0 + 7 d
    r = svc.run_due_jobs(T0 + timedelta(hours=1))
    assert r.changed == 0
    r = svc.run_due_jobs(T0 + timedelta(days=10, hours=1))
    assert r.expired_permits == [p.id] and svc.permit(p.id).state == "expired"
    assert [d for _, d in r.certificate_reminders] == [90]
    assert r.escalated_hazards == [(h.id, "company")]       # 3 days late when first seen
    assert svc.run_due_jobs(T0 + timedelta(days=10, hours=1)).changed == 0


def test_scheduler_thread_runs_the_jobs_periodically(svc, actors):
    fake = Clock(T0)
    h = svc.report_hazard(actors["bob"], title="t", category="equipment", level="general", x=5, y=5)
    svc.hazard_action(actors["sue"], h.id, "confirm")
    svc.hazard_action(actors["sue"], h.id, "assign", rectifier="cwo")
    sched = DueJobScheduler(svc, interval_s=0.02, clock=fake).start()
    try:
        deadline = time.monotonic() + 30                    # generous: the suite shares 2 cores
        while sched.passes < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sched.passes >= 2 and svc.hazard(h.id).escalation_level == 0
        fake.advance(days=7, hours=1)                       # the fake clock moves; the thread notices
        deadline = time.monotonic() + 30                    # generous: the suite shares 2 cores
        while svc.hazard(h.id).escalation_level == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert svc.hazard(h.id).escalation_level == 1, (sched.passes, sched.failures)
        assert sched.failures == 0
    finally:
        sched.stop()
    assert not sched.running
    with pytest.raises(ValueError):
        DueJobScheduler(svc, interval_s=0)


def test_scheduler_survives_a_failing_pass():
    class Flaky:
        calls = 0

        def run_due_jobs(self, now):
            Flaky.calls += 1
            if Flaky.calls == 1:
                raise RuntimeError("db down")
            return now

    sched = DueJobScheduler(Flaky(), interval_s=0.01, clock=lambda: T0).start()
    deadline = time.monotonic() + 5
    while sched.passes < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    sched.stop()
    assert sched.failures == 1 and sched.passes >= 2


def test_app_lifespan_starts_and_stops_the_scheduler(svc, small_plant):
    svc.settings.job_interval_s = 0.02
    app = create_app(TwinState(small_plant), workflows=svc)
    with TestClient(app):
        sched = app.state.scheduler
        assert sched is not None and sched.running
        deadline = time.monotonic() + 5
        while sched.passes == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sched.passes >= 1
    assert not sched.running
    svc.settings.job_interval_s = 0
    app = create_app(TwinState(small_plant), workflows=svc)
    with TestClient(app):
        assert app.state.scheduler is None
