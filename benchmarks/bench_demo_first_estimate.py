"""The first source estimate of ``make demo`` after the first gas alarm, measured on the demo.

Starts ``safetwin demo`` (what ``make demo`` runs; ``--no-simulate``, its own site on the local
broker), then publishes the chlorine drum leak's detector traffic (the scenario replayed by the
simulated plant, no faults) in real time: every second of the scenario one second of wall time,
stamped now. Measures the wall time from publishing the first reading at or above a detector's
warning level to the first live evaluation served by ``GET /planner/recommendations`` (the
estimate with its recommendations: what the control room shows). Target ≤ 20 s.

Usage:  .venv/bin/python benchmarks/bench_demo_first_estimate.py [--seconds 90]
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid

import paho.mqtt.client as mqtt

from safetwin.emergency_planner.live.replay import decode_readings
from safetwin.live_bridge.scenario_replay import ScenarioReplay

BROKER = (os.environ.get("SAFETWIN_MQTT_HOST", "127.0.0.1"), int(os.environ.get("SAFETWIN_MQTT_PORT", "1883")))
TOKEN = "b3nch"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str) -> tuple[int, dict]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {TOKEN}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, {}
    except (urllib.error.URLError, OSError):
        return 0, {}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=90, help="scenario seconds of traffic to publish")
    a = ap.parse_args()
    site, port = "bench" + uuid.uuid4().hex[:6], free_port()
    data = tempfile.mkdtemp(prefix="safetwin-bench-")
    env = dict(os.environ, SAFETWIN_DATA_DIR=data, SAFETWIN_API_TOKEN=TOKEN, SAFETWIN_LIVE_WIND="3.0,270,D",
               SAFETWIN_MQTT_HOST=BROKER[0], SAFETWIN_MQTT_PORT=str(BROKER[1]))
    env.pop("SAFETWIN_DB_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "safetwin", "demo", "--port", str(port), "--duration",
                             str(a.seconds + 240), "--site", site, "--no-simulate"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out: list[str] = []
    threading.Thread(target=lambda: out.extend(iter(proc.stdout.readline, "")), daemon=True).start()  # type: ignore[union-attr]
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-" + uuid.uuid4().hex[:8],
                      protocol=mqtt.MQTTv5)
    served: list[tuple[float, dict]] = []
    stop = threading.Event()
    try:
        deadline = time.time() + 180
        while time.time() < deadline and not any("live incident mode: armed" in s for s in out):
            if proc.poll() is not None:
                raise SystemExit("demo exited:\n" + "".join(out))
            time.sleep(0.2)
        while time.time() < deadline and get(port, "/health")[0] != 200:
            time.sleep(0.2)
        print(f"demo up (load avg {os.getloadavg()[0]:.2f}); publishing {a.seconds} s of the chlorine leak in real time")

        def watch() -> None:
            while not stop.is_set():
                code, body = get(port, "/planner/recommendations")
                if code == 200:
                    served.append((time.time(), body))
                    return
                time.sleep(0.25)

        threading.Thread(target=watch, daemon=True).start()
        pub.connect(*BROKER)
        pub.loop_start()
        start = time.time()
        replay = ScenarioReplay("chlorine_drum_leak_wind_shift", seed=1, fault_rate_per_h=0.0, site=site,
                                start_ts=start, people=0)
        sensors = replay.plant.sensors
        first_alarm_wall = None
        for t in range(1, a.seconds + 1):
            time.sleep(max(0.0, start + t - time.time()))
            msgs = [m for m in replay.advance(float(t)) if "/rtls/" not in m.topic]
            for m in msgs:
                pub.publish(m.topic, m.payload, m.qos, m.retain).wait_for_publish(10)
            if first_alarm_wall is None:
                for sid, _ts, v, q in decode_readings(msgs, replay.start_ts):
                    s = sensors.get(sid)
                    if s is not None and s.alarm is not None and v is not None and q != "bad" and v >= s.alarm.warning:
                        first_alarm_wall = time.time()
                        print(f"first reading at or above a warning level: {sid} at scenario t = {t} s")
                        break
            if served:
                break
        deadline = time.time() + 120
        while not served and time.time() < deadline:
            time.sleep(0.25)
        if first_alarm_wall is None:
            raise SystemExit("no detector reached its warning level")
        if not served:
            print("no live evaluation served within 120 s of the end of the traffic (target <= 20 s: NOT met)")
            return
        wall, doc = served[0]
        latency = wall - first_alarm_wall
        print(f"first live evaluation served {latency:.1f} s after the first alarm reading was published "
              f"(target <= 20 s: {'met' if latency <= 20 else 'NOT met'}); its estimate: "
              f"{doc['estimate'].get('equipment_id')} {doc['estimate'].get('rate_kg_s', float('nan')):.3g} kg/s, "
              f"{doc['incident'].get('since_alarm_s')} s of source time after the first alarm, estimate "
              f"{doc['estimate'].get('compute_ms', float('nan')):.0f} ms; recommendations "
              f"{(doc.get('recommendations') or {}).get('timings_s', {}).get('total', float('nan')):.2f} s")
    finally:
        stop.set()
        pub.loop_stop()
        pub.disconnect()
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    main()
