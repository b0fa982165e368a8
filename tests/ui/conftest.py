"""Fixtures of the UI tests: one served API+UI (demo plant, live bridge on the real broker, a
workflow service with users and risk units), headless Debian Chromium driven by Playwright, and an
MQTT publisher that sends readings and positions in the bridge's topic schema.

Browser tests skip when /usr/bin/chromium is missing and fail when the broker is unreachable.
"""
from __future__ import annotations

import io
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt
import pytest

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "ui-test-pass"
USERS = {"ola": ["operator"], "sue": ["safety_engineer"], "max": ["manager"], "wim": ["worker"]}
T0 = datetime(2025, 6, 2, 8, 0, tzinfo=timezone.utc)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Publisher:
    """Publishes detector readings and people positions to the bridge's site (QoS 1, waits for PUBACK)."""

    def __init__(self, host: str, port: int, site: str) -> None:
        from safetwin.live_bridge.topics import Topics

        self.topics = Topics(site)
        self.seq = 0
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="ui-pub-" + uuid.uuid4().hex[:8],
                             protocol=mqtt.MQTTv5)
        self.c.connect(host, port)
        self.c.loop_start()

    def _send(self, topic: str, payload: dict) -> None:
        self.c.publish(topic, json.dumps(payload).encode(), qos=1).wait_for_publish(10)

    def readings(self, values: dict[str, float], ts: float | None = None) -> None:
        """One gateway batch of readings (sensor id → value in the sensor's unit)."""
        ts = time.time() if ts is None else ts
        self.seq += 1
        self._send(self.topics.batch("gw-ui"), {"gw": "gw-ui", "seq": self.seq, "ts": iso(ts),
                                               "r": [{"sid": s, "ts": iso(ts), "v": v} for s, v in values.items()]})

    def positions(self, ids: list[str], xy: np.ndarray, ts: float | None = None) -> None:
        """RTLS location batches (≤ 1000 per message) in the local frame (m)."""
        ts = time.time() if ts is None else ts
        for k in range(0, len(ids), 1000):
            self.seq += 1
            locs = [{"provider_id": f"tag-{pid}", "position": {"type": "Point", "coordinates": [float(x), float(y)]},
                     "crs": "local", "timestamp_generated": iso(ts), "trackables": [pid]}
                    for pid, (x, y) in zip(ids[k:k + 1000], xy[k:k + 1000])]
            self._send(self.topics.locations("rtls-ui"), {"engine": "rtls-ui", "seq": self.seq, "locations": locs})

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


class Traffic:
    """Live traffic in a thread: ``readings`` (sensor id → value) and the people ``ids`` at ``xy`` (m)
    published every ``period_s`` (a plant's detectors report periodically; without it they go
    stale). Change ``readings`` / ``xy`` to change what is sent; a context manager."""

    def __init__(self, pub: Publisher, readings: dict[str, float], ids: list[str], xy: np.ndarray,
                 period_s: float = 1.0) -> None:
        self.pub, self.readings, self.ids, self.xy, self.period_s = pub, dict(readings), ids, xy, period_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ui-traffic", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.readings:
                self.pub.readings(dict(self.readings))
            if self.ids:
                self.pub.positions(self.ids, self.xy)
            self._stop.wait(self.period_s)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


