"""Surveys from the app core against the live server: the open survey for my area, checked
on the phone with the contract's own rules, answered once and changed."""

from __future__ import annotations

import pytest
import requests

from mobile_client.core.api import ApiError

SURVEY = {
    "title": "Feeling safe at night in Wigan town centre",
    "description": "Five short questions.",
    "borough_wide": True,
    "min_group_size": 10,
    "questions": [
        {
            "name": "worry",
            "label": "How worried are you about crime?",
            "type": "scale5",
            "required": True,
        },
        {
            "name": "seen_asb",
            "label": "Have you seen anti-social behaviour?",
            "type": "yes_no",
            "required": True,
        },
        {
            "name": "where",
            "label": "Where?",
            "type": "single_choice",
            "required": False,
            "choices": [
                {"value": "park", "label": "A park"},
                {"value": "station", "label": "The station"},
            ],
            "show_if": {"question": "seen_asb", "equals": "yes"},
        },
        {
            "name": "nights",
            "label": "Nights out a month",
            "type": "integer",
            "min_value": 0,
            "max_value": 31,
        },
        {"name": "idea", "label": "One idea", "type": "text", "max_length": 200},
    ],
}


def publish_survey(server: str, admin) -> int:  # type: ignore[no-untyped-def]
    """An admin creates and opens the borough-wide survey above; returns its id."""
    with requests.Session() as http:
        made = http.post(f"{server}/api/v1/surveys", json=SURVEY, headers=admin.headers, timeout=10)
        assert made.status_code == 201, made.text
        sid = made.json()["id"]
        opened = http.post(f"{server}/api/v1/surveys/{sid}/open", headers=admin.headers, timeout=10)
        assert opened.status_code == 200, opened.text
    return sid


@pytest.fixture
def open_survey(app, live_server, admin):  # type: ignore[no-untyped-def]
    return publish_survey(live_server.url, admin)


def test_the_open_survey_is_listed_opened_and_answered(core_factory, resident, open_survey):
    core = core_factory(resident)
    assert [s["id"] for s in core.load_surveys()] == [open_survey]
    survey = core.open_survey(open_survey)
    assert [q["name"] for q in survey["questions"]][:2] == ["worry", "seen_asb"]
    core.answer_survey(
        survey,
        {"worry": 4, "seen_asb": "yes", "where": "station", "nights": 3, "idea": "More lighting"},
    )
    assert core.state.message == "Thank you for answering."
    # Changing one's answer before it closes is allowed, still one response.
    core.answer_survey(survey, {"worry": 2, "seen_asb": "no"})
    assert core.open_survey(open_survey).get("answered") is True


def test_bad_answers_are_caught_on_the_phone_naming_each_question(
    core_factory, resident, open_survey
):
    core = core_factory(resident)
    survey = core.open_survey(open_survey)
    with pytest.raises(ApiError) as err:
        core.answer_survey(survey, {"worry": 7, "where": "park", "nights": 40})
    assert err.value.local
    assert set(err.value.errors) == {"worry", "seen_asb", "where", "nights"}


def test_the_server_agrees_with_the_phone_about_bad_answers(live_server, resident, open_survey):
    with requests.Session() as http:
        reply = http.post(
            f"{live_server.url}/api/v1/surveys/{open_survey}/responses",
            json={"answers": {"worry": 7, "where": "park", "nights": 40}},
            headers=resident.headers,
            timeout=10,
        )
    assert reply.status_code == 422
    assert set(reply.json()["errors"]) == {"worry", "seen_asb", "where", "nights"}
