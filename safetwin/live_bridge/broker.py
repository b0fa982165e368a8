"""Broker management for the embedded default and for tests: render the shipped
``mosquitto.conf``, generate the password file (random passwords, written at start under the
data directory with mode 0600, never committed), start our own ``mosquitto`` where none runs
and stop it again by its PID.

When ``mosquitto`` is not installed, :func:`ensure_broker` returns None and says why; callers
(e.g. ``safetwin demo``) then run without the live bridge (see docs/mqtt-topics.md).

Example::

    broker = EmbeddedBroker(port=free_port(), data_dir=tmp).start()
    ...
    broker.stop()
"""
from __future__ import annotations

import getpass
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
CONF_TEMPLATE = HERE / "mosquitto.conf"
ACL_TEMPLATE = HERE / "acl.template"


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def broker_reachable(host: str, port: int, timeout_s: float = 1.0) -> bool:
    """True when something accepts TCP connections at host:port."""
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
        return True
    except OSError:
        return False


def mosquitto_binary() -> str | None:
    """Path of the ``mosquitto`` executable, or None."""
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)), None)


@dataclass
class EmbeddedBroker:
    """Our own mosquitto process with the project's configuration.

    ``auth=True`` enables the password file and ACLs; the generated credentials are in
    ``credentials`` (user → password) and in ``{data_dir}/credentials.env`` (mode 0600).
    """

    port: int = 1883
    data_dir: Path = field(default_factory=lambda: Path("var/mosquitto"))
    bind: str = "127.0.0.1"
    auth: bool = False
    site: str = "site1"
    proc: subprocess.Popen | None = None
    credentials: dict[str, str] = field(default_factory=dict)

    @property
    def conf_path(self) -> Path:
        return self.data_dir / "mosquitto.conf"

    def render(self) -> Path:
        """Write the config (and password/ACL files when ``auth``) under ``data_dir``."""
        self.data_dir = Path(self.data_dir).resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        pw_line = acl_line = ""
        if self.auth:
            pw_line, acl_line = self._write_auth()
        text = CONF_TEMPLATE.read_text().format(
            user=getpass.getuser(), port=self.port, bind=self.bind, data_dir=self.data_dir,
            log_file=self.data_dir / "mosquitto.log",
            allow_anonymous="false" if self.auth else "true", password_line=pw_line, acl_line=acl_line)
        self.conf_path.write_text(text)
        return self.conf_path

    def _write_auth(self) -> tuple[str, str]:
        users = {"safetwin-bridge": secrets.token_urlsafe(18), "safetwin-sim": secrets.token_urlsafe(18)}
        pw_file = self.data_dir / "passwd"
        pw_file.write_text("".join(f"{u}:{p}\n" for u, p in users.items()))
        os.chmod(pw_file, 0o600)
        passwd = shutil.which("mosquitto_passwd")
        if passwd is None:
            raise RuntimeError("mosquitto_passwd not found; cannot hash the generated passwords")
        subprocess.run([passwd, "-U", str(pw_file)], check=True)  # hash in place
        env = self.data_dir / "credentials.env"
        env.write_text(f"SAFETWIN_MQTT_USERNAME=safetwin-bridge\nSAFETWIN_MQTT_PASSWORD={users['safetwin-bridge']}\n"
                       f"SAFETWIN_SIM_USERNAME=safetwin-sim\nSAFETWIN_SIM_PASSWORD={users['safetwin-sim']}\n")
        os.chmod(env, 0o600)
        acl = self.data_dir / "acl"
        acl.write_text(ACL_TEMPLATE.read_text().format(bridge_user="safetwin-bridge", sim_user="safetwin-sim",
                                                       site=self.site))
        self.credentials = users
        return f"password_file {pw_file}", f"acl_file {acl}"

    def start(self, timeout_s: float = 10.0) -> EmbeddedBroker:
        """Start mosquitto with the rendered config and wait until it accepts connections."""
        binary = mosquitto_binary()
        if binary is None:
            raise FileNotFoundError("mosquitto is not installed")
        if not self.conf_path.exists() or self.proc is None:
            self.render()
        self.proc = subprocess.Popen([binary, "-c", str(self.conf_path)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.proc.stderr.read().decode(errors='replace')[-500:]}")
            if broker_reachable(self.bind, self.port, 0.2):
                return self
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"mosquitto did not listen on {self.bind}:{self.port} within {timeout_s} s")

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM our own process (mosquitto saves its persistence file on exit) and wait."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def restart(self) -> None:
        self.stop()
        self.start()


def ensure_broker(host: str, port: int, data_dir: Path) -> EmbeddedBroker | None:
    """Use a broker already listening at host:port, else start our own there.

    Returns the started broker (caller stops it) or None when one already runs. Raises
    ``FileNotFoundError`` with an explanation when none runs and mosquitto is not installed:
    the caller should then run without the live bridge and say so.
    """
    if broker_reachable(host, port):
        return None
    if mosquitto_binary() is None:
        raise FileNotFoundError(
            f"no MQTT broker at {host}:{port} and mosquitto is not installed; install it "
            "(apt-get install mosquitto) or point SAFETWIN_MQTT_HOST/PORT at a broker. "
            "The demo runs without the live bridge.")
    return EmbeddedBroker(port=port, data_dir=data_dir, bind=host).start()


def clear_retained(host: str, port: int, site: str, settle_s: float = 0.3, *, username: str | None = None,
                   password: str | None = None, tls_ca_file: str | None = None) -> int:
    """Delete every retained message under ``pst/v1/{site}/`` on the broker (tests leave the
    broker clean with it; also for decommissioning a site). Returns how many were deleted."""
    from .mqtt_client import BrokerEndpoint, mqtt_client, unique_client_id

    found: list[str] = []
    c = mqtt_client(unique_client_id("clr"), BrokerEndpoint(host, port, username, password, tls_ca_file))
    c.on_message = lambda cl, u, m: found.append(m.topic) if m.retain and m.payload else None
    c.connect(host, port)
    c.loop_start()
    try:
        c.subscribe(f"pst/v1/{site}/#")
        time.sleep(settle_s)
        for t in found:
            c.publish(t, b"", qos=1, retain=True).wait_for_publish(5)
    finally:
        c.disconnect()
        c.loop_stop()
    return len(found)
