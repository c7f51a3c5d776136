"""Surveys in headless Chromium: upload an XLSForm, create one here, open, results with
charts, close. Screenshots in tests/artifacts."""

from __future__ import annotations

import pytest

pytest.importorskip("backend.surveys.service")
from tests.backend.portal.survey_files import answer, xlsform  # noqa: E402

pytestmark = pytest.mark.browser


def test_admin_uploads_an_xlsform_opens_it_and_reads_results(
    browser, admin, make_person, app, tmp_path
):
    path = tmp_path / "night.xlsx"
    path.write_bytes(xlsform())
    browser.sign_in(admin.uid)
    browser.go("/portal/surveys")
    browser.click("a.button[href='/portal/surveys/new']")
    browser.find("input[name=borough_wide]").click()
    browser.fill("#min_group_size", "3")
    browser.find("#xlsform").send_keys(str(path))
    browser.shot("21-survey-new")
    browser.click("form[enctype] button[type=submit]")
    assert "Draft survey created" in browser.text and "Night-time safety" in browser.text
    browser.click("button[value=open]")
    assert "Survey opened" in browser.text
    survey_id = int(browser.path.split("/surveys/")[1].split("?")[0])
    client = app.test_client()
    for n, choice in enumerate(["very", "not", "not", "fairly"]):
        person = make_person(f"night-{n}")
        assert (
            answer(client, person, survey_id, {"feel_safe": choice, "helps": ["lighting"]}) == 201
        )
    browser.go(f"/portal/surveys/{survey_id}")
    assert "4 people answered" in browser.text
    assert len(browser.find_all("svg.chart rect.bar")) == 5
    browser.shot("22-survey-results")
    browser.click("button[value=closed]")
    assert "Survey closed" in browser.text
    browser.go("/portal/surveys")
    assert "closed" in browser.find(f"#survey-{survey_id}").text
    browser.shot("23-surveys-list")


def test_admin_writes_a_survey_without_a_file(browser, admin):
    browser.sign_in(admin.uid)
    browser.go("/portal/surveys/new")
    browser.fill("#title", "Worsley Hall: lighting")
    browser.find("details summary").click()
    browser.find("input[name=target_wards][value=E05015013]").click()  # Worsley Mesnes
    browser.fill("#q1_label", "Is the lighting on your street good enough?")
    browser.select("#q1_type", "yes_no")
    browser.click("form[enctype] button[type=submit]")
    assert "Draft survey created" in browser.text
    assert "Worsley Mesnes" in browser.text
