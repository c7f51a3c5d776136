"""The portal driven in headless Chromium against a real server on loopback; every page is
saved as a screenshot under tests/artifacts/."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_sign_in_page_lists_demo_users_and_signs_staff_in(browser, venue_staff, admin, make_person):
    make_person("demo-resident")
    browser.go("/portal/")
    assert browser.path.startswith("/portal/sign-in")
    assert "Sign in as staff-carol" in browser.text
    browser.shot("01-sign-in-dev")
    browser.click("#sign-in-staff-carol")
    assert browser.path == "/portal/"
    assert "Welcome, staff-carol" in browser.text
    assert "Users" not in browser.find("header").text  # no admin links for staff
    browser.shot("02-home-venue-staff")
    cookie = browser.driver.get_cookie("safehaven_portal")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax"


def test_resident_is_turned_away(browser, resident):
    browser.sign_in(resident.uid)
    assert "for venue staff and partnership staff" in browser.text
    browser.shot("03-resident-refused")
    browser.go("/portal/")
    assert browser.path.startswith("/portal/sign-in")


def test_venue_staff_cannot_open_admin_pages(browser, venue_staff):
    browser.sign_in(venue_staff.uid)
    browser.go("/portal/users")
    assert "Not allowed" in browser.text and "admins only" in browser.text
    browser.shot("04-staff-refused-admin-page")


def test_admin_grants_a_role_on_the_users_page(browser, admin, resident):
    browser.sign_in(admin.uid)
    browser.go("/portal/")
    browser.shot("05-home-admin")
    browser.go("/portal/users")
    browser.select(f"#role-{resident.id}", "venue_staff")
    browser.click(f"#user-{resident.id} button")
    assert "Role of resident-alice updated" in browser.text
    assert "venue staff" in browser.find(f"#user-{resident.id}").text
    browser.shot("06-users")


def test_form_with_a_tampered_csrf_token_is_refused(browser, admin, resident):
    browser.sign_in(admin.uid)
    browser.go("/portal/users")
    browser.driver.execute_script(
        "document.querySelectorAll('input[name=csrf_token]').forEach(function(e){e.value='x'})"
    )
    browser.click(f"#user-{resident.id} button")
    assert "This form has expired" in browser.text
    browser.shot("07-csrf-refused")


def test_sign_out(browser, admin):
    browser.sign_in(admin.uid)
    browser.click(".signout button")
    assert browser.path.startswith("/portal/sign-in")
    browser.go("/portal/users")
    assert browser.path.startswith("/portal/sign-in")
