"""FCM device tokens: a token stays with the account that registered it, so knowing someone's
token cannot move their alerts (SOS, arrival, overdue) to another phone or account."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.account.models import Device
from backend.extensions import db
from tests.support.journeys import befriend, start_journey

TOKEN = "fcm-token-of-alices-phone-" + "a" * 40


def register(client, person, token=TOKEN):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/me/devices", json={"token": token, "platform": "android"}, headers=person.headers
    )


def owner_of(token: str) -> int | None:
    return db.session.scalar(select(Device.user_id).where(Device.token == token))


def test_a_token_registered_by_another_account_is_refused_and_stays_put(
    client, resident, other_resident
):
    assert register(client, resident).status_code == 201
    taken = register(client, other_resident)
    body = taken.get_json()
    assert taken.status_code == 409
    assert body["code"] == 409 and body["errors"] == {"token": ["registered to another account"]}
    db.session.expire_all()
    assert owner_of(TOKEN) == resident.id


def test_the_owner_refreshes_their_own_token(client, resident):
    first = register(client, resident)
    again = client.post(
        "/api/v1/me/devices", json={"token": TOKEN, "platform": "ios"}, headers=resident.headers
    )
    assert again.status_code == 201 and again.get_json()["id"] == first.get_json()["id"]
    assert again.get_json()["platform"] == "ios"


def test_once_the_owner_removes_it_another_account_may_register_it(
    client, resident, other_resident
):
    device_id = register(client, resident).get_json()["id"]
    # nobody else can remove it
    refused = client.delete(f"/api/v1/me/devices/{device_id}", headers=other_resident.headers)
    assert refused.status_code == 404
    assert register(client, other_resident).status_code == 409
    removed = client.delete(f"/api/v1/me/devices/{device_id}", headers=resident.headers)
    assert removed.status_code == 204
    assert register(client, other_resident).status_code == 201
    db.session.expire_all()
    assert owner_of(TOKEN) == other_resident.id


@pytest.mark.parametrize("device_id", [999, 2**31])
def test_removing_an_unknown_device_is_404(client, resident, device_id):
    response = client.delete(f"/api/v1/me/devices/{device_id}", headers=resident.headers)
    assert response.status_code == 404 and response.get_json()["code"] == 404


def test_an_sos_alert_goes_to_the_owners_phone_not_to_whoever_sent_the_token_again(
    app, client, resident, other_resident, make_person
):
    """Mallory learns Bob's token and registers it: Alice's SOS still reaches Bob's phone
    (the exact FCM request is checked), and Mallory's account holds no device."""
    import firebase_admin

    from backend.alerts.fcm import fcm_pusher
    from backend.alerts.worker import run_once
    from tests.support.fcm import intercepted_fcm

    mallory = make_person("mallory", "resident")
    bob = other_resident
    assert register(client, bob).status_code == 201
    assert register(client, mallory).status_code == 409
    befriend(client, resident, bob)
    journey = start_journey(client, resident, [bob])
    sos = client.post(f"/api/v1/journeys/{journey['id']}/sos", headers=resident.headers)
    assert sos.status_code == 200
    fcm_app, fake = intercepted_fcm("test-token-stays-with-bob")
    try:
        assert run_once(app, fcm_pusher(fcm_app))["sent"] == 1
    finally:
        firebase_admin.delete_app(fcm_app)
    (request,) = fake.requests
    assert request["message"]["token"] == TOKEN
    assert request["message"]["data"]["kind"] == "sos"
    assert db.session.scalars(select(Device).where(Device.user_id == mallory.id)).all() == []
