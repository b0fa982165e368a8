"""Waiting on a condition in tests: never a fixed sleep, never a tight wall-clock window."""
from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(condition: Callable[[], object], timeout: float = 60.0, step: float = 0.02) -> bool:
    """Poll ``condition`` every ``step`` seconds until it holds or ``timeout`` seconds passed;
    returns its last answer. Generous by default: conditions usually hold within a second, but
    the suite shares 2 cores with whatever else runs and they can stall for many seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return bool(condition())
