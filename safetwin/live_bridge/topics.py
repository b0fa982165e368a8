"""The versioned MQTT topic schema of SafeTwin (``pst/v1/{site}/...``) and a fast topic parser.

Inbound topics (publishers → bridge) and outbound topics (bridge → everyone) are built here
and nowhere else, so the schema has one source of truth. See ``docs/mqtt-topics.md``.

Example::

    >>> t = Topics("site1")
    >>> t.reading("u3", "unit1", "GD-01")
    'pst/v1/site1/u3/unit1/sensor/GD-01/reading'
    >>> parse_topic("pst/v1/site1/u3/unit1/sensor/GD-01/reading", "site1")
    ParsedTopic(kind='reading', entity='GD-01')
"""
from __future__ import annotations

import re
from dataclasses import dataclass

SCHEMA = "pst"
VERSION = "v1"
#: allowed characters of every id that appears in a topic (site, area, unit, sensor, gateway ...)
ID_RE = re.compile(r"[A-Za-z0-9_:-]{1,64}\Z")


def valid_id(text: object) -> bool:
    """True when ``text`` is a string usable as an id in topics and payloads."""
    return isinstance(text, str) and ID_RE.match(text) is not None


@dataclass(frozen=True, slots=True)
class ParsedTopic:
    """What an inbound topic addresses: ``kind`` and the id named in the topic (may be '')."""

    kind: str
    entity: str


#: inbound kinds
READING, BATCH, META, LOCATION, LOCATIONS, EQUIPMENT, GW_STATUS, CMD_RESPONSE, TWIN_CMD, MET = (
    "reading", "batch", "meta", "location", "locations", "equipment", "gw_status", "cmd_response", "twin_cmd",
    "met")


def parse_topic(topic: str, site: str) -> ParsedTopic | None:
    """Classify an inbound topic of ``site``; None when it is not part of the inbound schema."""
    parts = topic.split("/")
    n = len(parts)
    if n < 5 or parts[0] != SCHEMA or parts[1] != VERSION or parts[2] != site:
        return None
    if n == 8 and parts[5] == "sensor":
        if parts[7] == "reading":
            return ParsedTopic(READING, parts[6])
        if parts[7] == "meta":
            return ParsedTopic(META, parts[6])
        return None
    if n == 6:
        head, ent, tail = parts[3], parts[4], parts[5]
        if head == "gw":
            if tail == "readings":
                return ParsedTopic(BATCH, ent)
            if tail == "status":
                return ParsedTopic(GW_STATUS, ent)
        elif head == "rtls":
            if tail == "location":
                return ParsedTopic(LOCATION, ent)
            if tail == "locations":
                return ParsedTopic(LOCATIONS, ent)
            if tail == "status":
                return ParsedTopic(GW_STATUS, ent)
        elif head == "equipment" and tail == "state":
            return ParsedTopic(EQUIPMENT, ent)
        elif head == "met" and tail == "obs":
            return ParsedTopic(MET, ent)
        elif head == "cmd" and tail == "res":
            return ParsedTopic(CMD_RESPONSE, ent)
        elif head == "twin" and ent == "alarm_cmd" and tail == "req":
            return ParsedTopic(TWIN_CMD, "")
    return None


