"""Alembic environment for the SafeTwin store; configured by safetwin.twin.store.migrate."""
from __future__ import annotations

from alembic import context
from sqlalchemy import func, select

from safetwin.twin.store.db import make_engine
from safetwin.twin.store.models import Base

#: key of the PostgreSQL advisory lock that serialises concurrent upgrades
MIGRATION_LOCK_KEY = 0x5AFE7100
config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    """Emit SQL to stdout for the URL in the config (``alembic ... --sql``)."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on the engine handed in by ``migrate.upgrade_to_head``."""
    engine = config.attributes.get("engine")
    owned = engine is None
    if owned:
        engine = make_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as connection:
            is_sqlite = connection.dialect.name == "sqlite"
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=is_sqlite,  # SQLite cannot ALTER most things: copy-and-move
                compare_type=True,
            )
            with context.begin_transaction():
                if connection.dialect.name == "postgresql":
                    connection.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))
                context.run_migrations()
    finally:
        if owned:
            engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
