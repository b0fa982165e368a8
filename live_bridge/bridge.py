"""LiveBridge: the running MQTT ⇄ twin bridge of one site.

Threads: the inbound MQTT network thread (decode, validate, apply, hand rows to history),
the history writer (``BatchWriter``), the acker (acks QoS 1 messages once their rows are
committed), the alarm thread (priority queue → :class:`~safetwin.twin.alarms.AlarmRules`), the
outbound MQTT connection (alarms, occupancy, muster, commands), the alarm-event writer and a
periodic publisher of occupancy and muster status.

Example (needs a broker)::

    bridge = LiveBridge(load_plant(path), BridgeConfig(site="site1")).start()
    ...
    bridge.stop()
"""
from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt

from safetwin.plant_models.loader import Plant
from safetwin.twin.alarms import AlarmEngine, AlarmRecord, AlarmRules, RuleConfig
from safetwin.twin.state import TwinState
from safetwin.twin.store import BatchWriter, Store

from .connection import DurableAcker, MqttConnection
from .ingest import IngestConfig, Ingestor
from .outbound import AlarmEventWriter, Publisher, parse_alarm_payload
from .payloads import encode
from .people import muster_status, occupancy
from .rejects import RejectCounter
from .topics import Topics

log = logging.getLogger(__name__)


@dataclass
class BridgeConfig:
    """Settings of one bridge (times in s). ``client_id`` defaults to ``safetwin-bridge-{site}``;
    it must stay fixed across restarts so the broker keeps the persistent session."""

    site: str = "site1"
    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    client_id: str | None = None
    db_url: str | None = None
    publish_period_s: float = 2.0
    stale_s: float = 30.0
    restore_timeout_s: float = 2.0
    writer_batch_size: int = 5000
    writer_flush_interval_s: float = 0.05
    ingest: IngestConfig = field(default_factory=IngestConfig)
    rule_overrides: dict[str, RuleConfig] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, site: str = "site1", **kw: Any) -> BridgeConfig:
        """Broker and database from ``safetwin.settings.get_settings()``."""
        from safetwin.settings import get_settings
        s = get_settings()
        return cls(site=site, host=s.mqtt_host, port=s.mqtt_port, username=s.mqtt_username,
                   password=s.mqtt_password, db_url=s.database_url, **kw)


