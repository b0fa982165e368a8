"""What the machine can give a CPU-bound run now (read here, in the wiring layer, and passed down).

The models never look at the machine themselves: the evacuation model takes its thread count as a
parameter (``EvacuationParams.threads``); the command line asks :func:`compute_threads` once at
start. A Numba parallel region on cores that other processes keep busy is 2-3x slower than one
thread, so a busy machine gets one thread.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["compute_threads", "blas_threads"]


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


@contextmanager
def blas_threads(threads: int | None) -> Iterator[None]:
    """Run the block with at most ``threads`` BLAS threads (None: as the process has them).

    The dispersion fields are matrix products; on cores other processes keep busy, OpenBLAS's
    extra threads wait spinning and the same product costs several times the CPU time for no
    gain in wall time (the chlorine incident run: 16.7 s CPU with 2 threads, 9.8 s with one, the
    same wall time, load 13 on 2 cores). The command line passes :func:`compute_threads`."""
    if threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads, user_api="blas"):
        yield
