"""The x24 survey contract: languages, sections and the note/decimal/date/time/range/rank
types, checked the same way by the server and the phone app."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError

from shared_schemas.surveys import (
    QuestionSchema,
    SurveyCreateSchema,
    definition_problems,
    is_visible,
    normalise_question,
    validate_answers,
)

LANGUAGES = [{"code": "en", "name": "English"}, {"code": "pl", "name": "Polish"}]
SECTIONS = [
    {
        "name": "night",
        "label": "At night",
        "translations": {"pl": {"label": "W nocy"}},
        "show_if": {"question": "out_at_night", "equals": "yes"},
    }
]
QUESTIONS = [
    {
        "name": "intro",
        "label": "Thank you for taking part",
        "type": "note",
        "translations": {"pl": {"label": "Dziękujemy"}},
    },
    {
        "name": "out_at_night",
        "label": "Do you go out after dark?",
        "type": "yes_no",
        "required": True,
        "translations": {"pl": {"label": "Czy wychodzisz po zmroku?", "choices": {"yes": "Tak"}}},
    },
    {
        "name": "night_time",
        "label": "When do you usually come home?",
        "type": "time",
        "section": "night",
        "required": True,
    },
    {
        "name": "lit",
        "label": "Which streets need lights most?",
        "type": "rank",
        "section": "night",
        "choices": [
            {"value": "wallgate", "label": "Wallgate"},
            {"value": "standishgate", "label": "Standishgate"},
            {"value": "market", "label": "Market Street"},
        ],
        "translations": {"pl": {"label": "Które ulice?", "choices": {"market": "Ulica Targowa"}}},
    },
    {
        "name": "distance",
        "label": "Miles walked",
        "type": "decimal",
        "min_value": 0,
        "max_value": 12.5,
    },
    {
        "name": "safe",
        "label": "How safe?",
        "type": "range",
        "min_value": 0,
        "max_value": 1,
        "step": 0.25,
    },
    {"name": "last_incident", "label": "When?", "type": "date"},
]
SURVEY = {
    "title": "Night-time safety",
    "borough_wide": True,
    "languages": LANGUAGES,
    "default_language": "en",
    "title_translations": {"pl": "Bezpieczeństwo nocą"},
    "sections": SECTIONS,
    "questions": QUESTIONS,
}


def problems(**changes):
    data = {**SURVEY, **changes}
    return definition_problems(
        data["questions"],
        sections=data["sections"],
        languages=data["languages"],
        default_language=data["default_language"],
        title_translations=data["title_translations"],
    )


def test_the_whole_contract_loads_and_round_trips():
    loaded = SurveyCreateSchema().load(SURVEY)
    assert loaded["languages"] == LANGUAGES
    assert loaded["default_language"] == "en"
    assert loaded["sections"][0]["show_if"] == {"question": "out_at_night", "equals": "yes"}
    assert loaded["questions"][3]["translations"]["pl"]["choices"] == {"market": "Ulica Targowa"}
    # Numbers keep their kind: an int bound stays an int, a float a float.
    assert loaded["questions"][4]["max_value"] == 12.5 and isinstance(
        loaded["questions"][4]["min_value"], int
    )
    assert loaded["questions"][5]["step"] == 0.25


def test_a_one_language_survey_needs_no_languages():
    one = {**QUESTIONS[1], "translations": {}}
    loaded = SurveyCreateSchema().load({"title": "t", "borough_wide": True, "questions": [one]})
    assert loaded["languages"] == [] and loaded["default_language"] is None
    assert loaded["sections"] == [] and loaded["title_translations"] == {}


@pytest.mark.parametrize(
    ("changes", "key", "fragment"),
    [
        ({"default_language": "ur"}, "default_language", "one of the survey's languages"),
        ({"default_language": None}, "default_language", "give the default language"),
        ({"languages": [], "default_language": "en"}, "default_language", "languages first"),
        ({"title_translations": {"ur": "x"}}, "title_translations", "not one of"),
        ({"title_translations": {"en": "x"}}, "title_translations", "is the default language"),
        (
            {"languages": LANGUAGES + [{"code": "pl", "name": "Polski"}]},
            "languages",
            "listed twice",
        ),
        (
            {"sections": [{**SECTIONS[0], "show_if": {"question": "lit", "equals": "x"}}]},
            "sections.night",
            "not an earlier question",
        ),
        (
            {"sections": SECTIONS + [{"name": "empty", "label": "Empty"}]},
            "sections.empty",
            "no question is in this section",
        ),
        (
            {"sections": [{**SECTIONS[0], "translations": {"ur": {"label": "x"}}}]},
            "sections.night",
            "not one of the survey's languages",
        ),
    ],
)
def test_survey_level_problems_are_named(changes, key, fragment):
    found = problems(**changes)
    assert any(fragment in m for m in found.get(key, [])), found


@pytest.mark.parametrize(
    ("question", "fragment"),
    [
        ({"type": "note", "required": True}, "cannot be required"),
        ({"type": "integer", "min_value": 0.5, "max_value": 3}, "whole numbers"),
        ({"type": "decimal", "min_value": 3.5, "max_value": 1}, "greater than"),
        ({"type": "range", "min_value": 0}, "needs min_value and max_value"),
        ({"type": "range", "min_value": 0, "max_value": 1_000_000, "step": 1}, "at most 10000"),
        ({"type": "date", "min_value": 1, "max_value": 2}, "only apply to"),
        ({"type": "text", "step": 2}, "step only applies to range"),
        ({"type": "rank", "choices": [{"value": "a", "label": "A"}]}, "at least two"),
        ({"type": "time", "choices": [{"value": "a", "label": "A"}]}, "do not apply"),
        ({"type": "text", "section": "nowhere"}, "not one of the survey's sections"),
        ({"type": "text", "translations": {"ur": {"label": "x"}}}, "not one of"),
        (
            {
                "type": "single_choice",
                "choices": [{"value": "a", "label": "A"}, {"value": "b", "label": "B"}],
                "translations": {"pl": {"choices": {"c": "C"}}},
            },
            "names 'c', not a choice",
        ),
    ],
)
def test_question_problems_are_named(question, fragment):
    extra = {"name": "extra", "label": "Extra", **question}
    found = problems(questions=QUESTIONS + [extra])
    assert any(fragment in m for m in found.get("questions.extra", [])), found


def test_the_valid_survey_has_no_problems():
    assert problems() == {}


def test_schema_refuses_booleans_and_text_as_bounds():
    base = {"name": "d", "label": "D", "type": "decimal"}
    for bad in (True, "3", float("nan"), float("inf")):
        with pytest.raises(ValidationError) as caught:
            QuestionSchema().load({**base, "min_value": bad})
        assert "min_value" in caught.value.messages
    with pytest.raises(ValidationError):
        QuestionSchema().load({**base, "translations": {"not a code!": {"label": "x"}}})


def test_section_condition_and_own_condition_both_hold():
    asked = {"out_at_night": "yes"}
    q = QUESTIONS[2]
    assert is_visible(q, asked, SECTIONS) is True
    assert is_visible(q, {"out_at_night": "no"}, SECTIONS) is False
    assert is_visible(q, {}, SECTIONS) is False
    # Sections may be given by name too; without them, only the question's own condition counts.
    assert is_visible(q, asked, {"night": SECTIONS[0]}) is True
    assert is_visible(q, {"out_at_night": "no"}) is True
    own = {**q, "show_if": {"question": "out_at_night", "equals": "no"}}
    assert is_visible(own, asked, SECTIONS) is False


def answers(**given):
    base = {"out_at_night": "yes", "night_time": "22:30"}
    return validate_answers(QUESTIONS, {**base, **given}, SECTIONS)


def test_a_full_answer_is_cleaned_to_values():
    cleaned, errors = answers(
        lit=["market", "wallgate", "standishgate"],
        distance=2.5,
        safe=0.75,
        last_incident="2026-02-28",
    )
    assert errors == {}
    assert cleaned == {
        "out_at_night": "yes",
        "night_time": "22:30",
        "lit": ["market", "wallgate", "standishgate"],
        "distance": 2.5,
        "safe": 0.75,
        "last_incident": "2026-02-28",
    }


def test_a_hidden_section_refuses_its_answers_and_waives_required():
    cleaned, errors = validate_answers(QUESTIONS, {"out_at_night": "no"}, SECTIONS)
    assert errors == {} and cleaned == {"out_at_night": "no"}
    _, errors = validate_answers(QUESTIONS, {"out_at_night": "no", "night_time": "22:30"}, SECTIONS)
    assert errors == {
        "night_time": [
            "hidden question answered: its section night is shown only if out_at_night is yes"
        ]
    }
    _, errors = validate_answers(QUESTIONS, {"out_at_night": "yes"}, SECTIONS)
    assert errors == {"night_time": ["an answer is required"]}


@pytest.mark.parametrize(
    ("given", "name", "fragment"),
    [
        ({"intro": "ok"}, "intro", "takes no answer"),
        ({"night_time": "10:30pm"}, "night_time", "HH:MM"),
        ({"night_time": "24:00"}, "night_time", "HH:MM"),
        ({"night_time": "7:05"}, "night_time", "HH:MM"),
        ({"last_incident": "2026-02-30"}, "last_incident", "not a date in the calendar"),
        ({"last_incident": "28/02/2026"}, "last_incident", "YYYY-MM-DD"),
        ({"last_incident": 20260228}, "last_incident", "YYYY-MM-DD"),
        ({"distance": "2.5"}, "distance", "answer with a number"),
        ({"distance": True}, "distance", "answer with a number"),
        ({"distance": 12.6}, "distance", "out of range: answer from 0 to 12.5"),
        ({"distance": -0.1}, "distance", "out of range"),
        ({"safe": 0.3}, "safe", "not a step of the scale: answer 0, 0.25, ... up to 1"),
        ({"safe": 1.25}, "safe", "out of range"),
        ({"lit": ["market", "wallgate"]}, "lit", "standishgate missing"),
        ({"lit": ["market", "market", "wallgate"]}, "lit", "given twice"),
        ({"lit": ["market", "wallgate", "standishgate", "pier"]}, "lit", "unknown choice 'pier'"),
        ({"lit": "market"}, "lit", "list of every choice"),
        ({"lit": ["Market Street", "Wallgate", "Standishgate"]}, "lit", "unknown choice"),
    ],
)
def test_bad_answers_name_the_question(given, name, fragment):
    _, errors = answers(**given)
    assert list(errors) == [name] and fragment in errors[name][0], errors


def test_range_answers_snap_to_the_grid_without_float_noise():
    q = normalise_question(
        {
            "name": "r",
            "label": "R",
            "type": "range",
            "min_value": 0.1,
            "max_value": 0.9,
            "step": 0.2,
        }
    )
    cleaned, errors = validate_answers([q], {"r": 0.30000000000000004})
    assert errors == {} and cleaned == {"r": 0.3}
    whole = normalise_question(
        {"name": "r", "label": "R", "type": "range", "min_value": 1, "max_value": 10}
    )
    assert whole["step"] == 1
    assert validate_answers([whole], {"r": 4.0}) == ({"r": 4}, {})
    assert "not a step" in validate_answers([whole], {"r": 4.5})[1]["r"][0]


def test_an_empty_answer_to_a_note_is_no_answer():
    assert validate_answers([QUESTIONS[0]], {"intro": None}) == ({}, {})
    assert validate_answers([QUESTIONS[0]], {"intro": ""}) == ({}, {})


def test_integer_keeps_whole_numbers_only():
    q = {"name": "n", "label": "N", "type": "integer", "min_value": 0, "max_value": 10}
    assert validate_answers([q], {"n": 3}) == ({"n": 3}, {})
    assert "whole number" in validate_answers([q], {"n": 3.5})[1]["n"][0]
