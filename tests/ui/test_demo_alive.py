"""`safetwin demo` out of the box: printed users log in, the four-colour map shows the seeded risk
units, every KPI card shows a number, and ``--no-simulate`` puts nobody on site.

One demo process (a fresh data directory: SQLite store, generated users, seeded year of history)
serves every test of this module; headless Chromium drives its pages.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from conftest import free_port

pytestmark = [pytest.mark.browser, pytest.mark.mqtt]

ROOT = Path(__file__).resolve().parents[2]
USER_LINE = re.compile(r"^\s{2}(\w+)\s+(\S+)\s+\(([\w, ]+)\)$")


class Demo:
    """The demo process and what its start-up printed."""

    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, SAFETWIN_DATA_DIR=str(tmp), PYTHONPATH=str(ROOT))
        env.pop("SAFETWIN_DB_URL", None)
        env.pop("SAFETWIN_API_TOKEN", None)
        self.proc = subprocess.Popen([sys.executable, "-m", "safetwin", "demo", "--port", str(self.port), "--duration",
                                      "900", "--site", "alive" + str(self.port), "--no-simulate"], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
        self.lines: list[str] = []
        for line in self.proc.stdout:             # wait on the ready line (or the process ending)
            self.lines.append(line.rstrip("\n"))
            if line.startswith("ready — open"):
                break
        self.out = "\n".join(self.lines)
        self.users = {m.group(1): (m.group(2), m.group(3)) for m in map(USER_LINE.match, self.lines) if m}

    def password(self, role: str) -> tuple[str, str]:
        """A printed user holding ``role`` and its password."""
        return next((uid, pw) for uid, (pw, roles) in self.users.items() if role in roles.split(", "))

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    d = Demo(tmp_path_factory.mktemp("demo"))
    try:
        assert d.lines and d.lines[-1].startswith("ready — open"), d.out[-3000:]
        yield d
    finally:
        d.stop()


def _login(page, demo: Demo, path: str, role: str) -> None:
    user, password = demo.password(role)
    page.goto(demo.url + path)
    page.wait_for_url("**/ui/login**", timeout=30_000)
    page.fill("#u", user)
    page.fill("#p", password)
    page.click("#go")
    page.wait_for_url(f"**{path.split('?')[0]}**", timeout=30_000)


def test_start_up_prints_users_history_and_every_page(demo):
    """A user per role with a password, the seeded history, and a ready line naming every page."""
    for role in ("admin", "operator", "safety_engineer", "manager", "planner", "worker"):
        assert demo.password(role), f"no printed user with role {role}"
    assert all(len(pw) >= 12 for pw, _ in demo.users.values())
    assert "history:" in demo.out and "risk units" in demo.out and "refused" not in demo.out, demo.out[-2000:]
    ready = demo.lines[-1]
    for page in ("control-room", "planner", "engineer", "manager", "plant-check"):
        assert f"{demo.url}/ui/{page}" in ready, ready
    # --no-simulate: nobody on site until a real feed reports them
    tok = json.load(urllib.request.urlopen(urllib.request.Request(
        demo.url + "/auth/token", data=f"username={demo.password('admin')[0]}&password={demo.password('admin')[1]}"
        .encode(), headers={"Content-Type": "application/x-www-form-urlencoded"}), timeout=30))["access_token"]
    occ = json.load(urllib.request.urlopen(urllib.request.Request(
        demo.url + "/state/occupancy", headers={"Authorization": f"Bearer {tok}"}), timeout=30))
    assert sum(occ.values()) == 0, occ


REGISTER_JS = """() => {
  let last = null;
  for (const doc of Bokeh.documents)
    for (const m of doc.all_models) if (m.name === 'register') last = m;
  return last === null ? null : last.data_source.data.colour.length;
}"""


def test_printed_engineer_sees_the_four_colour_map(demo, new_page):
    """The engineer logs in with the printed password; the map holds a risk unit per area, all four colours."""
    page, log = new_page()
    _login(page, demo, "/ui/engineer", "safety_engineer")
    page.locator(".risk-map canvas").first.wait_for(state="visible", timeout=60_000)
    page.wait_for_function(f"({REGISTER_JS})() >= 13", timeout=60_000)
    colours = page.evaluate("""() => { let last = null;
      for (const doc of Bokeh.documents) for (const m of doc.all_models) if (m.name === 'register') last = m;
      return Array.from(new Set(last.data_source.data.colour)); }""")
    from safetwin.twin.workflows.risk import COLOURS

    assert set(colours) == set(COLOURS.values()), colours
    assert not log.errors, log.errors


def test_every_kpi_card_shows_a_number(demo, new_page):
    """The manager's cockpit: each KPI figure holds a number (no n/a), and the weekly trend is not flat."""
    page, log = new_page()
    _login(page, demo, "/ui/manager", "manager")
    cells = page.locator(".kpi-cards td.v")
    cells.nth(10).wait_for(timeout=60_000)
    values = cells.all_inner_texts()
    assert len(values) >= 15, values
    empty = [v for v in values if not re.search(r"\d", v)]
    assert not empty, f"KPI figures without a number: {empty} (all: {values})"
    assert "n/a" not in page.locator(".kpi-cards").inner_text()
    page.wait_for_function("""() => { for (const doc of Bokeh.documents) for (const m of doc.all_models)
        if (m.type === 'ColumnDataSource' && m.data.found) return m.data.found.reduce((a, b) => a + b, 0) > 0;
        return false; }""", timeout=30_000)
    assert not log.errors, log.errors