class ServedUI:
    """The API + UI served by uvicorn in a thread, with its twin, bridge and workflows (the demo plant,
    or the plant folder ``plant_path``)."""

    def __init__(self, tmp: Path, plant_path: Path | None = None) -> None:
        import uvicorn
        from pwdlib import PasswordHash
        from pwdlib.hashers.argon2 import Argon2Hasher

        from safetwin.live_bridge.bridge import BridgeConfig, LiveBridge
        from safetwin.plant_models.loader import bundled_plant_path, load_plant
        from safetwin.app.settings import get_settings
        from safetwin.twin.api.app import create_app
        from safetwin.twin.state import TwinState
        from safetwin.twin.store import Store
        from safetwin.twin.workflows.service import WorkflowService
        from safetwin.twin.workflows.settings import WorkflowSettings
        from safetwin.ui import mount_ui

        s = get_settings()
        self.host, self.mqtt_port = s.mqtt_host, s.mqtt_port
        try:
            socket.create_connection((self.host, self.mqtt_port), timeout=2).close()
        except OSError as exc:
            pytest.fail(f"MQTT broker {self.host}:{self.mqtt_port} unreachable ({exc}); the UI tests need it")
        self.plant = load_plant(plant_path or bundled_plant_path("demo_plant"))
        self.state = TwinState(self.plant)
        self.site = "ui" + uuid.uuid4().hex[:10]
        self.store = Store.open(f"sqlite:///{tmp / 'wf.db'}")
        settings = WorkflowSettings(jwt_secret="ui-test-secret-" + "x" * 32)
        self.workflows = WorkflowService(self.store.engine, self.plant, settings=settings, photo_dir=tmp / "photos")
        self.workflows.users.hasher = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
        for uid, roles in USERS.items():
            self.workflows.users.create(uid, PASSWORD, roles)
        self._seed_workflows()
        self.bridge = LiveBridge(self.plant, BridgeConfig(site=self.site, host=self.host, port=self.mqtt_port,
                                                          db_url=f"sqlite:///{tmp / 'history.db'}",
                                                          restore_timeout_s=0.5), state=self.state).start()
        self.bridge_stopped = False
        self.app = create_app(self.state, {"ui-static-token": "admin"}, workflows=self.workflows)
        self.qra_dir = tmp / "qra"  # empty: the engineer page's button computes a coarse QRA into it
        self.ctx = mount_ui(self.app, self.state, workflows=self.workflows, bridge=self.bridge, qra_dir=str(self.qra_dir))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    ws="websockets"))
        self.thread = threading.Thread(target=self.server.run, name="ui-uvicorn", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("uvicorn did not start")
        self.pub = Publisher(self.host, self.mqtt_port, self.site)

    def _seed_workflows(self) -> None:
        """Risk units of all four levels and a few hazards, so the map and KPIs have content."""
        from safetwin.twin.workflows.roles import Actor

        sue = Actor("sue", frozenset({"safety_engineer"}))
        units = [("Tank farm", "A-TANKFARM", (6, 6, 15)), ("LPG spheres", "A-LPG", (3, 6, 15)),
                 ("Process unit 1", "A-PU1", (3, 3, 15)), ("Admin", "A-ADMIN", (1, 1, 1))]
        for name, area, (l, e, c) in units:
            u = self.workflows.create_risk_unit(sue, name=name, area_id=area)
            self.workflows.assess_risk(sue, u.id, description=f"{name} assessment", method="LEC",
                                       factors={"L": l, "E": e, "C": c})
        wim = Actor("wim", frozenset({"worker"}))
        for k, (title, level) in enumerate([("leaking flange", "general"), ("missing guard", "general"),
                                            ("corroded support", "major")]):
            h = self.workflows.report_hazard(wim, title=title, category="equipment", level=level,
                                             x=120.0 + 150 * k, y=300.0)
            if k == 0:
                self.workflows.hazard_action(sue, h.id, "confirm")

    def stop_bridge(self) -> None:
        """Stop the live bridge (once)."""
        if not self.bridge_stopped:
            self.bridge_stopped = True
            self.bridge.stop()

    def stop(self) -> None:
        self.pub.close()
        self.server.should_exit = True
        self.thread.join(10)
        self.stop_bridge()
        self.workflows.close()
        self.store.close()


@pytest.fixture(scope="session")
def served_ui(tmp_path_factory) -> Iterator[ServedUI]:
    ui = ServedUI(tmp_path_factory.mktemp("ui"))
    try:
        yield ui
    finally:
        ui.stop()


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip("needs Debian's Chromium: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class PageLog:
    """Console errors and uncaught page errors of one page."""

    def __init__(self, page) -> None:
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))


@pytest.fixture
def new_page(browser):
    """A factory of logged-in pages (1280×800): ``page, log = new_page(user)``."""
    contexts = []

    def make(user: str = "ola", lang: str = "en"):
        ctx = browser.new_context(viewport={"width": 1280, "height": 800})
        contexts.append(ctx)
        page = ctx.new_page()
        log = PageLog(page)
        return page, log

    yield make
    for c in contexts:
        c.close()


#: upper bound (ms) of a wait for a page or an element: generous, since every wait ends as soon as its
#: condition holds and a loaded 2-core machine can take a minute to load a page's scripts
PAGE_TIMEOUT_MS = 180_000


def login(page, base: str, path: str, user: str) -> None:
    """Open ``path``; the UI redirects to its login page; sign in with the OAuth2 password flow."""
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    page.goto(base + path, wait_until="commit")
    page.wait_for_url("**/ui/login**", wait_until="commit")
    page.locator("#u").wait_for()
    page.fill("#u", user)
    page.fill("#p", PASSWORD)
    page.click("#go")
    page.wait_for_url(f"**{path.split('?')[0]}**", wait_until="commit")


def rgb(png: bytes) -> np.ndarray:
    """A screenshot as an (h, w, 3) int array."""
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)


def settled_image(page, box: dict, timeout_s: float = PAGE_TIMEOUT_MS / 1e3) -> np.ndarray:
    """The screenshot of ``box`` once the page has drawn it: not blank and unchanged between two
    shots 0.3 s apart (a condition, not a fixed sleep: a loaded machine draws later). Raises
    AssertionError after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    last = rgb(page.screenshot(clip=box))
    while time.monotonic() < deadline:
        time.sleep(0.3)
        img = rgb(page.screenshot(clip=box))
        if img.shape == last.shape and img.std(axis=(0, 1)).max() > 10 and np.array_equal(img, last):
            return img
        last = img
    raise AssertionError(f"the region {box} did not settle in {timeout_s:.0f} s")


def save_screenshot(page, name: str) -> Path:
    """A full-page 1280×800 PNG in docs/screenshots (256-colour palette, no dither, to keep it small)."""
    from PIL import Image

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    img = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    out = SCREENSHOTS / name
    img.quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(out, optimize=True)
    return out


def day_shift(plant):
    from safetwin.twin.population import shift_population

    ids, xy, _ = shift_population(plant, "day", seed=0)
    return ids, xy
