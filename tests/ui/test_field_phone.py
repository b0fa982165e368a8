"""The phone page of field work in headless Chromium at a phone's size (390×844, touch): report a
hazard with a photo, walk a round by typing checkpoint codes, enter a gas test on a permit, sign a
permit's approval; a capture made offline and synced later arrives once, even when the answer to its
first send is lost."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import pytest
from PIL import Image

from conftest import PASSWORD, ServedUI, login, save_screenshot
from safetwin.twin.workflows.roles import Actor

pytestmark = [pytest.mark.browser, pytest.mark.mqtt]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
T_MS = 30_000
SUE = Actor("sue", frozenset({"safety_engineer"}))


@pytest.fixture(scope="module")
def field_ui(tmp_path_factory):
    """The served UI with an operator's round of two checkpoints, an approved hot-work permit and a
    submitted one."""
    ui = ServedUI(tmp_path_factory.mktemp("field_ui"))
    svc, now = ui.workflows, datetime.now(timezone.utc)
    for uid, roles in {"ann": ["applicant"], "al": ["approver"], "bob": ["worker"], "gus": ["guardian"]}.items():
        svc.users.create(uid, PASSWORD, roles)
    f = svc.field.inspections
    cps = [f.add_checkpoint(SUE, name="Tank TK-101", kind="equipment", target_id="TK-101", code="TK101-A"),
           f.add_checkpoint(SUE, name="Chlorine store", kind="area", target_id="A-CL2", code="CL2-B")]
    f.add_route(SUE, name="Morning round", checkpoint_ids=[c.id for c in cps], interval_h=8, first_due_at=now)
    svc.run_due_jobs()
    for who, ctype in (("bob", "hot_work"), ("gus", "guardian")):
        svc.add_certificate(SUE, person_id=who, type=ctype, number=f"{who}-1", issued_at=now - timedelta(days=30),
                            expires_at=now + timedelta(days=300))
    x, y = ui.plant.areas["A-ADMIN"].geometry.representative_point().coords[0]
    p = svc.create_permit(Actor("ann", frozenset({"applicant"})), type="hot_work", level="second", title="weld bracket",
                          holder="bob", guardian="gus", work_polygon=[(x, y), (x + 4, y), (x + 4, y + 4)], jha="sparks",
                          planned_start=now, planned_end=now + timedelta(hours=4))
    svc.permit_action(Actor("ann", frozenset({"applicant"})), p.id, "submit")
    svc.permit_action(Actor("al", frozenset({"approver"})), p.id, "approve")
    svc.permit_action(Actor("ola", frozenset({"operator"})), p.id, "approve")
    ui.permit_id = p.id
    x, y = ui.plant.areas["A-LOADING"].geometry.representative_point().coords[0]      # far from the first
    p2 = svc.create_permit(Actor("ann", frozenset({"applicant"})), type="hot_work", level="second", title="cut grating",
                           holder="bob", guardian="gus", work_polygon=[(x, y), (x + 4, y), (x + 4, y + 4)],
                           jha="sparks", planned_start=now, planned_end=now + timedelta(hours=4))
    svc.permit_action(Actor("ann", frozenset({"applicant"})), p2.id, "submit")
    ui.submitted_id = p2.id
    try:
        yield ui
    finally:
        ui.stop()


@pytest.fixture
def phone(browser, field_ui):
    """``open(user, lang)``: a signed-in phone page on the field page, and its browser context."""
    contexts = []

    def open_(user: str, lang: str = "en"):
        ctx = browser.new_context(**PHONE)
        contexts.append(ctx)
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        login(page, field_ui.url, f"/ui/field?lang={lang}", user)
        page.locator("#outbox-count").wait_for(timeout=T_MS)
        page.wait_for_function("() => document.querySelector('#net').className.includes('on')", timeout=T_MS)
        return page, ctx, errors

    yield open_
    for c in contexts:
        c.close()


def jpeg(path, colour=(200, 40, 40)) -> str:
    Image.new("RGB", (640, 480), colour).save(path, "JPEG", quality=85)
    return str(path)


def report(page, title: str, photo: str) -> None:
    page.fill("#hz-title", title)
    page.select_option("#hz-category", "equipment")
    page.set_input_files("#hz-photo", photo)
    page.tap("#hz-submit")


def choose_permit(page, permit_id: str) -> None:
    page.locator(f"#gas-permit option[value='{permit_id}']").wait_for(state="attached", timeout=T_MS)
    page.select_option("#gas-permit", permit_id)


def hazards_titled(svc, title: str):
    return [h for h in svc.list_hazards(limit=1000) if h.title == title]


def test_the_page_needs_login_and_forwards_only_the_phone_routes(field_ui):
    """Without the UI cookie the page redirects to the login and its API calls get the API's 401."""
    assert httpx.get(field_ui.url + "/ui/field", follow_redirects=False).status_code == 303
    assert httpx.post(field_ui.url + "/ui/field/api/field/hazards", json={}).status_code == 401
    assert httpx.get(field_ui.url + "/ui/field/api/users").status_code == 404
    assert httpx.get(field_ui.url + "/ui/field-sw.js").headers["content-type"].startswith("text/javascript")


