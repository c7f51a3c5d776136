"""Limits and guards: failed sign-ins are rate limited (429 + Retry-After) without locking out
valid tokens; secrets handed to clients are unguessable and not enumerable."""

from __future__ import annotations

import math
import re
from collections import Counter

import pytest

from backend.extensions import limiter


@pytest.fixture
def low_auth_limit(app):  # type: ignore[no-untyped-def]
    app.config["AUTH_FAILURE_RATE_LIMIT"] = "3/minute"
    limiter.reset()
    yield
    app.config.pop("AUTH_FAILURE_RATE_LIMIT")
    limiter.reset()


def test_bad_tokens_beyond_the_limit_get_429_with_retry_after(client, low_auth_limit):
    codes = [
        client.get("/api/v1/me", headers={"Authorization": f"Bearer dev.forged{i}"})
        for i in range(5)
    ]
    assert [r.status_code for r in codes] == [401, 401, 401, 429, 429]
    refused = codes[-1]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert set(refused.get_json()) == {"code", "status", "message", "errors"}


def test_a_valid_token_from_the_same_address_is_never_locked_out(client, resident, low_auth_limit):
    for i in range(6):
        client.get("/api/v1/me", headers={"Authorization": f"Bearer dev.forged{i}"})
    # Many residents share one carrier-NAT address: a stranger's failures must not block them.
    assert client.get("/api/v1/me", headers=resident.headers).status_code == 200


def _bits_of_entropy(samples: list[str]) -> float:
    """Shannon entropy per symbol over all samples, times the length: an estimate that a
    short or patterned secret fails."""
    counts = Counter("".join(samples))
    total = sum(counts.values())
    per_symbol = -sum(c / total * math.log2(c / total) for c in counts.values())
    return per_symbol * min(len(s) for s in samples)


def assert_unguessable(secrets_: list[str], prefix: str = "") -> None:
    bodies = [s[len(prefix) :] for s in secrets_]
    assert len(set(bodies)) == len(bodies), "a secret repeated"
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+", b) for b in bodies), bodies[:3]
    # token_urlsafe: 6 bits per character; 128 bits need at least 22 characters.
    assert min(len(b) for b in bodies) * 6 >= 128
    assert _bits_of_entropy(bodies) >= 128
    # Not enumerable: no shared prefix beyond chance and no ordering by issue time.
    assert len({b[:4] for b in bodies}) > len(bodies) * 0.9
    assert bodies != sorted(bodies)


def test_open311_api_keys_are_unguessable(app):
    from backend.open311 import service

    keys = [service.create_key(f"client {i}")[1] for i in range(40)]
    assert_unguessable(keys, prefix=service.KEY_PREFIX)


def test_a_wrong_open311_key_is_refused_without_saying_which_keys_exist(client, app):
    from backend.open311 import service

    key = service.create_key("FixMyStreet")[1]
    near_miss = key[:-1] + ("A" if key[-1] != "A" else "B")
    form = {"service_code": "asb", "lat": "53.55", "long": "-2.63", "description": "x"}
    wrong = client.post("/open311/v2/requests.json", data={**form, "api_key": near_miss})
    unknown = client.post("/open311/v2/requests.json", data={**form, "api_key": "nope"})
    assert wrong.status_code == unknown.status_code == 403
    assert wrong.get_json() == unknown.get_json()  # same answer: nothing to enumerate


def _retry_after(response) -> int:  # type: ignore[no-untyped-def]
    assert response.status_code == 429
    assert set(response.get_json()) == {"code", "status", "message", "errors"}
    return int(response.headers["Retry-After"])


def test_invitations_are_rate_limited_per_person(client, resident, other_resident):
    codes = [
        client.post("/api/v1/contacts/invitations", headers=resident.headers).status_code
        for _ in range(31)
    ]
    assert codes[:30] == [201] * 30 and codes[30] == 429
    refused = client.post("/api/v1/contacts/invitations", headers=resident.headers)
    assert _retry_after(refused) >= 1
    # Someone else is not affected.
    other = client.post("/api/v1/contacts/invitations", headers=other_resident.headers)
    assert other.status_code == 201


def test_guessing_invitation_codes_is_refused_then_rate_limited(client, other_resident):
    answers = [
        client.post(
            f"/api/v1/contacts/invitations/guess{i:04d}/accept", headers=other_resident.headers
        )
        for i in range(21)
    ]
    assert {r.status_code for r in answers[:20]} == {404}
    assert _retry_after(answers[20]) >= 1


def test_sos_is_limited_only_against_floods(client, resident, other_resident):
    from tests.support.journeys import befriend, start_journey

    befriend(client, resident, other_resident)
    journey = start_journey(client, resident, [other_resident])
    presses = [
        client.post(f"/api/v1/journeys/{journey['id']}/sos", headers=resident.headers)
        for _ in range(11)
    ]
    assert [p.status_code for p in presses[:10]] == [200] * 10
    assert _retry_after(presses[10]) >= 1


def test_the_live_fix_route_is_filtered_out_of_rate_limiting_and_others_are_not(app):
    """The fix route has no limit; flask-limiter is told so up front instead of working it
    out on every request. Routes with limits (SOS above) are still checked."""
    from backend.journeys.routes import live_fix_request

    with app.test_request_context("/api/v1/journeys/1/locations", method="POST"):
        assert live_fix_request()
    for path in ("/api/v1/journeys/1/sos", "/api/v1/journeys/1", "/watch/x"):
        with app.test_request_context(path, method="POST" if path.endswith("sos") else "GET"):
            assert not live_fix_request()


def test_watch_link_guessing_is_rate_limited_per_address(client):
    answers = [client.get(f"/watch/guess-{i}") for i in range(121)]
    assert {r.status_code for r in answers[:120]} <= {404, 410}
    assert answers[120].status_code == 429
    assert int(answers[120].headers["Retry-After"]) >= 1


def test_invitation_codes_and_watch_tokens_are_unguessable(client, resident, make_person):
    from tests.support.journeys import befriend, start_journey

    codes = [
        client.post("/api/v1/contacts/invitations", headers=resident.headers).get_json()["code"]
        for _ in range(25)
    ]
    assert_unguessable(codes)
    tokens = []
    for i in range(25):
        owner = make_person(f"walker-{i}")
        friend = make_person(f"friend-{i}")
        befriend(client, owner, friend)
        journey = start_journey(client, owner, [friend], watch_link=True)
        tokens.append(journey["watch_url"].rstrip("/").rsplit("/", 1)[-1])
    assert_unguessable(tokens)
