"""Browser tests of the planner page: compose a scenario, run it from the page, play it
back, compare two runs — in headless Chromium, behind the login, with the run in the page's worker process.

Screenshots (1280×800): docs/screenshots/planner.png and planner-compare.png.
"""
from __future__ import annotations

import re
import time

import numpy as np
import pytest
from conftest import login, save_screenshot, settled_image
from playwright.sync_api import Error as PlaywrightError

pytestmark = [pytest.mark.browser, pytest.mark.mqtt, pytest.mark.slow]

RUN_TIMEOUT_MS = 900_000   # a run takes seconds on an idle machine, minutes on a loaded one
NUMBER = re.compile(r"^\s*\d+(\.\d+)?\s*$")


def _set(page, css: str, value: str) -> None:
    """Type a value into a Panel text/number input and commit it (Enter, then leave the field)."""
    box = page.locator(f"{css} input").first
    box.fill(value)
    box.press("Enter")
    box.press("Tab")


def _poll(cond, timeout_ms: int, page) -> bool:
    """Poll ``cond()`` (locators are re-resolved each time: Panel re-renders HTML panes) until true."""
    deadline = time.monotonic() + timeout_ms / 1e3
    while time.monotonic() < deadline:
        try:
            if cond():
                return True
        except PlaywrightError:  # the element was re-rendered between two calls
            pass
        page.wait_for_timeout(250)
    return False


def _text(page, css: str) -> str:
    loc = page.locator(css)
    return loc.first.inner_text() if loc.count() else ""


def _wait_metric(page, css: str) -> str:
    """The text of a metrics cell once it holds a number (the run finished)."""
    assert _poll(lambda: NUMBER.match(_text(page, css)), RUN_TIMEOUT_MS, page), \
        f"{css} shows no number: {_text(page, css)!r}; status: {_text(page, '.planner-status div')!r}"
    return _text(page, css)


def test_planner_compose_run_playback_compare(served_ui, new_page):
    """A composed H2S release runs from the page and shows numeric metrics; the slider changes the 2D view;
    a bad field is rejected with a located message; a second run is compared side by side."""
    page, log = new_page()
    login(page, served_ui.url, "/ui/planner", "sue")
    page.get_by_text("No run yet").first.wait_for()
    page.get_by_role("button", name="Compose").click()
    page.locator(".pl-time-of-day input").first.wait_for(state="visible")
    # a bad value goes through the scenario schema and comes back located by field, nothing runs
    _set(page, ".pl-time-of-day", "25:70")
    _set(page, ".pl-people", "30")
    _set(page, ".pl-duration", "240")
    page.get_by_role("button", name="Run").click()
    err = page.locator(".planner-errors")
    err.get_by_text("Time of day [HH:MM]: use HH:MM, e.g. 14:30").wait_for()
    shown = err.inner_text()
    assert "pattern" not in shown and "line" not in shown and "time_of_day" not in shown, shown   # the form's terms
    _set(page, ".pl-time-of-day", "09:40")
    page.get_by_role("button", name="Run").click()
    alarm = _wait_metric(page, ".planner-metrics .m-alarm_s")
    last = _wait_metric(page, ".planner-metrics .m-last_arrival_s")
    assert float(alarm) > 0 and float(last) > float(alarm)
    assert page.locator(".planner-errors").get_by_text("not valid").count() == 0
    # playback: move the time slider and check that the plan view changes
    try:
        page.locator(".planner-map-a canvas:visible").first.wait_for(state="visible")
    except Exception:
        page.screenshot(path="/tmp/planner_fail.png", full_page=True)
        raise
    clock = ".planner-clock .planner-time"
    t_first = _text(page, clock)
    box = page.locator(".planner-map-a").first.bounding_box()
    first = settled_image(page, box)
    slider = page.locator(".planner-player input[type=range]").first
    end = int(slider.get_attribute("max") or 0)
    assert end >= 10, f"too few playback frames ({end + 1})"
    slider.fill(str(end * 2 // 5))
    assert _poll(lambda: _text(page, clock) not in ("", t_first), 120_000, page), "the clock did not move"
    second = settled_image(page, box)
    assert first.std(axis=(0, 1)).max() > 10, "plan view looks blank"
    changed = int((np.abs(first - second).sum(axis=2) > 30).sum())
    assert changed > 200, f"the plan view did not change with the slider ({changed} pixels)"
    t_a, t_b = (int(re.search(r"t = (\d+) s", x).group(1)) for x in (t_first, _text(page, clock)))
    assert t_b > t_a, (t_first, _text(page, clock))
    save_screenshot(page, "planner.png")
    # a second run (wind from the east) compared with the first
    _set(page, ".pl-wind-from", "90")
    page.get_by_role("button", name="Run").click()
    assert _poll(lambda: page.locator(".pl-run-a select option").count() >= 2, RUN_TIMEOUT_MS, page), \
        f"the second run did not finish: {_text(page, '.planner-status div')!r}"
    labels = page.locator(".pl-run-a select option").all_inner_texts()
    first_run = next(label for label in labels if " 0°" in label)
    page.locator(".pl-run-a select").select_option(label=next(label for label in labels if " 90°" in label))
    page.locator(".pl-run-b select").select_option(label=first_run)
    _wait_metric(page, ".planner-metrics .mb-alarm_s")
    delta = page.locator(".planner-metrics .md-people").first.inner_text()
    assert delta.strip() in ("+0", "0", "-0"), f"both runs have 30 people, delta {delta!r}"
    try:
        page.locator(".planner-map-b canvas:visible").first.wait_for(state="visible")
    except Exception:
        page.screenshot(path="/tmp/planner_fail.png", full_page=True)
        raise
    box_b = page.locator(".planner-map-b").first.bounding_box()
    assert box_b["x"] > page.locator(".planner-map-a").first.bounding_box()["x"], "maps are not side by side"
    map_b = settled_image(page, box_b)
    assert map_b.std(axis=(0, 1)).max() > 10, "second plan view looks blank"
    save_screenshot(page, "planner-compare.png")
    assert not log.errors, log.errors


def test_planner_needs_a_planning_role(served_ui, new_page):
    """A worker sees the role message instead of the run controls; the nav links to the planner."""
    page, log = new_page()
    login(page, served_ui.url, "/ui/planner", "wim")
    page.locator(".planner-denied").get_by_text("needs one of the roles").wait_for()
    assert page.get_by_role("button", name="Run").count() == 0
    page.get_by_role("link", name="Planner").first.wait_for()
    assert not log.errors, log.errors