def test_report_a_hazard_with_a_photo_in_chinese(field_ui, phone, tmp_path):
    page, _, errors = phone("wim", "zh")
    assert page.locator("#hz-submit").inner_text() == "上报隐患"
    report(page, "法兰渗漏 flange weeping", jpeg(tmp_path / "leak.jpg"))
    page.locator("#sent li").first.wait_for(state="attached", timeout=T_MS)   # in the outbox tab
    assert page.locator("#outbox-count").inner_text() == "0"
    [h] = hazards_titled(field_ui.workflows, "法兰渗漏 flange weeping")
    assert h.reporter == "wim" and len(h.photos) == 1
    assert field_ui.workflows.field.photos.find(h.photos[0])[1] == "image/jpeg"
    save_screenshot(page, "field-phone.png")
    fake = tmp_path / "fake.jpg"
    fake.write_bytes(b"%PDF-1.7\n" + b"x" * 500)         # a document named like a photo: refused, with the reason
    report(page, "not a photo", str(fake))
    page.locator("#refused li", has_text="not a JPEG, PNG or WebP image").wait_for(state="attached", timeout=T_MS)
    assert hazards_titled(field_ui.workflows, "not a photo") == []
    assert not errors, errors


def test_walk_a_round_by_typing_checkpoint_codes(field_ui, phone):
    page, _, errors = phone("ola")
    page.tap("nav button[data-tab=round]")
    page.locator(".round-item").first.tap()
    for name, code in (("Tank TK-101", "WRONG-1"), ("Tank TK-101", "TK101-A"), ("Chlorine store", "CL2-B")):
        page.locator("#checkpoints li", has_text=name).tap()
        page.fill("#scan-code", code)
        page.tap("#all-ok")
        page.tap("#scan-submit")
        if code == "WRONG-1":     # judged by the server: refused with the reason, nothing recorded
            refused = page.locator("#refused li", has_text="is not a checkpoint of route Morning round")
            refused.wait_for(state="attached", timeout=T_MS)
        else:
            page.locator("#checkpoints li.scanned", has_text=name).wait_for(timeout=T_MS)
    page.tap("#round-complete")
    page.locator("#notice", has_text="no_rtls_track").wait_for(timeout=T_MS)   # nobody's tag walked it
    [r] = field_ui.workflows.field.inspections.rounds("completed")
    assert [(s.code, s.method, s.by) for s in r.scans] == [("TK101-A", "manual", "ola"), ("CL2-B", "manual", "ola")]
    assert "no_rtls_track" in r.flags and not r.rtls_verified
    assert not errors, errors


def test_enter_a_gas_test_on_a_permit(field_ui, phone):
    page, _, errors = phone("gus")
    page.tap("nav button[data-tab=gas]")
    choose_permit(page, field_ui.permit_id)
    page.fill("#gas-name", "CH4")
    page.fill("#gas-value", "0.1")
    page.select_option("#gas-unit", "%vol")
    page.fill("#gas-instrument", "PGD-7")
    page.tap("#gas-submit")
    page.locator("#sent li", has_text="CH4").wait_for(state="attached", timeout=T_MS)
    [test] = field_ui.workflows.permit(field_ui.permit_id).gas_tests
    assert test.analyst == "gus" and test.passed and test.instrument_id == "PGD-7" and test.source == "portable"
    assert not errors, errors


def test_sign_a_permit_approval(field_ui, phone):
    page, _, errors = phone("al")
    page.tap("nav button[data-tab=gas]")
    choose_permit(page, field_ui.submitted_id)
    page.tap("#sign button[data-action=approve]")
    page.locator("#sent li", has_text="Sign the approval").wait_for(state="attached", timeout=T_MS)
    [a] = field_ui.workflows.permit(field_ui.submitted_id).approvals
    assert a.approver == "al" and "signed on a phone at" in a.note
    assert not errors, errors


def test_offline_capture_synced_later_arrives_once(field_ui, phone, tmp_path):
    """Opened and captured offline; back online, the first send's answer is lost on the way back, so
    the phone sends it again: the server holds one hazard and one capture for it."""
    page, ctx, errors = phone("wim")
    page.evaluate("() => navigator.serviceWorker.ready")
    ctx.set_offline(True)
    page.reload()                                         # the service worker serves the page's shell
    page.locator("#hz-title").wait_for(timeout=T_MS)
    title = "offline: guard missing on pump P-12"
    report(page, title, jpeg(tmp_path / "guard.jpg", (40, 40, 200)))
    page.locator("#notice", has_text="Saved in the outbox").wait_for(timeout=T_MS)
    assert page.locator("#outbox-count").inner_text() == "1" and hazards_titled(field_ui.workflows, title) == []
    page.tap("nav button[data-tab=outbox]")
    sends: list[int] = []

    def lose_first_answer(route):
        sends.append(1)
        if len(sends) == 1:
            route.fetch()                                 # the server applies it ...
            route.abort("connectionreset")                # ... and the answer never reaches the phone
        else:
            route.continue_()

    page.route("**/ui/field/api/field/hazards", lose_first_answer)
    ctx.set_offline(False)                                # the browser's 'online' event starts the sync
    page.locator("#outbox li .why", has_text="offline").wait_for(timeout=T_MS)
    assert page.locator("#outbox-count").inner_text() == "1"
    page.tap("#sync")
    page.wait_for_function("() => document.querySelector('#outbox-count').textContent === '0'", timeout=T_MS)
    assert len(sends) == 2
    [h] = hazards_titled(field_ui.workflows, title)
    assert len(h.photos) == 1
    journal = [c for c in field_ui.workflows.field.captures.captures(Actor("wim", frozenset({"worker"})))
               if c.result_id == h.id]
    assert len(journal) == 1 and journal[0].state == "applied"
    assert page.locator("#sent li", has_text=title).count() == 1
    assert not errors, errors
