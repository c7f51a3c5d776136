"""Following a report: its reference, its history (closing and reopening), the push on every
status change or public note, and an anonymous report followed only with its receipt."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from backend.extensions import db
from backend.reports.models import Report
from tests.support.reports import WIGAN_CENTRAL

REFERENCE = re.compile(r"^WGN-[23456789ABCDEFGHJKLMNPQRSTUVWXYZ]{5}$")


def send(client, headers=None, **overrides):  # type: ignore[no-untyped-def]
    body = {
        "category": "knife_weapon",
        "description": "Lad showing a knife by the bus station",
        "lat": WIGAN_CENTRAL[0],
        "lon": WIGAN_CENTRAL[1],
        "anonymous": False,
    }
    body.update(overrides)
    response = client.post("/api/v1/reports", json=body, headers=headers or {})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_named_report_gets_a_reference_and_no_receipt(client, resident):
    sent = send(client, resident.headers)
    assert REFERENCE.match(sent["reference"])
    assert sent["receipt"] is None
    mine = client.get("/api/v1/reports/mine", headers=resident.headers).get_json()
    assert mine[0]["reference"] == sent["reference"]
    assert mine[0]["updates"][0]["kind"] == "received"


def test_references_are_unique(client, resident):
    references = [send(client, resident.headers)["reference"] for _ in range(5)]
    assert len(set(references)) == 5


def test_an_anonymous_report_is_followed_with_its_receipt_only(client, admin):
    sent = send(client, anonymous=True)
    receipt = sent["receipt"]
    assert receipt and len(receipt) >= 24
    stored = db.session.scalar(select(Report).where(Report.reference == sent["reference"]))
    assert stored.user_id is None
    assert receipt not in (stored.receipt_hash or "")  # only its hash is kept
    client.patch(
        f"/api/v1/reports/{sent['id']}",
        json={"status": "acknowledged", "public_note": "Officers are aware"},
        headers=admin.headers,
    )
    followed = client.post(
        "/api/v1/reports/follow",
        json={"reference": sent["reference"].lower().replace("-", " "), "receipt": receipt},
    )
    assert followed.status_code == 200, followed.get_json()
    body = followed.get_json()
    assert body["status"] == "acknowledged"
    assert body["public_note"] == "Officers are aware"
    assert [u["kind"] for u in body["updates"]] == ["received", "status"]
    assert "description" not in body


@pytest.mark.parametrize("which", ["receipt", "reference"])
def test_a_wrong_receipt_or_reference_finds_nothing(client, resident, which):
    anonymous = send(client, anonymous=True)
    named = send(client, resident.headers)
    body = {"reference": anonymous["reference"], "receipt": anonymous["receipt"]}
    if which == "receipt":
        body["receipt"] = "x" * 32
    else:
        body["reference"] = named["reference"]  # a named report has no receipt at all
    response = client.post("/api/v1/reports/follow", json=body)
    assert response.status_code == 404
    assert response.get_json()["code"] == 404


def test_closing_needs_a_public_note_and_reopening_a_reason_and_history_keeps_both(
    client, resident, admin
):
    sent = send(client, resident.headers)
    url = f"/api/v1/reports/{sent['id']}"
    refused = client.patch(url, json={"status": "closed"}, headers=admin.headers)
    assert refused.status_code == 422
    assert "public_note" in refused.get_json()["errors"]
    closed = client.patch(
        url, json={"status": "closed", "public_note": "Knife recovered"}, headers=admin.headers
    )
    assert closed.status_code == 200
    assert (
        client.post(f"{url}/reopen", json={"reason": ""}, headers=admin.headers).status_code == 422
    )
    reopened = client.post(
        f"{url}/reopen", json={"reason": "Seen again on Friday"}, headers=admin.headers
    )
    assert reopened.status_code == 200, reopened.get_json()
    assert reopened.get_json()["status"] == "in_progress"
    again = client.post(f"{url}/reopen", json={"reason": "twice"}, headers=admin.headers)
    assert again.status_code == 409
    steps = [(u["kind"], u["note"]) for u in reopened.get_json()["updates"]]
    assert steps == [
        ("received", None),
        ("closed", "Knife recovered"),
        ("reopened", "Seen again on Friday"),
    ]


def test_a_resident_cannot_reopen_or_follow_another_persons_report(
    client, resident, other_resident
):
    sent = send(client, resident.headers)
    assert (
        client.post(
            f"/api/v1/reports/{sent['id']}/reopen",
            json={"reason": "mine now"},
            headers=other_resident.headers,
        ).status_code
        == 403
    )
    theirs = client.get("/api/v1/reports/mine", headers=other_resident.headers).get_json()
    assert theirs == []


def test_a_public_note_and_a_reopening_each_push_to_the_reporter(app, client, resident, admin):
    import firebase_admin

    from backend.alerts.fcm import fcm_pusher
    from backend.alerts.worker import run_once
    from tests.support.fcm import intercepted_fcm

    token = "bob-phone-token-" + "b" * 60
    client.post("/api/v1/me/devices", json={"token": token}, headers=resident.headers)
    sent = send(client, resident.headers)
    url = f"/api/v1/reports/{sent['id']}"
    client.patch(url, json={"public_note": "We have passed this on"}, headers=admin.headers)
    client.patch(url, json={"status": "closed", "public_note": "Done"}, headers=admin.headers)
    client.post(f"{url}/reopen", json={"reason": "Another sighting"}, headers=admin.headers)
    fb_app, fake = intercepted_fcm("reports-follow-pushes")
    try:
        run_once(app, fcm_pusher(fb_app))
    finally:
        firebase_admin.delete_app(fb_app)
    notes = sorted(
        (m["message"]["notification"]["title"], m["message"]["notification"]["body"])
        for m in fake.requests
    )
    ref = sent["reference"]
    assert notes == sorted(
        [
            (f"Your report {ref}: received", "We have passed this on"),
            (f"Your report {ref}: closed", "Done"),
            (f"Your report {ref}: reopened", "Another sighting"),
        ]
    )
    assert {m["message"]["token"] for m in fake.requests} == {token}
