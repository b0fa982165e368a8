"""Notifications that arrive: stop-work, hazard escalation, certificate reminder and incident instruction
messages reach local receivers — a webhook, a DingTalk-format robot that checks the signature and the
JSON body, a WeCom-format robot, an SMTP server (aiosmtpd) and the real Mosquitto broker — each
with its delivery logged; a receiver that is down gets retries and then a dead-letter entry; queued
deliveries survive a restart."""
from __future__ import annotations

import base64
import email
import hashlib
import hmac
import json
import socket
import threading
import time
import urllib.parse
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller

from safetwin.app.api import build_api
from safetwin.app.live import start_live_mode
from safetwin.app.notify_channels import build_notifier, close_notifier
from safetwin.app.settings import Settings
from safetwin.live_bridge.mqtt_client import BrokerEndpoint, mqtt_client, unique_client_id
from safetwin.twin.state import TwinState
from safetwin.twin.store import Store
from safetwin.twin.workflows.delivery_log import DeliveryLog, RetryPolicy
from safetwin.twin.workflows.notify import MemoryChannel, Notification, Notifier
from test_permits import approve_all, hot_permit, portable
from wfhelpers import T0, Clock, certify, make_service, wait_until

pytestmark = pytest.mark.mqtt
DING_TOKEN, DING_SECRET, WECOM_KEY = "ding-token-1", "SEC" + "5" * 40, "wecom-key-1"


class _Receivers(BaseHTTPRequestHandler):
    """A generic webhook (/hook), a DingTalk robot (/robot/send) and a WeCom robot (/cgi-bin/webhook/send)."""

    def do_POST(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.server.down:
            self.send_response(503)
            self.end_headers()
            return
        if url.path == "/hook":
            self.server.got["webhook"].append(json.loads(body))
            answer, status = b"", 204
        elif url.path == "/robot/send":
            answer, status = self._dingtalk(query, body), 200
        elif url.path == "/cgi-bin/webhook/send":
            answer, status = self._wecom(query, body), 200
        else:
            answer, status = b"", 404
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def _dingtalk(self, query: dict, body: bytes) -> bytes:
        """The robot's checks: token, timestamp within an hour, sign = base64(HMAC-SHA256(secret, ts\\nsecret))."""
        if query.get("access_token") != [DING_TOKEN]:
            return json.dumps({"errcode": 300001, "errmsg": "token is not exist"}).encode()
        timestamp = int(query["timestamp"][0])
        expect = base64.b64encode(hmac.new(DING_SECRET.encode(), f"{timestamp}\n{DING_SECRET}".encode(),
                                           hashlib.sha256).digest()).decode()
        if abs(time.time() * 1000 - timestamp) > 3600_000 or query["sign"][0] != expect:   # parse_qs decoded it
            return json.dumps({"errcode": 310000, "errmsg": "sign not match"}).encode()
        doc = json.loads(body)
        if doc.get("msgtype") != "text" or not isinstance(doc.get("text", {}).get("content"), str):
            return json.dumps({"errcode": 40035, "errmsg": "bad message"}).encode()
        self.server.got["dingtalk"].append(doc)
        return json.dumps({"errcode": 0, "errmsg": "ok"}).encode()

    def _wecom(self, query: dict, body: bytes) -> bytes:
        if query.get("key") != [WECOM_KEY]:
            return json.dumps({"errcode": 93000, "errmsg": "invalid webhook url"}).encode()
        doc = json.loads(body)
        if doc.get("msgtype") != "text" or not isinstance(doc.get("text", {}).get("content"), str):
            return json.dumps({"errcode": 40008, "errmsg": "invalid message type"}).encode()
        self.server.got["wecom"].append(doc)
        return json.dumps({"errcode": 0, "errmsg": "ok"}).encode()

    def log_message(self, *args) -> None:
        pass


class _SmtpSink:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], email.message.Message]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def http_receivers():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Receivers)
    srv.got, srv.down = {"webhook": [], "dingtalk": [], "wecom": []}, False
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture()
def smtp_sink():
    sink = _SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield sink, controller.port
    controller.stop()


@pytest.fixture()
def mqtt_inbox(broker):
    """Every message on ``pst/v1/<a fresh site>/twin/notify/#``: (site, {topic: [payload, …]})."""
    host, port = broker
    site = "nt" + uuid.uuid4().hex[:8]
    got: dict[str, list[dict]] = {}
    subscribed = threading.Event()
    sub = mqtt_client(unique_client_id("notify-test"), BrokerEndpoint(host, port))
    sub.on_connect = lambda c, u, f, r, p=None: c.subscribe(f"pst/v1/{site}/twin/notify/#", qos=1)
    sub.on_subscribe = lambda *args: subscribed.set()
    sub.on_message = lambda _c, _u, msg: got.setdefault(msg.topic, []).append(json.loads(msg.payload))
    sub.connect(host, port)
    sub.loop_start()
    assert subscribed.wait(15), "the test subscriber did not get its SUBACK"
    yield site, got
    sub.disconnect()
    sub.loop_stop()


