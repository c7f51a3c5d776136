"""The Wigan seed: the 2005-08 key questions, priorities, night-time safety, synthetic answers."""

from __future__ import annotations


def test_seed_publishes_the_consultations_with_labelled_synthetic_responses(app, client, admin):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed", "wigan"])
    assert first.exit_code == 0, first.output
    assert "surveys: imported 2, skipped 0" in first.output and "SYNTHETIC" in first.output
    again = runner.invoke(args=["seed", "wigan"])
    assert "surveys: imported 0, skipped 2" in again.output

    surveys = client.get("/api/v1/surveys", headers=admin.headers).get_json()
    by_title = {s["title"]: s for s in surveys}
    key = by_title["Community safety: the four key questions"]
    night = by_title["Feeling safe at night"]
    assert all("SYNTHETIC" in s["description"] for s in surveys)
    assert [q["name"] for q in key["questions"]][:2] == ["worry", "asb_problem"]
    assert {"police_job", "cjs_job", "priorities"} <= {q["name"] for q in key["questions"]}
    priorities = next(q for q in key["questions"] if q["name"] == "priorities")
    assert priorities["max_choices"] == 3
    assert key["borough_wide"] is True and key["status"] == "open"
    assert night["borough_wide"] is False and len(night["target_wards"]) == 8

    results = client.get(
        f"/api/v1/surveys/{key['id']}/results?by=ward", headers=admin.headers
    ).get_json()
    assert results["respondents"] >= 100
    states = {w["suppressed"] for w in results["wards"]}
    assert states == {True, False}, "some wards pass the threshold and some are suppressed"
    gap = client.get(f"/api/v1/surveys/{key['id']}/gap", headers=admin.headers).get_json()
    assert gap["borough"]["perception_percent"] > gap["borough"]["experience_percent"]
