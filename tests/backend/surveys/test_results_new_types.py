"""Results of the note, decimal, date, time, range and rank types on a known data set, with
the same small-group suppression as the other types, in JSON, CSV and charts; translations
change nothing."""

from __future__ import annotations

import csv
import io

import pytest

from tests.backend.surveys.conftest import ABRAM, ASTLEY, HINDLEY, translated_survey
from tests.backend.surveys.test_results import answer_all

WARDS = [ABRAM, ASTLEY, HINDLEY]
M, L, W = "market", "library", "wallgate"


def full(home, streets, miles, calm, when):  # type: ignore[no-untyped-def]
    return {
        "out": "yes",
        "home": home,
        "streets": streets,
        "miles": miles,
        "calm": calm,
        "when": when,
    }


# min_group_size 3: Astley (2) is hidden, so Hindley (3) is hidden too (complementary).
PLAN = {
    ABRAM: [
        full("23:15", [M, L, W], 1.5, 7.5, "2026-10-05"),
        full("22:00", [M, W, L], 2.0, 7.5, "2026-10-20"),
        full("01:30", [L, M, W], 4.0, 3, "2026-12-01"),
        {"out": "no", "miles": 0.5, "calm": 10, "when": "2026-11-11"},
    ],
    ASTLEY: [
        full("22:45", [W, M, L], 19, 0, "2026-10-01"),
        full("23:59", [M, L, W], 20.5, 0.5, "2026-10-02"),
    ],
    HINDLEY: [
        full(t, [M, W, L], 3, 5, f"2026-11-0{n}")
        for n, t in enumerate(["18:00", "19:10", "20:20"], 1)
    ],
}


@pytest.fixture
def answered(client, in_ward, create_survey):  # type: ignore[no-untyped-def]
    survey = create_survey(**translated_survey(), target_wards=WARDS, min_group_size=3)
    answer_all(client, in_ward, survey["id"], PLAN)
    return survey


