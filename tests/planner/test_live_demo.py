"""Live mode inside `safetwin demo` (what `make demo` runs): a chlorine release's detector traffic
is published to the real broker; the demo's bridge applies it, the live monitor estimates the
source and the recommendations reach the API (``GET /planner/recommendations``) and the site
(retained per-area instructions on ``pst/v1/{site}/twin/evac/{area}``)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

import paho.mqtt.client as mqtt
import pytest

from safetwin.live_bridge.scenario_replay import ScenarioReplay

BROKER = (os.environ.get("SAFETWIN_MQTT_HOST", "127.0.0.1"), int(os.environ.get("SAFETWIN_MQTT_PORT", "1883")))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str) -> tuple[int, dict]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": "Bearer l1ve"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, {}
    except urllib.error.URLError:      # not serving yet
        return 0, {}


PEOPLE = 40   # RTLS tags the replayed site reports


@pytest.mark.mqtt
def test_demo_live_mode_estimates_and_publishes_recommendations(tmp_path):
    site = "demo" + uuid.uuid4().hex[:6]
    port = _free_port()
    env = dict(os.environ, SAFETWIN_DATA_DIR=str(tmp_path), SAFETWIN_API_TOKEN="l1ve",
               SAFETWIN_LIVE_WIND="3.0,270,D", SAFETWIN_MQTT_HOST=BROKER[0], SAFETWIN_MQTT_PORT=str(BROKER[1]))
    env.pop("SAFETWIN_DB_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "safetwin", "demo", "--port", str(port), "--duration", "150",
                             "--site", site, "--no-simulate"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    instructions: dict[str, dict] = {}
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="evac-" + uuid.uuid4().hex[:8], protocol=mqtt.MQTTv5)
    sub.on_message = lambda c, u, m: instructions.__setitem__(m.topic, json.loads(m.payload))
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="leak-" + uuid.uuid4().hex[:8], protocol=mqtt.MQTTv5)
    out: list[str] = []
    try:
        reader = threading.Thread(target=lambda: out.extend(iter(proc.stdout.readline, "")), daemon=True)
        reader.start()
        deadline = time.time() + 90
        while time.time() < deadline and not any("live incident mode: armed" in s for s in out):
            assert proc.poll() is None, "".join(out)
            time.sleep(0.2)
        assert any("live incident mode: armed" in s for s in out), "".join(out)
        while time.time() < deadline and _get(port, "/health")[0] != 200:
            time.sleep(0.2)
        assert _get(port, "/planner/recommendations")[0] == 404     # nothing before an incident

        sub.connect(*BROKER)
        sub.subscribe(f"pst/v1/{site}/twin/evac/#", qos=1)
        sub.loop_start()
        pub.connect(*BROKER)
        pub.loop_start()
        # 100 s of the chlorine drum leak's detector traffic, stamped in the recent past
        replay = ScenarioReplay("chlorine_drum_leak_wind_shift", seed=1, fault_rate_per_h=0.0, site=site,
                                start_ts=time.time() - 120.0, people=PEOPLE)
        for t in range(1, 101):       # --no-simulate places nobody: the people are the replay's RTLS tags
            for m in replay.advance(float(t)):
                pub.publish(m.topic, m.payload, m.qos, m.retain).wait_for_publish(10)
        doc = None
        deadline = time.time() + 90
        while time.time() < deadline:
            code, body = _get(port, "/planner/recommendations")
            if code == 200 and "DS-701" in body["source"] and "incident declared" in body["source"]:
                doc = body
                break
            time.sleep(1.0)
        assert doc is not None, (code, str(body)[:600], "".join(out[-30:]))
        rec = doc["recommendations"]
        assert "healthy detectors agree on one source" in doc["source"], doc["source"]
        assert len(rec["people"]) == PEOPLE   # every tag the site reported
        deadline = time.time() + 30
        while time.time() < deadline and not instructions:
            time.sleep(0.2)
        assert instructions, "no per-area instruction reached the site"
        actions = {d["action"] for d in instructions.values()}
        assert "evacuate" in actions or "shelter" in actions, actions
        assert not any("live monitor update failed" in line for line in out), "".join(out[-40:])
    finally:
        for c in (sub, pub):
            c.loop_stop()
            c.disconnect()
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
