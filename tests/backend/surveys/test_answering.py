"""Answering: targeting, one response per resident, per-question validation, and privacy."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select

from backend.extensions import db
from tests.backend.surveys.conftest import ABRAM, ASTLEY, HINDLEY, valid_answers


def answer(client, person, survey_id, answers):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/surveys/{survey_id}/responses", json={"answers": answers}, headers=person.headers
    )


def test_residents_see_open_surveys_for_their_ward_and_borough_wide_ones(
    client, in_ward, create_survey
):
    local = create_survey(title="Abram and Astley")
    borough = create_survey(title="Everyone", target_wards=[], borough_wide=True)
    create_survey(title="Still a draft", open=False)
    abram = in_ward("r-abram", ABRAM)
    hindley = in_ward("r-hindley", HINDLEY)
    nowhere = in_ward("r-nowhere", None)

    def titles(person):  # type: ignore[no-untyped-def]
        return [
            s["title"] for s in client.get("/api/v1/surveys", headers=person.headers).get_json()
        ]

    assert titles(abram) == ["Abram and Astley", "Everyone"]
    assert titles(hindley) == ["Everyone"]
    assert titles(nowhere) == ["Everyone"]
    assert client.get(f"/api/v1/surveys/{local['id']}", headers=hindley.headers).status_code == 404
    assert (
        client.get(f"/api/v1/surveys/{borough['id']}", headers=hindley.headers).status_code == 200
    )
    assert answer(client, hindley, local["id"], valid_answers()).status_code == 404


def test_one_response_per_resident_changeable_until_close(client, admin, in_ward, create_survey):
    from backend.surveys.models import SurveyResponse, SurveyResponseOwner

    survey = create_survey()
    alice = in_ward("r-alice", ABRAM)
    first = answer(client, alice, survey["id"], valid_answers(colour="red"))
    assert first.status_code == 201, first.get_json()
    again = answer(client, alice, survey["id"], valid_answers(colour="blue", pets=["dog", "fish"]))
    assert again.status_code == 200
    assert db.session.query(SurveyResponse).count() == 1
    assert db.session.query(SurveyResponseOwner).count() == 1
    mine = client.get(f"/api/v1/surveys/{survey['id']}/responses/mine", headers=alice.headers)
    assert mine.get_json()["answers"]["colour"] == "blue"
    assert mine.get_json()["answers"]["pets"] == ["dog", "fish"]
    assert client.get(f"/api/v1/surveys/{survey['id']}", headers=alice.headers).get_json()[
        "answered"
    ]

    closed = client.post(f"/api/v1/surveys/{survey['id']}/close", headers=admin.headers)
    assert closed.get_json()["status"] == "closed"
    late = answer(client, alice, survey["id"], valid_answers(colour="red"))
    assert late.status_code == 409 and "closed" in late.get_json()["message"]
    mine = client.get(f"/api/v1/surveys/{survey['id']}/responses/mine", headers=alice.headers)
    assert mine.get_json()["answers"]["colour"] == "blue"


def test_answers_outside_the_window_are_refused_by_time(app, admin, in_ward, create_survey):
    from datetime import UTC, datetime

    from backend.auth.models import User
    from backend.errors import Conflict
    from backend.surveys import service

    survey = create_survey(opens_at="2030-01-01T00:00:00Z", closes_at="2030-02-01T00:00:00Z")
    person = in_ward("r-time", ABRAM)
    user = db.session.get(User, person.id)
    with pytest.raises(Conflict, match="not opened yet"):
        service.submit_response(
            user, survey["id"], valid_answers(), datetime(2029, 12, 31, tzinfo=UTC)
        )
    _, created = service.submit_response(
        user, survey["id"], valid_answers(), datetime(2030, 1, 15, tzinfo=UTC)
    )
    assert created is True
    with pytest.raises(Conflict, match="closed"):
        service.submit_response(
            user, survey["id"], valid_answers(), datetime(2030, 2, 1, tzinfo=UTC)
        )


@pytest.mark.parametrize(
    ("answers", "question", "fragment"),
    [
        (valid_answers(colour="green"), "colour", "unknown choice 'green'"),
        (valid_answers(colour=["red"]), "colour", "one of the choices"),
        (valid_answers(colour=None), "colour", "required"),
        (valid_answers(pets=["cat", "lizard"]), "pets", "unknown choice 'lizard'"),
        (valid_answers(pets=["cat", "dog", "fish"]), "pets", "at most 2"),
        (valid_answers(pets=["cat", "cat"]), "pets", "twice"),
        (valid_answers(pets="cat"), "pets", "list of choices"),
        (valid_answers(safe=6), "safe", "out of range"),
        (valid_answers(safe=0), "safe", "out of range"),
        (valid_answers(safe=2.5), "safe", "whole number"),
        (valid_answers(unsafe="maybe"), "unsafe", "unknown choice"),
        (valid_answers(unsafe=True), "unsafe", "one of the choices"),
        (valid_answers(unsafe="yes"), "where", "required"),
        (valid_answers(where="town"), "where", "hidden question answered"),
        (valid_answers(nights=32), "nights", "out of range: answer from 0 to 31"),
        (valid_answers(nights=-1), "nights", "out of range"),
        (valid_answers(nights="3"), "nights", "whole number"),
        (valid_answers(nights=True), "nights", "whole number"),
        (valid_answers(comment="x" * 21), "comment", "at most 20"),
        (valid_answers(comment="a\x00b"), "comment", "control characters"),
        (valid_answers(comment=7), "comment", "text"),
        (valid_answers(bogus="x"), "bogus", "no such question"),
    ],
)
def test_bad_answers_get_422_naming_the_question(
    client, in_ward, create_survey, answers, question, fragment
):
    survey = create_survey()
    response = answer(client, in_ward("r-bad", ABRAM), survey["id"], answers)
    assert response.status_code == 422
    body = response.get_json()
    assert fragment in body["errors"][question][0], body
    assert body["code"] == 422 and body["status"] == "Unprocessable Entity"


def test_conditional_question_is_accepted_when_shown(client, in_ward, create_survey):
    survey = create_survey()
    ok = answer(
        client, in_ward("r-cond", ABRAM), survey["id"], valid_answers(unsafe="yes", where="home")
    )
    assert ok.status_code == 201
    assert ok.get_json()["answers"]["where"] == "home"


@pytest.mark.parametrize("body", [{}, {"answers": "x"}, {"answers": None}, [1, 2]])
def test_malformed_bodies_get_422(client, in_ward, create_survey, body):
    survey = create_survey()
    response = client.post(
        f"/api/v1/surveys/{survey['id']}/responses",
        json=body,
        headers=in_ward("r-m", ABRAM).headers,
    )
    assert response.status_code == 422


def test_a_resident_cannot_read_anothers_response(client, in_ward, create_survey):
    survey = create_survey()
    alice, bob = in_ward("r-alice", ABRAM), in_ward("r-bob", ABRAM)
    assert answer(client, alice, survey["id"], valid_answers(colour="blue")).status_code == 201
    theirs = client.get(f"/api/v1/surveys/{survey['id']}/responses/mine", headers=bob.headers)
    assert theirs.status_code == 404
    # There is no route that addresses a response by id, and results are aggregate only.
    assert (
        client.get(f"/api/v1/surveys/{survey['id']}/responses", headers=bob.headers).status_code
        == 405
    )
    results = client.get(f"/api/v1/surveys/{survey['id']}/results", headers=bob.headers)
    assert results.status_code == 403
    assert answer(client, bob, survey["id"], valid_answers(colour="red")).status_code == 201
    assert (
        client.get(
            f"/api/v1/surveys/{survey['id']}/responses/mine", headers=bob.headers
        ).get_json()["answers"]["colour"]
        == "red"
    )
    assert (
        client.get(
            f"/api/v1/surveys/{survey['id']}/responses/mine", headers=alice.headers
        ).get_json()["answers"]["colour"]
        == "blue"
    )


def test_stored_answers_cannot_be_linked_to_the_resident(app, client, in_ward, create_survey):
    from backend.surveys import service
    from backend.surveys.models import (
        SurveyAnswer,
        SurveyResponse,
        SurveyResponseOwner,
    )

    survey = create_survey()
    alice = in_ward("r-linkable-alice", ASTLEY)
    assert answer(client, alice, survey["id"], valid_answers(comment="hello")).status_code == 201

    # No column of the answer tables refers to a user, and none holds the uid or the user id.
    for model in (SurveyResponse, SurveyAnswer, SurveyResponseOwner):
        columns = {c.key for c in inspect(model).columns}
        assert not columns & {"user_id", "uid", "created_at", "submitted_at", "ip", "device_id"}
        for fk in model.__table__.foreign_keys:
            assert fk.column.table.name != "users"
        for row in db.session.scalars(select(model)):
            values = [str(getattr(row, c)) for c in columns]
            assert alice.uid not in " ".join(values)

    owner = db.session.scalar(select(SurveyResponseOwner))
    response = db.session.scalar(select(SurveyResponse))
    # The ownership marker and the response key are different keyed hashes: no shared column.
    assert owner.owner_hash != response.key
    assert owner.owner_hash == service.owner_hash(survey["id"], alice.uid)
    assert response.key == service.response_key(survey["id"], alice.uid)
    # Without the server key the hashes cannot be recomputed from the uid.
    import hashlib

    assert hashlib.sha256(f"{survey['id']}\x00{alice.uid}".encode()).hexdigest() not in (
        owner.owner_hash,
        response.key,
    )
    assert response.ward_code == ASTLEY