class LiveBridge:
    """See the module docstring. ``start()`` raises ``ConnectionError`` if the broker is down."""

    def __init__(self, plant: Plant, config: BridgeConfig | None = None, *, store: Store | None = None,
                 state: TwinState | None = None) -> None:
        self.plant = plant
        self.config = cfg = config or BridgeConfig()
        self.topics = Topics(cfg.site)
        self.client_id = cfg.client_id or f"safetwin-bridge-{cfg.site}"
        self.state = state or TwinState(plant)
        self._own_store = store is None
        self.store = store if store is not None else Store.open(cfg.db_url)
        self.rules = AlarmRules(self.state, cfg.rule_overrides)
        self.writer: BatchWriter | None = None
        self.events: AlarmEventWriter | None = None
        self.engine: AlarmEngine | None = None
        self.out: MqttConnection | None = None
        self.inbound: MqttConnection | None = None
        self.publisher: Publisher | None = None
        self.acker: DurableAcker | None = None
        self.ingestor: Ingestor | None = None
        self.rejects = RejectCounter(sink=self._reject_sample)
        self._stop = threading.Event()
        self._periodic: threading.Thread | None = None
        self.restored_alarms = 0

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> LiveBridge:
        cfg = self.config
        self.writer = BatchWriter(self.store, batch_size=cfg.writer_batch_size,
                                  flush_interval_s=cfg.writer_flush_interval_s, put_timeout_s=None,
                                  max_pending=max(200_000, cfg.writer_batch_size))
        self.events = AlarmEventWriter(self.store)
        will = (self.topics.twin_status(), encode({"online": False}))
        self.out = MqttConnection(f"{self.client_id}-out", cfg.host, cfg.port, username=cfg.username,
                                  password=cfg.password, will=will, on_message=self._on_restore_message)
        self._restore_buf: list[tuple[str, bytes]] = []
        self.out.start()
        self.publisher = Publisher(self.out, self.topics)
        self._restore_alarms()
        self.engine = AlarmEngine(self.rules, on_transitions=self._on_transitions).start()
        self.ingestor = Ingestor(self.state, cfg.site, history=self.writer, alarms=self.engine,
                                 rejects=self.rejects, config=cfg.ingest)
        self.acker = DurableAcker(self.writer.flush).start()
        self.acker.on_failure = self._on_flush_failure
        self.inbound = MqttConnection(self.client_id, cfg.host, cfg.port, username=cfg.username,
                                      password=cfg.password, manual_ack=True,
                                      subscriptions=self.topics.subscriptions(), on_message=self._on_message)
        try:
            self.inbound.start()
        except ConnectionError:
            self._shutdown_workers()
            raise
        self.publisher.status(True, client_id=self.client_id, session_present=self.inbound.session_present)
        self._periodic = threading.Thread(target=self._periodic_loop, name="safetwin-bridge-periodic", daemon=True)
        self._periodic.start()
        log.info("live bridge %s up on %s:%s (session present: %s, %d alarms restored)", self.client_id,
                 cfg.host, cfg.port, self.inbound.session_present, self.restored_alarms)
        return self

    def stop(self) -> None:
        """Stop cleanly: stop ingest, commit and ack what was processed, publish offline."""
        self._stop.set()
        if self.inbound is not None:
            self.inbound.client.on_message = None
        if self.acker is not None:
            self.acker.stop()
        if self.inbound is not None:
            self.inbound.stop()
        if self.engine is not None:
            self.engine.wait_idle(5.0)
            self.engine.stop()
        if self.publisher is not None:
            self.publisher.status(False)
        if self.out is not None:
            time.sleep(0.05)
            self.out.stop()
        self._shutdown_workers()

    def _shutdown_workers(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self.events is not None:
            self.events.close()
        if self._own_store:
            self.store.close()

    def kill(self) -> None:
        """Simulate a crash (tests): drop both MQTT connections without DISCONNECT or acks."""
        self._stop.set()
        if self.inbound is not None:
            self.inbound.client.on_message = None
            self.inbound.kill()
        if self.acker is not None:
            self.acker._stop = True  # noqa: SLF001 - abandon pending acks like a crash would
        if self.out is not None:
            self.out.kill()
        if self.engine is not None:
            self.engine.stop(1.0)

    def __enter__(self) -> LiveBridge:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ inbound
    def _on_message(self, conn: MqttConnection, msg: mqtt.MQTTMessage) -> None:
        self.ingestor.handle(msg.topic, msg.payload)  # type: ignore[union-attr]
        if msg.qos > 0:
            self.acker.add(conn, msg.mid)  # type: ignore[union-attr]

    def _on_flush_failure(self) -> None:
        """History could not be committed: forget seen sequence numbers and reconnect, so the
        broker redelivers the unacknowledged messages and they are written again."""
        if self.ingestor is not None:
            from .dedupe import SeqTracker
            self.ingestor.tracker = SeqTracker()
        if self.inbound is not None:
            sock = self.inbound.client.socket()
            if sock is not None:
                try:
                    sock.close()
                except OSError:
                    pass

    # ------------------------------------------------------------------ alarms out
    def _on_restore_message(self, conn: MqttConnection, msg: mqtt.MQTTMessage) -> None:
        self._restore_buf.append((msg.topic, msg.payload))
        self._restore_last = time.monotonic()

    def _restore_alarms(self) -> None:
        """Read the retained alarm topics and adopt them, so a restarted bridge continues the
        alarms (states, acks, shelving) it published before."""
        assert self.out is not None
        flt = self.topics.alarm("+")
        self._restore_last = time.monotonic()
        self.out.client.subscribe(flt, qos=1)
        t0 = time.monotonic()
        while time.monotonic() - t0 < self.config.restore_timeout_s:
            if self._restore_buf and time.monotonic() - self._restore_last > 0.3:
                break
            if not self._restore_buf and time.monotonic() - t0 > 0.6:
                break
            time.sleep(0.05)
        self.out.client.unsubscribe(flt)
        self.out.on_message_cb = None
        for topic, payload in self._restore_buf:
            if not payload:
                continue
            try:
                rec = parse_alarm_payload(json.loads(payload))
            except Exception:  # noqa: BLE001
                log.warning("ignoring unreadable retained alarm on %s", topic)
                continue
            if rec.source_id in self.rules.configs:
                self.rules.restore(rec)
                self.restored_alarms += 1

    def _on_transitions(self, recs: list[AlarmRecord]) -> None:
        if self.publisher is not None:
            self.publisher.alarms(recs)
        if self.events is not None:
            self.events.put(recs)

    def acknowledge(self, alarm_id: str, by: str = "") -> None:
        """Queue an operator acknowledgement (also possible over MQTT, see the docs)."""
        assert self.engine is not None
        self.engine.command("ack", alarm_id, time.time(), by)

    def _reject_sample(self, sample: dict[str, Any]) -> None:
        if self.publisher is not None:
            self.publisher.reject_sample(sample)

    # ------------------------------------------------------------------ people out
    def publish_people(self, now: float | None = None) -> dict[str, Any]:
        """Publish occupancy per area and the muster status (retained, only when changed)."""
        now = time.time() if now is None else now
        status = muster_status(self.state, now, self.config.stale_s)
        if self.publisher is not None:
            self.publisher.occupancy(occupancy(self.state, now, self.config.stale_s), now)
            self.publisher.muster(status)
        return status

    def _periodic_loop(self) -> None:
        while not self._stop.wait(self.config.publish_period_s):
            try:
                self.publish_people()
            except Exception:  # noqa: BLE001
                log.exception("periodic publish failed")

    # ------------------------------------------------------------------ introspection
    def stats(self) -> dict[str, Any]:
        ing = self.ingestor
        return {
            "messages": ing.messages if ing else 0,
            "readings_applied": ing.readings_applied if ing else 0,
            "readings_history": ing.readings_history if ing else 0,
            "positions_applied": ing.positions_applied if ing else 0,
            **self.rejects.snapshot(),
            "acked": self.acker.acked if self.acker else 0,
            "writer": self.writer.stats() if self.writer else None,
            "alarm_engine": self.engine.stats if self.engine else None,
            "session_present": self.inbound.session_present if self.inbound else None,
        }
