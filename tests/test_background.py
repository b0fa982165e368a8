"""The background-worker helper: periodic and once, errors logged and counted, stop and join."""
from __future__ import annotations

import logging
import queue
import threading

import pytest

from safetwin.background import Worker


def test_periodic_worker_survives_a_failing_pass_and_counts_it(caplog):
    calls: queue.Queue = queue.Queue()
    count = [0]

    def step():
        count[0] += 1
        calls.put(count[0])
        if count[0] == 2:
            raise RuntimeError("bad pass")

    worker = Worker("test-periodic", step, every_s=0.01).start()
    with caplog.at_level(logging.ERROR, logger="safetwin.background"):
        for _ in range(4):                     # a pass after the failing one proves the loop went on
            calls.get(timeout=10)
        assert worker.stop(timeout_s=10)
    assert not worker.running and worker.stopping
    assert worker.errors == 1 and isinstance(worker.last_error, RuntimeError) and worker.runs >= 3
    assert "test-periodic" in caplog.text and "bad pass" in caplog.text


def test_once_worker_is_woken_to_stop_and_its_thread_is_named():
    jobs: queue.Queue = queue.Queue()
    seen = []

    def consume():
        seen.append(threading.current_thread().name)
        while (item := jobs.get()) is not None:
            seen.append(item)

    worker = Worker("test-consumer", consume, wake=lambda: jobs.put(None)).start()
    jobs.put("a")
    assert worker.stop(timeout_s=10) and not worker.running
    assert seen == ["test-consumer", "a"] and worker.runs == 1 and worker.errors == 0


def test_a_target_that_raises_is_logged_and_counted_once(caplog):
    with caplog.at_level(logging.ERROR, logger="safetwin.background"):
        worker = Worker("test-once", lambda: 1 / 0).start()
        assert worker.join(timeout_s=10)
    assert worker.errors == 1 and isinstance(worker.last_error, ZeroDivisionError)
    assert "ZeroDivisionError" in caplog.text


def test_stop_reports_a_thread_that_does_not_end():
    release = threading.Event()
    worker = Worker("test-stuck", lambda: release.wait(30)).start()
    assert worker.stop(timeout_s=0.05) is False and worker.running
    release.set()
    assert worker.join(timeout_s=10)


def test_period_must_be_positive():
    with pytest.raises(ValueError, match="every_s"):
        Worker("bad", lambda: None, every_s=0)
