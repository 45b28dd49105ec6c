"""The web page in a real browser: Playwright driving the system's Chromium against a live uvicorn server.

Playwright cannot download its own browsers here, so the tests use Debian's ``chromium``
(``MEDDL_CHROMIUM`` may name another executable) and skip, saying why, where there is none.
Each scenario saves a screenshot in its temporary folder and runs the accessibility check
(labels, alternative text, text contrast) on the pages it visits. With
``MEDDL_WRITE_DOCS_SCREENSHOT=1`` the diagnosis scenario also writes the README's
screenshot, ``docs/web-result-card.png``.
"""

import csv
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from tests.serving.web.a11y import accessibility_problems, contrast_ratio

CHROMIUM = os.environ.get("MEDDL_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
DOCS_SCREENSHOT = Path(__file__).resolve().parents[3] / "docs" / "web-result-card.png"
LAPTOP = {"width": 1366, "height": 768}
TABLET = {"width": 820, "height": 1180}

pytestmark = pytest.mark.skipif(not CHROMIUM, reason="no Chromium found (install Debian's 'chromium' package or set "
                                                     "MEDDL_CHROMIUM); Playwright cannot download its own browser here")


@pytest.fixture(scope="module")
def live_url(web_app):
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(web_app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=LAPTOP)
    yield context.new_page()
    context.close()


def _sign_in(page, url, user, secret):
    page.goto(f"{url}/web/signin")
    page.fill("#user", user)
    page.fill("#secret", secret)
    with page.expect_navigation():
        page.click("form[action='/web/signin'] button[type=submit]")


def _checked(page, tmp_path, name):
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
    problems = accessibility_problems(page)
    assert not problems, f"{name}: {problems}"
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name}: the page scrolls sideways by {overflow}px"


def _submit(page, selector):
    with page.expect_navigation():
        page.click(selector)


def test_sign_in_by_keyboard_refuses_a_wrong_key_and_shows_the_models(page, live_url, web_app, tmp_path):
    page.goto(f"{live_url}/web/models")
    assert page.url.startswith(f"{live_url}/web/signin")
    for _ in range(10):                      # keyboard only: Tab to the user name field
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "user":
            break
    page.keyboard.type("clinician")
    page.keyboard.press("Tab")
    page.keyboard.type("mdl_not_the_key")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "wrong key or password" in page.inner_text("#signin-error")
    assert page.input_value("#user") == "clinician"
    _checked(page, tmp_path, "signin-refused")
    page.fill("#secret", web_app.state.test_keys["clinician"])
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/web/models")
    text = page.inner_text("main")
    assert "Not for clinical use without local validation" in text
    assert "AUROC" in text and "95% CI" in text and "C-index" in text and "Average treatment effect" in text
    assert "Research use: survival model predicting the time until the event 'died'" in text
    _checked(page, tmp_path, "models")
    page.set_viewport_size(TABLET)
    _checked(page, tmp_path, "models-tablet")


def test_diagnosis_patient_gets_probability_interval_and_contributions_and_out_of_range_is_kept(
        page, live_url, web_app, tmp_path):
    _sign_in(page, live_url, "clinician", web_app.state.test_keys["clinician"])
    page.goto(f"{live_url}/web/models/sepsis/patient")
    _submit(page, "button[value=examples]")
    age = page.locator("label", has_text="age").get_attribute("for")
    page.fill(f"#{age}", "400")
    assert "Outside the training range" in page.inner_text(f"#{age}-live")      # checked in the browser
    page.select_option("select >> nth=0", "female")
    _submit(page, "button[value=predict]")
    assert "outside the training range of age" in page.inner_text(f"#{age}-error")  # and on the server
    assert page.input_value(f"#{age}") == "400" and page.locator("select >> nth=0").input_value() == "female"
    assert page.locator("#answer").count() == 0
    _checked(page, tmp_path, "out-of-range-refused")
    page.check("input[name=predict_anyway]")
    _submit(page, "button[value=predict]")
    card = page.inner_text("#answer")
    assert "Probability of sepsis" in card and "95% interval" in card and "threshold" in card
    assert "outside the training range" in card
    page.fill(f"#{age}", "64")
    _submit(page, "button[value=predict]")
    card = page.inner_text("#answer")
    assert "Probability of sepsis" in card and "95% interval" in card and "sensitivity" in card
    bars = page.locator("#answer figure.contributions svg rect")
    assert bars.count() >= 3
    _checked(page, tmp_path, "diagnosis-answer")
    if os.environ.get("MEDDL_WRITE_DOCS_SCREENSHOT") == "1":
        DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
        page.set_viewport_size({"width": 1366, "height": 1000})
        page.locator("div.layout").screenshot(path=str(DOCS_SCREENSHOT))


def test_survival_patient_gets_the_curve_with_its_band(page, live_url, web_app, tmp_path):
    _sign_in(page, live_url, "clinician", web_app.state.test_keys["clinician"])
    page.goto(f"{live_url}/web/models/survival/patient")
    _submit(page, "button[value=examples]")
    _submit(page, "button[value=predict]")
    card = page.inner_text("#answer")
    assert "Median survival" in card and "Survival at 30 months" in card and "Survival at 60 months" in card
    points = page.locator("svg polyline.curve").get_attribute("points").split()
    assert len(points) >= 20
    assert page.locator("svg polygon.band").count() == 1
    _checked(page, tmp_path, "survival-answer")
    page.set_viewport_size(TABLET)
    _checked(page, tmp_path, "survival-answer-tablet")


