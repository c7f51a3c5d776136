"""Surveys in headless Chromium: upload an XLSForm, create one here, open, results with
charts, close. Screenshots in tests/artifacts."""

from __future__ import annotations

import pytest

from tests.support.browser import assert_accessible

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
    _charts_readable_on_a_phone(browser, 2)
    browser.shot("22-survey-results")
    assert_accessible(browser, "22-survey-results")
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


# The smallest chart text on screen in CSS px, shown charts only; whether any text runs past
# its chart's right edge; how many charts of each kind are shown.
CHART_TEXT = """
var out = {wide: 0, phone: 0, smallest: 1000, past_edge: []};
document.querySelectorAll('svg.chart-wide, svg.chart-phone').forEach(function (svg) {
  var box = svg.getBoundingClientRect();
  if (box.width === 0) return;
  out[svg.classList.contains('chart-phone') ? 'phone' : 'wide'] += 1;
  var scale = box.width / svg.viewBox.baseVal.width;
  svg.querySelectorAll('text').forEach(function (t) {
    var px = parseFloat(getComputedStyle(t).fontSize) * scale;
    out.smallest = Math.min(out.smallest, px);
    if (t.getBoundingClientRect().right > box.right + 0.5) out.past_edge.push(t.textContent);
  });
});
return out;
"""


def _charts_readable_on_a_phone(browser, charts: int) -> None:  # type: ignore[no-untyped-def]
    """Wide charts on a desktop; at 390 px the phone drawing instead, its text at least
    14 CSS px (the wide drawing squeezed into a 319 px card would be 12 * 319 / 640, about
    6 px), nothing past the edge."""
    wide = browser.driver.execute_script(CHART_TEXT)
    assert (wide["wide"], wide["phone"]) == (charts, 0), wide
    assert wide["smallest"] >= 12 and not wide["past_edge"], wide
    browser.phone()
    try:
        phone = browser.driver.execute_script(CHART_TEXT)
        assert (phone["wide"], phone["phone"]) == (0, charts), phone
        assert phone["smallest"] >= 14, phone
        assert not phone["past_edge"], phone
    finally:
        browser.desktop()


NIGHTS = [  # four residents, the first three went out; values, never labels
    {
        "out_at_night": "yes",
        "last_out": "2026-11-05",
        "home_by": "23:30",
        "feel_safe": 4,
        "walk_km": 2.5,
        "priorities": ["lighting", "patrols", "taxis"],
    },
    {
        "out_at_night": "yes",
        "last_out": "2026-11-20",
        "home_by": "22:10",
        "feel_safe": 6,
        "walk_km": 1.2,
        "priorities": ["lighting", "taxis", "patrols"],
    },
    {
        "out_at_night": "yes",
        "last_out": "2026-11-28",
        "home_by": "23:05",
        "feel_safe": 5,
        "walk_km": 3,
        "priorities": ["patrols", "lighting", "taxis"],
    },
    {"out_at_night": "no"},
]


def test_the_survey_page_shows_every_language_and_its_sections_in_words(
    browser, admin, make_person, app
):
    from tests.support.translated_survey import translated_survey

    client = app.test_client()
    made = client.post("/api/v1/surveys", json=translated_survey(), headers=admin.headers)
    assert made.status_code == 201, made.json
    survey_id = made.json["id"]
    assert (
        client.post(f"/api/v1/surveys/{survey_id}/open", headers=admin.headers).status_code == 200
    )
    for n, answers in enumerate(NIGHTS):
        assert answer(client, make_person(f"night-out-{n}"), survey_id, answers) == 201
    browser.sign_in(admin.uid)
    browser.go(f"/portal/surveys/{survey_id}")
    text = browser.text
    assert "Questions in 3 languages" in text
    # Each question in each language, marked with its language for screen readers.
    block = browser.find("#question-out_at_night .lang[lang=pl]")
    assert "Czy wychodzisz z domu po zmroku?" in block.text and "Tak" in block.text
    urdu = browser.find("#question-priorities .lang[lang=ur]")
    assert "ترتیب دیں" in urdu.text and "گلیوں کی بہتر روشنی" in urdu.text
    english = browser.find("#question-priorities .lang[lang=en]")
    assert "Better street lighting" in english.text
    # A missing translation shows the default text (no Urdu hint was written for feel_safe).
    untranslated = browser.find("#question-feel_safe .lang[lang=ur] .hint[lang=en]")
    assert "0 is not at all safe" in untranslated.text and "not translated" in untranslated.text
    # Sections as headings, in every language, with their condition in words.
    heading = browser.find("#section-night")
    assert "Your last night out" in heading.text and "Twoje ostatnie" in heading.text
    assert (
        "Shown only if the answer to \u201cDo you go out after dark?\u201d is \u201cYes\u201d"
        in text
    )
    assert "Slider, from 0 to 10 in steps of 1, answer required" in text
    assert "Date, dd/mm/yyyy" in text and "Put in order" in text
    browser.find("#questions").location_once_scrolled_into_view  # noqa: B018 - scrolls
    browser.shot("24-survey-languages")
    assert_accessible(browser, "24-survey-languages")


def test_results_of_the_new_types_are_shown_and_a_small_group_is_suppressed(
    browser, admin, make_person, app
):
    """Three went out (the minimum group): dates by month, times by hour band, the slider's
    spread, the ranking by average place and first places. Only two gave a distance: that
    question says "Suppressed", never a number."""
    from tests.support.translated_survey import translated_survey

    client = app.test_client()
    made = client.post("/api/v1/surveys", json=translated_survey(), headers=admin.headers)
    survey_id = made.json["id"]
    assert (
        client.post(f"/api/v1/surveys/{survey_id}/open", headers=admin.headers).status_code == 200
    )
    nights = [dict(n) for n in NIGHTS]
    del nights[2]["walk_km"]
    for n, answers in enumerate(nights):
        assert answer(client, make_person(f"results-{n}"), survey_id, answers) == 201
    browser.sign_in(admin.uid)
    browser.go(f"/portal/surveys/{survey_id}")

    def chart(name: str) -> str:
        return browser.find(f"#q-{name} svg.chart title").get_attribute("textContent")

    assert "November 2026 100.0%" in chart("last_out")
    assert "By month" in browser.find("#q-last_out").text
    assert "21:00 to 23:59 100.0%" in chart("home_by") and "18:00 to 20:59 0.0%" in chart("home_by")
    assert "By time of day, UK time" in browser.find("#q-home_by").text
    assert "average 5, median 5" in browser.find("#q-feel_safe").text
    assert "4 33.3%" in chart("feel_safe") and "6 33.3%" in chart("feel_safe")
    rows = [r.text for r in browser.find_all("#q-priorities tbody tr")]
    assert rows == [
        "Better street lighting 1.3 2 (67%)",
        "More police patrols 2.0 1 (33%)",
        "Safe taxi ranks 2.7 0 (0%)",
    ]
    assert browser.find("#q-walk_km").text.endswith("Suppressed: fewer than 3 answers.")
    assert "intro" not in [s.get_attribute("id") for s in browser.find_all("section.card")]
    _charts_readable_on_a_phone(browser, len(browser.find_all("svg.chart-wide")))
    # The phone drawing says the same figures as the wide one, labels in full.
    for name in ("last_out", "home_by", "feel_safe"):
        phone = browser.find(f"#q-{name} svg.chart-phone title").get_attribute("textContent")
        assert phone == chart(name)
    browser.shot("25-survey-results-new-types")
    assert_accessible(browser, "25-survey-results-new-types")
