"""A resident's survey answers in their export, and unlinked for good by erasure while the
aggregate results keep them."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.backend.surveys.conftest import ABRAM, valid_answers


def test_export_holds_my_answers_and_erasure_unlinks_them(client, create_survey, in_ward):
    from backend.extensions import db
    from backend.surveys.models import SurveyAnswer, SurveyResponse, SurveyResponseOwner

    survey = create_survey()
    alice = in_ward("alice-survey", ABRAM)
    bob = in_ward("bob-survey", ABRAM)
    for person, colour in ((alice, "red"), (bob, "blue")):
        answered = client.post(
            f"/api/v1/surveys/{survey['id']}/responses",
            json={"answers": valid_answers(colour=colour)},
            headers=person.headers,
        )
        assert answered.status_code == 201, answered.get_json()

    export = client.get("/api/v1/me/export", headers=alice.headers).get_json()
    responses = export["data"]["surveys"]["responses"]
    assert [r["survey_id"] for r in responses] == [survey["id"]]
    assert "red" in {a["value"] for a in responses[0]["answers"]}
    assert "blue" not in {a["value"] for a in responses[0]["answers"]}
    answers_before = db.session.scalar(select(func.count()).select_from(SurveyAnswer))

    assert client.delete("/api/v1/me", headers=alice.headers).status_code == 200

    db.session.expire_all()
    # Aggregates keep her answers ...
    assert db.session.scalar(select(func.count()).select_from(SurveyAnswer)) == answers_before
    assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 2
    # ... but nothing derived from her identity finds them any more.
    assert db.session.scalar(select(func.count()).select_from(SurveyResponseOwner)) == 1
    # Her old token is refused outright (the erased account is not signed back up).
    again = client.get(f"/api/v1/surveys/{survey['id']}/responses/mine", headers=alice.headers)
    assert again.status_code == 401
    assert client.get("/api/v1/me/export", headers=alice.headers).status_code == 401
    # Bob's answer is untouched.
    bobs = client.get(f"/api/v1/surveys/{survey['id']}/responses/mine", headers=bob.headers)
    assert bobs.status_code == 200 and bobs.get_json()["answers"]["colour"] == "blue"