def _settings(http_receivers, smtp_port, broker, **overrides) -> Settings:
    base = f"http://127.0.0.1:{http_receivers.server_address[1]}"
    fields = dict(
        mqtt_host=broker[0], mqtt_port=broker[1], notify_mqtt=True, notify_webhook_url=f"{base}/hook",
        notify_dingtalk_url=f"{base}/robot/send?access_token={DING_TOKEN}", notify_dingtalk_secret=DING_SECRET,
        notify_wecom_url=f"{base}/cgi-bin/webhook/send?key={WECOM_KEY}", notify_smtp_host="127.0.0.1",
        notify_smtp_port=smtp_port, notify_email_to=["safety-office@plant.example"],
        notify_email_addresses={"bob": "bob@plant.example", "cwo": "cwo@plant.example"},
        notify_retry_base_s=0.05, notify_retry_max_s=0.2)
    fields.update(overrides)
    return Settings(**fields)


def _active_permit(svc, a):
    certify(svc, a, "bob", "hot_work")
    certify(svc, a, "gus", "guardian")
    p = hot_permit(svc, a)
    svc.permit_action(a["ann"], p.id, "submit")
    approve_all(svc, a, p.id)
    portable(svc, a, p.id)
    svc.permit_action(a["bob"], p.id, "start")
    return p


