"""``safetwin demo`` as a user starts it, for the tests that must meet the served process (the live
OpenAPI, the documentation pages in a browser): a child process on a free port with its own data
folder and a static admin token, the live bridge off (no broker needed), stopped with Ctrl-C.
"""
from __future__ import annotations

import http.client
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

START_TIMEOUT_S = 180.0


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServedDemo:
    """``python -m safetwin demo --no-live`` in ``data_dir``; ``url`` and the admin ``token`` once started.
    ``live``: with the live bridge and the simulated plant on the settings' broker, under a site
    id of its own."""

    def __init__(self, data_dir: Path, *, extra_env: dict[str, str] | None = None, live: bool = False) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = secrets.token_urlsafe(24)
        self.log = data_dir / "demo.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAFETWIN_")}
        env.update(SAFETWIN_DATA_DIR=str(data_dir / "var"), SAFETWIN_API_TOKEN=self.token, **(extra_env or {}))
        with open(self.log, "wb") as out:
            mode = ["--site", "d" + secrets.token_hex(5)] if live else ["--no-live"]
            self.proc = subprocess.Popen([sys.executable, "-m", "safetwin", "demo", *mode, "--port",
                                          str(self.port)], env=env, stdout=out, stderr=subprocess.STDOUT,
                                         cwd=Path(__file__).resolve().parents[1], start_new_session=True)
        self._wait_healthy()

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"safetwin demo exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/health")
                if c.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"safetwin demo not healthy within {START_TIMEOUT_S:.0f} s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        """Ctrl-C (the demo's own orderly stop), then a kill if it hangs."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
