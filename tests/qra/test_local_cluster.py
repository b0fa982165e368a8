"""The local Dask cluster of a QRA run starts quietly when Dask's usual dashboard port is taken."""
from __future__ import annotations

import socket
import warnings

import pytest

from safetwin.emergency_planner.qra.executor import local_cluster


def test_no_port_in_use_warning_when_8787_is_taken():
    pytest.importorskip("dask.distributed")
    held = socket.socket()
    try:
        held.bind(("0.0.0.0", 8787))
        held.listen()
    except OSError:          # already taken by another program: the condition under test holds anyway
        pass
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cluster = local_cluster(1)
            cluster.close()
    finally:
        held.close()
    assert not [w for w in caught if "8787" in str(w.message)], [str(w.message) for w in caught]