def test_four_kinds_of_message_arrive_at_every_receiver_and_are_logged(
        tmp_path, small_plant, actors, http_receivers, smtp_sink, mqtt_inbox, broker):
    sink, smtp_port = smtp_sink
    site, mqtt_got = mqtt_inbox
    store = Store.open(f"sqlite:///{tmp_path / 'wf.db'}")
    notifier = build_notifier(_settings(http_receivers, smtp_port, broker), engine=store.engine, site=site)
    clock = Clock(T0)
    svc = make_service(store.engine, small_plant, clock, MemoryChannel(), notifier=notifier, site_id=site)
    outbox = notifier.outbox
    try:
        assert notifier.channels[1].wait_connected(15)
        outbox.start()
        a = actors
        # 1. stop work: an incident suspends the active permit
        p = _active_permit(svc, a)
        assert svc.report_incident(a["ola"], 43.0, 43.0, 15.0, "flange leak, gas smell") == [p.id]
        # 2. escalation: a hazard past its deadline climbs a management layer
        h = svc.report_hazard(a["bob"], title="corroded ladder", category="equipment", level="general", x=5, y=5)
        svc.hazard_action(a["sue"], h.id, "confirm")
        svc.hazard_action(a["sue"], h.id, "assign", rectifier="cwo", deadline=T0 + timedelta(days=2))
        # 3. certificate reminder: cwo's hot-work licence expires in 80 days
        svc.add_certificate(a["sue"], person_id="cwo", type="hot_work", number="HW-77", issued_at=T0 - timedelta(days=9),
                            expires_at=T0 + timedelta(days=80))
        report = svc.run_due_jobs(T0 + timedelta(days=3, hours=1))
        assert report.escalated_hazards and report.certificate_reminders
        # 4. incident instructions: the live monitor's update for a declared incident
        api = build_api(TwinState(small_plant), tokens={"t": "admin"})
        monitor, _ = start_live_mode(TwinState(small_plant), api, None, "3.0,270,D", notifier=notifier, site=site)
        try:
            steps = [{"area_id": "A-STORE", "action": "evacuate", "route": ["R-1", "R-2"], "muster_point": "MP-1",
                      "reason": "AEGL-2 expected in 3 min"}]
            recs = SimpleNamespace(area_instructions=lambda: steps, to_dict=lambda: {"areas": steps})
            # the fields of a MonitorUpdate live_evaluation reads
            estimate = SimpleNamespace(kind="leak", equipment_id="TK-1", wind=None, notes=(),
                                       summary=lambda: {"equipment_id": "TK-1"})
            update = SimpleNamespace(recommendations=recs, declared=True, since_alarm_s=30.0, t_s=30.0, weather=None,
                                     estimate=estimate,
                                     declaration=SimpleNamespace(reason="three detectors agree",
                                                                 summary=lambda: {"reason": "three detectors agree"}))
            monitor.on_update(update)
            monitor.on_update(update)          # the same instruction again: told once
            monitor.on_update(SimpleNamespace(**{**vars(update), "declared": False,
                                                 "recommendations": SimpleNamespace(
                                                     area_instructions=lambda: [dict(steps[0], area_id="A-OFFICE")],
                                                     to_dict=dict)}))   # not declared: nothing sent
        finally:
            monitor.stop()
        events = {"suspended": f"permits/{p.id}", "overdue": f"hazards/{h.id}", "expiring": "certificates/",
                  "evacuate": "evac/A-STORE"}
        channels = ("mqtt", "webhook", "dingtalk", "wecom", "email")

        def all_delivered() -> bool:
            rows = outbox.list(limit=1000)
            return bool(rows) and all(r["state"] == "delivered" for r in rows) and all(
                any(r["event"] == ev and r["channel"] == ch for r in rows) for ev in events for ch in channels)

        assert wait_until(all_delivered), outbox.list(limit=1000)
        rows = outbox.list(limit=1000)
        assert not [r for r in rows if r["subject"] == "evac/A-OFFICE"]
        assert sum(1 for r in rows if r["subject"] == "evac/A-STORE") == len(channels)    # once per channel
        for event, subject in events.items():
            assert all(any(r["channel"] == ch and r["event"] == event and r["subject"].startswith(subject)
                           for r in rows) for ch in channels)
        # what each receiver got, in its own format
        hooks = {doc["event"]: doc for doc in http_receivers.got["webhook"]}
        assert set(events) <= set(hooks) and hooks["suspended"]["data"]["permit"] == p.id
        assert set(hooks["suspended"]["recipients"]) >= {"bob", "gus"}
        for robot in ("dingtalk", "wecom"):
            texts = [doc["text"]["content"] for doc in http_receivers.got[robot]]
            assert any("STOP WORK" in t and p.id in t for t in texts), texts
            assert any("escalated to" in t for t in texts) and any("HW-77" in t for t in texts)
            assert any(t.startswith(f"[SafeTwin {site}] EVACUATE area A-STORE by R-1 → R-2") for t in texts)
        mails = {m["X-SafeTwin-Event"].split()[-1]: (to, m) for _, to, m in sink.messages}
        assert set(events) <= set(mails)
        assert "bob@plant.example" in mails["suspended"][0] and "safety-office@plant.example" in mails["suspended"][0]
        assert "cwo@plant.example" in mails["expiring"][0]
        assert "STOP WORK" in mails["suspended"][1]["Subject"]
        assert wait_until(lambda: f"pst/v1/{site}/twin/notify/to/area:A-STORE" in mqtt_got)
        to_bob = [doc for doc in mqtt_got[f"pst/v1/{site}/twin/notify/to/bob"] if doc["event"] == "suspended"]
        assert len(to_bob) == 1 and "STOP WORK" in to_bob[0]["text"]
        about = mqtt_got[f"pst/v1/{site}/twin/notify/about/permits/{p.id}"]
        assert "suspended" in [doc["event"] for doc in about] and {doc["subject"] for doc in about} == {f"permits/{p.id}"}
        assert f"pst/v1/{site}/twin/notify/to/layer:company" in mqtt_got or \
            f"pst/v1/{site}/twin/notify/to/layer:workshop" in mqtt_got
        # the same notification id everywhere: receivers can drop repeats
        ids = {doc["id"] for doc in http_receivers.got["webhook"] if doc["event"] == "suspended"}
        assert ids == {to_bob[0]["id"]}
    finally:
        svc.close()
        close_notifier(notifier)
        store.close()


def test_a_receiver_that_is_down_gets_retries_then_a_dead_letter(tmp_path, http_receivers, smtp_sink, broker):
    sink, smtp_port = smtp_sink
    http_receivers.down = True
    dead_port = _free_port()       # nothing listens there
    store = Store.open(f"sqlite:///{tmp_path / 'wf.db'}")
    settings = _settings(http_receivers, smtp_port, broker, notify_mqtt=False, notify_smtp_host=None,
                         notify_wecom_url=f"http://127.0.0.1:{dead_port}/cgi-bin/webhook/send?key=x",
                         notify_max_attempts=3)
    attempts = []
    notifier = build_notifier(settings, engine=store.engine, site="s1", on_delivery=attempts.append)
    try:
        notifier.outbox.start()
        notifier.send(Notification(("bob",), "permits/PTW-1", "suspended", "STOP WORK", "s1"))
        done = lambda: {r["channel"]: r["state"] for r in notifier.outbox.list()} == \
            {"webhook": "dead", "dingtalk": "dead", "wecom": "dead"}   # noqa: E731
        assert wait_until(done), notifier.outbox.list()
        for row in notifier.outbox.list():
            assert row["attempts"] == 3 and row["last_error"], row
        assert "503" in next(r for r in notifier.outbox.list() if r["channel"] == "webhook")["last_error"]
        assert "ConnectError" in next(r for r in notifier.outbox.list() if r["channel"] == "wecom")["last_error"]
        assert sorted(d.attempt for d in attempts if d.channel == "webhook") == [1, 2, 3]
        assert [d.state for d in attempts if d.channel == "webhook"][-1] == "dead"
        # the receiver is back: an administrator re-queues the dead letter and it arrives
        http_receivers.down = False
        dead = next(r for r in notifier.outbox.list() if r["channel"] == "webhook")
        assert notifier.outbox.requeue(dead["id"]) and not notifier.outbox.requeue(dead["id"])
        assert wait_until(lambda: notifier.outbox.list(channel="webhook")[0]["state"] == "delivered")
        assert [doc["event"] for doc in http_receivers.got["webhook"]] == ["suspended"]
    finally:
        close_notifier(notifier)
        store.close()