def results(client, admin, survey_id, by=""):  # type: ignore[no-untyped-def]
    query = "?by=ward" if by else ""
    response = client.get(f"/api/v1/surveys/{survey_id}/results{query}", headers=admin.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def counts(question):  # type: ignore[no-untyped-def]
    return {o["value"]: o["count"] for o in question["options"] if o["count"]}


def test_borough_figures_of_every_new_type(client, admin, answered):
    body = results(client, admin, answered["id"])
    q = {item["name"]: item for item in body["questions"]}
    assert "intro" not in q  # a note has no results
    assert body["respondents"] == 9

    assert q["home"]["answered"] == 8
    assert [o["value"] for o in q["home"]["options"]] == [
        "00",
        "03",
        "06",
        "09",
        "12",
        "15",
        "18",
        "21",
    ]
    assert q["home"]["options"][0]["label"] == "00:00 to 02:59"
    assert counts(q["home"]) == {"00": 1, "18": 3, "21": 4}
    assert [o["percent"] for o in q["home"]["options"] if o["count"]] == [12.5, 37.5, 50.0]

    assert q["streets"]["answered"] == 8
    ranks = {
        o["value"]: (o["count"], o["percent"], o["mean_position"]) for o in q["streets"]["options"]
    }
    assert ranks == {W: (1, 12.5, 2.25), M: (6, 75.0, 1.25), L: (1, 12.5, 2.5)}

    miles = q["miles"]
    assert miles["answered"] == 9
    assert (miles["mean"], miles["median"], miles["quartiles"]) == (6.28, 3.0, [2.0, 4.0])
    assert miles["options"][0] == {
        "value": "0..2.5",
        "label": "0 to under 2.5",
        "count": 3,
        "percent": 33.3,
    }
    assert counts(miles) == {"0..2.5": 3, "2.5..5": 4, "17.5..20": 1, "20..22.5": 1}
    assert miles["options"][-1]["label"] == "20 to 22.5"

    calm = q["calm"]
    assert len(calm["options"]) == 21  # every step of 0..10 by 0.5
    assert counts(calm) == {"0": 1, "0.5": 1, "3": 1, "5": 3, "7.5": 2, "10": 1}
    assert (calm["mean"], calm["median"]) == (4.83, 5.0)

    when = q["when"]
    assert [(o["value"], o["label"], o["count"], o["percent"]) for o in when["options"]] == [
        ("2026-10", "October 2026", 4, 44.4),
        ("2026-11", "November 2026", 4, 44.4),
        ("2026-12", "December 2026", 1, 11.1),
    ]


def test_wards_are_suppressed_exactly_as_for_the_other_types(client, admin, answered):
    wards = {w["ward_code"]: w for w in results(client, admin, answered["id"], by="ward")["wards"]}
    assert wards[ASTLEY]["suppressed"] and wards[HINDLEY]["suppressed"]
    for code in (ASTLEY, HINDLEY):
        for q in wards[code]["questions"]:
            assert q["suppressed"] and q["answered"] is None
            assert not ({"options", "mean", "median", "quartiles"} & set(q)), q
    abram = {q["name"]: q for q in wards[ABRAM]["questions"]}
    # Time and rank were answered by 3 in Abram, 2 in Astley, 3 in Hindley: Astley is hidden,
    # and with it the smallest other (Abram, by code) so that Astley's 2 cannot be recovered.
    assert abram["home"]["suppressed"] and abram["streets"]["suppressed"]
    assert "options" not in abram["home"] and "options" not in abram["streets"]
    # The 4 in Abram who gave a number are shown.
    assert abram["miles"]["answered"] == 4 and abram["miles"]["median"] == 1.75
    assert counts(abram["calm"]) == {"3": 1, "7.5": 2, "10": 1}
    assert [o["value"] for o in abram["when"]["options"]] == ["2026-10", "2026-11", "2026-12"]


def test_below_the_minimum_nothing_of_the_new_types_is_shown(client, admin, in_ward, create_survey):
    survey = create_survey(**translated_survey(), target_wards=WARDS, min_group_size=10)
    answer_all(client, in_ward, survey["id"], PLAN)
    body = results(client, admin, survey["id"])
    assert body["suppressed"] and body["respondents"] is None
    for q in body["questions"]:
        assert q["suppressed"] and set(q) == {"name", "label", "type", "answered", "suppressed"}


def test_a_question_answered_by_too_few_is_suppressed_alone(client, admin, in_ward, create_survey):
    survey = create_survey(**translated_survey(), target_wards=WARDS, min_group_size=3)
    plan = {
        ABRAM: [
            {"out": "no", "miles": 1},
            {"out": "no", "miles": 2},
            {"out": "yes", "home": "22:00", "miles": 3},
        ]
    }
    answer_all(client, in_ward, survey["id"], plan)
    q = {item["name"]: item for item in results(client, admin, survey["id"])["questions"]}
    assert q["home"]["suppressed"] and "options" not in q["home"]
    assert q["miles"]["answered"] == 3 and q["miles"]["median"] == 2.0


def test_translations_change_no_figure(client, admin, in_ward, create_survey):
    spec = translated_survey()
    plain = {
        "sections": [{**s, "translations": {}} for s in spec["sections"]],
        "questions": [{**q, "translations": {}} for q in spec["questions"]],
    }
    one = create_survey(**spec, target_wards=WARDS, min_group_size=3)
    other = create_survey(**plain, target_wards=WARDS, min_group_size=3)
    for survey in (one, other):
        for ward, answers in PLAN.items():
            for n, given in enumerate(answers):
                person = in_ward(f"r-{survey['id']}-{ward}-{n}", ward)
                sent = client.post(
                    f"/api/v1/surveys/{survey['id']}/responses",
                    json={"answers": given},
                    headers=person.headers,
                )
                assert sent.status_code == 201
    first = results(client, admin, one["id"], by="ward")
    second = results(client, admin, other["id"], by="ward")
    assert first["questions"] == second["questions"] and first["wards"] == second["wards"]


def test_csv_rows_for_the_new_types(client, admin, answered):
    response = client.get(f"/api/v1/surveys/{answered['id']}/results.csv", headers=admin.headers)
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    borough = [r for r in rows if r["group"] == "borough"]
    assert not [r for r in rows if r["question"] == "intro"]
    summary = next(r for r in borough if r["question"] == "miles" and not r["answer"])
    assert (summary["median"], summary["lower_quartile"], summary["upper_quartile"]) == (
        "3.0",
        "2.0",
        "4.0",
    )
    bins = {r["answer"]: r["count"] for r in borough if r["question"] == "miles" and r["answer"]}
    assert bins["2.5..5"] == "4"
    market = next(r for r in borough if r["question"] == "streets" and r["answer"] == M)
    assert (market["count"], market["mean_position"]) == ("6", "1.25")
    october = next(r for r in borough if r["question"] == "when" and r["answer"] == "2026-10")
    assert october["answer_label"] == "October 2026" and october["percent"] == "44.4"
    hidden = [r for r in rows if r["ward_code"] == ASTLEY]
    assert hidden and all(r["suppressed"] == "yes" and not r["count"] for r in hidden)


@pytest.mark.parametrize("name", ["streets", "miles", "calm", "when", "home"])
def test_charts_of_the_new_types(client, admin, answered, name):
    response = client.get(
        f"/api/v1/surveys/{answered['id']}/results/{name}.svg", headers=admin.headers
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:200]
    assert response.get_data(as_text=True).lstrip().startswith(("<?xml", "<svg"))


def test_a_note_has_no_chart(client, admin, answered):
    response = client.get(
        f"/api/v1/surveys/{answered['id']}/results/intro.svg", headers=admin.headers
    )
    assert response.status_code == 404
