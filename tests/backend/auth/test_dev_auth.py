"""Dev tokens, users created on first sight, and role grants."""

from __future__ import annotations

import time

import pytest

from backend.auth.service import mint_dev_token


def test_me_with_a_dev_token_answers_the_user(client, app):
    token = mint_dev_token(app.config["SECRET_KEY"], "first-sight-user", "resident")
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["uid"] == "first-sight-user" and body["role"] == "resident"
    again = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert again["id"] == body["id"]


def test_a_token_signed_with_another_secret_is_refused(client):
    forged = mint_dev_token("another-secret", "mallory", "admin")
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    )


def test_a_tampered_token_is_refused(client, resident):
    head, payload, rest = resident.token.split(".", 2)
    tampered = f"{head}.{payload[:-2]}xx.{rest}"
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {tampered}"}).status_code == 401
    )


def test_dev_tokens_are_refused_in_firebase_mode(database_url, resident):
    from tests.support.apps import make_test_app

    firebase_app = make_test_app(
        database_url, env={"SAFEHAVEN_AUTH": "firebase", "FIREBASE_PROJECT_ID": "demo-safehaven"}
    )
    response = firebase_app.test_client().get("/api/v1/me", headers=resident.headers)
    assert response.status_code == 401
    assert "dev tokens" in response.get_json()["message"]


def test_the_dev_token_role_applies_only_at_first_sight(client, app, resident):
    promoted = mint_dev_token(app.config["SECRET_KEY"], resident.uid, "admin")
    body = client.get("/api/v1/me", headers={"Authorization": f"Bearer {promoted}"}).get_json()
    assert body["role"] == "resident"


def test_an_admin_grants_and_removes_roles(client, admin, resident):
    response = client.put(
        f"/api/v1/users/{resident.id}/role", json={"role": "venue_staff"}, headers=admin.headers
    )
    assert response.status_code == 200 and response.get_json()["role"] == "venue_staff"
    assert client.get("/api/v1/me", headers=resident.headers).get_json()["role"] == "venue_staff"
    staff = client.get("/api/v1/users?role=venue_staff", headers=admin.headers).get_json()
    assert [u["id"] for u in staff] == [resident.id]
    client.put(
        f"/api/v1/users/{resident.id}/role", json={"role": "resident"}, headers=admin.headers
    )
    assert client.get("/api/v1/me", headers=resident.headers).get_json()["role"] == "resident"


def test_a_resident_cannot_grant_roles_even_to_themselves(client, resident):
    response = client.put(
        f"/api/v1/users/{resident.id}/role", json={"role": "admin"}, headers=resident.headers
    )
    assert response.status_code == 403
    assert client.get("/api/v1/me", headers=resident.headers).get_json()["role"] == "resident"


def test_an_admin_cannot_demote_themselves(client, admin):
    response = client.put(
        f"/api/v1/users/{admin.id}/role", json={"role": "resident"}, headers=admin.headers
    )
    assert response.status_code == 422


def test_granting_an_unknown_role_or_user(client, admin):
    assert (
        client.put(
            "/api/v1/users/999999/role", json={"role": "admin"}, headers=admin.headers
        ).status_code
        == 404
    )
    response = client.put(
        f"/api/v1/users/{admin.id}/role", json={"role": "overlord"}, headers=admin.headers
    )
    assert response.status_code == 422 and "role" in response.get_json()["errors"]


def test_a_disabled_user_is_refused(client, resident):
    from backend.auth.models import User
    from backend.extensions import db

    db.session.get(User, resident.id).disabled = True
    db.session.commit()
    assert client.get("/api/v1/me", headers=resident.headers).status_code == 401


def test_residents_set_their_home_ward(client, resident):
    response = client.patch(
        "/api/v1/me",
        json={"ward_code": "E05014989", "display_name": "Alice"},
        headers=resident.headers,
    )
    assert response.status_code == 200
    assert response.get_json()["ward_code"] == "E05014989"


def test_a_verified_dev_token_is_refused_once_it_expires(client, resident, monkeypatch):
    """Verified dev tokens are remembered, but only while their signature is within its
    maximum age: an expired one is refused even after it was accepted."""
    from backend.auth import service

    assert client.get("/api/v1/me", headers=resident.headers).status_code == 200
    assert any(key[0] == resident.token for key in service._dev_verified)
    later = time.time() + service.DEV_TOKEN_MAX_AGE + 2
    monkeypatch.setattr(service.time, "time", lambda: later)
    response = client.get("/api/v1/me", headers=resident.headers)
    assert response.status_code == 401 and "expired" in response.get_json()["message"]


def test_a_remembered_dev_token_is_not_accepted_under_another_secret(app, resident):
    from backend.auth.service import verify_token
    from backend.errors import Unauthorized

    secret = app.config["SECRET_KEY"]
    assert verify_token(resident.token, mode="dev", secret=secret, project_id=None)["uid"] == (
        resident.uid
    )
    with pytest.raises(Unauthorized):
        verify_token(resident.token, mode="dev", secret=secret + "-rotated", project_id=None)
    with pytest.raises(Unauthorized):
        verify_token(resident.token, mode="firebase", secret=secret, project_id="demo")


def test_the_dev_token_memory_is_bounded(app, monkeypatch):
    from backend.auth import service

    monkeypatch.setattr(service, "DEV_TOKEN_CACHE_SIZE", 3)
    monkeypatch.setattr(service, "_dev_verified", {})
    secret = app.config["SECRET_KEY"]
    tokens = [mint_dev_token(secret, f"bounded-{n}") for n in range(5)]
    for token in tokens:
        assert service.verify_token(token, mode="dev", secret=secret, project_id=None)
    assert [key[0] for key in service._dev_verified] == tokens[2:]
