"""The durable ingest log of the live bridge and its indexer into the history table.

Writing every reading into the indexed ``sensor_readings`` table before acknowledging its MQTT
message capped the bridge at the table's insert rate (two B-tree indexes, ~100 k rows/s on the
reference machine). Instead the bridge makes a message durable by appending its validated
history rows to an **append-only log** and acknowledges it once the log is on disk; an
**indexer** thread expands the log into ``sensor_readings`` behind it:

* :class:`DurableLog` (:mod:`.durable_log`) — segment files ``seg-NNNNNN.log`` of framed records (length, CRC-32,
  body = the history rows of one message as JSON columns, see :func:`expand_record`; times in
  seconds since the epoch). ``append`` is cheap and thread-safe; :meth:`DurableLog.sync` writes
  everything appended so far with one ``write`` and one ``fdatasync`` (group commit). The acker calls it before acknowledging.
* :class:`LogIndexer` (:mod:`.indexer`) — a thread that reads the durable part of the log and inserts it into
  ``sensor_readings`` in large chunks (one ``INSERT … SELECT FROM json_each`` per chunk, run by
  SQLite with the GIL released). Its position is kept in ``indexed.json``; re-reading a record
  after a crash is harmless because the insert skips rows whose key (site, plant, source, seq, time) is stored
  (every log row has a ``seq``), so history ends up with every reading exactly once. On start it
  first catches up with the log a previous run left; fully indexed segments are deleted.

* :class:`IndexerProcess` (:mod:`.indexer_process`) — the indexer in a child process at a lower
  CPU priority (``python -m safetwin.live_bridge.ingestlog``), deferring while a burst is appended.

History therefore lags the acknowledgement by the indexer's backlog (``LogIndexer.lag_records``;
``LiveBridge.wait_indexed()`` blocks until it is empty). A torn record at the end of a segment
(a crash mid-write) was never synced, so never acknowledged: the broker redelivers it.

Example::

    >>> import tempfile
    >>> from safetwin.twin.store import Store
    >>> d = tempfile.mkdtemp()
    >>> store = Store.open(f"sqlite:///{d}/h.db")
    >>> log = DurableLog(f"{d}/log")
    >>> log.put_record("demo", "gw-1", 1735689600.1, 7, ["GD-01"], [1735689600.0], [1.5], ["%LEL"], ["ok"], "site1")
    >>> log.sync()
    >>> ix = LogIndexer(log.directory, store, log=log).start()
    >>> ix.wait_caught_up(10)
    True
    >>> ix.stop(); store.count_readings()
    1
"""
from .durable_log import (SEGMENT_BYTES, DurableLog, expand_record, list_segments, read_frames, read_progress,
                          segment_name, site_log_directory)
from .indexer import LogIndexer
from .indexer_process import IndexerProcess, WriterActivity, main

__all__ = ["SEGMENT_BYTES", "DurableLog", "IndexerProcess", "LogIndexer", "WriterActivity", "expand_record",
           "list_segments", "main", "read_frames", "read_progress", "segment_name", "site_log_directory"]
