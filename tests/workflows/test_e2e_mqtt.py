"""End to end on the demo plant: gas alarm through the twin → permit suspended → MQTT notification < 1 s."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from shapely.geometry import Point

from safetwin.plant_models.loader import bundled_plant_path, load_plant
from safetwin.twin.state import TwinState
from safetwin.twin.workflows.notify import MemoryChannel, MqttChannel
from safetwin.twin.workflows.roles import Actor
from wfhelpers import PEOPLE, Clock, certify, make_service, service_missing

pytestmark = pytest.mark.mqtt


def _plant():
    path = bundled_plant_path("demo_plant")
    return load_plant(path if (path / "plant.yaml").exists() else bundled_plant_path("small_plant"))


def _tank_farm_sensor(plant):
    """A flammable-gas sensor near a tank (the tank farm) and that tank's position."""
    tanks = [e for e in plant.equipment.values() if "tank" in e.kind.value.lower()]
    sensors = [s for s in plant.meta.sensors if s.type.value == "flammable_gas" and s.alarm is not None]
    best = min(((Point(s.position).distance(t.geometry), s) for s in sensors for t in tanks) if tanks else
               ((0.0, s) for s in sensors), key=lambda x: x[0])
    return best[1]


def test_gas_alarm_suspends_permit_and_publishes_on_mqtt(store):
    import paho.mqtt.client as mqtt

    plant = _plant()
    now = datetime.now(timezone.utc)
    clock = Clock(now)
    memory = MemoryChannel()
    svc = make_service(store.engine, plant, clock, memory)
    a = {k: Actor(k, frozenset(v)) for k, v in PEOPLE.items()}
    chan = MqttChannel(client_id="safetwin-test-pub")
    if not chan.wait_connected(5):
        chan.close()
        service_missing("the MQTT broker at 127.0.0.1:1883", "SAFETWIN_SKIP_MQTT", "no CONNACK within 5 s")
    svc.notifier.add(chan)
    got: dict[str, float] = {}
    arrived = threading.Event()
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="safetwin-test-sub")
    subscribed = threading.Event()
    sub.on_connect = lambda c, u, f, rc, p=None: c.subscribe(f"safetwin/{svc.site_id}/notifications/gus", qos=1)
    sub.on_subscribe = lambda *args: subscribed.set()

    def on_message(c, u, msg):
        if b'"suspended"' in msg.payload:
            got["t"] = time.perf_counter()
            got["payload"] = msg.payload.decode()
            arrived.set()

    sub.on_message = on_message
    sub.connect("127.0.0.1", 1883)
    sub.loop_start()
    state = TwinState(plant)
    svc.attach(state)
    try:
        assert subscribed.wait(5)
        sensor = _tank_farm_sensor(plant)
        x, y = sensor.position
        for who, ct in (("bob", "hot_work"), ("gus", "guardian")):
            certify(svc, a, who, ct, expires=now + timedelta(days=400))
        poly = [(x + 3, y + 3), (x + 8, y + 3), (x + 8, y + 8), (x + 3, y + 8)]
        p = svc.create_permit(a["ann"], type="hot_work", level="first", title="weld pipe support near tank farm",
                              work_polygon=poly, holder="bob", guardian="gus", jha="sparks; blinds; drains covered",
                              planned_start=now, planned_end=now + timedelta(hours=4))
        svc.permit_action(a["ann"], p.id, "submit")
        for who in ("al", "sue", "ola"):
            svc.permit_action(a[who], p.id, "approve")
        svc.add_gas_test(a["gus"], p.id, gas="methane", value=0.0, unit="%vol", sampled_at=now - timedelta(minutes=2))
        assert svc.permit_action(a["bob"], p.id, "start").state == "active"

        high = sensor.alarm.high
        t0 = time.perf_counter()
        state.apply_reading(sensor.id, high * 1.2, ts=time.time())
        try:
            from safetwin.twin import alarms as alarm_rules  # the colleague's rules, when present
        except ImportError:
            alarm_rules = None
        if not state.active_alarms():   # no alarm rules subscribed: raise it as they would
            state.raise_alarm(f"AL-{sensor.id}", sensor.id, "high", time.time(), f"{high * 1.2:g} {sensor.unit}")
        assert arrived.wait(2.0), "no MQTT notification"
        latency = got["t"] - t0
        print(f"reading → MQTT notification latency: {latency * 1000:.1f} ms (alarm rules module: {alarm_rules is not None})")
        assert latency < 1.0
        assert svc.permit(p.id).state == "suspended"
        assert p.id in got["payload"]
    finally:
        svc.close()
        sub.loop_stop()
        sub.disconnect()
        chan.close()
