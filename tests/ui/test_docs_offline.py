"""The API documentation pages of the served ``safetwin demo`` render in headless Chromium with no
network: every request the pages make to anything but the server itself is aborted and recorded
(a script or style from a CDN would leave the page blank and show up here), and the pages must
still draw every operation of the OpenAPI document."""
from __future__ import annotations

import json
import urllib.request
from urllib.parse import urlsplit

import pytest

from served_demo import ServedDemo

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    served = ServedDemo(tmp_path_factory.mktemp("docs"))
    yield served
    served.stop()


@pytest.fixture()
def offline_page(browser, demo):
    """A page whose only reachable host is the demo server; ``outside`` lists what it tried elsewhere."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    outside: list[str] = []
    served = urlsplit(demo.url).netloc

    def route(r) -> None:
        if urlsplit(r.request.url).netloc == served:
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort("internetdisconnected")

    ctx.route("**/*", route)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield page, outside, errors
    ctx.close()


def _operations(demo) -> int:
    with urllib.request.urlopen(f"{demo.url}/openapi.json", timeout=30) as r:
        doc = json.load(r)
    return sum(len(ops) for ops in doc["paths"].values())


def test_swagger_ui_renders_every_operation_offline(demo, offline_page):
    page, outside, errors = offline_page
    page.goto(f"{demo.url}/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=60_000)
    assert page.locator(".swagger-ui .info .title").inner_text().startswith("SafeTwin API")
    drawn = page.evaluate("""() => new Set(Array.from(document.querySelectorAll('.swagger-ui .opblock')).map(
        e => e.querySelector('.opblock-summary-method').textContent + ' ' +
             e.querySelector('.opblock-summary-path').getAttribute('data-path'))).size""")
    assert drawn == _operations(demo)               # an operation with two tags is drawn twice: count once
    assert page.locator(".swagger-ui .btn.authorize").count() == 1      # the OAuth2 password login
    assert not outside and not errors, (outside, errors)


def test_redoc_renders_offline(demo, offline_page):
    page, outside, errors = offline_page
    page.goto(f"{demo.url}/redoc")
    page.wait_for_selector("h1", timeout=60_000)
    assert "SafeTwin API" in page.locator("h1").first.inner_text()
    page.wait_for_selector("[data-section-id^='tag/']", state="attached", timeout=60_000)
    assert not outside and not errors, (outside, errors)
