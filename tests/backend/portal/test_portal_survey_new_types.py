"""The portal's results page and CSV keep working for a translated, sectioned survey with the
note, decimal, date, time, range and rank types (their rendering is the portal's own)."""

from __future__ import annotations

import pytest

from tests.backend.portal.helpers import sign_in

pytest.importorskip("backend.surveys.service")
from tests.backend.surveys.conftest import translated_survey  # noqa: E402

ANSWERS = {
    "out": "yes",
    "home": "22:30",
    "streets": ["market", "wallgate", "library"],
    "miles": 2.5,
    "calm": 6,
    "when": "2026-11-05",
}


def test_results_page_and_csv_of_the_new_types(client, admin, make_person):
    body = {
        "title": "Night-time safety",
        "borough_wide": True,
        "min_group_size": 3,
        **translated_survey(),
    }
    created = client.post("/api/v1/surveys", json=body, headers=admin.headers)
    assert created.status_code == 201, created.get_json()
    survey_id = created.get_json()["id"]
    assert (
        client.post(f"/api/v1/surveys/{survey_id}/open", headers=admin.headers).status_code == 200
    )
    for n in range(3):
        person = make_person(f"night-{n}")
        sent = client.post(
            f"/api/v1/surveys/{survey_id}/responses",
            json={"answers": ANSWERS},
            headers=person.headers,
        )
        assert sent.status_code == 201, sent.get_json()
    sign_in(client, admin.uid)
    page = client.get(f"/portal/surveys/{survey_id}")
    assert page.status_code == 200
    assert "3 people answered" in page.get_data(as_text=True)
    csv = client.get(f"/portal/surveys/{survey_id}/results.csv").get_data(as_text=True)
    lines = csv.splitlines()
    assert any(",streets," in line and ",market," in line for line in lines)
    assert any(",when," in line and "November 2026" in line for line in lines)
    assert not any(",intro," in line for line in lines)
