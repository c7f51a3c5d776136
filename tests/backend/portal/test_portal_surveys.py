"""Survey pages through the test client: create, upload an XLSForm, open, close, results
with suppression, CSV; admins only."""

from __future__ import annotations

import io

import pytest

from tests.backend.portal.helpers import sign_in, token_for

pytest.importorskip("backend.surveys.service")
from tests.backend.portal.survey_files import answer, xlsform  # noqa: E402


def _create(client, data, files=None):  # type: ignore[no-untyped-def]
    body = {**data, "csrf_token": token_for(client, "/portal/surveys/new")}
    if files:
        body.update(files)
    return client.post("/portal/surveys/new", data=body, content_type="multipart/form-data")


def _survey_id(response) -> int:  # type: ignore[no-untyped-def]
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return int(response.headers["Location"].split("/surveys/")[1].split("?")[0])


def test_admin_creates_opens_and_reads_a_quick_survey(client, admin, make_person):
    sign_in(client, admin.uid)
    survey_id = _survey_id(
        _create(
            client,
            {
                "title": "Leigh night-time economy",
                "borough_wide": "on",
                "min_group_size": "3",
                "q1_label": "How safe do you feel in Leigh at night?",
                "q1_type": "single_choice",
                "q1_choices": "Very safe, Fairly safe, Not safe",
                "q1_required": "on",
                "q2_label": "Would you use a safe place?",
                "q2_type": "yes_no",
            },
        )
    )
    page = client.get(f"/portal/surveys/{survey_id}?saved=created").get_data(as_text=True)
    assert "Draft survey created" in page and "Open for answers" in page
    token = token_for(client, f"/portal/surveys/{survey_id}")
    opened = client.post(
        f"/portal/surveys/{survey_id}/status", data={"status": "open", "csrf_token": token}
    )
    assert opened.status_code == 303
    choices = ["very_safe", "not_safe", "not_safe", "fairly_safe"]
    for n, choice in enumerate(choices):
        person = make_person(f"answerer-{n}")
        assert answer(client, person, survey_id, {"q1": choice, "q2": "yes"}) == 201
    page = client.get(f"/portal/surveys/{survey_id}").get_data(as_text=True)
    assert "4 people answered" in page
    assert "Not safe 50.0%" in page  # the chart's accessible title
    # three choices + yes/no, each drawn wide and for a phone (CSS shows one)
    assert page.count('<rect class="bar"') == 2 * 5
    assert (
        page.count('<svg class="chart chart-wide"') == page.count('<svg class="chart-phone"') == 2
    )
    csv = client.get(f"/portal/surveys/{survey_id}/results.csv")
    assert csv.mimetype == "text/csv" and "not_safe" in csv.get_data(as_text=True)
    assert "answerer" not in csv.get_data(as_text=True)
    closed = client.post(
        f"/portal/surveys/{survey_id}/status", data={"status": "closed", "csrf_token": token}
    )
    assert closed.status_code == 303
    assert "Survey closed" in client.get(closed.headers["Location"]).get_data(as_text=True)


def test_results_below_the_minimum_group_are_hidden(client, admin, make_person):
    sign_in(client, admin.uid)
    survey_id = _survey_id(
        _create(
            client,
            {
                "title": "Small",
                "borough_wide": "on",
                "min_group_size": "5",
                "q1_label": "OK?",
                "q1_type": "yes_no",
            },
        )
    )
    token = token_for(client, f"/portal/surveys/{survey_id}")
    client.post(f"/portal/surveys/{survey_id}/status", data={"status": "open", "csrf_token": token})
    for n in range(2):
        answer(client, make_person(f"few-{n}"), survey_id, {"q1": "yes"})
    page = client.get(f"/portal/surveys/{survey_id}").get_data(as_text=True)
    assert "results are hidden to protect them" in page and '<rect class="bar"' not in page


def test_admin_uploads_an_xlsform(client, admin):
    sign_in(client, admin.uid)
    response = _create(
        client,
        {"borough_wide": "on", "min_group_size": "10"},
        {"xlsform": (io.BytesIO(xlsform()), "night.xlsx")},
    )
    survey_id = _survey_id(response)
    page = client.get(f"/portal/surveys/{survey_id}").get_data(as_text=True)
    assert "Night-time safety" in page and "xlsform" in page
    assert "Do you feel safe in the town centre at night?" in page


