"""Floods: fixes timed before the journey or ahead of the clock, the per-person fix budget, and
the limit on starting journeys. The fix budget and the start limit are lowered per test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from backend.extensions import db
from backend.journeys.models import LocationFix
from tests.backend.journeys.test_location_clients import basic, owntracks_location
from tests.support.journeys import fix, start_journey


@pytest.fixture
def journey(client, resident):  # type: ignore[no-untyped-def]
    return start_journey(client, resident)


@pytest.fixture
def device(client, resident):  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/location-clients", json={}, headers=resident.headers)
    assert response.status_code == 201
    return response.get_json()


@pytest.fixture
def lowered(app):  # type: ignore[no-untyped-def]
    """Set app config for one test and put it back after."""
    saved: dict[str, object] = {}

    def lower(**config: object) -> None:
        for key, value in config.items():
            saved.setdefault(key, app.config.get(key))
            app.config[key] = value

    yield lower
    app.config.update(saved)


def stored(journey_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(LocationFix).where(LocationFix.journey_id == journey_id)
    )


def post(client, person, journey_id, fixes):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/journeys/{journey_id}/locations", json={"fixes": fixes}, headers=person.headers
    )


def assert_error_shape(response, code: int) -> None:  # type: ignore[no-untyped-def]
    body = response.get_json()
    assert response.status_code == code, body
    assert body["code"] == code and body["status"] and body["message"]
    assert isinstance(body["errors"], dict)


# --- when a fix was recorded ---------------------------------------------------------------


@pytest.mark.parametrize("at", ["1970-01-01T00:00:00Z", "start-11min"])
def test_a_fix_from_before_the_journey_started_is_422_and_nothing_is_stored(
    client, resident, journey, at
):
    started = datetime.fromisoformat(journey["started_at"])
    recorded = started - timedelta(minutes=11) if at == "start-11min" else at
    fixes = [fix(53.5425, -2.6405, started), fix(53.5426, -2.6405, started)]
    fixes[1]["recorded_at"] = recorded if isinstance(recorded, str) else recorded.isoformat()
    response = post(client, resident, journey["id"], fixes)
    assert_error_shape(response, 422)
    assert response.get_json()["errors"] == {
        "fixes.1.recorded_at": ["is before the journey started"]
    }
    # alone too (the live path of one fix decides it the same way on PostGIS)
    response = post(client, resident, journey["id"], fixes[1:])
    assert_error_shape(response, 422)
    assert stored(journey["id"]) == 0


def test_a_fix_within_the_tolerance_before_the_start_is_stored(client, resident, journey):
    started = datetime.fromisoformat(journey["started_at"])
    response = post(
        client, resident, journey["id"], [fix(53.5425, -2.6405, started - timedelta(minutes=9))]
    )
    assert response.status_code == 200 and response.get_json()["accepted"] == 1


def test_the_tolerance_before_the_start_is_configurable(client, resident, journey, lowered):
    lowered(JOURNEY_PAST_FIX_TOLERANCE_MINUTES=1)
    started = datetime.fromisoformat(journey["started_at"])
    late = [fix(53.5425, -2.6405, started - timedelta(minutes=2))]
    assert_error_shape(post(client, resident, journey["id"], late), 422)


def test_the_app_path_refuses_a_fix_more_than_two_minutes_ahead(client, resident, journey):
    now = datetime.now(UTC)
    ahead = post(
        client, resident, journey["id"], [fix(53.5425, -2.6405, now + timedelta(minutes=3))]
    )
    assert_error_shape(ahead, 422)
    assert ahead.get_json()["errors"] == {"fixes.0.recorded_at": ["is in the future"]}
    assert stored(journey["id"]) == 0
    ok = post(client, resident, journey["id"], [fix(53.5425, -2.6405, now + timedelta(seconds=90))])
    assert ok.status_code == 200 and stored(journey["id"]) == 1


def test_owntracks_acknowledges_a_fix_ahead_of_the_clock_with_an_array_and_stores_nothing(
    client, journey, device
):
    """OwnTracks resends anything not answered by a 2xx JSON array: a fix that can never be
    stored is acknowledged (so the phone does not resend it forever) and named."""
    ahead = int((datetime.now(UTC) + timedelta(minutes=3)).timestamp())
    auth = basic(device["username"], device["secret"])
    response = client.post("/owntracks", json=owntracks_location(ahead), headers=auth)
    assert response.status_code == 200 and response.get_json() == []
    assert "recorded_at: is in the future" in response.headers["X-SafeHaven-Rejected"]
    old = owntracks_location(0)  # 1970
    response = client.post("/owntracks", json=old, headers=auth)
    assert response.status_code == 200 and response.get_json() == []
    assert "before the journey started" in response.headers["X-SafeHaven-Rejected"]
    assert stored(journey["id"]) == 0


def test_osmand_acknowledges_a_fix_ahead_of_the_clock_and_stores_nothing(client, journey, device):
    ahead = int((datetime.now(UTC) + timedelta(minutes=3)).timestamp())
    response = client.post(
        "/osmand", data={"id": device["secret"], "lat": 53.5, "lon": -2.6, "timestamp": ahead}
    )
    assert response.status_code == 200
    assert "is in the future" in response.headers["X-SafeHaven-Rejected"]
    assert stored(journey["id"]) == 0


# --- the fix budget ------------------------------------------------------------------------


def batch(start: datetime, n: int, offset: int = 0) -> list[dict]:
    return [fix(53.5425, -2.6405, start + timedelta(seconds=offset + i)) for i in range(n)]


def test_over_the_fix_budget_is_429_with_retry_after_and_nothing_is_stored_twice(
    client, resident, journey, lowered
):
    lowered(FIX_BUDGET_PER_MINUTE=50)
    started = datetime.fromisoformat(journey["started_at"])
    first, second, third = (batch(started, 20, offset) for offset in (0, 20, 40))
    assert post(client, resident, journey["id"], first).get_json()["accepted"] == 20
    assert post(client, resident, journey["id"], second).get_json()["accepted"] == 20
    refused = post(client, resident, journey["id"], third)
    assert_error_shape(refused, 429)
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert stored(journey["id"]) == 40
    # the refused batch was not stored; a resent one is not stored twice either
    assert_error_shape(post(client, resident, journey["id"], first), 429)
    assert stored(journey["id"]) == 40


def test_the_budget_is_per_person(client, resident, other_resident, journey, lowered):
    lowered(FIX_BUDGET_PER_MINUTE=30)
    started = datetime.fromisoformat(journey["started_at"])
    assert post(client, resident, journey["id"], batch(started, 30)).status_code == 200
    assert_error_shape(post(client, resident, journey["id"], batch(started, 1, 30)), 429)
    theirs = start_journey(client, other_resident)
    other_start = datetime.fromisoformat(theirs["started_at"])
    assert post(client, other_resident, theirs["id"], batch(other_start, 30)).status_code == 200


def test_a_phone_posting_every_second_never_meets_the_default_budget(client, resident, journey):
    started = datetime.fromisoformat(journey["started_at"]) - timedelta(minutes=9)
    # a minute of live posts (one fix each) and a 500-fix offline catch-up
    for i in range(60):
        assert post(client, resident, journey["id"], batch(started, 1, i)).status_code == 200
    response = post(client, resident, journey["id"], batch(started, 500, 60))
    assert response.status_code == 200, response.get_json()


def test_location_clients_share_the_persons_budget_and_get_429(
    client, resident, journey, device, lowered
):
    lowered(FIX_BUDGET_PER_MINUTE=3)
    started = datetime.fromisoformat(journey["started_at"])
    assert post(client, resident, journey["id"], batch(started, 3)).status_code == 200
    tst = int(started.timestamp()) + 10
    auth = basic(device["username"], device["secret"])
    response = client.post("/owntracks", json=owntracks_location(tst), headers=auth)
    assert_error_shape(response, 429)  # OwnTracks keeps the message and sends it again
    assert "Retry-After" in response.headers
    response = client.get(f"/osmand?id={device['secret']}&lat=53.5&lon=-2.6&timestamp={tst}")
    assert_error_shape(response, 429)
    assert stored(journey["id"]) == 3


# --- starting journeys ---------------------------------------------------------------------


def test_starting_journeys_is_rate_limited_per_person(client, resident, other_resident, lowered):
    lowered(JOURNEY_START_RATE_LIMIT="2/minute")
    for _ in range(2):
        started = start_journey(client, resident)
        cancel = client.post(f"/api/v1/journeys/{started['id']}/cancel", headers=resident.headers)
        assert cancel.status_code == 200
    body = {
        "destination": {"lat": 53.55, "lon": -2.63},
        "expected_arrival_at": (datetime.now(UTC) + timedelta(minutes=30)).isoformat(),
    }
    refused = client.post("/api/v1/journeys", json=body, headers=resident.headers)
    assert_error_shape(refused, 429)
    assert int(refused.headers["Retry-After"]) >= 1
    start_journey(client, other_resident)  # someone else is not held back
