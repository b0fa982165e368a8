"""Where the inspector's RTLS track comes from: the store's position history.

:class:`TrackSource` is the seam (one method); :class:`StoreTracks` reads the ``position_history``
table the live bridge writes (on the same database as the workflows in a deployment, or the
bridge's own store — pass its engine and site).
"""
from __future__ import annotations

from datetime import datetime
from typing import Protocol

import numpy as np
from sqlalchemy import Engine, bindparam, select

from safetwin.twin.store.models import PositionRow

from ..inspections import Track

_POS = PositionRow.__table__
_TRACK = (select(_POS.c.ts, _POS.c.x_m, _POS.c.y_m)
          .where(_POS.c.person_id == bindparam("b_person"), _POS.c.site == bindparam("b_site"),
                 _POS.c.ts >= bindparam("b_since", type_=_POS.c.ts.type), _POS.c.ts < bindparam("b_until", type_=_POS.c.ts.type))
          .order_by(_POS.c.ts))


class TrackSource(Protocol):
    """Gives a person's position fixes in a time window."""

    def track(self, person_id: str, since: datetime, until: datetime) -> Track:
        """Fix times (s since the epoch), x and y (local m) of ``person_id`` in [since, until)."""
        ...


class StoreTracks:
    """Position fixes from a store's ``position_history`` (site ``site``)."""

    def __init__(self, engine: Engine, site: str) -> None:
        self.engine = engine
        self.site = site

    def track(self, person_id: str, since: datetime, until: datetime) -> Track:
        """Fix times (s since the epoch), x and y (local m) of ``person_id`` in [since, until), oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(_TRACK, {"b_person": person_id, "b_site": self.site, "b_since": since,
                                         "b_until": until}).all()
        if not rows:
            return np.empty(0), np.empty(0), np.empty(0)
        return (np.array([r.ts.timestamp() for r in rows]), np.array([r.x_m for r in rows], dtype=float),
                np.array([r.y_m for r in rows], dtype=float))
