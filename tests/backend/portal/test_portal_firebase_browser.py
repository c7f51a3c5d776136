"""Firebase sign-in to the portal in headless Chromium against the real Auth emulator: the
page's script signs in with email and password, the server verifies the ID token."""

from __future__ import annotations

import pytest
from firebase_admin import auth as fb_auth

from backend.auth.service import firebase_app
from tests.support.apps import make_test_app
from tests.support.browser import LiveServer
from tests.support.firebase_emulator import PROJECT_ID

pytestmark = [pytest.mark.firebase, pytest.mark.browser]


@pytest.fixture(scope="module")
def emulator(firebase_emulator):  # type: ignore[no-untyped-def]
    """The session's Auth emulator (tests/conftest.py), emptied for this module."""
    firebase_emulator.reset()
    return firebase_emulator


@pytest.fixture(scope="module")
def firebase_server(app, emulator, database_url):  # type: ignore[no-untyped-def]
    fb_app = make_test_app(
        database_url,
        env={
            "SAFEHAVEN_AUTH": "firebase",
            "FIREBASE_PROJECT_ID": PROJECT_ID,
            "FIREBASE_AUTH_EMULATOR_HOST": emulator.host,
            "FIREBASE_WEB_API_KEY": "fake-api-key",
        },
    )
    server = LiveServer(fb_app).start()
    yield server
    server.stop()


def test_staff_signs_in_with_firebase_and_residents_are_refused(browser, firebase_server, emulator):
    emulator.reset()
    staff = emulator.sign_up("staff@example.test")
    fb_auth.set_custom_user_claims(
        staff["localId"], {"role": "venue_staff"}, app=firebase_app(PROJECT_ID)
    )
    emulator.sign_up("resident@example.test")
    browser.base_url, original = firebase_server.url, browser.base_url
    try:
        browser.go("/portal/sign-in")
        assert "Development sign-in" not in browser.text
        csp = browser.driver.execute_script("return document.readyState")
        assert csp == "complete"
        browser.fill("#email", "staff@example.test")
        browser.fill("#password", "wrong-password")
        browser.click("#firebase-sign-in button", navigates=False)
        browser.wait_for(lambda: "Wrong email or password" in browser.text)
        browser.shot("08-sign-in-firebase-wrong-password")
        browser.fill("#password", "correct-horse-battery")
        browser.click("#firebase-sign-in button")
        browser.wait_for(lambda: "Welcome" in browser.text)
        assert browser.path == "/portal/"
        assert "venue staff" in browser.find(".who").get_attribute("textContent")
        browser.shot("09-home-after-firebase-sign-in")

        browser.driver.delete_all_cookies()
        browser.go("/portal/sign-in")
        browser.fill("#email", "resident@example.test")
        browser.fill("#password", "correct-horse-battery")
        browser.click("#firebase-sign-in button")
        browser.wait_for(lambda: "Not allowed" in browser.text)
        assert "for venue staff and partnership staff" in browser.text
    finally:
        browser.base_url = original


def test_dev_sign_in_is_switched_off_in_firebase_mode(firebase_server, venue_staff):
    from tests.backend.portal.helpers import sign_in

    with firebase_server.app.app_context():
        response = sign_in(firebase_server.app.test_client(), venue_staff.uid)
    assert response.status_code == 403
    assert "switched off" in response.get_data(as_text=True)
