"""Storage and API of the x24 contract on both engines: languages, sections and the note,
decimal, date, time, range and rank types, authored, shown, answered and read back."""

from __future__ import annotations

from sqlalchemy import select

from backend.extensions import db
from tests.backend.surveys.conftest import ABRAM, translated_survey


def answer(client, person, survey_id, answers):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/surveys/{survey_id}/responses", json={"answers": answers}, headers=person.headers
    )


FULL = {
    "out": "yes",
    "home": "23:15",
    "streets": ["market", "library", "wallgate"],
    "miles": 2.75,
    "calm": 7.5,
    "when": "2026-11-05",
}


def test_a_translated_sectioned_survey_is_stored_and_shown_whole(client, in_ward, create_survey):
    created = create_survey(**translated_survey())
    resident = in_ward("r-pl", ABRAM)
    shown = client.get(f"/api/v1/surveys/{created['id']}", headers=resident.headers).get_json()
    spec = translated_survey()
    assert shown["languages"] == spec["languages"]
    assert shown["default_language"] == "en"
    assert shown["title_translations"] == {"pl": "Bezpieczeństwo nocą"}
    assert shown["sections"] == spec["sections"]
    by_name = {q["name"]: q for q in shown["questions"]}
    assert by_name["streets"]["section"] == "night" and by_name["out"]["section"] is None
    assert by_name["streets"]["translations"]["pl"]["choices"] == {"market": "Targowa"}
    assert by_name["out"]["translations"]["pl"]["choices"] == {"yes": "Tak", "no": "Nie"}
    # Fractional bounds and steps survive the float columns; whole ones read back as ints.
    assert by_name["miles"]["max_value"] == 20.5 and by_name["miles"]["min_value"] == 0
    assert isinstance(by_name["calm"]["max_value"], int) and by_name["calm"]["step"] == 0.5
    assert [q["type"] for q in shown["questions"]] == [
        "note",
        "yes_no",
        "time",
        "rank",
        "decimal",
        "range",
        "date",
    ]


def test_answers_of_every_new_type_round_trip(client, in_ward, create_survey):
    from backend.surveys.models import SurveyAnswer

    survey = create_survey(**translated_survey())
    resident = in_ward("r-all", ABRAM)
    sent = answer(client, resident, survey["id"], FULL)
    assert sent.status_code == 201, sent.get_json()
    assert sent.get_json()["answers"] == FULL
    mine = client.get(f"/api/v1/surveys/{survey['id']}/responses/mine", headers=resident.headers)
    assert mine.get_json()["answers"] == FULL
    # Rank rows carry their positions; values are stored, never labels.
    rows = db.session.scalars(select(SurveyAnswer).where(SurveyAnswer.number.is_not(None))).all()
    assert sorted((r.number, r.value) for r in rows) == [
        (1, "market"),
        (2, "library"),
        (3, "wallgate"),
    ]
    assert "Targowa" not in {r.value for r in db.session.scalars(select(SurveyAnswer))}


def test_the_server_refuses_what_the_contract_refuses(client, in_ward, create_survey):
    survey = create_survey(**translated_survey())
    resident = in_ward("r-bad", ABRAM)
    cases = [
        ({"out": "no", "home": "22:00"}, "home", "its section night is shown only if out is yes"),
        ({"out": "yes", "intro": "read it"}, "intro", "takes no answer"),
        ({"out": "yes", "calm": 7.25}, "calm", "not a step"),
        ({"out": "yes", "miles": 21}, "miles", "out of range"),
        ({"out": "yes", "when": "2026-13-01"}, "when", "not a date"),
        ({"out": "yes", "streets": ["market"]}, "streets", "rank every choice"),
        ({"out": "Tak"}, "out", "unknown choice"),
    ]
    for answers, name, fragment in cases:
        response = answer(client, resident, survey["id"], answers)
        assert response.status_code == 422, (answers, response.get_json())
        body = response.get_json()
        assert fragment in body["errors"][name][0], body


def test_bad_contract_definitions_get_422(client, admin):
    spec = translated_survey()
    body = {"title": "T", "borough_wide": True, **spec, "default_language": "ur"}
    response = client.post("/api/v1/surveys", json=body, headers=admin.headers)
    assert response.status_code == 422
    assert "default_language" in str(response.get_json())
    spec["questions"][2]["section"] = "day"
    body = {"title": "T", "borough_wide": True, **spec}
    response = client.post("/api/v1/surveys", json=body, headers=admin.headers)
    assert response.status_code == 422
    assert "section 'day' is not one of" in str(response.get_json())