def test_an_unsupported_xlsform_row_is_named(client, admin):
    sign_in(client, admin.uid)
    bad = xlsform([["geopoint", "where", "Where are you?", "no"]])
    response = _create(client, {"borough_wide": "on"}, {"xlsform": (io.BytesIO(bad), "bad.xlsx")})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "There is a problem" in html and "geopoint" in html
    # The summary links to the upload field and reads its visible label.
    assert '<a href="#xlsform">XLSForm file (.xlsx with survey and choices sheets): ' in html
    assert 'id="xlsform"' in html and 'aria-invalid="true"' in html


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"title": "No questions", "borough_wide": "on"}, "q1_label"),
        ({"title": "No audience", "q1_label": "OK?", "q1_type": "yes_no"}, "target_wards"),
        ({"title": "", "borough_wide": "on", "q1_label": "OK?", "q1_type": "yes_no"}, "title"),
        (
            {
                "title": "T",
                "borough_wide": "on",
                "min_group_size": "lots",
                "q1_label": "A",
                "q1_type": "yes_no",
            },
            "min_group_size",
        ),
        (
            {"title": "T", "borough_wide": "on", "q1_label": "Pick", "q1_type": "single_choice"},
            "questions",
        ),
    ],
)
def test_bad_surveys_are_refused_naming_the_field(client, admin, data, field):
    sign_in(client, admin.uid)
    response = _create(client, data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    # The error summary links to the field (its links read the field's visible label).
    assert f'href="#{"q1_label" if field == "questions" else field}"' in html


QUICK = {"title": "T", "borough_wide": "on", "q1_label": "A", "q1_type": "yes_no"}


@pytest.mark.parametrize(
    ("closes_date", "closes_time", "utc"),
    [
        ("01/07/2099", "23:00", "2099-07-01T22:00:00+00:00"),  # summer: BST is UTC+1
        ("1/12/2099", "2330", "2099-12-01T23:30:00+00:00"),  # winter: GMT
        ("28/03/2099", "", "2099-03-28T00:00:00+00:00"),  # no time: midnight at the start
    ],
)
def test_the_closing_time_is_typed_the_uk_way_and_stored_in_utc(
    client, admin, app, closes_date, closes_time, utc
):
    from backend.extensions import db
    from backend.surveys.models import Survey
    from shared_schemas.uktime import naive_as_utc

    sign_in(client, admin.uid)
    survey_id = _survey_id(
        _create(client, {**QUICK, "closes_date": closes_date, "closes_time": closes_time})
    )
    with app.app_context():
        stored = db.session.get(Survey, survey_id).closes_at
        assert naive_as_utc(stored).isoformat() == utc


@pytest.mark.parametrize(
    ("closes_date", "closes_time", "problems"),
    [
        ("31/02/2099", "6pm", {"closes_date": "not a date", "closes_time": "24-hour clock"}),
        ("", "23:00", {"closes_date": "give the date as well"}),
        ("01/01/2020", "12:00", {"closes_date": "has passed"}),
    ],
)
def test_a_bad_closing_time_is_refused_naming_the_fields_and_keeping_the_text(
    client, admin, closes_date, closes_time, problems
):
    sign_in(client, admin.uid)
    response = _create(client, {**QUICK, "closes_date": closes_date, "closes_time": closes_time})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    for field, problem in problems.items():
        assert f'<a href="#{field}">' in html
        assert problem in html.split(f'id="{field}-error">')[1].split("</p>")[0]
    assert f'value="{closes_date}"' in html and f'value="{closes_time}"' in html
    assert 'value="T"' in html and 'value="A"' in html  # the rest of what was typed is kept


def test_every_problem_of_the_create_form_is_said_at_once(client, admin):
    sign_in(client, admin.uid)
    response = _create(
        client, {"title": "", "min_group_size": "lots", "closes_date": "soon", "closes_time": "9pm"}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    summary = html.split("data-error-summary>")[1].split("</div>")[0]
    for field, label in [
        ("min_group_size", "Smallest group shown in results"),
        ("closes_date", "Closes on (dd/mm/yyyy, optional)"),
        ("closes_time", "Closing time (24-hour clock, optional)"),
        ("q1_label", "Question 1 text"),
        ("title", "Title"),
    ]:
        assert f'<a href="#{field}">{label}: ' in summary, field
    # "No questions" is said once; the audience is checked once the title is there (the
    # survey schema checks the whole survey only when each field is right).
    assert summary.count("<li>") == 5


def test_opening_twice_is_a_clear_message(client, admin):
    sign_in(client, admin.uid)
    survey_id = _survey_id(
        _create(client, {"title": "T", "borough_wide": "on", "q1_label": "A", "q1_type": "yes_no"})
    )
    token = token_for(client, f"/portal/surveys/{survey_id}")
    client.post(f"/portal/surveys/{survey_id}/status", data={"status": "open", "csrf_token": token})
    again = client.post(
        f"/portal/surveys/{survey_id}/status",
        data={"status": "open", "csrf_token": token},
        follow_redirects=True,
    )
    assert "cannot move a open survey to open" in again.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/portal/surveys", "/portal/surveys/new"])
def test_venue_staff_cannot_reach_surveys(client, venue_staff, path):
    sign_in(client, venue_staff.uid)
    assert client.get(path).status_code == 403
