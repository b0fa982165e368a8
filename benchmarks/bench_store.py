"""Throughput of batched sensor-reading inserts into the store, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/bench_store.py [--rows 100000] [--pg-url URL] [--skip-pg]

Prints rows/s for ``Store.write_readings`` (validation + insert, one call per batch) and for
``BatchWriter`` (put from the caller, write on the writer thread, then ``flush()``). PostgreSQL
runs in a throw-away schema of the database at ``--pg-url`` (default ``SAFETWIN_TEST_PG_URL`` or
the local test server).
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url

from safetwin.twin.store import BatchWriter, Store
from safetwin.twin.store.db import scratch_schema

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)


def make_rows(n: int, offset: int = 0) -> list[dict[str, Any]]:
    """``n`` readings from 200 sensors with distinct (source, seq), 10 ms apart."""
    return [{"plant_id": "demo", "sensor_id": f"GD-{i % 200:03d}", "ts": T0 + timedelta(milliseconds=10 * i),
             "value": (i % 1000) * 0.01, "unit": "mg/m3", "quality": "ok", "source": "bench", "seq": i}
            for i in range(offset, offset + n)]




def bench(label: str, url: URL | str, n: int, batch: int) -> None:
    """Print rows/s of ``write_readings`` in batches and of a BatchWriter, on ``url``."""
    with Store.open(url) as store:
        rows = make_rows(n)
        start = time.perf_counter()
        for i in range(0, n, batch):
            store.write_readings(rows[i:i + batch])
        elapsed = time.perf_counter() - start
        assert store.count_readings() == n
        print(f"{label:<11} write_readings  batch {batch:>6}: {n / elapsed:>10,.0f} rows/s  ({elapsed:.2f} s)")

        rows = make_rows(n, offset=n)
        start = time.perf_counter()
        with BatchWriter(store, batch_size=batch, flush_interval_s=0.5) as writer:
            for i in range(0, n, 100):  # 100 readings per incoming message burst
                writer.put_readings(rows[i:i + 100])
            writer.flush()
            elapsed = time.perf_counter() - start
        assert store.count_readings() == 2 * n
        print(f"{label:<11} BatchWriter     batch {batch:>6}: {n / elapsed:>10,.0f} rows/s  ({elapsed:.2f} s)")

        start = time.perf_counter()
        dup = store.write_readings(make_rows(batch))
        elapsed = time.perf_counter() - start
        assert dup == 0
        print(f"{label:<11} all-duplicate   batch {batch:>6}: {batch / elapsed:>10,.0f} rows/s  (dedupe)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--pg-url", default=os.environ.get("SAFETWIN_TEST_PG_URL") or DEFAULT_PG_URL)
    parser.add_argument("--skip-pg", action="store_true")
    args = parser.parse_args()
    print(f"{args.rows:,} sensor readings per run")
    with tempfile.TemporaryDirectory() as tmp:
        bench("sqlite", "sqlite:///" + (Path(tmp) / "bench.db").as_posix(), args.rows, args.batch)
    if not args.skip_pg:
        with scratch_schema(make_url(args.pg_url)) as url:
            bench("postgresql", url, args.rows, args.batch)


if __name__ == "__main__":
    main()
