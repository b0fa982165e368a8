"""Several sites in one store: one bridge per site on one machine, each with its own ingest log,
gateways of the same name on both sites; over the real broker, on PostgreSQL (2 x 50 000
readings) and on SQLite (both bridges start; each indexes its own log)."""
from __future__ import annotations

import json
import os
import time
import uuid

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import text

from safetwin.live_bridge.bridge import BridgeConfig, LiveBridge
from safetwin.live_bridge.payloads import iso_ms
from safetwin.live_bridge.topics import Topics
from safetwin.twin.store import Store
from safetwin.twin.store.db import scratch_schema

from .conftest import wait_for

PER_MSG = 50
SENSORS = ("GD-01", "GD-02", "GD-03")


def value(site_no: int, k: int) -> float:
    """Exact in binary floating point, below every alarm level, different per site."""
    return (k % 40) / 4.0 + 0.125 * site_no


def publish(host: str, port: int, site: str, site_no: int, n_msgs: int) -> mqtt.Client:
    """Gateway ``gw-1`` of ``site`` publishes ``n_msgs`` batches of 50 (one time per reading),
    QoS 1; returns once the broker acknowledged every one."""
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"gw-1-{site}", protocol=mqtt.MQTTv5)
    c.max_inflight_messages_set(200)
    c.max_queued_messages_set(0)
    c.connect(host, port)
    c.loop_start()
    topic = Topics(site).batch("gw-1")
    now = time.time()
    infos = []
    for m in range(n_msgs):
        r = [{"sid": SENSORS[i % 3], "ts": iso_ms(now - 60 + m * 0.05 + i * 0.001), "v": value(site_no, m * PER_MSG + i)}
             for i in range(PER_MSG)]
        infos.append(c.publish(topic, json.dumps({"gw": "gw-1", "seq": m, "ts": iso_ms(now), "r": r}).encode(), qos=1))
    for info in infos:
        info.wait_for_publish(120)
    return c


def run_two_sites(broker, db_url: str, n_msgs: int) -> None:
    host, port = broker
    sites = ["a" + uuid.uuid4().hex[:8], "b" + uuid.uuid4().hex[:8]]
    bridges = [LiveBridge(_plant(), BridgeConfig(site=s, host=host, port=port, db_url=db_url, restore_timeout_s=0.5))
               for s in sites]
    clients = []
    try:
        for b in bridges:
            b.start()
        if db_url.startswith("sqlite"):
            assert bridges[0].log.directory != bridges[1].log.directory   # one ingest log per site
        for k, s in enumerate(sites):
            clients.append(publish(host, port, s, k, n_msgs))
        for b in bridges:
            assert wait_for(lambda b=b: b.acker.acked >= n_msgs, timeout=300), b.stats()
            assert b.wait_indexed(300)
            b.writer.flush()
        expected = n_msgs * PER_MSG
        with Store.open(db_url, migrate=False) as store, store.engine.connect() as conn:
            for k, s in enumerate(sites):
                n, keys, vsum, ssum = conn.execute(text(
                    "SELECT count(*), count(DISTINCT source || ':' || seq), sum(value), sum(seq) "
                    "FROM sensor_readings WHERE site = :s"), {"s": s}).one()
                exp_v = sum(value(k, j) for j in range(expected))
                exp_s = sum(m * 1000 + i for m in range(n_msgs) for i in range(PER_MSG))
                assert (n, keys, vsum, ssum) == (expected, expected, exp_v, exp_s), s
    finally:
        for c in clients:
            c.disconnect()
            c.loop_stop()
        for b in bridges:
            b.stop()


def _plant():
    from safetwin.plant_models.loader import bundled_plant_path, load_plant
    return load_plant(bundled_plant_path("small_plant"))


@pytest.mark.postgres
def test_two_sites_one_postgres_store_same_gateway_names_lose_nothing(broker):
    pg_url = os.environ.get("SAFETWIN_TEST_PG_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    with scratch_schema(pg_url, "safetwin_sites") as url:
        run_two_sites(broker, url.render_as_string(hide_password=False), 1000)


def test_two_sites_one_sqlite_store_each_bridge_with_its_own_log(broker, tmp_path):
    run_two_sites(broker, f"sqlite:///{tmp_path / 'h.db'}", 100)