#: visible text of a page: every text node shown (shadow roots included), input values, and the text
#: Bokeh draws on its canvases (titles, axis labels, legend entries)
VISIBLE_TEXT_JS = """() => { const out = [];
  const walk = (root) => { const it = document.createTreeWalker(root, NodeFilter.SHOW_TEXT | NodeFilter.SHOW_ELEMENT);
    let n; while ((n = it.nextNode())) {
      if (n.nodeType === 1) { if (n.shadowRoot) walk(n.shadowRoot);
        if (n.tagName === 'INPUT' && n.type !== 'hidden' && n.offsetParent !== null) out.push(n.value || '');
        if (n.tagName === 'OPTION' && n.parentElement && n.parentElement.offsetParent !== null) out.push(n.textContent);
        continue; }
      const el = n.parentElement; if (!el || ['SCRIPT', 'STYLE', 'OPTION'].includes(el.tagName)) continue;
      if (el.offsetParent === null && getComputedStyle(el).position !== 'fixed') continue;
      const t = n.textContent.trim(); if (t) out.push(t); } };
  walk(document.body);
  for (const doc of (window.Bokeh ? Bokeh.documents : []))
    for (const m of doc.all_models) {
      if (m.type === 'Title' && m.text) out.push(m.text);
      if (m.type && m.type.endsWith('Axis') && m.axis_label) out.push(String(m.axis_label));
      if (m.type === 'Legend' && m.title) out.push(m.title);
      if (m.type === 'LegendItem' && m.label) out.push(typeof m.label === 'string' ? m.label : (m.label.value || ''));
    }
  return out; }"""
#: words allowed on 中文 pages: the product, units and standard abbreviations, formats, the language switch
ALLOWED_WORDS = {"SafeTwin", "English", "UTC", "QRA", "LEC", "GeoJSON", "WGS84", "EPSG", "HTML", "PDF", "RSET", "AEGL",
                 "ERPG", "LEL", "ppm", "RTLS", "HSEEP", "ISA", "GB", "yr", "km", "kg", "kPa", "min", "MMSS", "HH"}
#: ids: plant objects, records, users (GD-TF-101, A-TANKFARM, PTW-1A2B…, day-A-ADMIN-059, site1-2026-006)
ID = re.compile(r"\b(?:[A-Za-z0-9]+-)+[A-Za-z0-9]+\b|\b[A-Z]{1,4}\d[\w-]*\b")


def untranslated(texts: list[str], allowed_phrases: set[str]) -> list[str]:
    """The texts that still hold an English word once ids, allowed words and phrases are taken out."""
    bad = []
    for text in texts:
        rest = text
        for phrase in sorted(allowed_phrases, key=len, reverse=True):
            rest = rest.replace(phrase, " ")
        rest = ID.sub(" ", rest)
        words = [w for w in re.findall(r"[A-Za-z]{3,}", rest) if w not in ALLOWED_WORDS]
        if words:
            bad.append(f"{text[:120]!r} ({', '.join(words[:4])})")
    return bad


def test_chinese_pages_have_no_english(demo, new_page):
    """Each page rendered in 中文 holds no English word beyond ids, units,
    proper names and what people typed into the records (permit and hazard titles)."""
    from safetwin.plant_models.loader import bundled_plant_path, load_plant

    plant = load_plant(bundled_plant_path("demo_plant"))
    user, password = demo.password("admin")
    tok = json.load(urllib.request.urlopen(urllib.request.Request(
        demo.url + "/auth/token", data=f"username={user}&password={password}".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"}), timeout=30))["access_token"]

    def get(path: str):
        return json.load(urllib.request.urlopen(urllib.request.Request(
            demo.url + path, headers={"Authorization": f"Bearer {tok}"}), timeout=30))

    from safetwin.ui.engineer import offsite_receptors

    typed = {plant.name, user} | {str(r.get("name")) for r in offsite_receptors(plant)}   # the plant's own names
    for kind in ("permits", "hazards"):
        body = get(f"/{kind}?limit=500")
        for rec in body if isinstance(body, list) else body.get("items", []):
            typed.add(rec.get("title") or "")
    typed.discard("")
    page, log = new_page()
    _login(page, demo, "/ui/manager?lang=zh", "admin")
    problems = {}
    for name, ready in (("manager", ".kpi-cards td.v"), ("engineer", ".risk-map canvas"),
                        ("plant-check", "#plant-check-findings"), ("planner", ".planner-library select"),
                        ("control-room", ".cr-permits")):
        page.goto(f"{demo.url}/ui/{name}?lang=zh")
        page.locator(ready).first.wait_for(timeout=60_000)
        page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0", timeout=60_000)
        if name == "engineer":   # a chlorine release: the threat zones, their summary and the model's notes
            page.locator(".engineer-equipment select").select_option("DS-701")
            page.get_by_role("button", name="计算后果影响区").click()
            page.locator(".zone-notes li").first.wait_for(timeout=90_000)
            page.locator(".threat-summary td").first.wait_for(timeout=30_000)
        bad = untranslated(page.evaluate(VISIBLE_TEXT_JS), typed)
        if bad:
            problems[name] = bad
    assert not problems, json.dumps(problems, ensure_ascii=False, indent=1)
    assert not log.errors, log.errors
