"""Every portal form that can fail validation (the survey forms included) is
submitted badly in headless Chromium: the page comes back with the one error summary
(``error_summary`` in _field.html), focus is on it (portal.js), each link reads the visible
label of the field it goes to (a group of checkboxes: its legend) and the field is marked
invalid, what was typed is kept, and axe-core finds nothing.
Dates are typed as dd/mm/yyyy and times on the 24-hour clock, never a native picker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.backend.portal.report_rows import make_report
from tests.backend.portal.venue_rows import make_venue
from tests.support.browser import assert_accessible

pytest.importorskip("backend.venues.service")
pytestmark = pytest.mark.browser


def venue_unavailable(browser, people):  # type: ignore[no-untyped-def]
    venue = make_venue(people["staff"].id, name="Leigh Late Shop")
    browser.sign_in(people["staff"].uid)
    browser.go(f"/portal/venues/{venue.id}")
    browser.fill("#until_date", "31/02/2030")
    browser.fill("#until_time", "6pm")
    browser.click("button[name=action][value=set]")
    return {"until_date": "not a date", "until_time": "24-hour clock"}


def venue_unavailable_too_far(browser, people):  # type: ignore[no-untyped-def]
    venue = make_venue(people["staff"].id, name="Leigh Late Shop")
    browser.sign_in(people["staff"].uid)
    browser.go(f"/portal/venues/{venue.id}")
    browser.fill("#until_date", "01/01/2099")
    browser.fill("#until_time", "18:00")
    browser.click("button[name=action][value=set]")
    return {"until_date": "at most 30 days ahead"}


def venue_verify(browser, people):  # type: ignore[no-untyped-def]
    venue = make_venue(people["staff"].id, name="Hope Pharmacy", status="pending")
    browser.sign_in(people["admin"].uid)
    browser.go(f"/portal/venues/{venue.id}")
    browser.fill(f"#note-{venue.id}", "ok")
    browser.click("button[name=action][value=approve]")
    return {f"note-{venue.id}": "write a short note"}


def verification_queue(browser, people):  # type: ignore[no-untyped-def]
    make_venue(people["staff"].id, name="Corner Cafe", status="pending")
    venue = make_venue(people["staff"].id, name="Hope Pharmacy", status="pending")
    browser.sign_in(people["admin"].uid)
    browser.go("/portal/verification")
    browser.fill(f"#note-{venue.id}", "Rang them; staff trained last month.")
    browser.fill(f"#trained-{venue.id}", "next spring")
    browser.click(f"#pending-{venue.id} button[name=action][value=approve]")
    return {f"trained-{venue.id}": "not a date"}


def coverage(browser, people):  # type: ignore[no-untyped-def]
    browser.sign_in(people["admin"].uid)
    browser.go("/portal/coverage")
    browser.fill("#week_of", "2026/11/21")
    browser.click("form.filters button[type=submit]")
    return {"week_of": "not a date"}


def hotspots(browser, people):  # type: ignore[no-untyped-def]
    browser.sign_in(people["admin"].uid)
    browser.go("/portal/hotspots")
    browser.fill("#week_ending", "32/13/2026")
    browser.click("form.filters button[type=submit]")
    return {"week_ending": "not a date"}


def reports_filter(browser, people):  # type: ignore[no-untyped-def]
    browser.sign_in(people["admin"].uid)
    browser.go("/portal/reports")
    browser.fill("#date_from", "yesterday")
    browser.click("form.filters button[type=submit]")
    return {"date_from": "not a date"}


def report_close(browser, people):  # type: ignore[no-untyped-def]
    report = make_report(datetime.now(UTC) - timedelta(minutes=30), category="asb")
    browser.sign_in(people["admin"].uid)
    browser.go(f"/portal/reports/{report.id}")
    browser.click("form[action$='/close'] button")
    return {"close_note": ""}


def venue_form(browser, people):  # type: ignore[no-untyped-def]
    browser.sign_in(people["staff"].uid)
    browser.go("/portal/venues/new")
    browser.fill("#postcode", "ZZ1 1ZZ")
    browser.click("button[name=action][value=save]")
    return {"name": "", "postcode": ""}


def survey_new(browser, people):  # type: ignore[no-untyped-def]
    browser.sign_in(people["admin"].uid)
    browser.go("/portal/surveys/new")
    browser.fill("#title", "Leigh: lighting at night")
    browser.find("input[name=borough_wide]").click()
    browser.fill("#min_group_size", "lots")
    browser.fill("#closes_date", "31/02/2027")
    browser.fill("#closes_time", "6pm")
    browser.fill("#q1_label", "Is your street well lit?")
    browser.select("#q1_type", "yes_no")
    browser.click("form[enctype] button[type=submit]")
    return {
        "min_group_size": "a whole number",
        "closes_date": "not a date",
        "closes_time": "24-hour clock",
    }


survey_new.kept = {  # type: ignore[attr-defined]
    "#title": "Leigh: lighting at night",
    "#min_group_size": "lots",
    "#closes_date": "31/02/2027",
    "#closes_time": "6pm",
    "#q1_label": "Is your street well lit?",
}


def survey_new_questions(browser, people):  # type: ignore[no-untyped-def]
    browser.sign_in(people["admin"].uid)
    browser.go("/portal/surveys/new")
    browser.fill("#title", "Leigh: lighting at night")
    browser.fill("#closes_date", "01/07/2099")
    browser.fill("#closes_time", "23:00")
    browser.fill("#q1_label", "Which street?")  # one choice, but no choices given
    browser.fill("#q2_label", "Anything else?")
    browser.select("#q2_type", "text")
    browser.click("form[enctype] button[type=submit]")
    return {
        "q1_label": "at least two choices",
        "target_wards": "The whole borough\u201d or at least one ward",
    }


survey_new_questions.kept = {  # type: ignore[attr-defined]
    "#closes_date": "01/07/2099",
    "#closes_time": "23:00",
    "#q2_label": "Anything else?",
}


def survey_upload(browser, people):  # type: ignore[no-untyped-def]
    import tempfile
    from pathlib import Path

    from tests.backend.portal.survey_files import xlsform

    path = Path(tempfile.mkdtemp()) / "night.xlsx"
    path.write_bytes(xlsform([["geopoint", "where", "Where are you?", "no"]]))
    browser.sign_in(people["admin"].uid)
    browser.go("/portal/surveys/new")
    browser.find("input[name=borough_wide]").click()
    browser.fill("#min_group_size", "5")
    browser.find("#xlsform").send_keys(str(path))
    browser.click("form[enctype] button[type=submit]")
    return {"xlsform": "geopoint"}


survey_upload.kept = {"#min_group_size": "5"}  # type: ignore[attr-defined]


FORMS = [
    venue_unavailable,
    venue_unavailable_too_far,
    venue_verify,
    verification_queue,
    coverage,
    hotspots,
    reports_filter,
    report_close,
    venue_form,
    survey_new,
    survey_new_questions,
    survey_upload,
]


@pytest.mark.parametrize("submit_badly", FORMS, ids=[f.__name__ for f in FORMS])
def test_a_failed_submit_lands_on_the_summary_whose_links_read_the_labels(
    browser, admin, venue_staff, submit_badly
):
    expected = submit_badly(browser, {"admin": admin, "staff": venue_staff})
    summary = browser.find("[data-error-summary]")
    assert browser.driver.switch_to.active_element == summary
    assert summary.find_element("css selector", "h2").text == "There is a problem"
    links = summary.find_elements("css selector", "a")
    targets = {link.get_attribute("href").split("#", 1)[1]: link.text for link in links}
    assert set(expected) <= set(targets), targets
    for target, text in targets.items():
        # The link reads the label a sighted person sees beside the field (or the legend of
        # a group of checkboxes), then the problem.
        label = browser.driver.execute_script(
            "var l = document.querySelector('label[for=\"' + arguments[0] + '\"]');"
            "var f = document.getElementById(arguments[0]);"
            "if (!l && f && f.tagName === 'FIELDSET') l = f.querySelector('legend');"
            "return l ? l.textContent.trim().replace(/\\s+/g, ' ') : null;",
            target,
        )
        assert label, f"no visible label for #{target}"
        assert text.startswith(label + ": "), (text, label)
        assert expected.get(target, "") in text[len(label) :]
        field = browser.find(f"#{target}")
        if field.tag_name != "fieldset":  # a group is described by its error, not invalid
            assert field.get_attribute("aria-invalid") == "true", target
        described = browser.driver.execute_script(
            "return (arguments[0].getAttribute('aria-describedby') || '').split(' ')"
            ".map(function (id) { var e = document.getElementById(id);"
            " return e && e.classList.contains('field-error') ? e.textContent : ''; }).join('');",
            field,
        )
        assert expected.get(target, "") in described and described, (target, described)
    for css, value in getattr(submit_badly, "kept", {}).items():  # what was typed is kept
        assert browser.find(css).get_attribute("value") == value, css
    # Following the first link takes the keyboard to the field.
    links[0].click()
    first = next(iter(targets))
    assert browser.driver.switch_to.active_element == browser.find(f"#{first}")
    name = f"41-error-summary-{submit_badly.__name__.replace('_', '-')}"
    browser.shot(name)
    assert_accessible(browser, name)


def test_no_portal_form_uses_a_native_date_or_time_picker(app):
    """Dates are typed dd/mm/yyyy and times on the 24-hour clock on every portal page."""
    from pathlib import Path

    import backend.portal

    templates = Path(backend.portal.__file__).parent / "templates" / "portal"
    pages = list(templates.glob("*.html"))
    assert len(pages) > 15 and "survey_new.html" in {p.name for p in pages}
    for page in pages:
        text = page.read_text()
        for kind in ('type="date"', 'type="datetime-local"', 'type="time"', "%I:", "%p"):
            assert kind not in text, f"{page.name} uses {kind}"
