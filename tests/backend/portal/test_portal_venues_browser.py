"""Venue staff and admin flows in headless Chromium: register with live postcode and hours
checks, edit, unavailable, verification queue, night coverage. Screenshots in tests/artifacts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.backend.portal.venue_rows import LEIGH_CENTRE, make_venue

pytest.importorskip("backend.venues.service")
pytestmark = pytest.mark.browser
LONDON = ZoneInfo("Europe/London")


def test_staff_registers_a_venue_with_live_checks(browser, venue_staff):
    browser.sign_in(venue_staff.uid)
    browser.go("/portal/venues")
    assert "You have not registered a venue yet" in browser.text
    browser.click("a.button[href='/portal/venues/new']")
    browser.fill("#name", "The Crown")
    browser.fill("#postcode", "WN1 1AA")
    browser.wait_for(lambda: "WN1 1AA found" in browser.find("#postcode-status").text)
    marker = browser.find("svg.map .marker")
    assert marker.get_attribute("visibility") == "visible"
    assert browser.find("#lat").get_attribute("value") == "53.546967"
    browser.find("input[name=hours_source][value=expert]").click()
    browser.fill("#opening_hours", "Mo-Fr 25:00")
    browser.wait_for(lambda: "Not valid opening hours" in browser.find("#hours-preview").text)
    assert browser.find("#opening_hours").get_attribute("aria-invalid") == "true"
    browser.fill("#opening_hours", "24/7")
    browser.wait_for(lambda: browser.find("#hours-preview").text == "Open now - always open")
    browser.fill("#opening_hours", "Mo-Su 11:00-23:00; Fr-Sa 11:00-02:00")
    # The preview is still "valid" from 24/7 until this value's answer arrives, and that
    # answer reflows the page: wait for it, or the next click can land on a moved box.
    browser.wait_for(lambda: "02:00" in browser.find("#hours-words").text)
    assert "valid" in browser.find("#hours-preview").get_attribute("class").split()
    angela = browser.find("input[name=schemes][value=ask_for_angela]")
    angela.click()
    browser.wait_for(angela.is_selected)
    browser.fill("#phone", "01942 000000")
    browser.shot("10-venue-register-form")
    browser.click("button[name=action][value=save]")
    assert "Venue registered" in browser.text
    assert "pending" in browser.find("h1").text
    assert "Wigan Central" in browser.text and "Ask for Angela" in browser.text
    assert "\nAddress\nWN1 1AA\n" in browser.text  # no street typed: the postcode alone
    browser.shot("11-venue-registered")


def test_registration_works_without_javascript_via_find_on_map(browser, venue_staff):
    browser.sign_in(venue_staff.uid)
    browser.go("/portal/venues/new")
    browser.fill("#postcode", "WN7 1AA")
    browser.click("button[name=action][value=locate]")
    assert browser.find("#lat").get_attribute("value") == "53.497402"
    browser.fill("#name", "")
    browser.click("button[name=action][value=save]")
    assert "There is a problem" in browser.text
    assert browser.driver.switch_to.active_element == browser.find("[data-error-summary]")
    assert browser.find("#name").get_attribute("aria-invalid") == "true"
    browser.shot("12-venue-form-errors")


def test_staff_edit_and_mark_unavailable(browser, venue_staff):
    venue = make_venue(
        venue_staff.id,
        name="Leigh Late Shop",
        category="shop",
        lat=LEIGH_CENTRE[0],
        lon=LEIGH_CENTRE[1],
        last_checked_at=datetime(2026, 6, 1, tzinfo=UTC),
        verified_at=datetime(2026, 6, 1, tzinfo=UTC),
    )
    browser.sign_in(venue_staff.uid)
    browser.go("/portal/venues")
    assert "Leigh Late Shop" in browser.text
    browser.shot("13-my-venues")
    browser.click(f"a[href='/portal/venues/{venue.id}']")
    assert "Next check due" in browser.text and "01/06/2027" in browser.text
    browser.click(f"a[href='/portal/venues/{venue.id}/edit']")
    browser.find("input[name=hours_source][value=expert]").click()
    browser.fill("#opening_hours", "Mo-Sa 06:00-23:00; Su 08:00-22:00")
    browser.click("button[name=action][value=save]")
    # New hours for most of the week: the verified shop goes back to the partnership.
    assert "Changes saved. The partnership will check them" in browser.text
    assert "pending" in browser.find("h1").text
    browser.shot("13b-venue-changed-back-to-review")
    browser.fill("#until_date", "01/01/2099")
    browser.fill("#until_time", "10:00")
    browser.fill("#reason", "stocktake")
    browser.click("button[name=action][value=set]")
    assert "at most 30 days" in browser.text  # 2099 is too far ahead
    browser.go(f"/portal/venues/{venue.id}")
    # Three days from now, typed the UK way (Europe/London wall time, 24-hour clock).
    until = datetime.now(LONDON) + timedelta(days=3)
    browser.fill("#until_date", until.strftime("%d/%m/%Y"))
    browser.fill("#until_time", "18:00")
    browser.fill("#reason", "stocktake")
    browser.click("button[name=action][value=set]")
    assert "Marked temporarily unavailable" in browser.text and "stocktake" in browser.text
    browser.shot("14-venue-detail-unavailable")


def test_admin_works_the_verification_queue(browser, admin, venue_staff):
    pending = make_venue(
        venue_staff.id, name="Hope Pharmacy", category="pharmacy", status="pending"
    )
    make_venue(
        None,
        name="Station Hotel",
        category="hotel",
        last_checked_at=datetime(2024, 1, 5, tzinfo=UTC),
        verified_at=datetime(2024, 1, 5, tzinfo=UTC),
    )
    browser.sign_in(admin.uid)
    browser.go("/portal/verification")
    assert "Hope Pharmacy" in browser.text and "Station Hotel" in browser.text
    browser.shot("15-verification-queue")
    browser.fill(f"#note-{pending.id}", "Visited; manager briefed on Ask for Angela")
    browser.click(f"#pending-{pending.id} button[value=approve]")
    assert "Decision recorded (approve)" in browser.text
    assert "Hope Pharmacy" not in browser.find("main").text.split("Due for re-check")[0]
    browser.go("/portal/venues?status=verified")
    assert "Hope Pharmacy" in browser.text
    browser.shot("16-all-venues-admin")


def test_admin_sees_night_coverage_gaps(browser, admin):
    make_venue(None, name="Late Bar", opening_hours="Fr-Sa 18:00-03:00")
    make_venue(
        None,
        name="Leigh Shop",
        lat=LEIGH_CENTRE[0],
        lon=LEIGH_CENTRE[1],
        opening_hours="08:00-22:00",
    )
    browser.sign_in(admin.uid)
    browser.go("/portal/coverage?week_of=2026-11-20")
    assert "No safe place open at Sat 02:00 (24 of 25 wards)" in browser.text
    gaps = browser.find_all("svg.map path.gap")
    covered = browser.find_all("svg.map path.covered")
    assert len(covered) == 1 and len(gaps) == 24
    browser.select("#moment", "fri_2300")
    browser.click("form.filters button")
    assert "Friday 23:00" in browser.find("main h2").text
    browser.shot("17-night-coverage")
