"""What the machine can give a CPU-bound run now (read here, in the wiring layer, and passed down).

The models never look at the machine themselves: the evacuation model takes its thread count as a
parameter (``EvacuationParams.threads``); the command line asks :func:`compute_threads` once at
start. A Numba parallel region on cores that other processes keep busy is 2-3x slower than one
thread, so a busy machine gets one thread.
"""
from __future__ import annotations

import os

__all__ = ["compute_threads"]


def compute_threads(idle_below: float = 0.5) -> int | None:
    """None (the model may use all its threads) when the 1-minute load average is below
    ``idle_below`` (cores are idle), else 1; None where the load average is unknown.

    >>> compute_threads(idle_below=float("inf")) is None
    True
    """
    try:
        load = os.getloadavg()[0]
    except OSError:
        return None
    return None if load < idle_below else 1
