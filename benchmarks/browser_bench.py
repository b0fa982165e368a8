"""What the browser benchmarks share: Debian's headless Chromium and its flags (no GPU, no
background traffic), and a free local port for the served API+UI."""
from __future__ import annotations

import socket
import time

from safetwin.live_bridge.broker import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "free_port", "wait_for_port"]


def wait_for_port(port: int, host: str = "127.0.0.1", timeout_s: float = 60.0) -> None:
    """Block until something accepts TCP connections on ``host:port`` (TimeoutError after ``timeout_s``)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout_s:g} s") from None
            time.sleep(0.1)
