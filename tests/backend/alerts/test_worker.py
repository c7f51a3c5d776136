"""The worker as a command and as the embedded background thread."""

from __future__ import annotations

import time

from sqlalchemy import select

from backend.alerts.models import AlertDelivery, OutboxAlert
from backend.alerts.worker import WorkerThread
from backend.extensions import db
from tests.support.journeys import befriend, start_journey


def test_worker_command_runs_one_pass(app, client, resident, other_resident):
    befriend(client, resident, other_resident)
    journey = start_journey(client, resident, [other_resident])
    client.post(f"/api/v1/journeys/{journey['id']}/arrived", headers=resident.headers)
    result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "FIREBASE_PROJECT_ID not set" in result.output
    assert "expanded=1" in result.output
    db.session.expire_all()
    assert db.session.scalars(select(OutboxAlert)).one().status == "expanded"


def test_the_embedded_thread_delivers_until_stopped(app, client, resident, other_resident):
    from backend.alerts.service import SendResult

    pushed: list[dict] = []

    def pusher(item):  # type: ignore[no-untyped-def]
        pushed.append(item)
        return SendResult(True, message_id=f"m{len(pushed)}")

    befriend(client, resident, other_resident)
    client.post(
        "/api/v1/me/devices",
        json={"token": "thread-token-" + "t" * 30},
        headers=other_resident.headers,
    )
    journey = start_journey(client, resident, [other_resident])
    thread = WorkerThread(app, interval=0.05, pusher=pusher)
    thread.start()
    try:
        client.post(f"/api/v1/journeys/{journey['id']}/sos", headers=resident.headers)
        deadline = time.monotonic() + 10
        while not pushed and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        thread.stop()
    assert not thread.is_alive()
    assert [(p["token"], p["data"]["kind"]) for p in pushed] == [
        ("thread-token-" + "t" * 30, "sos")
    ]
    db.session.expire_all()
    assert db.session.scalars(select(AlertDelivery)).one().status == "sent"
