"""Report intake and Open311 POST are rate-limited per user (or key) and per IP: 429 with
Retry-After; Redis holds the counters when REDIS_URL is set, keyed without raw addresses."""

from __future__ import annotations

import pytest

from backend.extensions import limiter
from tests.support.reports import WIGAN_CENTRAL

BODY = {
    "category": "asb",
    "description": "Fireworks thrown at cars",
    "lat": WIGAN_CENTRAL[0],
    "lon": WIGAN_CENTRAL[1],
    "anonymous": True,
}


def test_a_resident_who_floods_reports_gets_429_with_retry_after(
    app, client, resident, other_resident, monkeypatch
):
    monkeypatch.setitem(app.config, "REPORTS_RATE_LIMIT_USER", "2/minute")
    codes = [
        client.post("/api/v1/reports", json=BODY, headers=resident.headers).status_code
        for _ in range(3)
    ]
    assert codes == [201, 201, 429]
    response = client.post("/api/v1/reports", json=BODY, headers=resident.headers)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert response.get_json()["code"] == 429
    # Per user: another resident from the same address is not blocked by the first.
    assert (
        client.post("/api/v1/reports", json=BODY, headers=other_resident.headers).status_code == 201
    )


def test_one_address_is_limited_across_accounts(app, client, resident, other_resident, monkeypatch):
    monkeypatch.setitem(app.config, "REPORTS_RATE_LIMIT_IP", "3/minute")
    people = [resident, other_resident, resident, other_resident]
    codes = [
        client.post("/api/v1/reports", json=BODY, headers=p.headers).status_code for p in people
    ]
    assert codes == [201, 201, 201, 429]
    elsewhere = client.post(
        "/api/v1/reports", json=BODY, environ_base={"REMOTE_ADDR": "198.51.100.9"}
    )
    assert elsewhere.status_code == 201


def test_open311_posts_are_limited_per_key_in_the_spec_error_format(app, client, monkeypatch):
    from backend.open311 import service

    monkeypatch.setitem(app.config, "OPEN311_RATE_LIMIT_KEY", "2/minute")
    _, key = service.create_key("FixMyStreet")
    form = {
        "api_key": key,
        "service_code": "asb",
        "lat": str(WIGAN_CENTRAL[0]),
        "long": str(WIGAN_CENTRAL[1]),
        "description": "Noise",
    }
    codes = [client.post("/open311/v2/requests.xml", data=form).status_code for _ in range(3)]
    assert codes == [201, 201, 429]
    response = client.post("/open311/v2/requests.json", data=form)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert response.get_json()[0]["code"] == 429


@pytest.fixture
def redis_app(app, database_url, redis_url):  # type: ignore[no-untyped-def]
    from tests.support.apps import make_test_app

    other = make_test_app(database_url, env={"REDIS_URL": redis_url})
    yield other
    limiter.init_app(app)  # give the session app its in-memory storage back


@pytest.mark.redis
def test_with_redis_the_counters_live_in_redis_and_hold_no_address(redis_app, redis_url, resident):
    import redis

    redis_app.config["REPORTS_RATE_LIMIT_USER"] = "1/minute"
    client = redis_app.test_client()
    with redis_app.app_context():
        first = client.post(
            "/api/v1/reports",
            json=BODY,
            headers=resident.headers,
            environ_base={"REMOTE_ADDR": "203.0.113.5"},
        )
        second = client.post(
            "/api/v1/reports",
            json=BODY,
            headers=resident.headers,
            environ_base={"REMOTE_ADDR": "203.0.113.5"},
        )
    assert (first.status_code, second.status_code) == (201, 429)
    assert "Retry-After" in second.headers
    connection = redis.Redis.from_url(redis_url)
    try:
        keys = [k.decode() for k in connection.keys("*")]
    finally:
        connection.close()
    assert any("safehaven" in k and f"user:{resident.id}" in k for k in keys), keys
    assert not any("203.0.113.5" in k for k in keys)
