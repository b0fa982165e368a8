"""Several "hosts" on one machine for broker-cluster tests: Linux network namespaces joined by
veth pairs to a bridge device (needs root and iproute2).

:class:`NetnsLab` creates ``n`` namespaces, each with one interface and one address of a private
/24 subnet chosen so that it overlaps no route of the machine; the root namespace gets the
subnet's ``.254`` address on the bridge, so processes of the test (bridge, publishers, store
clients on 127.0.0.1) reach every host while traffic stays on addresses the lab created.
``close()`` removes everything it created (namespaces, veths, bridge), also after a failed
start. ``partition(i)`` / ``heal(i)`` take a host's link down and up (a cut cable).

Example (root only)::

    with NetnsLab(3) as lab:
        lab.run(0, ["ip", "addr"])              # a command inside host 0
        proc = lab.popen(1, ["nats-server", ...])
"""
from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
from collections.abc import Sequence
from typing import Any

__all__ = ["NetnsError", "NetnsLab", "require_binaries"]


class NetnsError(RuntimeError):
    """The lab cannot be created (not root, ``ip`` missing, no free subnet ...)."""


def require_binaries(*names: str) -> dict[str, str]:
    """Paths of the named executables (``$PATH`` plus ``/usr/sbin``, ``/sbin``); raises
    :class:`NetnsError` naming every missing one and the Debian package that brings it."""
    packages = {"ip": "iproute2", "nats-server": "nats-server", "rabbitmq-server": "rabbitmq-server",
                "rabbitmqctl": "rabbitmq-server", "mosquitto": "mosquitto"}
    found: dict[str, str] = {}
    missing = []
    for name in names:
        path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin:/usr/local/sbin")
        if path is None:
            missing.append(f"{name} (Debian package {packages.get(name, name)})")
        else:
            found[name] = path
    if missing:
        raise NetnsError("missing: " + ", ".join(missing) + "; tools/ensure_services.sh installs them")
    return found


def _routes() -> list[ipaddress.IPv4Network]:
    out = subprocess.run(["ip", "-4", "route", "show", "table", "all"], capture_output=True, text=True,
                         check=False).stdout
    nets = []
    for line in out.splitlines():
        word = line.split()[0] if line.split() else ""
        if word in ("default", "broadcast", "local", "unreachable"):
            continue
        try:
            nets.append(ipaddress.ip_network(word, strict=False))
        except ValueError:
            continue
    return nets


class NetnsLab:
    """``n`` network namespaces on one bridge; see the module docstring."""

    def __init__(self, n: int, *, tag: str | None = None) -> None:
        if n < 1 or n > 200:
            raise ValueError("1 to 200 hosts")
        self.n = n
        # names stay within IFNAMSIZ (15 characters): "st" + 5 digits + suffix
        self.tag = tag or f"st{os.getpid() % 100000:05d}"
        self.bridge = f"{self.tag}br"
        self.namespaces = [f"{self.tag}h{i}" for i in range(n)]
        self._veths = [f"{self.tag}v{i}" for i in range(n)]
        self.subnet: ipaddress.IPv4Network | None = None
        self.addresses: list[str] = []
        self.gateway = ""
        self._created: list[tuple[str, str]] = []   # ("netns" | "link", name) in creation order

    # ---- lifecycle
    def start(self) -> NetnsLab:
        if os.geteuid() != 0:
            raise NetnsError("network namespaces need root (ip netns add)")
        require_binaries("ip")
        try:
            self.subnet = self._free_subnet()
            hosts = list(self.subnet.hosts())
            self.addresses = [str(hosts[i]) for i in range(self.n)]
            self.gateway = str(hosts[-1])
            self._ip("link", "add", self.bridge, "type", "bridge")
            self._created.append(("link", self.bridge))
            self._ip("addr", "add", f"{self.gateway}/{self.subnet.prefixlen}", "dev", self.bridge)
            self._ip("link", "set", self.bridge, "up")
            for i, (ns, veth) in enumerate(zip(self.namespaces, self._veths)):
                self._ip("netns", "add", ns)
                self._created.append(("netns", ns))
                self._ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
                self._created.append(("link", veth))
                self._ip("link", "set", veth, "master", self.bridge)
                self._ip("link", "set", veth, "up")
                self._ns(i, "ip", "link", "set", "lo", "up")
                self._ns(i, "ip", "addr", "add", f"{self.addresses[i]}/{self.subnet.prefixlen}", "dev", "eth0")
                self._ns(i, "ip", "link", "set", "eth0", "up")
        except Exception:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Remove namespaces, veths and the bridge (processes still inside a namespace keep
        running: stop them first)."""
        for kind, name in reversed(self._created):
            if kind == "netns":
                subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
            else:
                subprocess.run(["ip", "link", "del", name], capture_output=True, check=False)
        self._created.clear()

    def __enter__(self) -> NetnsLab:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- use
    def exec_prefix(self, i: int) -> list[str]:
        """The argv prefix that runs a command inside host ``i``."""
        return ["ip", "netns", "exec", self.namespaces[i]]

    def run(self, i: int, argv: Sequence[str], **kw: Any) -> subprocess.CompletedProcess:
        """Run a command inside host ``i`` and wait for it."""
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        return subprocess.run([*self.exec_prefix(i), *argv], check=False, **kw)

    def popen(self, i: int, argv: Sequence[str], **kw: Any) -> subprocess.Popen:
        """Start a long-running command inside host ``i``."""
        return subprocess.Popen([*self.exec_prefix(i), *argv], **kw)

    def partition(self, i: int) -> None:
        """Cut host ``i`` off the network (its link down; processes keep running)."""
        self._ip("link", "set", self._veths[i], "down")

    def heal(self, i: int) -> None:
        """Reconnect host ``i``."""
        self._ip("link", "set", self._veths[i], "up")

    # ---- helpers
    def _free_subnet(self) -> ipaddress.IPv4Network:
        used = _routes()
        start = (os.getpid() * 7) % 200
        for k in range(200):
            net = ipaddress.ip_network(f"10.209.{(start + k) % 200 + 20}.0/24")
            if not any(net.overlaps(u) for u in used):
                return net
        raise NetnsError("no free 10.209.x.0/24 subnet")

    def _ip(self, *args: str) -> None:
        r = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
        if r.returncode != 0:
            raise NetnsError(f"ip {' '.join(args)}: {r.stderr.strip()}")

    def _ns(self, i: int, *argv: str) -> None:
        r = self.run(i, argv)
        if r.returncode != 0:
            raise NetnsError(f"{' '.join(argv)} in {self.namespaces[i]}: {r.stderr.strip()}")
