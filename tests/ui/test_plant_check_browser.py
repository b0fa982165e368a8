"""The plant-check page in headless Chromium: served with the other pages behind the login, it lists
the planted layout problems and draws the plant's map."""
from __future__ import annotations

import httpx
import numpy as np
import pytest

from conftest import ServedUI, login, save_screenshot, settled_image
from planted_plant import PLANTED, write_planted_plant

pytestmark = [pytest.mark.browser, pytest.mark.mqtt]


@pytest.fixture(scope="module")
def planted_ui(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("planted_ui")
    ui = ServedUI(tmp, plant_path=write_planted_plant(tmp / "plant"))
    try:
        yield ui
    finally:
        ui.stop()


def test_plant_check_needs_login(planted_ui):
    r = httpx.get(planted_ui.url + "/ui/plant-check", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/ui/login")


def test_plant_check_page_lists_the_planted_problems(planted_ui, new_page):
    page, log = new_page()
    login(page, planted_ui.url, "/ui/plant-check", "sue")
    table = page.locator("#plant-check-findings")
    table.wait_for()
    for rule, items in PLANTED.items():
        for item in items:
            row = page.locator(f'tr.finding[data-rule="{rule}"][data-item="{item}"]')
            assert row.count() == 1, (rule, item)
    assert "4 people" in page.locator('tr.finding[data-item="A-CAGE"]').inner_text()
    page.get_by_text("Plant check").first.wait_for()       # in the navigation
    canvas = page.locator("canvas").first
    canvas.wait_for(state="visible")
    img = settled_image(page, canvas.bounding_box())
    assert img.std(axis=(0, 1)).max() > 20, "the map is blank"
    finding_red = np.array([0xD7, 0x19, 0x1C])
    assert int((np.abs(img - finding_red).max(axis=2) <= 20).sum()) > 30, "no finding marked on the map"
    save_screenshot(page, "plant-check.png")
    assert not log.errors, log.errors


def test_plant_check_page_in_chinese(planted_ui, new_page):
    page, log = new_page()
    login(page, planted_ui.url, "/ui/plant-check?lang=zh", "max")
    page.locator("#plant-check-findings").wait_for()
    page.get_by_text("集合点无法到达").first.wait_for()
    assert not log.errors, log.errors
