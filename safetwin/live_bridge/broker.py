"""Broker management for the embedded default and for tests: render the shipped
``mosquitto.conf``, generate the password file (random passwords, written at the first start
under the data directory with mode 0600, never committed) and the ACL, a CA and broker
certificate for TLS, start our own ``mosquitto`` where none runs and stop it again by its PID.

When ``mosquitto`` is not installed, :func:`ensure_broker` returns None and says why; callers
(e.g. ``safetwin demo``) then run without the live bridge (see docs/mqtt-topics.md).

Example::

    broker = EmbeddedBroker(port=free_port(), data_dir=tmp).start()
    ...
    broker.stop()
"""
from __future__ import annotations

import getpass
import json
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

from .mqtt_client import BrokerEndpoint
from .topics import ID_RE, valid_id

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


#: the users every site's broker has (besides device users): the bridge, the simulated plant
#: (stands in for every device) and operators' consoles (alarm requests)
BRIDGE_USER, SIM_USER, OPERATOR_USER = "safetwin-bridge", "safetwin-sim", "safetwin-operator"


@dataclass
class EmbeddedBroker:
    """Our own mosquitto process with the project's configuration.

    ``auth`` (on by default) enables the password file and the ACL (``acl.template``: the bridge
    alone writes ``twin/…``; each device user -- a gateway, sensor, RTLS engine or equipment id in
    ``devices`` -- writes only its own topics). Passwords are random, made at the first start and
    kept in ``{data_dir}/credentials.json`` (mode 0600; never in the repository): ``credentials``
    (user → password), :meth:`endpoint`. ``tls`` makes the listener TLS-only with a CA and broker
    certificate generated at the first start under ``{data_dir}/tls`` (``openssl``); clients
    verify against ``{data_dir}/tls/ca.pem`` (:attr:`ca_file`).
    """

    port: int = 1883
    data_dir: Path = field(default_factory=lambda: Path("var/mosquitto"))
    bind: str = "127.0.0.1"
    auth: bool = True
    site: str = "site1"
    devices: list[str] = field(default_factory=list)
    tls: bool = False
    proc: subprocess.Popen | None = None
    credentials: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)

    @property
    def conf_path(self) -> Path:
        return self.data_dir / "mosquitto.conf"

    @property
    def ca_file(self) -> Path | None:
        """The CA certificate clients verify the broker against (None without TLS)."""
        return Path(self.data_dir).resolve() / "tls" / "ca.pem" if self.tls else None

    def endpoint(self, user: str | None = None) -> BrokerEndpoint:
        """Where and how ``user`` (None: anonymous) connects: host, port, password, CA."""
        password = self.credentials[user] if user is not None else None
        return BrokerEndpoint(self.bind, self.port, user, password, str(self.ca_file) if self.ca_file else None)

    def render(self) -> Path:
        """Write the config (and password/ACL files when ``auth``, certificates when ``tls``)
        under ``data_dir``."""
        self.data_dir = Path(self.data_dir).resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        pw_line = acl_line = tls_lines = ""
        if self.auth:
            pw_line, acl_line = self._write_auth()
        if self.tls:
            tls_dir = make_tls_files(self.data_dir / "tls", self.bind)
            tls_lines = (f"cafile {tls_dir / 'ca.pem'}\ncertfile {tls_dir / 'broker.pem'}\n"
                         f"keyfile {tls_dir / 'broker.key'}\ntls_version tlsv1.2")
        text = CONF_TEMPLATE.read_text().format(
            user=getpass.getuser(), port=self.port, bind=self.bind, data_dir=self.data_dir,
            log_file=self.data_dir / "mosquitto.log", tls_lines=tls_lines,
            allow_anonymous="false" if self.auth else "true", password_line=pw_line, acl_line=acl_line)
        self.conf_path.write_text(text)
        return self.conf_path

    def _write_auth(self) -> tuple[str, str]:
        store = self.data_dir / "credentials.json"
        users: dict[str, str] = json.loads(store.read_text()) if store.exists() else {}
        for name in (BRIDGE_USER, SIM_USER, OPERATOR_USER, *self.devices):
            if not valid_id(name):
                raise ValueError(f"MQTT user {name!r}: device users are topic ids, {ID_RE.pattern}")
            users.setdefault(name, secrets.token_urlsafe(18))
        _write_private(store, json.dumps(users, indent=1))
        pw_file = self.data_dir / "passwd"
        _write_private(pw_file, "".join(f"{u}:{p}\n" for u, p in users.items()))
        passwd = shutil.which("mosquitto_passwd")
        if passwd is None:
            raise RuntimeError("mosquitto_passwd not found; cannot hash the generated passwords")
        subprocess.run([passwd, "-U", str(pw_file)], check=True)  # hash in place
        _write_private(self.data_dir / "credentials.env",
                       f"SAFETWIN_MQTT_USERNAME={BRIDGE_USER}\nSAFETWIN_MQTT_PASSWORD={users[BRIDGE_USER]}\n")
        acl = self.data_dir / "acl"
        acl.write_text(ACL_TEMPLATE.read_text().format(bridge_user=BRIDGE_USER, sim_user=SIM_USER,
                                                       operator_user=OPERATOR_USER, site=self.site))
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


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner may read (created so, never world-readable in between)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def make_tls_files(directory: Path, host: str, days: int = 825) -> Path:
    """A CA (``ca.pem``, key ``ca.key``) and a broker certificate for ``host``, 127.0.0.1 and
    localhost (``broker.pem``, key ``broker.key``) signed by it, made with ``openssl`` in
    ``directory`` unless they exist; keys mode 0600. Returns ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    if (directory / "broker.pem").exists() and (directory / "ca.pem").exists():
        return directory
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("openssl not found; cannot make the broker's TLS certificates")

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], cwd=directory, check=True, capture_output=True)
    old = os.umask(0o077)
    try:
        run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", str(days), "-subj", "/CN=SafeTwin site CA",
            "-keyout", "ca.key", "-out", "ca.pem")
        run("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={host}", "-keyout", "broker.key",
            "-out", "broker.csr")
        names = {"IP:127.0.0.1", "DNS:localhost", f"IP:{host}" if host.replace(".", "").isdigit() else f"DNS:{host}"}
        (directory / "san.ext").write_text("subjectAltName=" + ",".join(sorted(names)) + "\n")
        run("x509", "-req", "-in", "broker.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", str(days), "-extfile", "san.ext", "-out", "broker.pem")
    finally:
        os.umask(old)
    os.chmod(directory / "ca.pem", 0o644)
    os.chmod(directory / "broker.pem", 0o644)
    return directory


def ensure_broker(host: str, port: int, data_dir: Path, *, site: str = "site1", auth: bool = True,
                  tls: bool = False) -> EmbeddedBroker | None:
    """Use a broker already listening at host:port, else start our own there (with the shipped
    configuration: authentication and ACLs by default, TLS on request).

    Returns the started broker (caller stops it; its :meth:`EmbeddedBroker.endpoint` gives each
    user's credentials) or None when one already runs. Raises ``FileNotFoundError`` with an
    explanation when none runs and mosquitto is not installed: the caller should then run
    without the live bridge and say so.
    """
    if broker_reachable(host, port):
        return None
    if mosquitto_binary() is None:
        raise FileNotFoundError(
            f"no MQTT broker at {host}:{port} and mosquitto is not installed; install it "
            "(apt-get install mosquitto) or point SAFETWIN_MQTT_HOST/PORT at a broker. "
            "The demo runs without the live bridge.")
    return EmbeddedBroker(port=port, data_dir=data_dir, bind=host, site=site, auth=auth, tls=tls).start()


def clear_retained(host: str, port: int, site: str, settle_s: float = 0.3, *, username: str | None = None,
                   password: str | None = None, tls_ca_file: str | None = None) -> int:
    """Delete every retained message under ``pst/v1/{site}/`` on the broker (tests leave the
    broker clean with it; also for decommissioning a site). Returns how many were deleted."""
    from .mqtt_client import mqtt_client, unique_client_id

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
