"""Publish the per-area instructions of a :class:`~.core.Recommendations` over MQTT (I/O glue only).

Each area gets one retained message on ``pst/v1/{site}/twin/evac/{area}`` through
:meth:`safetwin.live_bridge.outbound.Publisher.evacuation` (QoS 1): action ``evacuate``,
``shelter`` or ``all_clear`` (an area the hazard does not reach), the route as road / walkway
ids in walking order, the muster point and the reason.

Example::

    >>> from safetwin.live_bridge.connection import MqttConnection                  # doctest: +SKIP
    >>> from safetwin.live_bridge.outbound import Publisher                          # doctest: +SKIP
    >>> from safetwin.live_bridge.topics import Topics                               # doctest: +SKIP
    >>> conn = MqttConnection("planner-out", "127.0.0.1", 1883, persistent=False).start()  # doctest: +SKIP
    >>> publish_instructions(Publisher(conn, Topics("demo")), rec)                  # doctest: +SKIP
    13
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from safetwin.live_bridge.outbound import Publisher

    from .core import Recommendations

__all__ = ["publish_instructions"]


def publish_instructions(publisher: "Publisher", rec: "Recommendations", ts: float | None = None) -> int:
    """Publish one retained evacuation instruction per area; returns the number published."""
    n = 0
    for d in rec.area_instructions():
        publisher.evacuation(d["area_id"], d["action"], route=d["route"], muster_point=d["muster_point"],
                             reason=d["reason"], ts=ts)
        n += 1
    return n
