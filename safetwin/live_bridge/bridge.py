"""LiveBridge: the running MQTT ⇄ twin bridge of one site.

Threads: the inbound MQTT network thread (decode, validate, apply, hand rows to history; the
messages of one socket read are processed as one burst: one TwinState update, one alarm
submission and one hand-over to the acker),
the acker (makes the durable ingest log's appended records durable with one ``fdatasync`` per
group, then acks the group's QoS 1 messages), the log indexer (expands the durable log into the
``sensor_readings`` history table behind the acks, see :mod:`~safetwin.live_bridge.ingestlog`),
the history writer (``BatchWriter``: positions; readings too when the log is off), the alarm
thread (priority queue → :class:`~safetwin.twin.alarms.AlarmRules`), the
outbound MQTT connection (alarms, occupancy, muster, commands), the alarm-event writer and a
periodic publisher of occupancy and muster status.

Start-up, in this order (:meth:`LiveBridge.start`): open history (writers, the site's ingest log
and its indexer, the day partitions); **rebuild** the twin from history (latest value per sensor,
last position per person, hence the muster state: :mod:`.rebuild`); open the outbound
connection and read back the retained alarm records (adopted only when signed with the site's
key) and muster status; start ingest (alarm engine, acker, inbound connection); announce
(``twin/status`` online, periodic publishing). Nothing is published before the rebuild.

Example (needs a broker)::

    bridge = LiveBridge(load_plant(path), BridgeConfig(site="site1")).start()
    ...
    bridge.stop()
"""
from __future__ import annotations

import collections
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt

from safetwin.background import Worker
from safetwin.plant_models.loader import Plant
from safetwin.twin.alarms import AlarmEngine, AlarmRecord, AlarmRules, RuleConfig
from safetwin.twin.state import TwinState
from safetwin.twin.store import BatchWriter, Store

from .connection import DurableAcker, MqttConnection
from .ingest import IngestConfig, Ingestor
from .ingestlog import DurableLog, IndexerProcess, LogIndexer, site_log_directory
from .outbound import AlarmEventWriter, Publisher, parse_alarm_payload, verify_alarm
from .payloads import encode
from .people import muster_status, occupancy
from .rebuild import PEOPLE_WINDOW_S, RebuildReport, rebuild_twin
from .rejects import RejectCounter
from .sparkplug.host import SparkplugHost, state_payload
from .topics import Topics

log = logging.getLogger(__name__)


