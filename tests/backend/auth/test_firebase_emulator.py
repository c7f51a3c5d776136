"""Firebase mode against the real Auth emulator: signed-in users are accepted; revoked,
disabled, wrong-project and forged tokens get 401."""

from __future__ import annotations

import base64
import json
import time

import pytest
from firebase_admin import auth as fb_auth

from backend.auth.service import firebase_app
from tests.support.apps import make_test_app
from tests.support.firebase_emulator import PROJECT_ID

pytestmark = pytest.mark.firebase


@pytest.fixture(scope="module")
def emulator(firebase_emulator):  # type: ignore[no-untyped-def]
    """The session's Auth emulator (tests/conftest.py), emptied for this module."""
    firebase_emulator.reset()
    return firebase_emulator


@pytest.fixture
def firebase_client(app, emulator, database_url):
    emulator.reset()
    fb_app = make_test_app(
        database_url, env={"SAFEHAVEN_AUTH": "firebase", "FIREBASE_PROJECT_ID": PROJECT_ID}
    )
    return fb_app.test_client()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_signed_in_user_is_accepted_and_created_on_first_sight(firebase_client, emulator):
    account = emulator.sign_up("resident@example.test")
    response = firebase_client.get("/api/v1/me", headers=bearer(account["idToken"]))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["uid"] == account["localId"]
    assert body["role"] == "resident"
    assert body["email"] == "resident@example.test"
    again = firebase_client.get(
        "/api/v1/me", headers=bearer(emulator.sign_in("resident@example.test")["idToken"])
    )
    assert again.get_json()["id"] == body["id"]


def test_the_role_custom_claim_sets_the_role_at_first_sight(firebase_client, emulator):
    account = emulator.sign_up("staff@example.test")
    fb_auth.set_custom_user_claims(
        account["localId"], {"role": "venue_staff"}, app=firebase_app(PROJECT_ID)
    )
    token = emulator.sign_in("staff@example.test")["idToken"]
    assert (
        firebase_client.get("/api/v1/me", headers=bearer(token)).get_json()["role"] == "venue_staff"
    )


def test_an_admin_grant_writes_the_custom_claim(firebase_client, emulator):
    admin = emulator.sign_up("admin@example.test")
    fb_auth.set_custom_user_claims(
        admin["localId"], {"role": "admin"}, app=firebase_app(PROJECT_ID)
    )
    admin_token = emulator.sign_in("admin@example.test")["idToken"]
    resident = emulator.sign_up("promoted@example.test")
    resident_id = firebase_client.get("/api/v1/me", headers=bearer(resident["idToken"])).get_json()[
        "id"
    ]
    firebase_client.get("/api/v1/me", headers=bearer(admin_token))
    response = firebase_client.put(
        f"/api/v1/users/{resident_id}/role",
        json={"role": "venue_staff"},
        headers=bearer(admin_token),
    )
    assert response.status_code == 200, response.get_json()
    claims = fb_auth.get_user(resident["localId"], app=firebase_app(PROJECT_ID)).custom_claims
    assert claims == {"role": "venue_staff"}


def test_a_revoked_token_gets_401(firebase_client, emulator):
    account = emulator.sign_up("revoked@example.test")
    token = account["idToken"]
    assert firebase_client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    time.sleep(1.1)  # revocation has one-second resolution: the token must predate it
    fb_auth.revoke_refresh_tokens(account["localId"], app=firebase_app(PROJECT_ID))
    response = firebase_client.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 401
    assert "revoked" in response.get_json()["message"]


def test_a_disabled_account_gets_401(firebase_client, emulator):
    account = emulator.sign_up("disabled@example.test")
    fb_auth.update_user(account["localId"], disabled=True, app=firebase_app(PROJECT_ID))
    response = firebase_client.get("/api/v1/me", headers=bearer(account["idToken"]))
    assert response.status_code == 401
    assert "disabled" in response.get_json()["message"]


def test_a_token_for_another_project_gets_401(app, emulator, database_url):
    emulator.reset()
    other = make_test_app(
        database_url,
        env={"SAFEHAVEN_AUTH": "firebase", "FIREBASE_PROJECT_ID": "demo-other-project"},
    )
    account = emulator.sign_up("elsewhere@example.test")
    response = other.test_client().get("/api/v1/me", headers=bearer(account["idToken"]))
    assert response.status_code == 401


def _unsigned(claims: dict) -> str:
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


@pytest.mark.parametrize("kind", ["garbage", "wrong-issuer", "unknown-user", "tampered"])
def test_forged_tokens_get_401(firebase_client, emulator, kind):
    account = emulator.sign_up("target@example.test")
    now = int(time.time())
    claims = {
        "iss": f"https://securetoken.google.com/{PROJECT_ID}",
        "aud": PROJECT_ID,
        "auth_time": now,
        "iat": now,
        "exp": now + 3600,
        "sub": "no-such-user",
        "user_id": "no-such-user",
    }
    if kind == "garbage":
        token = "not.a.jwt"
    elif kind == "wrong-issuer":
        token = _unsigned(
            {
                **claims,
                "iss": "https://evil.example",
                "sub": account["localId"],
                "user_id": account["localId"],
            }
        )
    elif kind == "unknown-user":
        token = _unsigned(claims)
    else:
        head, payload, sig = account["idToken"].split(".")
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        data["aud"] = "demo-other-project"
        token = f"{head}.{base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b'=').decode()}.{sig}"
    assert firebase_client.get("/api/v1/me", headers=bearer(token)).status_code == 401
