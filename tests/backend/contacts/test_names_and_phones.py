"""People, not ids: contacts carry names, a phone number only where its owner chose to share
it with that contact, and "who has seen my location" answers names and UK times."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backend.auth.models import User
from backend.contacts import service
from backend.extensions import db
from tests.support.journeys import befriend, start_journey


def contacts_of(client, person):  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/contacts", headers=person.headers)
    assert response.status_code == 200
    return response.get_json()


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("07911 123456", "+447911123456"),
        ("+44 7911 123456", "+447911123456"),
        ("01942 244991", "+441942244991"),  # a Wigan landline
        ("+33 6 12 34 56 78", "+33612345678"),
    ],
)
def test_a_phone_number_is_stored_as_e164(client, resident, given, stored):
    response = client.patch("/api/v1/me", json={"phone": given}, headers=resident.headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["phone"] == stored
    cleared = client.patch("/api/v1/me", json={"phone": None}, headers=resident.headers)
    assert cleared.get_json()["phone"] is None


@pytest.mark.parametrize("bad", ["12", "not a number", "07911 1234564567", "+999 123", "x" * 40])
def test_a_bad_phone_number_is_a_422_in_the_error_shape(client, resident, bad):
    response = client.patch("/api/v1/me", json={"phone": bad}, headers=resident.headers)
    assert response.status_code == 422
    body = response.get_json()
    assert set(body) == {"code", "status", "message", "errors"} and "phone" in body["errors"]
    assert db.session.get(User, resident.id).phone is None


def test_a_blank_display_name_is_refused(client, resident):
    response = client.patch("/api/v1/me", json={"display_name": "   "}, headers=resident.headers)
    assert response.status_code == 422 and "display_name" in response.get_json()["errors"]


def test_contacts_carry_names_and_a_phone_only_when_shared_with_you(
    client, resident, other_resident, make_person
):
    carol = make_person("resident-carol")
    named = client.patch(
        "/api/v1/me",
        json={"display_name": "Bob", "phone": "07912 654321"},
        headers=other_resident.headers,
    )
    assert named.status_code == 200, named.get_json()
    client.patch("/api/v1/me", json={"phone": "07911 222333"}, headers=resident.headers)
    link = befriend(client, resident, other_resident)  # alice trusts bob
    befriend(client, carol, other_resident)  # carol trusts bob too

    mine = contacts_of(client, resident)["trusted"]
    assert [(c["user_id"], c["display_name"], c["phone"], c["share_phone"]) for c in mine] == [
        (other_resident.id, "Bob", None, False)
    ]
    # bob shares his number with alice only
    shared = client.patch(
        f"/api/v1/contacts/{link}", json={"share_phone": True}, headers=other_resident.headers
    )
    assert shared.status_code == 200 and shared.get_json()["share_phone"] is True
    assert shared.get_json()["display_name"] == "Unnamed contact"  # alice, as bob sees her
    assert contacts_of(client, resident)["trusted"][0]["phone"] == "+447912654321"
    assert contacts_of(client, carol)["trusted"][0]["phone"] is None
    # alice has not shared hers: bob sees no number
    assert contacts_of(client, other_resident)["trusted_by"][0]["phone"] is None
    # a stranger can neither change nor learn anything about the link
    stranger = client.patch(
        f"/api/v1/contacts/{link}", json={"share_phone": True}, headers=carol.headers
    )
    assert stranger.status_code == 404
    bad = client.patch(
        f"/api/v1/contacts/{link}", json={"share_phone": "maybe"}, headers=other_resident.headers
    )
    assert bad.status_code == 422 and "share_phone" in bad.get_json()["errors"]
    # ending the link ends the sharing
    client.delete(f"/api/v1/contacts/{link}", headers=resident.headers)
    again = client.patch(
        f"/api/v1/contacts/{link}", json={"share_phone": True}, headers=other_resident.headers
    )
    assert again.status_code == 409


def test_who_has_seen_my_location_answers_names_and_uk_times(
    client, resident, other_resident, make_person
):
    client.patch("/api/v1/me", json={"display_name": "Bob"}, headers=other_resident.headers)
    befriend(client, resident, other_resident)
    journey = start_journey(client, resident, [other_resident], watch_link=True)
    summer = datetime(2026, 7, 1, 3, 37, tzinfo=UTC)  # 04:37 British Summer Time
    service.record_view(resident.id, "api", viewer_id=other_resident.id, now=summer)
    token = journey["watch_url"].rsplit("/", 1)[-1]
    client.get(f"/watch/{token}/events", buffered=False).close()
    views = client.get("/api/v1/contacts/views", headers=resident.headers).get_json()
    assert [v["who"] for v in views] == ["Someone with your watch link", "Bob"]
    assert views[1]["when"] == "Wed 1 Jul 04:37"
    assert len(views[0]["when"]) == 5 and views[0]["when"][2] == ":"  # today: "06:21"


def test_export_and_erasure_cover_the_phone(client, resident, other_resident):
    client.patch("/api/v1/me", json={"phone": "07911 123456"}, headers=resident.headers)
    link = befriend(client, resident, other_resident)
    client.patch(f"/api/v1/contacts/{link}", json={"share_phone": True}, headers=resident.headers)
    export = client.get("/api/v1/me/export", headers=resident.headers).get_json()
    assert export["profile"]["phone"] == "+447911123456"
    assert export["data"]["contacts"]["contacts"][0]["owner_shares_phone"] is True
    assert client.delete("/api/v1/me", headers=resident.headers).status_code == 200
    assert contacts_of(client, other_resident)["trusted_by"] == []
    assert db.session.query(User).filter(User.phone == "+447911123456").count() == 0
