"""Trusted contacts: invitations, mutual consent, revocation and the view audit trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend.contacts import service
from backend.contacts.models import Invitation
from backend.extensions import db
from tests.support.journeys import befriend


def test_invitation_code_is_long_random_and_only_its_hash_is_stored(client, resident):
    first = client.post("/api/v1/contacts/invitations", headers=resident.headers).get_json()
    second = client.post("/api/v1/contacts/invitations", headers=resident.headers).get_json()
    assert first["code"] != second["code"]
    assert len(first["code"]) >= 26  # 160 random bits in base64url
    assert first["link"].endswith(f"/api/v1/contacts/invitations/{first['code']}/accept")
    stored = db.session.get(Invitation, first["id"])
    assert stored.code_hash == service.hash_secret(first["code"])
    assert first["code"] not in stored.code_hash
    expires = datetime.fromisoformat(first["expires_at"])
    assert timedelta(hours=47, minutes=59) < expires - stored.created_at <= timedelta(hours=48)


def test_accepting_makes_a_link_visible_from_both_sides(client, resident, other_resident):
    link_id = befriend(client, resident, other_resident)
    mine = client.get("/api/v1/contacts", headers=resident.headers).get_json()
    theirs = client.get("/api/v1/contacts", headers=other_resident.headers).get_json()
    assert [c["id"] for c in mine["trusted"]] == [link_id] and mine["trusted_by"] == []
    assert mine["trusted"][0]["contact"]["id"] == other_resident.id
    assert [c["id"] for c in theirs["trusted_by"]] == [link_id] and theirs["trusted"] == []
    assert theirs["trusted_by"][0]["owner"]["id"] == resident.id


def test_an_invitation_is_single_use(client, resident, other_resident, make_person):
    code = client.post("/api/v1/contacts/invitations", headers=resident.headers).get_json()["code"]
    assert (
        client.post(
            f"/api/v1/contacts/invitations/{code}/accept", headers=other_resident.headers
        ).status_code
        == 201
    )
    third = make_person("resident-erin")
    again = client.post(f"/api/v1/contacts/invitations/{code}/accept", headers=third.headers)
    assert again.status_code == 410
    assert again.get_json()["code"] == 410


def test_an_invitation_expires_after_48_hours(app, resident, other_resident):
    from backend.auth.models import User

    inviter, invitee = db.session.get(User, resident.id), db.session.get(User, other_resident.id)
    start = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)
    _inv, code = service.create_invitation(inviter, now=start)
    with pytest.raises(service.Gone):
        service.accept_invitation(invitee, code, now=start + timedelta(hours=48, seconds=1))
    contact = service.accept_invitation(invitee, code, now=start + timedelta(hours=47, minutes=59))
    assert contact.status == "active"


@pytest.mark.parametrize("code", ["nope", "x" * 300, "A" * 27])
def test_unknown_codes_are_404(client, other_resident, code):
    response = client.post(
        f"/api/v1/contacts/invitations/{code}/accept", headers=other_resident.headers
    )
    assert response.status_code == 404
    assert set(response.get_json()) == {"code", "status", "message", "errors"}


def test_you_cannot_accept_your_own_invitation(client, resident):
    code = client.post("/api/v1/contacts/invitations", headers=resident.headers).get_json()["code"]
    response = client.post(f"/api/v1/contacts/invitations/{code}/accept", headers=resident.headers)
    assert response.status_code == 422
    assert "code" in response.get_json()["errors"]


def test_accepting_twice_through_two_invitations_conflicts(client, resident, other_resident):
    befriend(client, resident, other_resident)
    code = client.post("/api/v1/contacts/invitations", headers=resident.headers).get_json()["code"]
    response = client.post(
        f"/api/v1/contacts/invitations/{code}/accept", headers=other_resident.headers
    )
    assert response.status_code == 409


@pytest.mark.parametrize("who", ["owner", "contact"])
def test_either_side_can_revoke(client, resident, other_resident, who):
    link_id = befriend(client, resident, other_resident)
    actor = resident if who == "owner" else other_resident
    response = client.delete(f"/api/v1/contacts/{link_id}", headers=actor.headers)
    assert response.status_code == 200 and response.get_json()["status"] == "revoked"
    assert client.get("/api/v1/contacts", headers=resident.headers).get_json()["trusted"] == []
    assert (
        client.get("/api/v1/contacts", headers=other_resident.headers).get_json()["trusted_by"]
        == []
    )


def test_revoking_alerts_the_other_side_in_the_same_transaction(client, resident, other_resident):
    from backend.alerts.models import OutboxAlert

    link_id = befriend(client, resident, other_resident)
    client.delete(f"/api/v1/contacts/{link_id}", headers=other_resident.headers)
    alerts = db.session.query(OutboxAlert).all()
    assert [(a.kind, a.recipients, a.subject_user_id) for a in alerts] == [
        ("contact_revoked", f"[{resident.id}]", other_resident.id)
    ]


def test_a_stranger_cannot_revoke_someone_elses_link(client, resident, other_resident, make_person):
    link_id = befriend(client, resident, other_resident)
    stranger = make_person("resident-mallory")
    assert client.delete(f"/api/v1/contacts/{link_id}", headers=stranger.headers).status_code == 404
    assert (
        client.get("/api/v1/contacts", headers=resident.headers).get_json()["trusted"][0]["status"]
        == "active"
    )


def test_a_revoked_contact_can_be_invited_again(client, resident, other_resident):
    link_id = befriend(client, resident, other_resident)
    client.delete(f"/api/v1/contacts/{link_id}", headers=resident.headers)
    assert befriend(client, resident, other_resident) == link_id
    assert (
        client.get("/api/v1/contacts", headers=resident.headers).get_json()["trusted"][0]["status"]
        == "active"
    )


def test_contacts_need_sign_in(client):
    assert client.get("/api/v1/contacts").status_code == 401
    assert client.post("/api/v1/contacts/invitations").status_code == 401


def test_accepting_is_rate_limited_against_code_guessing(client, other_resident):
    statuses = [
        client.post(
            f"/api/v1/contacts/invitations/guess{i}/accept", headers=other_resident.headers
        ).status_code
        for i in range(21)
    ]
    assert statuses[:20] == [404] * 20
    assert statuses[20] == 429


def test_seeding_links_the_demo_users_once(app):
    from backend.auth.seed import seed_wigan as seed_users
    from backend.contacts.seed import seed_wigan

    lines: list[str] = []
    seed_wigan(lines.append)
    seed_users(lines.append)
    seed_wigan(lines.append)
    seed_wigan(lines.append)
    assert lines[0] == "contacts: imported 0, skipped 1 (demo users missing)"
    assert lines[2] == "contacts: imported 1 (demo-resident trusts demo-contact), skipped 0"
    assert lines[3] == "contacts: imported 0, skipped 1 (already linked)"
    assert db.session.query(service.Contact).count() == 1
