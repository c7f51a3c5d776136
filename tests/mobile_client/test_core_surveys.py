"""Surveys from the app core against the live server: the open survey for my area, checked
on the phone with the contract's own rules, answered once and changed."""

from __future__ import annotations

import pytest
import requests

from mobile_client.core.api import ApiError
from mobile_client.core.surveys import SENT_TEXT

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
    assert core.state.message == SENT_TEXT  # said only after the server took them
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


# -- a translated, grouped survey with every new question type (issue 24) -------------------


def publish(server: str, admin, survey: dict) -> int:  # type: ignore[no-untyped-def]
    """An admin creates and opens ``survey``; returns its id."""
    with requests.Session() as http:
        made = http.post(f"{server}/api/v1/surveys", json=survey, headers=admin.headers, timeout=10)
        assert made.status_code == 201, made.text
        sid = made.json()["id"]
        opened = http.post(f"{server}/api/v1/surveys/{sid}/open", headers=admin.headers, timeout=10)
        assert opened.status_code == 200, opened.text
    return sid


@pytest.fixture
def translated(app, live_server, admin):  # type: ignore[no-untyped-def]
    from tests.support.translated_survey import translated_survey

    return publish(live_server.url, admin, translated_survey())


NIGHT_OUT = {
    "out_at_night": "yes",
    "last_out": "2026-11-05",
    "home_by": "23:30",
    "feel_safe": 4,
    "walk_km": 2.5,
    "priorities": ["taxis", "lighting", "patrols"],
}


def test_the_phone_language_picks_the_survey_language_else_the_default(
    core_factory, resident, translated, monkeypatch
):
    from mobile_client.core import surveys

    for env, expected in (
        ({"LANG": "pl_PL.UTF-8"}, "pl"),
        ({"LC_ALL": "ur_PK.UTF-8", "LANG": "en_GB.UTF-8"}, "ur"),
        ({"LANGUAGE": "cy:pl", "LANG": "cy_GB.UTF-8"}, "pl"),
        ({"LANG": "fr_FR.UTF-8"}, "en"),  # not one of the survey's: its default
        ({"LANG": "C"}, "en"),
    ):
        for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(surveys.locale, "getlocale", lambda: (None, None))
        core = core_factory(resident, name=f"lang-{expected}-{len(env)}")
        core.open_survey(translated)
        assert core.state.survey_language == expected, env


def test_a_translated_survey_reads_in_polish_and_the_values_stay_the_same(
    core_factory, resident, translated
):
    from mobile_client.core import surveys

    core = core_factory(resident)
    survey = core.open_survey(translated)
    polish = surveys.localise(survey, "pl")
    assert polish["title"] == "Bezpieczeństwo w nocy"
    by_name = {q["name"]: q for q in polish["questions"]}
    assert by_name["out_at_night"]["label"] == "Czy wychodzisz z domu po zmroku?"
    assert [c["label"] for c in by_name["out_at_night"]["choices"]] == ["Tak", "Nie"]
    assert [c["value"] for c in by_name["priorities"]["choices"]] == [
        "lighting",
        "patrols",
        "taxis",
    ]
    # No Urdu hint was written for feel_safe: the English one is shown.
    urdu = {q["name"]: q for q in surveys.localise(survey, "ur")["questions"]}
    assert urdu["feel_safe"]["hint"] == "0 is not at all safe, 10 is completely safe"
    core.set_survey_language("pl")
    assert core.state.survey_language == "pl"
    with pytest.raises(ApiError):
        core.set_survey_language("de")


def test_a_section_shows_only_when_its_condition_holds(core_factory, resident, translated):
    from mobile_client.core import surveys

    core = core_factory(resident)
    survey = core.open_survey(translated)
    assert surveys.visible_sections(survey, {}) == ["about_you"]
    assert surveys.visible_names(survey, {"out_at_night": "no"}) == ["intro", "out_at_night"]
    assert surveys.visible_sections(survey, {"out_at_night": "yes"}) == ["about_you", "night"]
    assert "priorities" in surveys.visible_names(survey, {"out_at_night": "yes"})


def test_new_types_are_answered_as_values_and_the_server_keeps_them(
    core_factory, resident, translated, live_server
):
    core = core_factory(resident)
    survey = core.open_survey(translated)
    core.set_survey_language("pl")  # the language shown changes no value sent
    core.answer_survey(survey, dict(NIGHT_OUT))
    assert core.state.message.startswith("Thank you for answering")
    assert core.state.surveys_waiting == []
    with requests.Session() as http:
        mine = http.get(
            f"{live_server.url}/api/v1/surveys/{translated}/responses/mine",
            headers=resident.headers,
            timeout=10,
        )
    assert mine.status_code == 200, mine.text
    assert mine.json()["answers"] == NIGHT_OUT
    core.open_survey(translated)  # opened again: my answers come back, to change them
    assert core.state.survey_answers == NIGHT_OUT


def test_typed_dates_times_and_numbers_become_contract_values():
    from mobile_client.core import surveys

    assert surveys.parse_uk_date("05/11/2026") == "2026-11-05"
    assert surveys.parse_uk_date("5.11.2026") == "2026-11-05"
    assert surveys.parse_uk_date("31/02/2026") is None
    assert surveys.parse_uk_date("2026-11-05") is None  # the UK way only
    assert surveys.format_uk_date("2026-11-05") == "05/11/2026"
    assert surveys.parse_clock("23:30") == "23:30"
    assert surveys.parse_clock("930") == "09:30"
    assert surveys.parse_clock("24:10") is None
    assert surveys.parse_number("2,5") == 2.5
    assert surveys.parse_number("4") == 4
    assert surveys.parse_number("four") is None


def test_the_contract_s_complaints_name_each_new_question(core_factory, resident, translated):
    core = core_factory(resident)
    survey = core.open_survey(translated)
    bad = {
        "out_at_night": "yes",
        "intro": "an answer to a note",
        "home_by": "25:00",
        "feel_safe": 11,
        "priorities": ["lighting", "lighting", "taxis"],
    }
    with pytest.raises(ApiError) as err:
        core.answer_survey(survey, bad)
    assert err.value.local
    assert set(err.value.errors) == {"intro", "home_by", "feel_safe", "priorities"}
    assert core.state.survey_errors == err.value.errors
    assert core.outbox.pending_count() == 0  # nothing refused on the phone is queued


def test_answers_without_signal_are_saved_on_the_phone_not_claimed_sent(
    core_factory, resident, translated, live_server
):
    from mobile_client.core.surveys import SAVED_TEXT

    core = core_factory(resident)
    survey = core.open_survey(translated)
    core.load_surveys()
    live_server.stop()
    try:
        core.answer_survey(survey, dict(NIGHT_OUT))
        assert core.state.message == SAVED_TEXT
        assert "not sent yet" in core.state.message
        assert core.state.surveys_waiting == [translated]
        assert core.outbox.pending_count() == 1
    finally:
        live_server.start()
    core.ctx.flush(force=True)
    assert core.state.surveys_waiting == []
    assert core.state.message.startswith("Thank you for answering")
    assert core.open_survey(translated)["answered"] is True
