"""Bad input that used to get a 500 (issue 21): integers beyond what an id column holds,
times at the ends of the calendar, JSON nested 1,000 deep, and venue imports with a NUL or a
5,000-deep file. Each gets a 4xx in the shared error shape on both engines."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from backend.open311 import service as open311
from tests.backend.journeys.test_location_clients import basic
from tests.backend.open311.test_open311 import fixmystreet_form
from tests.backend.surveys.conftest import ABRAM, question_set
from tests.support.journeys import PARK, befriend, fix, iso, start_journey

HUGE = [2**64, 2**63, 3_000_000_000, 2**31]
CALENDAR_ENDS = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]


def assert_4xx(response, code: int | None = None) -> dict:  # type: ignore[no-untyped-def]
    body = response.get_json()
    assert 400 <= response.status_code < 500, (response.status_code, body)
    if code is not None:
        assert response.status_code == code, body
    assert body["code"] == response.status_code and body["message"]
    assert isinstance(body["errors"], dict)
    return body


# --- integers beyond the columns -----------------------------------------------------------


@pytest.mark.parametrize("number", HUGE)
def test_contact_ids_beyond_an_id_column_are_422(client, resident, number):
    body = {
        "destination": {"lat": PARK[0], "lon": PARK[1]},
        "expected_arrival_at": iso(datetime.now(UTC) + timedelta(minutes=30)),
        "contact_ids": [number],
    }
    response = client.post("/api/v1/journeys", json=body, headers=resident.headers)
    assert "contact_ids" in assert_4xx(response, 422)["errors"]


@pytest.mark.parametrize("number", HUGE)
def test_a_destination_venue_id_beyond_an_id_column_is_422(client, resident, number):
    body = {"destination": {"venue_id": number}, "start": {"lat": PARK[0], "lon": PARK[1]}}
    response = client.post("/api/v1/journeys", json=body, headers=resident.headers)
    assert "destination" in assert_4xx(response, 422)["errors"]


@pytest.mark.parametrize("number", [2**64, -(2**64), 3_000_000_000])
def test_a_survey_min_value_beyond_an_integer_is_422(client, admin, number):
    questions = question_set()
    questions.append({"name": "n", "label": "How many?", "type": "integer", "min_value": number})
    body = {"title": "T", "target_wards": [ABRAM], "questions": questions}
    response = client.post("/api/v1/surveys", json=body, headers=admin.headers)
    assert "questions" in assert_4xx(response, 422)["errors"]


# --- times at the ends of the calendar -----------------------------------------------------


@pytest.mark.parametrize("when", CALENDAR_ENDS)
def test_a_fix_recorded_at_a_calendar_end_is_422(client, resident, when):
    journey = start_journey(client, resident)
    body = {"fixes": [{**fix(53.5, -2.6, datetime.now(UTC)), "recorded_at": when}]}
    response = client.post(
        f"/api/v1/journeys/{journey['id']}/locations", json=body, headers=resident.headers
    )
    assert "fixes" in assert_4xx(response, 422)["errors"]


@pytest.mark.parametrize("when", CALENDAR_ENDS)
def test_location_clients_acknowledge_a_calendar_end_time_without_storing_it(
    client, resident, when
):
    start_journey(client, resident)
    device = client.post("/api/v1/location-clients", json={}, headers=resident.headers).get_json()
    response = client.get(f"/osmand?id={device['secret']}&lat=53.5&lon=-2.6&timestamp={when}")
    assert response.status_code == 200 and "X-SafeHaven-Rejected" in response.headers
    message = {"_type": "location", "lat": 53.5, "lon": -2.6, "tst": when}
    response = client.post(
        "/owntracks", json=message, headers=basic(device["username"], device["secret"])
    )
    assert response.status_code == 200 and response.get_json() == []
    assert "tst" in response.headers["X-SafeHaven-Rejected"]


@pytest.mark.parametrize("when", CALENDAR_ENDS)
def test_an_sos_recorded_at_a_calendar_end_is_422(client, resident, other_resident, when):
    befriend(client, resident, other_resident)
    body = {"client_id": str(uuid.uuid4()), "lat": 53.5, "lon": -2.6, "recorded_at": when}
    response = client.post("/api/v1/sos", json=body, headers=resident.headers)
    assert "recorded_at" in assert_4xx(response, 422)["errors"]


@pytest.mark.parametrize("when", CALENDAR_ENDS)
def test_a_survey_opening_at_a_calendar_end_is_422(client, admin, when):
    body = {"title": "T", "target_wards": [ABRAM], "questions": question_set(), "opens_at": when}
    response = client.post("/api/v1/surveys", json=body, headers=admin.headers)
    assert "opens_at" in assert_4xx(response, 422)["errors"]


@pytest.mark.parametrize("when", CALENDAR_ENDS)
@pytest.mark.parametrize("param", ["from", "to"])
def test_hotspots_from_a_calendar_end_is_422(client, admin, when, param):
    response = client.get(
        "/api/v1/insights/hotspots", query_string={param: when}, headers=admin.headers
    )
    assert param in assert_4xx(response, 422)["errors"]


@pytest.mark.parametrize("when", CALENDAR_ENDS)
@pytest.mark.parametrize("param", ["start_date", "end_date"])
@pytest.mark.parametrize("path", ["requests.json", "servicerequestupdates.json"])
def test_open311_listing_dates_at_a_calendar_end_are_400(client, when, param, path):
    response = client.get(f"/open311/v2/{path}", query_string={param: when})
    assert response.status_code == 400
    (error,) = response.get_json()
    assert error["code"] == 400 and param in error["description"]


@pytest.mark.parametrize("when", CALENDAR_ENDS)
def test_open311_observed_at_at_a_calendar_end_is_400(app, client, when):
    key = open311.create_key("FixMyStreet")[1]
    form = {**fixmystreet_form(key), "attribute[observed_at]": when}
    response = client.post("/open311/v2/requests.json", data=form)
    assert response.status_code == 400
    (error,) = response.get_json()
    assert "observed_at" in error["description"]


# --- JSON nested 1,000 deep ----------------------------------------------------------------

DEEP = "[" * 1000 + "]" * 1000
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["array", "object"])
@pytest.mark.parametrize(
    ("method", "path", "who"),
    [
        ("POST", "/api/v1/journeys", "resident"),
        ("POST", "/api/v1/journeys/1/locations", "resident"),
        ("PATCH", "/api/v1/me", "resident"),
        ("POST", "/api/v1/reports", None),
        ("POST", "/api/v1/surveys", "admin"),
        ("POST", "/osmand", None),
        ("POST", "/owntracks", None),
    ],
)
def test_json_nested_a_thousand_deep_is_400_on_every_route(
    client, resident, admin, method, path, who, body
):
    headers = {"resident": resident.headers, "admin": admin.headers, None: {}}[who]
    response = client.open(
        path, method=method, data=body, content_type="application/json", headers=headers
    )
    assert "nests deeper than 64 levels" in assert_4xx(response, 400)["errors"]["_schema"][0]


def test_owntracks_forces_any_body_to_json_and_is_guarded_too(client):
    response = client.post("/owntracks", data=DEEP, content_type="text/plain")
    assert_4xx(response, 400)


def test_json_at_a_plausible_depth_is_still_parsed(client, resident):
    nested = {"display_name": "Al"}
    response = client.patch("/api/v1/me", json=nested, headers=resident.headers)
    assert response.status_code == 200
    # brackets inside strings do not count as nesting
    response = client.patch("/api/v1/me", json={"display_name": "[" * 70}, headers=resident.headers)
    assert response.status_code == 200 and response.get_json()["display_name"] == "[" * 70


# --- venue imports -------------------------------------------------------------------------


def feature(name: str, ref: str) -> dict:
    return {
        "type": "Feature",
        "id": ref,
        "geometry": {"type": "Point", "coordinates": [-2.63, 53.55]},
        "properties": {"name": name, "category": "pub"},
    }


def test_a_nul_in_an_imported_venue_is_skipped_and_the_rest_is_imported(app, tmp_path):
    path = tmp_path / "places.geojson"
    features = [
        feature("The Swan\x00", "swan"),
        feature("The Crown", "crown"),
        {**feature("The Bell", "bell"), "properties": {"name": "Bell", "notes": "a\x00b"}},
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    result = app.test_cli_runner().invoke(args=["venues", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "imported 1, updated 0, skipped 2 (2 contains a NUL character)" in result.output


def test_a_five_thousand_deep_geojson_file_is_a_clear_error(app, tmp_path):
    path = tmp_path / "deep.geojson"
    path.write_text('{"type": "FeatureCollection", "features": ' + "[" * 5000 + "]" * 5000 + "}")
    result = app.test_cli_runner().invoke(args=["venues", "import", str(path)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output and result.exception.__class__ is SystemExit
    assert "nested deeper than 64 levels" in result.output