def test_treatment_patient_gets_both_arms_and_a_recommendation(page, live_url, web_app, tmp_path):
    _sign_in(page, live_url, "clinician", web_app.state.test_keys["clinician"])
    page.goto(f"{live_url}/web/models/treatment/patient")
    _submit(page, "button[value=examples]")
    _submit(page, "button[value=predict]")
    arms = page.locator("#answer table >> nth=0").inner_text()
    assert "control" in arms and "treated" in arms and arms.count("95% interval") == 2
    headline = page.inner_text("#answer .headline")
    assert headline in ("Recommended: treated", "Recommended: control", "No recommendation")
    assert "Effect of treatment" in page.inner_text("#answer")
    _checked(page, tmp_path, "treatment-answer")


def test_image_upload_shows_image_prediction_and_grad_cam_overlay(page, live_url, web_app, web_runs, tmp_path):
    _sign_in(page, live_url, "clinician", web_app.state.test_keys["clinician"])
    page.goto(f"{live_url}/web/models/xray/image")
    image = next((web_runs["xray"].parent / "images" / "opacity").glob("*.png"))
    page.set_input_files("#file", str(image))
    _submit(page, "form[enctype] button[type=submit]")
    assert "Probability of opacity" in page.inner_text("#answer")
    for selector in ("img[alt^='The uploaded image']", "img.overlay"):
        assert page.locator(selector).evaluate("img => img.complete && img.naturalWidth > 0")
    _checked(page, tmp_path, "image-answer")


def test_csv_upload_shows_a_preview_and_downloads_every_prediction(page, live_url, web_app, tmp_path):
    _sign_in(page, live_url, "clinician", web_app.state.test_keys["clinician"])
    upload = tmp_path / "patients.csv"
    upload.write_text("age,crp,sex,site,noise\n61,2.5,male,A,0.1\n70,abc,female,B,0.0\n55,,female,C,-0.2\n")
    page.goto(f"{live_url}/web/models/sepsis/batch")
    page.set_input_files("#file", str(upload))
    _submit(page, "form[enctype] button[type=submit]")
    assert page.locator("table.preview tbody tr").count() == 2
    assert "Row 2" in page.inner_text(".errors-box")
    with page.expect_download() as download:
        page.click("a[download]")
    rows = list(csv.DictReader(open(download.value.path(), encoding="utf-8")))
    assert len(rows) == 3 and rows[0]["prob_sepsis"] and "crp" in rows[1]["error"]
    _checked(page, tmp_path, "batch-preview")


def test_audit_page_is_for_admins_who_see_the_requests_just_made_and_sign_out_ends_it(
        browser, live_url, web_app, tmp_path):
    clinician = browser.new_context(viewport=LAPTOP).new_page()
    _sign_in(clinician, live_url, "clinician", web_app.state.test_keys["clinician"])
    clinician.goto(f"{live_url}/web/models/sepsis/patient")
    _submit(clinician, "button[value=examples]")
    _submit(clinician, "button[value=predict]")
    response = clinician.goto(f"{live_url}/web/audit")
    assert response.status == 403 and "Admins only" in clinician.inner_text("main")
    assert clinician.locator("a[href='/web/audit']").count() == 0
    _checked(clinician, tmp_path, "audit-refused")
    admin = browser.new_context(viewport=LAPTOP).new_page()
    _sign_in(admin, live_url, "admin", web_app.state.test_keys["admin"])
    admin.goto(f"{live_url}/web/audit")
    admin.fill("#f-user", "clinician")
    admin.select_option("#f-model", "sepsis")
    _submit(admin, ".filters button:not([formaction])")
    rows = admin.locator("table.audit tbody tr")
    assert rows.count() >= 1 and "web/patient" in rows.first.inner_text()
    assert "hash chain verified" in admin.inner_text("#chain")
    _checked(admin, tmp_path, "audit")
    _submit(admin, "header form button[type=submit]")
    assert "/web/signin" in admin.url
    admin.goto(f"{live_url}/web/audit")
    assert "/web/signin" in admin.url
    clinician.context.close()
    admin.context.close()


def test_accessibility_check_finds_unlabelled_inputs_missing_alt_text_and_poor_contrast(page):
    page.set_content('<main><input id="x"><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
                     '<p style="color:#aaa;background:#fff">faint</p><label for="y">Good</label><input id="y">'
                     '<p style="color:#000">readable</p></main>')
    problems = accessibility_problems(page)
    assert any("'x' has no label" in p for p in problems) and not any("'y'" in p for p in problems)
    assert any("no alt text" in p for p in problems)
    assert any("'faint'" in p for p in problems) and not any("readable" in p for p in problems)


def test_contrast_ratio_follows_wcag():
    assert contrast_ratio("rgb(0, 0, 0)", "rgb(255, 255, 255)") == pytest.approx(21.0)
    assert contrast_ratio("rgb(118, 118, 118)", "rgb(255, 255, 255)") == pytest.approx(4.54, abs=0.01)
