"""Survey fixtures: residents living in given wards, and a survey factory over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

ABRAM, ASTLEY, HINDLEY, WIGAN_CENTRAL = "E05014989", "E05014992", "E05014998", "E05015010"
OPENS, CLOSES = "2020-01-01T00:00:00Z", "2100-01-01T00:00:00Z"


def question_set() -> list[dict[str, Any]]:
    """One question of every type, with a condition."""
    return [
        {
            "name": "colour",
            "label": "Favourite colour?",
            "type": "single_choice",
            "required": True,
            "choices": [{"value": "red", "label": "Red"}, {"value": "blue", "label": "Blue"}],
        },
        {
            "name": "pets",
            "label": "Which pets?",
            "type": "multiple_choice",
            "max_choices": 2,
            "choices": [
                {"value": "cat", "label": "Cat"},
                {"value": "dog", "label": "Dog"},
                {"value": "fish", "label": "Fish"},
            ],
        },
        {"name": "safe", "label": "How safe do you feel?", "type": "scale5", "required": True},
        {"name": "unsafe", "label": "Ever felt unsafe?", "type": "yes_no", "required": True},
        {
            "name": "where",
            "label": "Where?",
            "type": "single_choice",
            "required": True,
            "show_if": {"question": "unsafe", "equals": "yes"},
            "choices": [{"value": "town", "label": "Town"}, {"value": "home", "label": "Home"}],
        },
        {
            "name": "nights",
            "label": "Nights out last month?",
            "type": "integer",
            "min_value": 0,
            "max_value": 31,
        },
        {"name": "comment", "label": "Anything else?", "type": "text", "max_length": 20},
    ]


def valid_answers(**overrides: Any) -> dict[str, Any]:
    answers = {"colour": "red", "pets": ["cat"], "safe": 4, "unsafe": "no", "nights": 3}
    answers.update(overrides)
    return {k: v for k, v in answers.items() if v is not None}


@pytest.fixture
def in_ward(make_person):  # type: ignore[no-untyped-def]
    """``in_ward(uid, ward_code)``: a signed-in resident whose home ward is set."""
    from backend.auth.models import User
    from backend.extensions import db

    def make(uid: str, ward_code: str | None, role: str = "resident"):  # type: ignore[no-untyped-def]
        person = make_person(uid, role)
        db.session.get(User, person.id).ward_code = ward_code
        db.session.commit()
        return person

    return make


@pytest.fixture
def create_survey(client, admin):  # type: ignore[no-untyped-def]
    """``create_survey(open=True, **fields)``: a survey made and opened by the admin over HTTP."""

    def make(open: bool = True, **fields: Any) -> dict[str, Any]:
        body = {
            "title": "Test survey",
            "opens_at": OPENS,
            "closes_at": CLOSES,
            "target_wards": [ABRAM, ASTLEY],
            "questions": question_set(),
            **fields,
        }
        response = client.post("/api/v1/surveys", json=body, headers=admin.headers)
        assert response.status_code == 201, response.get_json()
        survey = response.get_json()
        if open:
            opened = client.post(f"/api/v1/surveys/{survey['id']}/open", headers=admin.headers)
            assert opened.status_code == 200, opened.get_json()
            survey = opened.get_json()
        return survey

    return make


def translated_survey() -> dict[str, Any]:
    """A survey in English and Polish with a conditional section and one question of each of
    the note, decimal, date, time, range and rank types (the x24 contract)."""
    return {
        "languages": [{"code": "en", "name": "English"}, {"code": "pl", "name": "Polish"}],
        "default_language": "en",
        "title_translations": {"pl": "Bezpieczeństwo nocą"},
        "sections": [
            {
                "name": "night",
                "label": "At night",
                "translations": {"pl": {"label": "W nocy"}},
                "show_if": {"question": "out", "equals": "yes"},
            }
        ],
        "questions": [
            {
                "name": "intro",
                "label": "Thank you",
                "type": "note",
                "translations": {"pl": {"label": "Dziękujemy"}},
            },
            {
                "name": "out",
                "label": "Out after dark?",
                "type": "yes_no",
                "required": True,
                "translations": {
                    "pl": {"label": "Po zmroku?", "choices": {"yes": "Tak", "no": "Nie"}}
                },
            },
            {"name": "home", "label": "Home by?", "type": "time", "section": "night"},
            {
                "name": "streets",
                "label": "Rank the streets",
                "type": "rank",
                "section": "night",
                "choices": [
                    {"value": "wallgate", "label": "Wallgate"},
                    {"value": "market", "label": "Market Street"},
                    {"value": "library", "label": "Library Street"},
                ],
                "translations": {"pl": {"label": "Ulice", "choices": {"market": "Targowa"}}},
            },
            {
                "name": "miles",
                "label": "Miles walked",
                "type": "decimal",
                "min_value": 0,
                "max_value": 20.5,
            },
            {
                "name": "calm",
                "label": "How calm?",
                "type": "range",
                "min_value": 0,
                "max_value": 10,
                "step": 0.5,
            },
            {"name": "when", "label": "Last incident", "type": "date"},
        ],
    }