def test_queued_deliveries_resume_after_a_restart(db_url, http_receivers):
    url = db_url
    hook = f"http://127.0.0.1:{http_receivers.server_address[1]}/hook"
    from safetwin.app.notify_channels import WebhookChannel

    store = Store.open(url)
    first = DeliveryLog(store.engine, [WebhookChannel(hook)], policy=RetryPolicy(base_s=0.05, lease_s=0.3))
    Notifier([WebhookChannel(hook)], outbox=first).send(Notification(("gus",), "hazards/HZ-1", "overdue", "late"))
    crashed = DeliveryLog(store.engine, [WebhookChannel(hook)], policy=RetryPolicy(base_s=0.05, lease_s=0.3))
    crashed.enqueue(Notification(("gus",), "hazards/HZ-2", "overdue", "late"))
    # a process that claimed HZ-2 and died before calling the receiver
    from safetwin.twin.workflows.delivery_log import _CLAIM, _utc
    row = next(r for r in crashed.list() if r["subject"] == "hazards/HZ-2")
    with store.engine.begin() as conn:
        conn.execute(_CLAIM, {"b_id": row["id"], "b_attempts": 0, "b_now": _utc(time.time()),
                              "b_lease": _utc(time.time() + 0.3)})
    store.close()                                     # the server stops: nothing was delivered
    assert http_receivers.got["webhook"] == []
    store = Store.open(url)                           # ... and starts again
    later = DeliveryLog(store.engine, [WebhookChannel(hook)], policy=RetryPolicy(base_s=0.05, lease_s=0.3)).start()
    try:
        assert wait_until(lambda: {r["state"] for r in later.list()} == {"delivered"}), later.list()
        assert sorted(doc["subject"] for doc in http_receivers.got["webhook"]) == ["hazards/HZ-1", "hazards/HZ-2"]
    finally:
        later.stop()
        store.close()


def test_the_delivery_log_through_the_api_is_role_checked(tmp_path, small_plant, actors):
    from fastapi.testclient import TestClient

    from safetwin.app.notify_channels import WebhookChannel
    from safetwin.twin.api.app import create_app
    from wfhelpers import PASSWORD

    store = Store.open(f"sqlite:///{tmp_path / 'wf.db'}")
    dead = WebhookChannel(f"http://127.0.0.1:{_free_port()}/nothing", timeout_s=1.0)
    outbox = DeliveryLog(store.engine, [dead], policy=RetryPolicy(max_attempts=1))
    svc = make_service(store.engine, small_plant, Clock(T0), MemoryChannel(),
                       notifier=Notifier([MemoryChannel(), dead], outbox=outbox))
    try:
        h = svc.report_hazard(actors["bob"], title="t", category="equipment", level="general", x=5, y=5)
        svc.hazard_action(actors["sue"], h.id, "confirm")
        svc.hazard_action(actors["sue"], h.id, "assign", rectifier="cwo")
        assert outbox.run_due("webhook") == 1
        client = TestClient(create_app(TwinState(small_plant), workflows=svc))

        def auth(user):
            token = client.post("/auth/token", data={"username": user, "password": PASSWORD}).json()["access_token"]
            return {"Authorization": f"Bearer {token}"}

        assert client.get("/notifications/deliveries").status_code == 401
        assert client.get("/notifications/deliveries", headers=auth("bob")).status_code == 403
        rows = client.get("/notifications/deliveries?state=dead", headers=auth("sue")).json()
        assert [(r["channel"], r["event"], r["attempts"]) for r in rows] == [("webhook", "assign", 1)]
        summary = client.get("/notifications/summary", headers=auth("max")).json()
        assert summary["deliveries"] == {"webhook": {"dead": 1}} and summary["channels"] == ["memory", "webhook"]
        path = f"/notifications/deliveries/{rows[0]['id']}/requeue"
        assert client.post(path, headers=auth("sue")).status_code == 403
        assert client.post(path, headers=auth("root")).json() == {"requeued": rows[0]["id"]}
        assert client.post(path, headers=auth("root")).status_code == 409
    finally:
        svc.close()
        dead.close()
        store.close()
