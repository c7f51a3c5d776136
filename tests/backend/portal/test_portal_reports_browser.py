"""Reports triage and hotspots in headless Chromium; screenshots in tests/artifacts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.backend.portal.venue_rows import LEIGH_CENTRE

pytest.importorskip("backend.reports.service")
from tests.backend.portal.report_rows import make_report  # noqa: E402

pytestmark = pytest.mark.browser
MONDAY = datetime(2026, 11, 16, 21, 0, tzinfo=UTC)


def test_admin_triages_a_report(browser, admin):
    make_report(
        MONDAY, category="knife_weapon", description="Someone showing a knife by the bus station"
    )
    target = make_report(MONDAY, description="Bottles thrown at the bus shelter every Friday")
    make_report(MONDAY, lat=LEIGH_CENTRE[0], lon=LEIGH_CENTRE[1], category="street_drinking")
    browser.sign_in(admin.uid)
    browser.go("/portal/reports")
    assert len(browser.find_all("tbody tr")) == 3
    browser.select("#category", "asb")
    browser.click("form.filters button")
    assert len(browser.find_all("tbody tr")) == 1
    browser.shot("18-reports-triage")
    browser.click(f"#report-{target.id} a")
    browser.select("#status", "acknowledged")
    browser.fill("#public_note", "Thanks: passed to the anti-social behaviour team")
    browser.click("form[action$='/status'] button")
    assert "Update saved" in browser.text
    assert "Thanks: passed to the anti-social behaviour team" in browser.find("table.data").text
    browser.shot("19-report-updated")


def test_admin_reads_hotspots_and_downloads_csv(browser, admin):
    for day in range(4):
        make_report(MONDAY + timedelta(hours=day))
    make_report(MONDAY - timedelta(days=7))
    for _ in range(2):
        make_report(MONDAY, lat=LEIGH_CENTRE[0], lon=LEIGH_CENTRE[1], category="street_drinking")
    browser.sign_in(admin.uid)
    browser.go("/portal/hotspots?week_ending=2026-11-20")
    assert "Wigan Central" in browser.find("table.data").text or "Wigan Central" in browser.text
    assert len(browser.find_all("svg.map path.c4")) == 1
    browser.shot("20-hotspots")
    link = browser.find("a[href*='hotspots.csv']").get_attribute("href")
    # The browser would save the file; fetch it with the page's own cookies instead.
    text = browser.driver.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "fetch(arguments[0], {credentials: 'same-origin'}).then(r => r.text()).then(done);",
        link,
    )
    assert text.startswith("period_from,period_to,rank,ward_code")


def test_admin_sees_every_photo_a_fixmystreet_report_linked(browser, admin):
    """FixMyStreet can send several media_url; Open311 serves the first, the portal all."""
    import json

    urls = [f"https://www.fixmystreet.com/photo/1234567.{n}.full.jpeg" for n in range(3)]
    report = make_report(
        MONDAY,
        source="open311",
        anonymous=False,
        description="Drinking outside the precinct every evening",
        media_url=urls[0],
        more_media_urls=json.dumps(urls[1:]),
    )
    browser.sign_in(admin.uid)
    browser.go(f"/portal/reports/{report.id}")
    links = browser.find_all("dl.facts a[rel~='noopener']")
    assert [a.get_attribute("href") for a in links] == urls
    assert all(a.is_displayed() for a in links)
    browser.shot("24-report-fixmystreet-photos")
