"""Authoring surveys as JSON: checks, targeting, status changes and who may do them."""

from __future__ import annotations

import pytest

from tests.backend.surveys.conftest import ABRAM, CLOSES, OPENS, question_set


def body(**overrides):  # type: ignore[no-untyped-def]
    return {
        "title": "T",
        "opens_at": OPENS,
        "closes_at": CLOSES,
        "target_wards": [ABRAM],
        "questions": question_set(),
        **overrides,
    }


def test_admin_creates_a_draft_with_implied_choices(client, admin):
    response = client.post("/api/v1/surveys", json=body(), headers=admin.headers)
    assert response.status_code == 201
    survey = response.get_json()
    assert survey["status"] == "draft" and survey["min_group_size"] == 10
    assert survey["target_wards"] == [ABRAM] and survey["source"] == "json"
    by_name = {q["name"]: q for q in survey["questions"]}
    assert [c["value"] for c in by_name["unsafe"]["choices"]] == ["yes", "no"]
    assert [c["value"] for c in by_name["safe"]["choices"]] == ["1", "2", "3", "4", "5"]
    assert by_name["where"]["show_if"] == {"question": "unsafe", "equals": "yes"}


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"title": ""}, "title", "Length"),
        ({"questions": []}, "questions", "Length"),
        ({"target_wards": []}, "target_wards", "borough_wide"),
        ({"target_wards": ["E05999999"]}, "target_wards", "unknown ward"),
        ({"target_wards": ["nonsense"]}, "target_wards", "match"),
        ({"closes_at": "2019-01-01T00:00:00Z"}, "closes_at", "after opens_at"),
        ({"opens_at": "2020-01-01T00:00:00"}, "opens_at", "aware"),
        ({"min_group_size": 1}, "min_group_size", "greater"),
        (
            {"questions": [{"name": "a", "label": "A", "type": "integer"}]},
            "questions.a",
            "min_value and max_value",
        ),
        (
            {
                "questions": [
                    {"name": "a", "label": "A", "type": "yes_no"},
                    {"name": "a", "label": "B", "type": "yes_no"},
                ]
            },
            "questions.a",
            "duplicate",
        ),
        (
            {
                "questions": [
                    {
                        "name": "b",
                        "label": "B",
                        "type": "text",
                        "show_if": {"question": "a", "equals": "yes"},
                    },
                    {"name": "a", "label": "A", "type": "yes_no"},
                ]
            },
            "questions.b",
            "not an earlier question",
        ),
        (
            {
                "questions": [
                    {"name": "a", "label": "A", "type": "yes_no"},
                    {
                        "name": "b",
                        "label": "B",
                        "type": "text",
                        "show_if": {"question": "a", "equals": "maybe"},
                    },
                ]
            },
            "questions.b",
            "not a choice",
        ),
        (
            {"questions": [{"name": "a", "label": "A", "type": "single_choice", "choices": []}]},
            "questions.a",
            "at least two",
        ),
        ({"questions": [{"name": "1bad", "label": "A", "type": "text"}]}, "questions", "match"),
        (
            {"questions": [{"name": "a", "label": "A", "type": "geopoint"}]},
            "questions",
            "Must be one of",
        ),
        (
            {
                "gap": {
                    "perception": {"question": "comment", "values": ["x"]},
                    "experience": {"question": "unsafe", "values": ["yes"]},
                }
            },
            "gap",
            "perception",
        ),
    ],
)
def test_bad_definitions_get_422_naming_the_field(client, admin, overrides, field, fragment):
    response = client.post("/api/v1/surveys", json=body(**overrides), headers=admin.headers)
    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["errors"]
    assert field in errors, errors
    assert fragment in str(errors[field]), errors


def test_non_json_bodies_are_refused(client, admin):
    assert (
        client.post(
            "/api/v1/surveys", data="x", content_type="text/plain", headers=admin.headers
        ).status_code
        == 415
    )
    empty = client.post(
        "/api/v1/surveys", data="[]", content_type="application/json", headers=admin.headers
    )
    assert empty.status_code == 422


def test_residents_and_staff_cannot_author_or_open(
    client, resident, venue_staff, admin, create_survey
):
    for person in (resident, venue_staff):
        assert (
            client.post("/api/v1/surveys", json=body(), headers=person.headers).status_code == 403
        )
    draft = create_survey(open=False)
    for person in (resident, venue_staff):
        assert (
            client.post(f"/api/v1/surveys/{draft['id']}/open", headers=person.headers).status_code
            == 403
        )
    assert client.post("/api/v1/surveys", json=body()).status_code == 401


def test_residents_cannot_see_drafts(client, in_ward, create_survey):
    draft = create_survey(open=False)
    abram = in_ward("r-draft", ABRAM)
    assert client.get(f"/api/v1/surveys/{draft['id']}", headers=abram.headers).status_code == 404
    assert client.get("/api/v1/surveys", headers=abram.headers).get_json() == []
    assert client.get("/api/v1/surveys?status=draft", headers=abram.headers).get_json() == []
    refused = client.post(
        f"/api/v1/surveys/{draft['id']}/responses", json={"answers": {}}, headers=abram.headers
    )
    assert refused.status_code == 404
    assert (
        client.get(f"/api/v1/surveys/{draft['id']}/results", headers=abram.headers).status_code
        == 404
    )


def test_status_moves_draft_open_closed_only(client, admin, create_survey):
    draft = create_survey(open=False)
    sid = draft["id"]
    assert client.post(f"/api/v1/surveys/{sid}/close", headers=admin.headers).status_code == 409
    assert client.post(f"/api/v1/surveys/{sid}/open", headers=admin.headers).status_code == 200
    assert client.post(f"/api/v1/surveys/{sid}/open", headers=admin.headers).status_code == 409
    assert client.post(f"/api/v1/surveys/{sid}/close", headers=admin.headers).status_code == 200
    assert client.post(f"/api/v1/surveys/{sid}/open", headers=admin.headers).status_code == 409
    listed = client.get("/api/v1/surveys?status=closed", headers=admin.headers).get_json()
    assert [s["id"] for s in listed] == [sid]
    assert client.post("/api/v1/surveys/999/open", headers=admin.headers).status_code == 404


def test_a_survey_past_its_closing_time_cannot_be_opened(client, admin, create_survey):
    draft = create_survey(
        open=False, opens_at="2001-01-01T00:00:00Z", closes_at="2001-02-01T00:00:00Z"
    )
    response = client.post(f"/api/v1/surveys/{draft['id']}/open", headers=admin.headers)
    assert response.status_code == 409 and "closes_at" in response.get_json()["message"]
