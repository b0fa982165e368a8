"""The one place a paho-mqtt client is made: callback API 2, MQTT 5, credentials and TLS.

Every client of SafeTwin — the bridge's connections (:mod:`.connection`), the simulated plant,
the recorder and the replayer, ``clear_retained``, the MQTT notification channel, the benchmarks
— is built by :func:`mqtt_client`, so authentication and transport security are configured once
(the broker side is :mod:`.broker`: password file and ACLs). The client is returned unconnected;
the caller sets its callbacks, then connects to ``endpoint.host``/``endpoint.port``.

Example::

    >>> client = mqtt_client("safetwin-doc", BrokerEndpoint(username="twin", password="secret"))
    >>> client.protocol == mqtt.MQTTv5, client._username
    (True, b'twin')
"""
from __future__ import annotations

import ssl
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import paho.mqtt.client as mqtt

__all__ = ["BrokerEndpoint", "mqtt_client", "unique_client_id"]

ClientT = TypeVar("ClientT", bound=mqtt.Client)


@dataclass(frozen=True)
class BrokerEndpoint:
    """Where a broker listens and how to authenticate to it.

    ``tls_ca_file``: connect over TLS and verify the broker's certificate (and host name) against
    this CA file; None = plain TCP. ``username``/``password``: MQTT CONNECT credentials (the
    embedded broker's password file, :class:`~.broker.EmbeddedBroker` with ``auth=True``).
    """

    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls_ca_file: str | Path | None = None


def unique_client_id(prefix: str) -> str:
    """``prefix`` plus 8 random hex digits (for clients that keep no session)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def mqtt_client(client_id: str, endpoint: BrokerEndpoint | None = None, *, client_class: type[ClientT] = mqtt.Client,
                protocol: int = mqtt.MQTTv5, max_inflight: int | None = None, unlimited_queue: bool = False,
                **client_kwargs: Any) -> ClientT:
    """A paho client of ``client_class`` (callback API version 2, ``protocol``) with the
    credentials and TLS of ``endpoint``; not connected.

    ``max_inflight``: QoS 1/2 messages in flight at once (paho's default is 20; publishers of
    bursts use 1000); ``unlimited_queue``: no limit on messages queued while offline.
    ``client_kwargs`` go to the client's constructor (e.g. ``manual_ack=True``)."""
    endpoint = endpoint or BrokerEndpoint()
    client = client_class(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol, **client_kwargs)
    if endpoint.username:
        client.username_pw_set(endpoint.username, endpoint.password)
    if endpoint.tls_ca_file is not None:
        client.tls_set(ca_certs=str(endpoint.tls_ca_file), cert_reqs=ssl.CERT_REQUIRED,
                       tls_version=ssl.PROTOCOL_TLS_CLIENT)
    if max_inflight is not None:
        client.max_inflight_messages_set(max_inflight)
    if unlimited_queue:
        client.max_queued_messages_set(0)
    return client
