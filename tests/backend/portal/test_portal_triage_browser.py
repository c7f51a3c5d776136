"""Triage by harm in headless Chromium: a weapon report waiting over 15 minutes comes first
and stands out, is closed with a confirmed public note and reopened with a reason; every
page has 0 axe-core violations and no sideways scrolling at 390 px. Screenshots in
tests/artifacts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.backend.portal.report_rows import make_report
from tests.backend.portal.venue_rows import LEIGH_CENTRE
from tests.support.browser import assert_accessible

pytestmark = pytest.mark.browser


def test_an_officer_sees_the_weapon_report_first_closes_it_and_reopens_it(browser, admin):
    now = datetime.now(UTC)
    make_report(now - timedelta(hours=3), category="asb", description="Older nuisance")
    make_report(
        now - timedelta(hours=2), category="environment", description="Street light out on Hope St"
    )
    for i in range(30):  # enough for a second page
        make_report(
            now - timedelta(days=1, minutes=i),
            lat=LEIGH_CENTRE[0],
            lon=LEIGH_CENTRE[1],
            category="street_drinking",
            description=f"Drinking by the bandstand ({i})",
        )
    knife = make_report(
        now - timedelta(minutes=20),
        category="knife_weapon",
        description="Lad showing a knife outside the chip shop",
    )
    browser.sign_in(admin.uid)
    browser.go("/portal/reports")
    first = browser.find("tbody tr")
    assert first.get_attribute("id") == f"report-{knife.id}"
    assert "Overdue" in first.text and "Knife or weapon" in first.text
    assert "overdue" in first.get_attribute("class")
    assert "Page 1 of 2" in browser.text
    assert browser.find("nav[aria-label=Main] a[aria-current=page]").text == "Reports"
    assert len(browser.find_all("svg.map g.pin")) == 25
    assert len(browser.find_all("svg.map g.pin.overdue")) == 1
    browser.shot("23-reports-priority")
    assert_accessible(browser, "23-reports-priority")

    browser.click("a[rel=next]")
    assert "Page 2 of 2" in browser.text
    assert len(browser.find_all("tbody tr")) == 8

    browser.go(f"/portal/reports/{knife.id}")
    browser.click("form[action$='/close'] button")  # no note: refused, focus on the summary
    summary = browser.find("[data-error-summary]")
    assert browser.driver.switch_to.active_element == summary
    assert summary.find_element("css selector", "a").text.startswith(
        "Closing note (required; the reporter sees this): "
    )
    assert summary.find_element("css selector", "a").get_attribute("href").endswith("#close_note")
    browser.shot("24-report-close-refused")
    assert_accessible(browser, "24-report-close-refused")

    browser.fill("#close_note", "Officers attended; knife recovered and a man arrested.")
    browser.click("form[action$='/close'] button")
    assert "Close report" in browser.find("h1").text and "?" in browser.find("h1").text
    assert "knife recovered" in browser.text
    browser.shot("25-report-close-confirm")
    assert_accessible(browser, "25-report-close-confirm")
    browser.click("form[action$='/close'] button.danger")
    assert "Report closed" in browser.text
    assert "closed" in browser.find("h1 .tag").text

    browser.fill("#reason", "Seen again with the knife on Friday night.")
    browser.click("form[action$='/reopen'] button")
    assert "Report reopened" in browser.text
    history = browser.find("table.data").text
    assert "Closed" in history and "knife recovered" in history
    assert "Reopened" in history and "Seen again with the knife" in history
    browser.shot("26-report-reopened")
    assert_accessible(browser, "26-report-reopened")
