"""SafeTwin store: SQL persistence of sensor/position history, alarm events and the audit trail.

SQLite (a file URL, or ``sqlite://`` for a private scratch database removed with the engine) and
PostgreSQL (a ``postgresql+psycopg://`` URL); the caller gives the URL (the app takes it from
``SAFETWIN_DB_URL``, else SQLite in the data directory). The schema is managed by Alembic and upgraded when the store opens.

>>> from datetime import datetime, timezone
>>> from safetwin.twin.store import Store, Reading
>>> with Store.open("sqlite://") as store:
...     store.write_readings([Reading("demo", "GD-01", datetime.now(timezone.utc), 0.2, "mg/m3")])
...     store.count_readings()
1
1
"""
from .db import make_engine, normalize_url
from .migrate import current_revision, head_revision, upgrade_to_head
from .models import Base, Quality
from .records import AlarmEvent, AuditEntry, Position, Reading
from .store import Store
from .writer import BatchWriter, WriteFailed, WriterFull, WriterStats

__all__ = [
    "AlarmEvent", "AuditEntry", "Base", "BatchWriter", "Position", "Quality", "Reading", "Store",
    "WriteFailed", "WriterFull", "WriterStats", "current_revision",
    "head_revision", "make_engine", "normalize_url", "upgrade_to_head",
]
