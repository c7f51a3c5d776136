"""Delivery claims and the FCM client's limits: a claim is exclusive and leased, a dead
worker's claim comes due again when the lease ends, each answer is recorded on its own,
Retry-After and backoff are honoured, and one send is one request with a bounded timeout
(a loopback stand-in for fcm.googleapis.com, reached through ``SAFEHAVEN_FCM_ENDPOINT``'s
code path)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from backend.alerts import fcm, service
from backend.alerts.models import AlertDelivery
from backend.alerts.worker import run_once
from backend.extensions import db
from tests.support.fcm import FCMStandIn
from tests.support.journeys import befriend, start_journey

PROJECT = "demo-safehaven"
TOKENS = ["claims-phone-token-" + c * 40 for c in "abc"]


@pytest.fixture
def three_deliveries(app, client, resident, other_resident):  # type: ignore[no-untyped-def]
    """An SOS from alice to bob's three devices, fanned out but not yet sent."""
    befriend(client, resident, other_resident)
    for token in TOKENS:
        client.post("/api/v1/me/devices", json={"token": token}, headers=other_resident.headers)
    journey = start_journey(client, resident, [other_resident])
    client.post(f"/api/v1/journeys/{journey['id']}/sos", headers=resident.headers)
    assert run_once(app)["expanded"] == 1  # no pusher: fan-out only
    return sorted(db.session.scalars(select(AlertDelivery.id)))


@pytest.fixture
def stand_in():  # type: ignore[no-untyped-def]
    with FCMStandIn(PROJECT, retry_after_s=120) as server:
        yield server
    fcm.forget_apps()


def pusher_at(server: FCMStandIn, timeout_s: float = 0.5) -> service.Pusher:
    return fcm.pusher_for(PROJECT, endpoint=server.url, timeout_s=timeout_s)


def test_claims_are_exclusive_and_a_dead_workers_claim_comes_due_when_its_lease_ends(
    app, three_deliveries, stand_in
):
    now = datetime.now(UTC)
    hold = service.lease(1.0)
    first, ids = service.claim_due(now, hold, limit=2)
    second, rest = service.claim_due(now, hold, limit=2)
    assert (ids, rest) == (three_deliveries[:2], three_deliveries[2:])
    assert service.claim_due(now, hold)[1] == []
    assert first != second and first.split(":")[:2] == second.split(":")[:2]  # host:pid
    # Both "workers" die without recording anything: nothing is sent before the lease ends.
    pusher = pusher_at(stand_in)
    assert run_once(app, pusher, now=now + hold - timedelta(seconds=1))["sent"] == 0
    assert stand_in.exchanges == []
    assert run_once(app, pusher, now=now + hold)["sent"] == 3
    rows = db.session.scalars(select(AlertDelivery)).all()
    assert {(r.status, r.attempts) for r in rows} == {("sent", 2)}  # the lost claim counted


def test_each_answer_is_recorded_as_it_arrives(app, three_deliveries, stand_in):
    """FCM holds its answer to one send until the database shows the other two as sent:
    recording per message lets that happen; recording per batch would never."""
    held = TOKENS[0]
    engine = db.engine
    seen_while_held: list[int] = []

    def hold_until_the_others_are_recorded(exchange):  # type: ignore[no-untyped-def]
        if exchange.pair[0] != held:
            return None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                sent = conn.scalar(select(func.count()).where(AlertDelivery.status == "sent"))
            if sent == 2:
                break
            time.sleep(0.02)
        seen_while_held.append(sent)
        return "ok"

    stand_in.on_request = hold_until_the_others_are_recorded
    summary = run_once(app, pusher_at(stand_in, timeout_s=60), now=datetime.now(UTC))
    assert summary["sent"] == 3
    assert seen_while_held == [2]


def test_a_stalled_send_is_given_up_at_the_timeout_and_released(app, three_deliveries, stand_in):
    stalled = TOKENS[0]
    stand_in.plan = lambda e: "timeout" if e.pair[0] == stalled else None
    summary = run_once(app, pusher_at(stand_in, timeout_s=0.5), now=datetime.now(UTC))
    assert (summary["sent"], summary["retry"]) == (2, 1)
    stalls = stand_in.settled([e for e in stand_in.exchanges if e.pair[0] == stalled])
    assert len(stalls) == 1 and stalls[0].abandoned  # one request, and the worker hung up
    row = db.session.scalar(select(AlertDelivery).where(AlertDelivery.token == stalled))
    assert row.status == "pending" and row.attempts == 1
    assert "DeadlineExceeded" in row.last_error
    assert row.claimed_by is None  # the lease is released: due again after the backoff


def test_retry_after_is_honoured_and_a_500_is_not_retried_inside_the_call(
    app, three_deliveries, stand_in
):
    faults = {TOKENS[0]: "429", TOKENS[1]: "500"}
    stand_in.plan = lambda e: faults.get(e.pair[0]) if e.attempt == 1 else None
    pusher = pusher_at(stand_in)
    now = datetime.now(UTC)
    summary = run_once(app, pusher, now=now)
    assert (summary["sent"], summary["retry"]) == (1, 2)
    assert len(stand_in.exchanges) == 3  # one request per send: no hidden transport retries
    due = {
        d.token: d.next_attempt_at - now
        for d in db.session.scalars(select(AlertDelivery).where(AlertDelivery.status == "pending"))
    }
    assert due == {TOKENS[0]: timedelta(seconds=120), TOKENS[1]: service.backoff(1)}
    assert run_once(app, pusher, now=now + service.backoff(1))["sent"] == 1
    assert run_once(app, pusher, now=now + timedelta(seconds=119))["sent"] == 0
    assert run_once(app, pusher, now=now + timedelta(seconds=120))["sent"] == 1
    assert len(stand_in.exchanges) == 5


def test_retry_after_as_seconds_or_an_http_date():
    class Answer:
        def __init__(self, value):  # type: ignore[no-untyped-def]
            self.headers = {"Retry-After": value} if value is not None else {}

    class Failure(Exception):
        def __init__(self, value):  # type: ignore[no-untyped-def]
            self.http_response = Answer(value)

    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert fcm.retry_after_seconds(Failure("30"), now) == 30
    assert fcm.retry_after_seconds(Failure("Sun, 22 Nov 2026 12:01:30 GMT"), now) == 90
    assert fcm.retry_after_seconds(Failure("Sun, 22 Nov 2026 11:00:00 GMT"), now) == 0
    assert fcm.retry_after_seconds(Failure("999999"), now) == service.MAX_RETRY_AFTER_S
    for useless in (None, "", "soon", "nan"):
        assert fcm.retry_after_seconds(Failure(useless), now) is None
    assert fcm.retry_after_seconds(ValueError("no response"), now) is None