@dataclass
class BridgeConfig:
    """Settings of one bridge (times in s), built by the caller (the app builds it from the one
    Settings: ``safetwin.app.settings.Settings.bridge_config``). ``client_id`` defaults to
    ``safetwin-bridge-{site}``; it must stay fixed across restarts so the broker keeps the
    persistent session. ``db_url`` is the history database when no store is given."""

    site: str = "site1"
    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    #: CA file: connect over TLS and verify the broker against it (None: plain TCP)
    tls_ca_file: str | None = None
    #: MQTT version: "5", "3.1.1" or "auto" (5, else 3.1.1: the clustered brokers, docs/cluster.md)
    mqtt_protocol: str = "auto"
    #: further broker nodes of a cluster, tried in turn when the current one is lost
    fallbacks: tuple[tuple[str, int], ...] = ()
    #: MQTT keepalive (s): a silently lost node is noticed after 1.5 × this
    keepalive_s: int = 30
    client_id: str | None = None
    db_url: str | None = None
    publish_period_s: float = 2.0
    stale_s: float = 30.0
    restore_timeout_s: float = 2.0
    writer_batch_size: int = 5000
    writer_flush_interval_s: float = 0.05
    #: durable ingest log (readings acked once appended and fdatasync'ed, indexed into history
    #: behind): None = on for a file SQLite store, off otherwise; True/False force it
    ingest_log: bool | None = None
    #: directory of this site's ingest log (default: ``<database file>.ingest-log/<site>``)
    ingest_log_dir: str | None = None
    #: CPU niceness of the log indexer process (it only needs the CPU ingest leaves)
    indexer_nice: int = 10
    #: publish receipts to gateways (twin/receipts/{gw}) after each group commit (see .gateway)
    receipts: bool = True
    #: live lane: a second connection, on another node of a cluster, subscribed at QoS 0 to the
    #: readings; a message it got is used for the live state and the alarm engine (never history)
    #: ``live_lane_after_s`` later unless the durable session delivered it meanwhile, and it
    #: carries alarm transitions out at QoS 0 (``twin/live/alarm``). None: on with ``fallbacks``
    live_lane: bool | None = None
    live_lane_after_s: float = 1.0
    #: seconds after a lost connection (a broker node lost) when the retained alarm records are
    #: published again, past a cluster's leader elections (NATS: 4-9 s, plus its 4 s store
    #: timeout), in case the cluster acknowledged a record it could not retain; None: never
    alarm_heal_s: float | None = 15.0
    #: Sparkplug B host id (``spBv1.0/STATE/{id}``; default ``safetwin-{site}``); the bridge is a
    #: Sparkplug host when the plant maps sensors to Sparkplug metrics (``sensors[].sparkplug``)
    sparkplug_host_id: str | None = None
    #: people last seen longer ago than this (s) are not rebuilt after a restart
    rebuild_people_window_s: float = PEOPLE_WINDOW_S
    ingest: IngestConfig = field(default_factory=IngestConfig)
    rule_overrides: dict[str, RuleConfig] = field(default_factory=dict)


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
        if store is None and not cfg.db_url:
            raise ValueError("LiveBridge needs a store or config.db_url (the history database)")
        self.store = store if store is not None else Store.open(cfg.db_url)
        self.rules = AlarmRules(self.state, cfg.rule_overrides)
        self.writer: BatchWriter | None = None
        self.events: AlarmEventWriter | None = None
        self.engine: AlarmEngine | None = None
        self.out: MqttConnection | None = None
        self.inbound: MqttConnection | None = None
        self.publisher: Publisher | None = None
        self.acker: DurableAcker | None = None
        self.log: DurableLog | None = None
        self.indexer: LogIndexer | IndexerProcess | None = None
        self.ingestor: Ingestor | None = None
        self.lane: MqttConnection | None = None
        #: the second live lane, on the node after the lane's (clusters of 3 or more nodes): no
        #: single lost node takes both, so one of them never has to reconnect
        self.lane2: MqttConnection | None = None
        self.lane_ingestor: Ingestor | None = None
        #: messages of the live lane used (the durable session was silent)
        self.lane_used = 0
        self._lane_held: collections.deque[tuple[float, str, bytes]] = collections.deque()
        #: messages the durable session delivered lately (for the live lane): key → count, in order
        self._durable_seen: dict[int, int] = {}
        self._durable_order: collections.deque[tuple[float, int]] = collections.deque()
        self._lane_worker = Worker("safetwin-live-lane", self._lane_pass, every_s=0.1, logger=log)
        self.rejects = RejectCounter(sink=self._reject_sample)
        self.sparkplug = self._sparkplug_host()
        self._periodic = Worker("safetwin-bridge-periodic", self._periodic_pass, every_s=cfg.publish_period_s,
                                logger=log)
        self._stop = self._periodic.stop_event
        self._disconnects_seen = 0
        self._heal_at: float | None = None
        self.restored_alarms = 0
        self.rebuild_report: RebuildReport | None = None
        #: key of the HMAC over this site's retained alarm records (one per site, in the store)
        self.signing_key = self.store.site_secret(cfg.site, "alarm-signing")

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> LiveBridge:
        """Open history, rebuild the twin from it, restore the retained outputs, start ingest,
        announce. Nothing is published before the twin is rebuilt."""
        self._open_history()
        self._rebuild()
        self._open_outbound()
        self._start_ingest()
        self.publisher.status(True, client_id=self.client_id,  # type: ignore[union-attr]
                              session_present=self.inbound.session_present)  # type: ignore[union-attr]
        self._periodic.start()
        log.info("live bridge %s up on %s:%s (session present: %s, %d alarms restored)", self.client_id,
                 self.config.host, self.config.port, self.inbound.session_present,  # type: ignore[union-attr]
                 self.restored_alarms)
        return self

    def _open_history(self) -> None:
        """The batch writer, the alarm-event writer and (SQLite file stores) the site's durable
        ingest log with its indexer."""
        cfg = self.config
        self.writer = BatchWriter(self.store, batch_size=cfg.writer_batch_size,
                                  flush_interval_s=cfg.writer_flush_interval_s, put_timeout_s=None,
                                  max_pending=max(200_000, cfg.writer_batch_size))
        self.events = AlarmEventWriter(self.store, site=cfg.site)
        self._history: Any = self.writer
        log_dir = self._log_dir()
        if log_dir is not None:
            self.log = DurableLog(log_dir)
            url = self._db_url()
            # a child process (no GIL shared with ingest, lower CPU priority); in-thread when the
            # store cannot be reopened by URL (in-memory SQLite, a store object without engine)
            self.indexer = (IndexerProcess(log_dir, url, nice=cfg.indexer_nice, site=cfg.site) if url is not None
                            else LogIndexer(log_dir, self.store, log=self.log, site=cfg.site)).start()
            self._history = _History(self.log, self.writer)
        self.store.maintain_partitions()

    def _rebuild(self) -> None:
        """Latest values, people and so the muster state, from history (:mod:`.rebuild`)."""
        cfg = self.config
        self.rebuild_report = rebuild_twin(
            self.state, self.store, cfg.site, log_dir=self.log.directory if self.log else None,
            before_segment=self.log.segment if self.log else None, people_window_s=cfg.rebuild_people_window_s,
            skew_tolerance_s=cfg.ingest.skew_tolerance_s)

    def _open_outbound(self) -> None:
        """The outbound connection (last will: offline) and the publisher; the retained alarm
        states and muster status of the previous run are read back first."""
        cfg = self.config
        will = (self.topics.twin_status(), encode({"online": False}))
        self.out = MqttConnection(f"{self.client_id}-out", cfg.host, cfg.port, username=cfg.username,
                                  password=cfg.password, tls_ca_file=cfg.tls_ca_file, will=will,
                                  on_message=self._on_restore_message, **self._mqtt_options())
        self._restore_buf: list[tuple[str, bytes]] = []
        self.out.start()
        self.publisher = Publisher(self.out, self.topics, signing_key=self.signing_key)
        self._restore_retained()

    def _start_ingest(self) -> None:
        """Alarm engine, ingestor, acker, then the inbound connection (messages flow from here)."""
        cfg = self.config
        self.engine = AlarmEngine(self.rules, on_transitions=self._on_transitions).start()
        self.ingestor = Ingestor(self.state, cfg.site, history=self._history, alarms=self.engine,
                                 rejects=self.rejects, config=cfg.ingest, sparkplug=self.sparkplug)
        self.acker = DurableAcker(self._make_durable).start()
        self.acker.on_failure = self._on_flush_failure
        if cfg.receipts:
            self.ingestor.receipts = []
            self.acker.on_durable = self.publisher.receipts  # type: ignore[union-attr]
        subscriptions = self.topics.subscriptions()
        will = None
        if self.sparkplug is not None:
            # Sparkplug host: STATE offline is the will of the connection that subscribes
            self._spb_state_ts = int(time.time() * 1000)
            subscriptions += self.sparkplug.subscriptions()
            will = (self.sparkplug.state_topic(), state_payload(False, self._spb_state_ts))
        self.inbound = MqttConnection(self.client_id, cfg.host, cfg.port, username=cfg.username,
                                      password=cfg.password, tls_ca_file=cfg.tls_ca_file, manual_ack=True,
                                      subscriptions=subscriptions, on_message=self._on_message, will=will,
                                      on_burst=self._on_burst, **self._mqtt_options())
        try:
            self.inbound.start()
        except ConnectionError:
            self._shutdown_workers()
            raise
        if self.sparkplug is not None:
            self.inbound.publish(self.sparkplug.state_topic(), state_payload(True, self._spb_state_ts), qos=1,
                                 retain=True)
        self._start_live_lane()

    def _start_live_lane(self) -> None:
        """The live lane (see ``BridgeConfig.live_lane``): why it helps on a NATS cluster -- a
        node delivers a PUBLISH to QoS 0 subscriptions before it stores it, while QoS 1 delivery
        waits for the JetStream stream and consumer leaders, which a lost node's groups only get
        back after an election of 4-9 s (docs/cluster.md)."""
        cfg = self.config
        if not (cfg.live_lane if cfg.live_lane is not None else bool(cfg.fallbacks)) or not cfg.fallbacks:
            return
        nodes = [(cfg.host, cfg.port), *cfg.fallbacks]
        self.lane_ingestor = Ingestor(self.state, cfg.site, alarms=self.engine, rejects=RejectCounter(),
                                      config=cfg.ingest)
        lanes: list[MqttConnection] = []
        # each lane on a node other than the durable session's; a second one on a third node
        for k, suffix in ((1, "live"), (2, "live2"))[:len(nodes) - 1]:
            lane = MqttConnection(f"{self.client_id}-{suffix}", *nodes[k],
                                  fallbacks=[n for j, n in enumerate(nodes) if j != k],
                                  username=cfg.username, password=cfg.password, tls_ca_file=cfg.tls_ca_file,
                                  persistent=False, subscriptions=self.topics.reading_subscriptions(),
                                  subscribe_qos=0, on_message=self._on_lane_message, protocol=cfg.mqtt_protocol,
                                  keepalive_s=cfg.keepalive_s)
            try:
                lanes.append(lane.start())
            except ConnectionError as exc:
                log.warning("live lane %s not started (%s)", suffix, exc)
        if not lanes:
            log.warning("no live lane: alarms wait for the durable session after a node loss")
            return
        self.lane = lanes[0]
        self.lane2 = lanes[1] if len(lanes) > 1 else None
        self.publisher.live = lanes[0]   # type: ignore[union-attr]
        self.publisher.live_backup = self.lane2   # type: ignore[union-attr]
        self._lane_worker.start()

    def _lanes(self) -> list[MqttConnection]:
        return [c for c in (self.lane, self.lane2) if c is not None]

    def _sparkplug_host(self) -> SparkplugHost | None:
        """The Sparkplug B host of the plant's mapped metrics (None when no sensor is mapped), with
        the births kept in the store by the previous run."""
        cfg = self.config
        mapping = {(t.group, t.edge, t.device, t.metric): s.id for s in self.plant.meta.sensors
                   if (t := s.sparkplug) is not None}
        if not mapping:
            return None
        host = SparkplugHost(mapping, host_id=cfg.sparkplug_host_id or f"safetwin-{cfg.site}",
                             send=self._send_sparkplug, flag=self.rejects.flag,
                             on_birth=lambda g, e, d, bd, al: self.store.keep_sparkplug_birth(cfg.site, g, e, d, bd, al))
        host.load_births(self.store.sparkplug_births(cfg.site))
        return host

    def _send_sparkplug(self, topic: str, payload: bytes) -> None:
        """Publish a Sparkplug command (a rebirth request: QoS 0, not retained)."""
        if self.out is not None:
            self.out.publish(topic, payload, qos=0)

    def _mqtt_options(self) -> dict[str, Any]:
        cfg = self.config
        return {"protocol": cfg.mqtt_protocol, "fallbacks": cfg.fallbacks, "keepalive_s": cfg.keepalive_s}

    def _log_dir(self) -> str | None:
        cfg = self.config
        if cfg.ingest_log is False:
            return None
        if cfg.ingest_log_dir:
            return cfg.ingest_log_dir
        engine = getattr(self.store, "engine", None)
        url = getattr(engine, "url", None)
        if url is not None and url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            return str(site_log_directory(str(url.database) + ".ingest-log", cfg.site))
        if cfg.ingest_log:
            raise ValueError("ingest_log=True needs ingest_log_dir unless the store is a SQLite file")
        return None

    def _db_url(self) -> str | None:
        """The store's URL for the indexer process (None for an in-memory database)."""
        engine = getattr(self.store, "engine", None)
        url = getattr(engine, "url", None)
        if url is None or (url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")):
            return None
        return url.render_as_string(hide_password=False)

    def _make_durable(self) -> None:
        """The acker's flush: group-commit the ingest log, then commit pending writer rows."""
        if self.log is not None:
            self.log.sync()
        if self.writer is not None:
            self.writer.flush()

    def wait_indexed(self, timeout: float = 60.0) -> bool:
        """Block until every reading acknowledged so far is in the history table (at once
        without the ingest log)."""
        if self.indexer is None or self.log is None:
            return True
        if isinstance(self.indexer, IndexerProcess):
            return self.indexer.wait_caught_up(self.log.durable_position(), timeout)
        return self.indexer.wait_caught_up(timeout)

    def stop(self) -> None:
        """Stop cleanly: stop ingest, make durable and ack what was processed, publish offline,
        index the rest of the ingest log into history."""
        self._periodic.stop(timeout_s=10.0)
        for lane in self._lanes():
            lane.on_message_cb = None
        if self.lane is not None:
            self._lane_worker.stop()
        if self.inbound is not None:
            self.inbound.client.on_message = None
            self.inbound.client.on_burst = None
        if self.acker is not None:
            self.acker.stop()
        if self.inbound is not None:
            if self.sparkplug is not None and self.inbound.connected.is_set():
                self.inbound.publish(self.sparkplug.state_topic(), state_payload(False, self._spb_state_ts), qos=1,
                                     retain=True)
            self.inbound.stop()
        if self.engine is not None:
            self.engine.wait_idle(5.0)
            self.engine.stop()
        for lane in self._lanes():
            lane.stop(drain_s=0.5)
        if self.publisher is not None:
            self.publisher.status(False)
        if self.out is not None:
            time.sleep(0.05)
            self.out.stop()
        self._shutdown_workers()

    def _shutdown_workers(self) -> None:
        if self.log is not None:
            self.log.close()
        if isinstance(self.indexer, IndexerProcess):
            self.indexer.stop()
        elif self.indexer is not None:
            self.indexer.stop(drain=True)
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
            self.inbound.client.on_burst = None
            self.inbound.kill()
        if self.acker is not None:
            self.acker._stop = True
        if self.out is not None:
            self.out.kill()
        if self.lane is not None:
            for lane in self._lanes():
                lane.on_message_cb = None
            self._lane_worker.stop()
            for lane in self._lanes():
                lane.kill()
        if self.engine is not None:
            self.engine.stop(1.0)
        if isinstance(self.indexer, IndexerProcess):
            self.indexer.kill()
        elif self.indexer is not None:
            self.indexer.stop(drain=False, timeout=5.0)
        if self.log is not None:
            self.log.abandon()

    def __enter__(self) -> LiveBridge:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ inbound
    def _on_lane_message(self, conn: MqttConnection, msg: mqtt.MQTTMessage) -> None:
        """A reading from the live lane: held for ``live_lane_after_s`` (:meth:`_lane_pass`)."""
        if len(self._lane_held) < 100_000:
            self._lane_held.append((time.monotonic(), msg.topic, msg.payload))

    def _lane_pass(self) -> None:
        """Every 0.1 s: a message the lane has held for ``live_lane_after_s`` is used (live state,
        alarms) unless the durable session delivered the same message meanwhile (after a node
        loss JetStream holds QoS 1 delivery per subscription until its leaders are elected again);
        a message used here and delivered later by the durable session is not newer there: only
        history takes it."""
        after = self.config.live_lane_after_s
        now = time.monotonic()
        held, seen, order = self._lane_held, self._durable_seen, self._durable_order
        while order and now - order[0][0] > 3 * after:        # forget what the lane no longer needs
            _t, key = order.popleft()
            if seen.get(key, 0) <= 1:
                seen.pop(key, None)
            else:
                seen[key] -= 1
        while held and now - held[0][0] >= after:
            _t, topic, payload = held.popleft()
            key = hash((topic, payload))
            if key not in seen and self.lane_ingestor is not None:
                self.lane_used += 1
                self.lane_ingestor.handle(topic, payload)
                seen[key] = 1                    # the other lane's copy is not used again
                order.append((now, key))

    def _durable_delivered(self, topic: str, payload: bytes) -> None:
        """Note a message of the durable session (for the live lane)."""
        key = hash((topic, payload))       # (a 64-bit hash: the payloads themselves are not kept)
        self._durable_seen[key] = self._durable_seen.get(key, 0) + 1
        self._durable_order.append((time.monotonic(), key))

    def _on_message(self, conn: MqttConnection, msg: mqtt.MQTTMessage) -> None:
        if self.lane is not None:
            self._durable_delivered(msg.topic, msg.payload)
        self.ingestor.handle(msg.topic, msg.payload)  # type: ignore[union-attr]
        if msg.qos > 0:
            self.acker.add_many(conn, [msg.mid], self.ingestor.take_receipts())  # type: ignore[union-attr]

    def _on_burst(self, conn: MqttConnection, msgs: list[Any]) -> None:
        """The messages of one socket read: processed as a group (one TwinState update and one
        alarm submission for their batches), then handed to the acker together."""
        if self.lane is not None:
            for m in msgs:
                self._durable_delivered(m.topic, m.payload)
        self.ingestor.handle_burst([(m.topic, m.payload) for m in msgs])  # type: ignore[union-attr]
        self.acker.add_many(conn, [m.mid for m in msgs if m.qos > 0],  # type: ignore[union-attr]
                            self.ingestor.take_receipts())  # type: ignore[union-attr]

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

    def _restore_retained(self) -> None:
        """Read the retained alarm topics and the muster status back. Alarm records signed with
        this site's key are adopted, so a restarted bridge continues the alarms (states, acks,
        shelving) it published before; anything else on those topics -- written by another
        client -- is ignored and counted (``forged_alarm``). The last muster status keeps the
        publisher from replacing it with an empty one."""
        assert self.out is not None and self.publisher is not None
        filters = [self.topics.alarm("+"), self.topics.muster()]
        self._restore_last = time.monotonic()
        self.out.client.subscribe([(f, 1) for f in filters])
        t0 = time.monotonic()
        while time.monotonic() - t0 < self.config.restore_timeout_s:
            if self._restore_buf and time.monotonic() - self._restore_last > 0.3:
                break
            if not self._restore_buf and time.monotonic() - t0 > 0.6:
                break
            time.sleep(0.05)
        self.out.client.unsubscribe(filters)
        self.out.on_message_cb = None
        for topic, payload in self._restore_buf:
            if not payload:
                continue
            try:
                doc = json.loads(payload)
            except ValueError:
                log.warning("ignoring unreadable retained message on %s", topic)
                continue
            if topic == self.topics.muster():
                self.publisher.retained_muster = doc if isinstance(doc, dict) else None
                continue
            if not verify_alarm(doc, self.signing_key):
                self.rejects.reject("forged_alarm", topic, payload, "retained alarm record not signed by this site's bridge")
                continue
            try:
                rec = parse_alarm_payload(doc)
            except Exception:
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

    def _periodic_pass(self) -> None:
        """Every ``publish_period_s``: occupancy and muster status; the indexer process kept alive
        (a failure is logged and counted by the worker, the next pass runs as usual)."""
        try:
            self.publish_people()
        finally:
            self._check_indexer()
            self._heal_alarms()

    def _heal_alarms(self) -> None:
        """Publish the retained alarm records again ``alarm_heal_s`` after the last lost
        connection of the bridge (inbound, outbound or live lane), once per loss."""
        heal_s = self.config.alarm_heal_s
        if heal_s is None or self.publisher is None:
            return
        lost = sum(c.disconnects for c in (self.inbound, self.out, self.lane, self.lane2) if c is not None)
        now = time.monotonic()
        if lost != self._disconnects_seen:
            self._disconnects_seen = lost
            self._heal_at = now + heal_s
        elif self._heal_at is not None and now >= self._heal_at:
            self._heal_at = None
            n = self.publisher.republish_alarms()
            if n:
                log.info("published %d retained alarm records again after a lost broker connection", n)

    def _check_indexer(self) -> None:
        """Restart the log indexer process if it died (the log keeps every record meanwhile)."""
        ix = self.indexer
        if isinstance(ix, IndexerProcess) and not ix.alive() and not self._stop.is_set():
            log.warning("log indexer process exited (code %s); restarting it", ix.proc.returncode)
            try:
                ix.start()
            except OSError:
                log.exception("cannot restart the log indexer")

    # ------------------------------------------------------------------ introspection
    def _indexer_stats(self) -> dict[str, Any] | None:
        ix = self.indexer
        if ix is None:
            return None
        if isinstance(ix, IndexerProcess):
            from .ingestlog import read_progress
            p = read_progress(ix.directory)
            return {"process": ix.alive(), "segment": p.get("segment"), "offset": p.get("offset"),
                    "rows": p.get("rows"), "duplicates": p.get("duplicates"), "errors": p.get("errors")}
        return {"records": ix.records, "rows": ix.rows, "duplicates": ix.duplicates,
                "lag_bytes": ix.lag_bytes(), "errors": ix.errors}

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
            "log": {"appended": self.log.appended, "durable": self.log.durable, "syncs": self.log.syncs,
                    "bytes": self.log.bytes_written} if self.log else None,
            "indexer": self._indexer_stats(),
            "alarm_engine": self.engine.stats if self.engine else None,
            "session_present": self.inbound.session_present if self.inbound else None,
            "live_lane_used": self.lane_used if self.lane is not None else None,
        }


class _History:
    """The Ingestor's history sink with the ingest log: readings → :class:`DurableLog`,
    positions → the BatchWriter."""

    def __init__(self, log: DurableLog, writer: BatchWriter) -> None:
        self.log, self.writer = log, writer

    def put_rows(self, rows: Any) -> None:
        self.log.put_rows(rows)

    def put_record(self, *columns: Any) -> None:
        self.log.put_record(*columns)

    def put_readings(self, rows: Any) -> None:
        self.writer.put_readings(rows)

    def put_positions(self, rows: Any) -> None:
        self.writer.put_positions(rows)
