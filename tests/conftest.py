"""Shared fixtures: the bundled plants, loaded once per session; the MQTT broker."""
from __future__ import annotations

import socket

import pytest

from safetwin.plant_models.loader import bundled_plant_path, load_plant


@pytest.fixture(scope="session")
def small_plant():
    return load_plant(bundled_plant_path("small_plant"))


@pytest.fixture(scope="session")
def demo_plant():
    return load_plant(bundled_plant_path("demo_plant"))


@pytest.fixture(scope="session")
def broker() -> tuple[str, int]:
    """The MQTT broker of the settings (127.0.0.1:1883 by default); fails the test when unreachable."""
    from safetwin.app.settings import get_settings

    settings = get_settings()
    try:
        socket.create_connection((settings.mqtt_host, settings.mqtt_port), timeout=2).close()
    except OSError as exc:
        pytest.fail(f"MQTT broker {settings.mqtt_host}:{settings.mqtt_port} is unreachable ({exc}); "
                    "make test starts one (tools/ensure_services.sh)")
    return settings.mqtt_host, settings.mqtt_port
