"""The one MQTT client factory against real Mosquitto brokers: credentials (the embedded broker's
password file) and TLS (a CA and broker certificate made here with openssl)."""
from __future__ import annotations

import getpass
import shutil
import subprocess
import threading
import time

import paho.mqtt.client as mqtt
import pytest

from safetwin.live_bridge.broker import EmbeddedBroker, broker_reachable, free_port, mosquitto_binary
from safetwin.live_bridge.mqtt_client import BrokerEndpoint, mqtt_client, unique_client_id

pytestmark = pytest.mark.mqtt


def _connack(endpoint: BrokerEndpoint, timeout_s: float = 10.0) -> tuple[bool, str]:
    """Connect a factory client; (accepted, reason) once the broker answered or the link failed."""
    answered = threading.Event()
    outcome: dict[str, object] = {}
    client = mqtt_client(unique_client_id("factory-test"), endpoint)

    def on_connect(_c, _u, _flags, reason, _props=None):
        outcome["accepted"], outcome["reason"] = not reason.is_failure, str(reason)
        answered.set()

    def on_disconnect(_c, _u, _flags, reason, _props=None):
        outcome.setdefault("accepted", False)
        outcome.setdefault("reason", str(reason))
        answered.set()

    client.on_connect, client.on_disconnect = on_connect, on_disconnect
    try:
        client.connect(endpoint.host, endpoint.port, keepalive=10)
    except OSError as exc:   # e.g. the TLS handshake refused the broker's certificate
        return False, f"{type(exc).__name__}: {exc}"
    client.loop_start()
    try:
        assert answered.wait(timeout_s), "the broker did not answer the CONNECT"
        return bool(outcome["accepted"]), str(outcome["reason"])
    finally:
        client.disconnect()
        client.loop_stop()


def _need_mosquitto() -> None:
    if mosquitto_binary() is None:
        pytest.fail("needs the mosquitto binary (tools/ensure_services.sh installs it)")


def test_credentials_of_the_endpoint_are_sent(tmp_path):
    _need_mosquitto()
    port = free_port()
    broker = EmbeddedBroker(port=port, data_dir=tmp_path / "mosq", auth=True).start()
    try:
        password = broker.credentials["safetwin-bridge"]
        ok, reason = _connack(BrokerEndpoint("127.0.0.1", port, "safetwin-bridge", password))
        assert ok, reason
        refused, reason = _connack(BrokerEndpoint("127.0.0.1", port, "safetwin-bridge", password + "x"))
        assert not refused and ("authori" in reason.lower() or "password" in reason.lower()), reason
        anonymous, reason = _connack(BrokerEndpoint("127.0.0.1", port))
        assert not anonymous, reason
    finally:
        broker.stop()


def _openssl(*args: str, cwd) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _make_ca_and_broker_cert(folder, name: str) -> None:
    """``{name}-ca.pem`` and a broker certificate for 127.0.0.1 / localhost signed by it."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name} test CA",
             "-keyout", f"{name}-ca.key", "-out", f"{name}-ca.pem", cwd=folder)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", f"{name}-broker.key",
             "-out", f"{name}-broker.csr", cwd=folder)
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl("x509", "-req", "-in", f"{name}-broker.csr", "-CA", f"{name}-ca.pem", "-CAkey", f"{name}-ca.key",
             "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", f"{name}-broker.pem", cwd=folder)


def test_tls_verifies_the_broker_against_the_endpoint_ca(tmp_path):
    _need_mosquitto()
    if shutil.which("openssl") is None:
        pytest.fail("needs the openssl command to make test certificates (tools/ensure_services.sh installs it)")
    _make_ca_and_broker_cert(tmp_path, "site")
    _make_ca_and_broker_cert(tmp_path, "other")
    port = free_port()
    conf = tmp_path / "tls.conf"
    conf.write_text(f"user {getpass.getuser()}\nlistener {port} 127.0.0.1\nallow_anonymous true\n"
                    f"cafile {tmp_path / 'site-ca.pem'}\ncertfile {tmp_path / 'site-broker.pem'}\n"
                    f"keyfile {tmp_path / 'site-broker.key'}\n")
    proc = subprocess.Popen([mosquitto_binary(), "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not broker_reachable("127.0.0.1", port, 0.2) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)   # poll the condition (the listener is up) until the deadline
        assert proc.poll() is None, proc.stderr.read().decode(errors="replace")
        ok, reason = _connack(BrokerEndpoint("127.0.0.1", port, tls_ca_file=tmp_path / "site-ca.pem"))
        assert ok, reason
        wrong_ca, reason = _connack(BrokerEndpoint("127.0.0.1", port, tls_ca_file=tmp_path / "other-ca.pem"))
        assert not wrong_ca and "certificate verify failed" in reason, reason
        plain, reason = _connack(BrokerEndpoint("127.0.0.1", port), timeout_s=10.0)
        assert not plain, "a plain-TCP client must not get through a TLS listener"
    finally:
        proc.terminate()
        proc.wait(10)


def test_factory_options_reach_the_client():
    client = mqtt_client("opts", max_inflight=1000, unlimited_queue=True, manual_ack=True)
    assert client.protocol == mqtt.MQTTv5 and client._client_id == b"opts"
    assert client._max_inflight_messages == 1000 and client._max_queued_messages == 0 and client._manual_ack
