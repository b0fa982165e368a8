"""Sites in history, keys that end with the time, history partitioned by time on PostgreSQL.

* ``sensor_readings``, ``position_history`` and ``alarm_events`` get a ``site`` column (rows
  written before have the site ``''``).
* Readings are unique on ``(site, plant_id, source, seq, ts)`` (was ``(source, seq)``: two sites
  with a gateway of the same name overwrote each other); positions on
  ``(person_id, site, plant_id, ts)``.
* The reading value keeps the sign of zero on SQLite (column type ``FLOAT_BLOB``, see
  ``types.SQLiteExactReal``).
* PostgreSQL: both history tables become tables partitioned by range of ``ts`` with primary key
  ``(id, ts)``. The existing table is kept as it is and attached as the DEFAULT partition (no
  copy of the data; its indexes are built once); daily partitions are created by
  ``partitions.ensure_partitions`` when the store opens. SQLite: the tables are rebuilt in place
  (Alembic batch mode copies the rows).

Revision ID: 0005_sites_time_keys
Revises: 0004_drills
Create Date: 2026-12-08
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.types import UserDefinedType

revision: str = "0005_sites_time_keys"
down_revision: str | None = "0004_drills"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


class _SQLiteExactReal(UserDefinedType[float]):   # frozen copy of types.SQLiteExactReal
    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "FLOAT_BLOB"


EXACT_FLOAT = sa.Float().with_variant(_SQLiteExactReal(), "sqlite")


def _site() -> sa.Column:
    return sa.Column("site", sa.String(64), nullable=False, server_default="")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


def _upgrade_sqlite() -> None:
    with op.batch_alter_table("sensor_readings", recreate="always") as batch:
        batch.add_column(_site())
        batch.alter_column("value", type_=EXACT_FLOAT, existing_nullable=True)
        batch.drop_index("uq_sensor_readings_source_seq")
        batch.drop_index("ix_sensor_readings_sensor_id_ts")
        batch.create_index("ix_sensor_readings_sensor_id_site_ts", ["sensor_id", "site", "ts"])
        batch.create_index("uq_sensor_readings_key", ["site", "plant_id", "source", "seq", "ts"], unique=True)
    with op.batch_alter_table("position_history", recreate="always") as batch:
        batch.add_column(_site())
        batch.drop_index("ix_position_history_person_id_ts")
    _dedupe_positions()
    op.create_index("uq_position_history_key", "position_history", ["person_id", "site", "plant_id", "ts"],
                    unique=True)
    op.create_index("ix_position_history_site_ts", "position_history", ["site", "ts"])
    _alarm_events_site()


def _dedupe_positions() -> None:
    """Keep the first of position rows that repeat (person, plant, time): the new key forbids them."""
    op.execute(sa.text(
        "DELETE FROM position_history WHERE id NOT IN (SELECT min(id) FROM position_history "
        "GROUP BY person_id, site, plant_id, ts)"))


def _alarm_events_site() -> None:
    with op.batch_alter_table("alarm_events") as batch:
        batch.add_column(_site())
        batch.drop_index("ix_alarm_events_alarm_id_ts")
        batch.create_index("ix_alarm_events_alarm_id_site_ts", ["alarm_id", "site", "ts"])


# PostgreSQL: identifiers below are fixed names of this revision (no input reaches the SQL).
_PG_READINGS = """
CREATE TABLE sensor_readings (
    id BIGINT NOT NULL DEFAULT nextval('sensor_readings_id_seq'),
    site VARCHAR(64) NOT NULL DEFAULT '',
    plant_id VARCHAR(64) NOT NULL,
    sensor_id VARCHAR(128) NOT NULL,
    ts TIMESTAMP WITH TIME ZONE NOT NULL,
    received_ts TIMESTAMP WITH TIME ZONE NOT NULL,
    value FLOAT,
    unit VARCHAR(32) NOT NULL,
    quality VARCHAR(16) NOT NULL DEFAULT 'ok',
    source VARCHAR(128) NOT NULL DEFAULT '',
    seq BIGINT,
    CONSTRAINT pk_sensor_readings PRIMARY KEY (id, ts),
    CONSTRAINT ck_sensor_readings_quality CHECK (quality IN ('ok', 'stale', 'out_of_range', 'fault'))
) PARTITION BY RANGE (ts)"""
_PG_POSITIONS = """
CREATE TABLE position_history (
    id BIGINT NOT NULL DEFAULT nextval('position_history_id_seq'),
    site VARCHAR(64) NOT NULL DEFAULT '',
    plant_id VARCHAR(64) NOT NULL,
    person_id VARCHAR(128) NOT NULL,
    ts TIMESTAMP WITH TIME ZONE NOT NULL,
    x_m FLOAT NOT NULL,
    y_m FLOAT NOT NULL,
    z_m FLOAT NOT NULL DEFAULT '0',
    area_id VARCHAR(128),
    CONSTRAINT pk_position_history PRIMARY KEY (id, ts)
) PARTITION BY RANGE (ts)"""


def _upgrade_postgresql() -> None:
    # The old tables become the DEFAULT partitions: renamed, given the site column (a constant
    # default: no table rewrite in PostgreSQL >= 11), their old keys dropped, then attached.
    for table in ("sensor_readings", "position_history"):
        op.execute(f"ALTER TABLE {table} RENAME TO {table}_default")
        op.execute(f"ALTER TABLE {table}_default ADD COLUMN site VARCHAR(64) NOT NULL DEFAULT ''")
        op.execute(f"ALTER TABLE {table}_default DROP CONSTRAINT pk_{table}")
        op.execute(f"ALTER TABLE {table}_default ALTER COLUMN id DROP DEFAULT")
    op.execute("DROP INDEX uq_sensor_readings_source_seq")
    op.execute("DROP INDEX ix_sensor_readings_sensor_id_ts")
    op.execute("DROP INDEX ix_position_history_person_id_ts")
    op.execute(_PG_READINGS)
    op.execute(_PG_POSITIONS)
    op.execute("CREATE UNIQUE INDEX uq_sensor_readings_key ON sensor_readings (site, plant_id, source, seq, ts)")
    op.execute("CREATE INDEX ix_sensor_readings_sensor_id_site_ts ON sensor_readings (sensor_id, site, ts)")
    op.execute("DELETE FROM position_history_default a USING position_history_default b "
               "WHERE a.id > b.id AND a.person_id = b.person_id AND a.site = b.site "
               "AND a.plant_id = b.plant_id AND a.ts = b.ts")
    op.execute("CREATE UNIQUE INDEX uq_position_history_key ON position_history (person_id, site, plant_id, ts)")
    op.execute("CREATE INDEX ix_position_history_site_ts ON position_history (site, ts)")
    for table in ("sensor_readings", "position_history"):
        op.execute(f"ALTER SEQUENCE {table}_id_seq OWNED BY {table}.id")
        op.execute(f"ALTER TABLE {table} ATTACH PARTITION {table}_default DEFAULT")
    op.execute("ALTER TABLE alarm_events ADD COLUMN site VARCHAR(64) NOT NULL DEFAULT ''")
    op.execute("DROP INDEX ix_alarm_events_alarm_id_ts")
    op.execute("CREATE INDEX ix_alarm_events_alarm_id_site_ts ON alarm_events (alarm_id, site, ts)")


def downgrade() -> None:
    raise NotImplementedError("0005 (sites, time keys, partitions) has no downgrade: restore a backup")
