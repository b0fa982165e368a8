"""The bridge's per-message work in one thread, without a broker: CPU time per gateway message.

The same 6 000 gateway batches of 50 readings as ``bench_bridge.py`` (one source time per reading)
are framed as MQTT 5 QoS 1 PUBLISH packets and read by the bridge's MQTT client from a stand-in
socket that returns about 50 messages per read (the bursts measured live), then go the bridge's
way: ``FastClient`` (burst) → ``Ingestor.handle_burst`` (decode, validate, dedupe, TwinState,
history record appended to the durable ingest log) → the alarm rules' grouped path (what the
alarm thread runs) → group commit every 500 messages (frames, CRC, write, fdatasync) → PUBACKs
built (``ack_many``). Prints the thread CPU time per message (µs), the minimum over ``--reps``.
No network, no other process: the figure is the code's, far steadier on a shared machine than
the live ratio of ``bench_bridge.py``. Compare two trees by running it alternately on each::

    for i in 1 2 3 4 5; do for t in /old/tree /new/tree; do
        PYTHONPATH=$t .venv/bin/python benchmarks/bench_bridge_path.py; done; done
"""
from __future__ import annotations

import argparse
import os
import struct
import sys
import tempfile
import time

import paho.mqtt.client as mqtt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_bridge import GW, PER_MSG, SITE, make_payloads

from safetwin.live_bridge.bridge import _History
from safetwin.live_bridge.fastclient import BufferedSocket, FastClient
from safetwin.live_bridge.ingest import Ingestor
from safetwin.live_bridge.ingestlog import DurableLog
from safetwin.live_bridge.topics import Topics
from safetwin.plant_models.loader import bundled_plant_path, load_plant
from safetwin.twin.alarms import AlarmRules
from safetwin.twin.state import TwinState


def packets(payloads: list[bytes], topic: bytes) -> bytes:
    """MQTT 5 QoS 1 PUBLISH packets (no properties) of ``payloads`` on ``topic``."""
    out = []
    for k, p in enumerate(payloads):
        body = struct.pack("!H", len(topic)) + topic + struct.pack("!H", 1 + k % 65000) + b"\x00" + p
        n, length = len(body), bytearray()
        while True:
            n, byte = n >> 7, n & 127
            length.append(byte | (128 if n else 0))
            if not n:
                break
        out.append(b"\x32" + bytes(length) + body)
    return b"".join(out)


class _Reads:
    """A non-blocking socket stand-in: each read returns the next ``chunk`` bytes, the one after
    it would block (so the client hands over one burst per read)."""

    def __init__(self, data: bytes, chunk: int) -> None:
        self.data, self.chunk, self.pos, self.block = data, chunk, 0, False

    def recv(self, n: int) -> bytes:
        if self.block:
            self.block = False
            raise BlockingIOError
        self.block = True
        part = self.data[self.pos:self.pos + self.chunk]
        self.pos += len(part)
        return part

    def close(self) -> None:
        pass


class _Alarms:
    """The alarm thread's work, inline: the grouped evaluation of each burst's readings."""

    def __init__(self, rules: AlarmRules) -> None:
        self.rules = rules

    def submit_columns(self, sids, values, ts, qualities) -> None:
        if self.rules.evaluate_many(sids, values, ts, qualities):
            raise AssertionError("the benchmark's readings raise no alarm")

    def submit_readings(self, readings) -> None:
        raise AssertionError("a gateway batch goes as columns")

    def command(self, *args, **kwargs) -> None:
        pass


class _NoWriter:
    def put_positions(self, rows) -> None:
        pass

    def put_readings(self, rows) -> None:
        pass


def run(plant, data: bytes, n_msgs: int, chunk: int) -> float:
    """CPU µs per message of one pass."""
    state = TwinState(plant)
    rules = AlarmRules(state, {})
    with tempfile.TemporaryDirectory() as tmp:
        log = DurableLog(os.path.join(tmp, "log"))
        ing = Ingestor(state, SITE, history=_History(log, _NoWriter()), alarms=_Alarms(rules))
        ing.receipts = []
        client = FastClient(mqtt.CallbackAPIVersion.VERSION2, client_id="bench", protocol=mqtt.MQTTv5,
                            manual_ack=True)
        client._sock = BufferedSocket(_Reads(data, chunk))
        client._packet_queue = lambda *a, **k: mqtt.MQTT_ERR_SUCCESS   # PUBACKs built, not sent
        got = [0]
        pending: list[int] = []

        def on_burst(msgs) -> None:
            ing.handle_burst([(m.topic, m.payload) for m in msgs])
            pending.extend(m.mid for m in msgs if m.qos > 0)
            ing.take_receipts()
            got[0] += len(msgs)
            if len(pending) >= 500:
                log.sync()
                client.ack_many(pending)
                pending.clear()

        client.on_burst = on_burst
        t0 = time.thread_time()
        while got[0] < n_msgs:
            client.loop_read()
        log.sync()
        client.ack_many(pending)
        took = time.thread_time() - t0
        log.close()
    if ing.readings_applied != n_msgs * PER_MSG or rules.fast_path != n_msgs * PER_MSG:
        raise AssertionError(f"applied {ing.readings_applied}, alarm fast path {rules.fast_path}")
    return took / n_msgs * 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--msgs", type=int, default=6000)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--per-read", type=int, default=50, help="messages per socket read")
    args = ap.parse_args()
    plant = load_plant(bundled_plant_path("small_plant"))
    sensors = sorted(s for s in plant.sensors if s != "MET-1")
    payloads = make_payloads(sensors, args.msgs, time.time() - 30.0, 1)
    data = packets(payloads, Topics(SITE).batch(GW).encode())
    chunk = len(data) // args.msgs * args.per_read
    best = min(run(plant, data, args.msgs, chunk) for _ in range(args.reps))
    print(f"{best:.1f} us CPU per message ({PER_MSG} readings), load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
