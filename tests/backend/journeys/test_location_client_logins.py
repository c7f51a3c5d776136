"""Failed location-client logins (OwnTracks Basic auth, Traccar ids) are throttled per source
address and per credential; successful logins neither count nor are held back by a throttled
credential (no one can lock a resident's tracker out by failing on its username)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.backend.journeys.test_location_clients import basic, owntracks_location

FROM_A = {"REMOTE_ADDR": "198.51.100.7"}
FROM_B = {"REMOTE_ADDR": "203.0.113.9"}


@pytest.fixture
def device(client, resident):  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/location-clients", json={}, headers=resident.headers)
    assert response.status_code == 201
    return response.get_json()


@pytest.fixture
def limits(app):  # type: ignore[no-untyped-def]
    saved = {
        k: app.config.get(k)
        for k in ("LOCATION_CLIENT_FAILURES_PER_SOURCE", "LOCATION_CLIENT_FAILURES_PER_CREDENTIAL")
    }
    app.config["LOCATION_CLIENT_FAILURES_PER_SOURCE"] = "5/15 minutes"
    app.config["LOCATION_CLIENT_FAILURES_PER_CREDENTIAL"] = "3/15 minutes"
    yield
    app.config.update(saved)


def owntracks(client, username, secret, environ):  # type: ignore[no-untyped-def]
    tst = int(datetime.now(UTC).timestamp())
    return client.post(
        "/owntracks",
        json=owntracks_location(tst),
        headers=basic(username, secret),
        environ_base=environ,
    )


def assert_429(response) -> None:  # type: ignore[no-untyped-def]
    body = response.get_json()
    assert response.status_code == 429, body
    assert body["code"] == 429 and body["message"] and body["errors"] == {}
    assert int(response.headers["Retry-After"]) >= 1


def test_fifty_failures_from_one_source_are_not_all_401(client, device):
    """With the default limits: the probe's 50 failures from one address."""
    codes = [owntracks(client, f"sh-guess{i:04d}", "x" * 32, FROM_A).status_code for i in range(50)]
    assert codes[:20] == [401] * 20
    assert set(codes[20:]) == {429}


def test_a_source_that_failed_too_often_gets_429_even_with_a_right_secret(client, device, limits):
    for i in range(5):
        assert owntracks(client, f"sh-guess{i}", "x" * 32, FROM_A).status_code == 401
    assert_429(owntracks(client, "sh-guess9", "x" * 32, FROM_A))
    assert_429(owntracks(client, device["username"], device["secret"], FROM_A))
    # another address is not held back
    assert owntracks(client, device["username"], device["secret"], FROM_B).status_code == 200


def test_a_credential_that_failed_too_often_gets_429_but_its_owner_still_gets_in(
    client, device, limits
):
    for environ in ({"REMOTE_ADDR": f"192.0.2.{i}"} for i in range(3)):
        assert owntracks(client, device["username"], "y" * 32, environ).status_code == 401
    assert_429(owntracks(client, device["username"], "y" * 32, {"REMOTE_ADDR": "192.0.2.50"}))
    response = owntracks(
        client, device["username"], device["secret"], {"REMOTE_ADDR": "192.0.2.51"}
    )
    assert response.status_code == 200 and response.get_json() == []


def test_successful_logins_do_not_count(client, device, limits):
    for _ in range(12):
        assert owntracks(client, device["username"], device["secret"], FROM_A).status_code == 200
    assert owntracks(client, "sh-nobody", "x" * 32, FROM_A).status_code == 401


def test_unknown_traccar_ids_are_throttled_per_source_and_per_id(client, device, limits):
    def osmand(device_id, environ):  # type: ignore[no-untyped-def]
        query = f"id={device_id}&lat=53.5&lon=-2.6&timestamp=1700000000"
        return client.get(f"/osmand?{query}", environ_base=environ)

    # one revoked phone resending the same id from changing addresses
    for i in range(3):
        assert osmand("revoked-phone", {"REMOTE_ADDR": f"192.0.2.{i}"}).status_code == 401
    assert_429(osmand("revoked-phone", {"REMOTE_ADDR": "192.0.2.99"}))
    # guesses of many ids from one address
    for i in range(5):
        assert osmand(f"guess-{i}", FROM_A).status_code == 401
    assert_429(osmand("guess-9", FROM_A))
    assert_429(osmand(device["secret"], FROM_A))
    assert osmand(device["secret"], FROM_B).status_code == 200
