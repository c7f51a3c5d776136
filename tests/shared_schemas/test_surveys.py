"""The app-side answer validation: the same rules as the server, importable without Flask."""

from __future__ import annotations

import subprocess
import sys

from shared_schemas.surveys import (
    QuestionSchema,
    SurveyCreateSchema,
    is_visible,
    normalise_question,
    validate_answers,
)

QUESTIONS = [
    {"name": "unsafe", "label": "Felt unsafe?", "type": "yes_no", "required": True},
    {
        "name": "why",
        "label": "Why?",
        "type": "multiple_choice",
        "required": True,
        "show_if": {"question": "unsafe", "equals": "yes"},
        "choices": [{"value": "dark", "label": "Dark"}, {"value": "groups", "label": "Groups"}],
    },
    {
        "name": "detail",
        "label": "Tell us more",
        "type": "text",
        "show_if": {"question": "why", "equals": "dark"},
    },
]


def test_module_imports_only_marshmallow_and_the_stdlib():
    code = (
        "import sys, shared_schemas.surveys as s;"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in"
        " ('flask', 'sqlalchemy', 'backend', 'kivy', 'werkzeug'));"
        "print(','.join(bad)); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_conditions_chain_through_hidden_questions():
    cleaned, errors = validate_answers(QUESTIONS, {"unsafe": "no"})
    assert errors == {} and cleaned == {"unsafe": "no"}
    cleaned, errors = validate_answers(QUESTIONS, {"unsafe": "yes"})
    assert errors == {"why": ["an answer is required"]}
    cleaned, errors = validate_answers(
        QUESTIONS, {"unsafe": "yes", "why": ["groups", "dark"], "detail": "  x "}
    )
    assert errors == {} and cleaned == {"unsafe": "yes", "why": ["dark", "groups"], "detail": "x"}
    _, errors = validate_answers(QUESTIONS, {"unsafe": "no", "why": ["dark"], "detail": "x"})
    assert set(errors) == {"why", "detail"}
    assert "shown only if unsafe is yes" in errors["why"][0]


def test_visibility_of_multiple_choice_conditions():
    assert is_visible(QUESTIONS[2], {"why": ["dark"]}) is True
    assert is_visible(QUESTIONS[2], {"why": ["groups"]}) is False
    assert is_visible(QUESTIONS[0], {}) is True


def test_scale_accepts_its_choice_strings_and_numbers():
    scale = normalise_question({"name": "s", "label": "S", "type": "scale5"})
    assert validate_answers([scale], {"s": "3"}) == ({"s": 3}, {})
    assert validate_answers([scale], {"s": 5}) == ({"s": 5}, {})
    assert "out of range" in validate_answers([scale], {"s": 9})[1]["s"][0]


def test_schemas_round_trip_a_question():
    question = QuestionSchema().load(QUESTIONS[1])
    assert question["show_if"] == {"question": "unsafe", "equals": "yes"}
    survey = SurveyCreateSchema().load({"title": "t", "borough_wide": True, "questions": QUESTIONS})
    assert survey["min_group_size"] == 10 and survey["gap"] is None