class Topics:
    """Topic builders for one site (all strings; ids are not validated here)."""

    def __init__(self, site: str) -> None:
        if not valid_id(site):
            raise ValueError(f"site id {site!r} must match {ID_RE.pattern}")
        self.site = site
        self.root = f"{SCHEMA}/{VERSION}/{site}"

    # ---- inbound
    def reading(self, area: str, unit: str, sid: str) -> str:
        """One sensor reading (QoS 1 for gas/fire/ESD)."""
        return f"{self.root}/{area}/{unit}/sensor/{sid}/reading"

    def meta(self, area: str, unit: str, sid: str) -> str:
        """Sensor metadata (retained)."""
        return f"{self.root}/{area}/{unit}/sensor/{sid}/meta"

    def batch(self, gw: str) -> str:
        """A gateway batch of readings (QoS 1)."""
        return f"{self.root}/gw/{gw}/readings"

    def gw_status(self, gw: str) -> str:
        """Gateway online/offline (retained + last will)."""
        return f"{self.root}/gw/{gw}/status"

    def location(self, provider_id: str) -> str:
        """One omlox Location of a tag."""
        return f"{self.root}/rtls/{provider_id}/location"

    def locations(self, engine: str) -> str:
        """A batch of omlox Locations from an RTLS engine."""
        return f"{self.root}/rtls/{engine}/locations"

    def equipment(self, eid: str) -> str:
        """Reported equipment state (retained)."""
        return f"{self.root}/equipment/{eid}/state"

    def met(self, sid: str) -> str:
        """One observation record of a meteorological station (QoS 1)."""
        return f"{self.root}/met/{sid}/obs"

    def cmd_response(self, eid: str) -> str:
        return f"{self.root}/cmd/{eid}/res"

    def alarm_cmd(self) -> str:
        """Operator requests to the twin's alarm system (ack, shelve, unshelve)."""
        return f"{self.root}/twin/alarm_cmd/req"

    # ---- outbound
    def alarm(self, alarm_id: str) -> str:
        """Current state of one alarm (retained; empty payload once back to normal; on a cluster
        also sent live first, QoS 0 and not retained: docs/cluster.md)."""
        return f"{self.root}/twin/alarm/{alarm_id}"

    def alarm_events(self) -> str:
        """Alarm transitions (event stream, not retained)."""
        return f"{self.root}/twin/events/alarm"

    def occupancy(self, area_id: str) -> str:
        return f"{self.root}/twin/zone/{area_id}/occupancy"

    def muster(self) -> str:
        return f"{self.root}/twin/muster/status"

    def evacuation(self, area_id: str) -> str:
        return f"{self.root}/twin/evac/{area_id}"

    def command(self, eid: str) -> str:
        return f"{self.root}/cmd/{eid}/req"

    def live_alarm(self) -> str:
        """Alarm transitions at QoS 0 through the bridge's live lane (clusters; not retained)."""
        return f"{self.root}/twin/live/alarm"

    def receipts(self, gw: str) -> str:
        """Receipts to gateway ``gw``: which of its batches are durable in the twin's history."""
        return f"{self.root}/twin/receipts/{gw}"

    def twin_status(self) -> str:
        return f"{self.root}/twin/status"

    def rejects(self) -> str:
        return f"{self.root}/twin/rejects"

    def notification_to(self, recipient: str) -> str:
        """Workflow notifications for one recipient (a user id, ``role:…``, ``layer:…``, ``area:…``)."""
        return f"{self.root}/twin/notify/to/{recipient}"

    def notification_about(self, kind: str, record_id: str) -> str:
        """Workflow notifications about one record (``permits``/``PTW-…``, ``hazards``/``HZ-…`` …)."""
        return f"{self.root}/twin/notify/about/{kind}/{record_id}"

    def reading_subscriptions(self) -> list[str]:
        """The topic filters that carry sensor readings (the bridge's live lane takes these)."""
        return [f"{self.root}/+/+/sensor/+/reading", f"{self.root}/gw/+/readings"]

    def subscriptions(self) -> list[str]:
        """The topic filters the bridge subscribes to (QoS 1 each)."""
        r = self.root
        return [f"{r}/+/+/sensor/+/reading", f"{r}/+/+/sensor/+/meta", f"{r}/gw/+/readings",
                f"{r}/gw/+/status", f"{r}/rtls/+/location", f"{r}/rtls/+/locations",
                f"{r}/equipment/+/state", f"{r}/met/+/obs", f"{r}/cmd/+/res", f"{r}/twin/alarm_cmd/req"]
