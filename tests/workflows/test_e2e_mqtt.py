"""End to end over the real Mosquitto broker, on the demo plant: a gas reading published by a client →
LiveBridge (decode, validate, apply) → TwinState → the bridge's alarm rules → the workflow service
suspends the hot-work permit next to the detector → the holder and guardian are notified.

Nothing on this path is called by the test: it publishes MQTT and waits on conditions. The
warning-level reading on the way checks that the alarm levels the bridge raises are the ones the
GB 30871-2022 rule pack reads (a warning does not stop the work, a high alarm does).
"""
from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta, timezone

import paho.mqtt.client as mqtt
import pytest
from shapely.geometry import Point

from safetwin.live_bridge.bridge import BridgeConfig, LiveBridge
from safetwin.live_bridge.payloads import iso_ms
from safetwin.live_bridge.topics import Topics
from safetwin.twin.state import TwinState
from safetwin.twin.workflows.roles import Actor
from wfhelpers import PEOPLE, Clock, certify, make_service, wait_until

pytestmark = pytest.mark.mqtt


def _detector_near_a_tank(plant):
    """A flammable-gas detector with alarm levels and the tank nearest to it."""
    tanks = [e for e in plant.equipment.values() if "tank" in e.kind.value]
    sensors = [s for s in plant.meta.sensors if s.type.value == "flammable_gas" and s.alarm is not None]
    return min(sensors, key=lambda s: min(Point(s.position).distance(t.geometry) for t in tanks))


def test_reading_to_alarm_to_suspended_permit_to_notification(demo_plant, store, memory, broker, tmp_path):
    host, port = broker
    plant = demo_plant
    now = datetime.now(timezone.utc)
    svc = make_service(store.engine, plant, Clock(now), memory)
    actors = {k: Actor(k, frozenset(v)) for k, v in PEOPLE.items()}
    sensor = _detector_near_a_tank(plant)
    x, y = sensor.position
    for who, certificate in (("bob", "hot_work"), ("gus", "guardian")):
        certify(svc, actors, who, certificate, expires=now + timedelta(days=400))
    permit = svc.create_permit(actors["ann"], type="hot_work", level="first", title="weld a pipe support by the tanks",
                               work_polygon=[(x + 3, y + 3), (x + 8, y + 3), (x + 8, y + 8), (x + 3, y + 8)],
                               holder="bob", guardian="gus", jha="sparks; blinds; drains covered",
                               planned_start=now, planned_end=now + timedelta(hours=4))
    svc.permit_action(actors["ann"], permit.id, "submit")
    for who in ("al", "sue", "ola"):
        svc.permit_action(actors[who], permit.id, "approve")
    svc.add_gas_test(actors["gus"], permit.id, gas="methane", value=0.0, unit="%vol",
                     sampled_at=now - timedelta(minutes=2))
    assert svc.permit_action(actors["bob"], permit.id, "start").state == "active"

    site = "e2e" + uuid.uuid4().hex[:8]
    topics = Topics(site)
    state = TwinState(plant)
    svc.attach(state)
    config = BridgeConfig(site=site, host=host, port=port, db_url=f"sqlite:///{tmp_path / 'history.db'}",
                          restore_timeout_s=1.0)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="e2e-pub-" + site, protocol=mqtt.MQTTv5)
    client.connect(host, port)
    client.loop_start()

    def publish(seq: int, value: float) -> None:
        body = {"sid": sensor.id, "seq": seq, "ts": iso_ms(time.time()), "v": value}
        client.publish(topics.reading(sensor.area_id or "area", "unit", sensor.id), json.dumps(body),
                       qos=1).wait_for_publish(10)

    try:
        with LiveBridge(plant, config, state=state) as bridge:
            warning = (sensor.alarm.warning + sensor.alarm.high) / 2
            publish(1, warning)
            assert wait_until(lambda: any(a.source_id == sensor.id for a in state.active_alarms())), bridge.stats()
            (alarm,) = [a for a in state.active_alarms() if a.source_id == sensor.id]
            assert alarm.level == "W"
            assert svc.drain()
            assert svc.permit(permit.id).state == "active", "a warning-level alarm does not stop the work"

            high = sensor.alarm.high * 1.2
            t_published = time.perf_counter()
            publish(2, high)
            assert wait_until(lambda: svc.permit(permit.id).state == "suspended"), bridge.stats()
            assert wait_until(lambda: any(n.event == "suspended" for n in memory.sent))
            latency_s = time.perf_counter() - t_published
    finally:
        svc.close()
        client.loop_stop()
        client.disconnect()

    (alarm,) = [a for a in state.active_alarms() if a.source_id == sensor.id]
    assert alarm.level == "H" and state.reading(sensor.id).value == pytest.approx(high)
    suspended = svc.permit(permit.id)
    last = suspended.history[-1]
    assert (last.action, last.by, last.to_state) == ("suspend", "system", "suspended"), suspended.history
    assert sensor.id in last.reason and "(H)" in last.reason
    (note,) = [n for n in memory.sent if n.event == "suspended"]
    assert {"bob", "gus"} <= set(note.recipients) and note.data["permit"] == permit.id
    assert note.text.startswith("STOP WORK")
    print(f"published reading -> suspended permit and notification: {latency_s * 1000:.0f} ms (not a gate)")
