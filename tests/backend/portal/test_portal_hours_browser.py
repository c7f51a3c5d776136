"""Opening hours without OSM syntax, the verification queue, and every portal page checked by
axe-core and at 390 px, in headless Chromium. Screenshots in tests/artifacts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from tests.backend.portal.venue_rows import make_venue
from tests.support.browser import assert_accessible

pytestmark = pytest.mark.browser


def stored_hours(name: str) -> str | None:
    from backend.extensions import db
    from backend.venues.models import Venue

    db.session.expire_all()
    return db.session.scalar(select(Venue.opening_hours).where(Venue.name == name))


def set_row(browser, day: str, mode: str, opens: str = "", closes: str = "", late=False):  # type: ignore[no-untyped-def]
    browser.select(f"#hours_{day}_mode", mode)
    if mode == "hours":
        browser.fill(f"#hours_{day}_open", opens)
        browser.fill(f"#hours_{day}_close", closes)
    box = browser.find(f"#hours_{day}_late")
    if box.is_selected() != late:
        box.click()


def test_staff_enter_hours_day_by_day_and_an_error_points_at_the_row(browser, venue_staff):
    browser.sign_in(venue_staff.uid)
    browser.go("/portal/venues/new")
    browser.fill("#name", "The Crown")
    browser.fill("#postcode", "WN1 1AA")
    browser.wait_for(lambda: "WN1 1AA found" in browser.find("#postcode-status").text)
    assert browser.find("input[name=hours_source][value=editor]").is_selected()
    assert not browser.find("#opening_hours").is_displayed()  # the code is for experts
    for day in ("mo", "tu", "we", "th"):
        set_row(browser, day, "hours", "11:00", "23:00")
    set_row(browser, "fr", "hours", "11am", "2am")  # "closes after midnight" not ticked
    set_row(browser, "sa", "hours", "11:00", "02:00", late=True)
    set_row(browser, "su", "closed")
    browser.select("#hours_ph_mode", "closed")
    browser.wait_for(lambda: "tick 'closes after midnight'" in browser.find("#hours-words").text)
    browser.click("button[name=action][value=save]")
    summary = browser.find("[data-error-summary]")
    assert browser.driver.switch_to.active_element == summary
    link = summary.find_element("css selector", "a")
    assert link.text.startswith("Friday closes: closes at 02:00, before it opens at 11:00")
    assert link.get_attribute("href").endswith("#hours_fr_close")
    assert browser.find("#hours_fr_close").get_attribute("aria-invalid") == "true"
    browser.shot("27-hours-editor-row-error")
    assert_accessible(browser, "27-hours-editor-row-error")

    browser.find("#hours_fr_late").click()
    browser.wait_for(
        lambda: (
            "Friday and Saturday: 11:00 to 02:00 (next day)" in browser.find("#hours-words").text
        )
    )
    words = browser.find("#hours-words").text
    assert words == (
        "Monday to Thursday: 11:00 to 23:00. Friday and Saturday: 11:00 to 02:00 (next day). "
        "Sunday: closed. Bank holidays: closed."
    )
    osm = "Mo-Th 11:00-23:00; Fr,Sa 11:00-02:00; PH off"
    assert browser.find("#opening_hours").get_attribute("value") == osm
    browser.find("input[name=hours_source][value=expert]").click()  # experts see the code
    assert browser.find("#opening_hours").is_displayed()
    browser.find("input[name=hours_source][value=editor]").click()
    browser.shot("28-hours-editor-in-words")
    browser.click("button[name=action][value=save]")
    assert "Venue registered" in browser.text
    assert stored_hours("The Crown") == osm
    assert "Friday and Saturday: 11:00 to 02:00 (next day)" in browser.text
    assert osm not in browser.text and "Fr,Sa" not in browser.text  # never the raw code
    browser.shot("29-venue-hours-in-words")
    assert_accessible(browser, "29-venue-hours-in-words")


@pytest.mark.parametrize(
    ("phrase", "osm", "words"),
    [
        (
            "Mon-Sat 5pm till 3am",
            "Mo-Sa 17:00-03:00",
            "Monday to Saturday: 17:00 to 03:00 (next day).",
        ),
        ("24/7", "24/7", "Open 24 hours, every day."),
        ("9 to 5 weekdays", "Mo-Fr 09:00-17:00", "Monday to Friday: 09:00 to 17:00."),
    ],
)
def test_staff_type_the_hours_in_words(browser, venue_staff, phrase, osm, words):
    venue = make_venue(
        venue_staff.id, name="Late Shop", opening_hours="Mo-Fr 09:00-12:00,13:00-17:00"
    )
    browser.sign_in(venue_staff.uid)
    browser.go(f"/portal/venues/{venue.id}/edit")
    # Split shifts do not fit the rows: the form starts on the code, shown in words.
    assert browser.find("input[name=hours_source][value=expert]").is_selected()
    assert "09:00 to 12:00, 13:00 to 17:00" in browser.find("#hours-words").text
    browser.find("input[name=hours_source][value=phrase]").click()
    browser.fill("#hours_phrase", phrase)
    browser.wait_for(lambda: words in browser.find("#hours-words").text)  # shown before saving
    assert browser.find("#opening_hours").get_attribute("value") == osm
    if phrase.startswith("Mon-Sat"):
        browser.shot("30-hours-phrase")
    browser.click("button[name=action][value=save]")
    assert "Changes saved" in browser.text
    assert stored_hours("Late Shop") == osm
    assert words in browser.text


def test_the_verification_queue_shows_hours_in_words_and_records_the_checklist(
    browser, admin, venue_staff
):
    from backend.auth.models import User
    from backend.extensions import db
    from backend.venues import service as venues
    from backend.venues.models import VenueChange

    staff_user = db.session.get(User, venue_staff.id)
    staff_user.display_name = "Carol Jones"
    db.session.commit()
    pending = venues.create_venue(
        staff_user,
        {
            "name": "Hope Pharmacy",
            "category": "pharmacy",
            "lat": 53.5447,
            "lon": -2.6318,
            "phone": "01942 111111",
            "opening_hours": "Mo-Fr 09:00-18:00; Sa 09:00-13:00; PH off",
        },
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
    card = browser.find(f"#pending-{pending.id}")
    assert (
        "Monday to Friday: 09:00 to 18:00. Saturday: 09:00 to 13:00. Sunday: closed. "
        "Bank holidays: closed." in card.text
    )
    assert "Mo-Fr" not in card.text
    assert "by Carol Jones on " in card.text
    assert card.find_element("css selector", "svg.map .marker").get_attribute("cx")
    browser.shot("31-verification-queue")
    assert_accessible(browser, "31-verification-queue")
    browser.find(f"#staff_trained-{pending.id}").click()
    browser.find(f"#phone_answered-{pending.id}").click()
    browser.fill(f"#note-{pending.id}", "Rang the shop; manager confirmed hours")
    browser.click(f"#pending-{pending.id} button[value=approve]")
    assert "Decision recorded (approve)" in browser.text
    db.session.expire_all()
    decision = db.session.scalars(
        select(VenueChange).where(
            VenueChange.venue_id == pending.id, VenueChange.action == "verification:approve"
        )
    ).one()
    assert decision.changes["checklist"] == {
        "staff_trained": True,
        "phone_answered": True,
        "hours_confirmed": False,
    }


def test_every_portal_page_passes_axe_and_fits_390px(browser, admin, venue_staff):
    from tests.backend.portal.report_rows import make_report

    venue = make_venue(venue_staff.id, name="Corner Shop", opening_hours="Mo-Su 08:00-22:00")
    make_venue(venue_staff.id, name="Waiting Cafe", status="pending")
    report = make_report(datetime(2026, 11, 16, 21, 0, tzinfo=UTC), category="knife_weapon")
    browser.go("/portal/sign-in")
    assert_accessible(browser, "32-sign-in")
    browser.sign_in(admin.uid)
    pages = {
        "/portal/": "33-home",
        "/portal/venues": "34-venues",
        f"/portal/venues/{venue.id}": "35-venue",
        f"/portal/venues/{venue.id}/edit": "36-venue-edit",
        "/portal/venues/new": "37-venue-new",
        "/portal/verification": "38-verification",
        "/portal/coverage?week_of=2026-11-20": "39-coverage",
        "/portal/reports": "40-reports",
        f"/portal/reports/{report.id}": "41-report",
        "/portal/hotspots?week_ending=2026-11-20": "42-hotspots",
        "/portal/surveys": "43-surveys",
        "/portal/surveys/new": "44-survey-new",
        "/portal/users": "45-users",
    }
    for path, name in pages.items():
        browser.go(path)
        assert "Sign in" not in browser.find("h1").text, path
        assert_accessible(browser, name)
    browser.sign_in(venue_staff.uid)
    browser.go("/portal/venues")
    assert browser.find("nav[aria-label=Main] a[aria-current=page]").text == "My venues"
    assert_accessible(browser, "46-my-venues-staff")
