"""Firebase mode against the real Auth emulator: signed-in users are accepted; revoked,
disabled, wrong-project and forged tokens get 401; an account's revocation state is looked up
once per ``SAFEHAVEN_FIREBASE_REVOCATION_CHECK_S``, or on every request with 0."""

from __future__ import annotations

import base64
import json
import time

import pytest
from firebase_admin import auth as fb_auth

from backend.auth import service as auth_service
from backend.auth.service import firebase_app
from tests.support.apps import make_test_app
from tests.support.firebase_emulator import PROJECT_ID

pytestmark = pytest.mark.firebase


@pytest.fixture(scope="module")
def emulator(firebase_emulator):  # type: ignore[no-untyped-def]
    """The session's Auth emulator (tests/conftest.py), emptied for this module."""
    firebase_emulator.reset()
    return firebase_emulator


@pytest.fixture(autouse=True)
def fresh_revocation_states():  # type: ignore[no-untyped-def]
    auth_service.clear_revocation_cache()
    yield
    auth_service.clear_revocation_cache()


def firebase_test_client(database_url: str, **env: str):  # type: ignore[no-untyped-def]
    fb_app = make_test_app(
        database_url,
        env={"SAFEHAVEN_AUTH": "firebase", "FIREBASE_PROJECT_ID": PROJECT_ID, **env},
    )
    return fb_app.test_client()


@pytest.fixture
def firebase_client(app, emulator, database_url):
    """Firebase mode with the default revocation check (one lookup a minute per account)."""
    emulator.reset()
    return firebase_test_client(database_url)


@pytest.fixture
def always_checking_client(app, emulator, database_url):
    """Firebase mode looking the account up on every request."""
    emulator.reset()
    return firebase_test_client(database_url, SAFEHAVEN_FIREBASE_REVOCATION_CHECK_S="0")


@pytest.fixture(params=["every request", "once a minute"])
def client_in_each_mode(request, app, emulator, database_url):
    """Firebase mode looking the account up on every request, then once a minute."""
    emulator.reset()
    every = (
        {"SAFEHAVEN_FIREBASE_REVOCATION_CHECK_S": "0"} if request.param == "every request" else {}
    )
    return firebase_test_client(database_url, **every)


@pytest.fixture
def account_lookups(monkeypatch):  # type: ignore[no-untyped-def]
    """The uids firebase-admin's auth client was asked to look up, by ``auth.get_user`` or by
    ``verify_id_token(check_revoked=True)`` (each lookup still goes to the emulator)."""
    from firebase_admin import _auth_client

    looked_up: list[str] = []
    real = _auth_client.Client.get_user

    def get_user(self, uid):  # type: ignore[no-untyped-def]
        looked_up.append(uid)
        return real(self, uid)

    monkeypatch.setattr(_auth_client.Client, "get_user", get_user)
    return looked_up


@pytest.fixture
def clock(monkeypatch):  # type: ignore[no-untyped-def]
    """The revocation cache's clock, moved by hand."""
    now = [1000.0]
    monkeypatch.setattr(auth_service, "_clock", lambda: now[0])
    return now


def revoke_after_issue(account: dict) -> None:
    """Revoke the account's tokens issued so far (revocation has one-second resolution: wait
    until the tokens issued so far predate it)."""
    time.sleep(1.1)
    fb_auth.revoke_refresh_tokens(account["localId"], app=firebase_app(PROJECT_ID))


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


def test_a_revoked_token_gets_401_at_once_when_every_request_checks(
    always_checking_client, emulator
):
    account = emulator.sign_up("revoked@example.test")
    token = account["idToken"]
    assert always_checking_client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    revoke_after_issue(account)
    response = always_checking_client.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 401
    assert "revoked" in response.get_json()["message"]


def test_every_request_looks_the_account_up_when_the_check_is_0(
    always_checking_client, emulator, account_lookups
):
    account = emulator.sign_up("every@example.test")
    for _ in range(3):
        response = always_checking_client.get("/api/v1/me", headers=bearer(account["idToken"]))
        assert response.status_code == 200
    assert account_lookups == [account["localId"]] * 3


def test_an_account_is_looked_up_once_a_minute_not_on_every_fix(
    firebase_client, emulator, account_lookups, clock
):
    account = emulator.sign_up("walker@example.test")
    headers = bearer(account["idToken"])
    for _ in range(5):
        assert firebase_client.get("/api/v1/me", headers=headers).status_code == 200
        clock[0] += 11  # a phone posting through the minute
    assert account_lookups == [account["localId"]]  # at 0 s; the last request was at 44 s
    assert firebase_client.get("/api/v1/me", headers=headers).status_code == 200
    assert account_lookups == [account["localId"]]  # at 55 s: still within the minute
    clock[0] += 6
    assert firebase_client.get("/api/v1/me", headers=headers).status_code == 200
    assert account_lookups == [account["localId"]] * 2  # at 61 s: looked up again


def test_a_revocation_takes_effect_within_the_check_interval(
    firebase_client, emulator, account_lookups, clock
):
    account = emulator.sign_up("stolen-phone@example.test")
    token = account["idToken"]
    assert firebase_client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    revoke_after_issue(account)
    clock[0] += 30
    # Within the interval the state looked up before the revocation still stands...
    assert firebase_client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    clock[0] += 31
    # ...and once it is over, the old token is refused and a token issued since is not.
    response = firebase_client.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 401
    assert "revoked" in response.get_json()["message"]
    fresh = emulator.sign_in("stolen-phone@example.test")["idToken"]
    assert firebase_client.get("/api/v1/me", headers=bearer(fresh)).status_code == 200
    assert account_lookups == [account["localId"]] * 2


def test_a_portal_sign_in_looks_the_account_up_even_within_the_interval(
    firebase_client, emulator, account_lookups, clock
):
    """The API trusts a looked-up state for a minute; exchanging a token for a portal session
    never does: a revoked token is refused there at once."""
    from backend.portal import service as portal_service
    from backend.portal.routes import PRE_COOKIE

    account = emulator.sign_up("manager@example.test")
    fb_auth.set_custom_user_claims(
        account["localId"], {"role": "venue_staff"}, app=firebase_app(PROJECT_ID)
    )
    token = emulator.sign_in("manager@example.test")["idToken"]
    assert firebase_client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    revoke_after_issue(account)
    clock[0] += 5
    assert firebase_client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    assert account_lookups == [account["localId"]]

    def portal_sign_in(id_token: str):  # type: ignore[no-untyped-def]
        firebase_client.get("/portal/sign-in")  # sets the pre-sign-in cookie the CSRF binds to
        pre = firebase_client.get_cookie(PRE_COOKIE, path="/portal")
        assert pre is not None
        csrf = portal_service.csrf_token(
            firebase_client.application.config["SECRET_KEY"], pre.value
        )
        return firebase_client.post(
            "/portal/sign-in/firebase", data={"id_token": id_token, "csrf_token": csrf}
        )

    refused = portal_sign_in(token)
    assert refused.status_code == 401
    assert account_lookups == [account["localId"]] * 2
    fresh = emulator.sign_in("manager@example.test")["idToken"]
    accepted = portal_sign_in(fresh)
    assert accepted.status_code == 303, accepted.get_data(as_text=True)[:300]
    assert account_lookups == [account["localId"]] * 3


def test_a_disabled_account_gets_401(client_in_each_mode, emulator):
    account = emulator.sign_up("disabled@example.test")
    fb_auth.update_user(account["localId"], disabled=True, app=firebase_app(PROJECT_ID))
    response = client_in_each_mode.get("/api/v1/me", headers=bearer(account["idToken"]))
    assert response.status_code == 401
    assert "disabled" in response.get_json()["message"]


def test_an_identity_provider_that_cannot_be_reached_is_a_503_not_a_bad_token(
    app, emulator, database_url, monkeypatch
):
    # A project of its own whose firebase-admin client talks to a closed port on loopback
    # (the client reads the emulator's address when it is made): the account lookup fails.
    project = "demo-unreachable"
    monkeypatch.setenv("FIREBASE_AUTH_EMULATOR_HOST", f"127.0.0.1:{_closed_port()}")
    fb_client = make_test_app(
        database_url, env={"SAFEHAVEN_AUTH": "firebase", "FIREBASE_PROJECT_ID": project}
    ).test_client()
    now = int(time.time())
    token = _unsigned(  # the emulator's unsigned tokens: the lookup is what fails
        {
            "iss": f"https://securetoken.google.com/{project}",
            "aud": project,
            "auth_time": now,
            "iat": now,
            "exp": now + 3600,
            "sub": "someone",
            "user_id": "someone",
        }
    )
    response = fb_client.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 503, response.get_json()
    assert response.get_json()["code"] == 503
    assert "identity provider" in response.get_json()["message"]


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when this returns


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
def test_forged_tokens_get_401(client_in_each_mode, emulator, kind):
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
    assert client_in_each_mode.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_erasure_deletes_the_firebase_account_and_its_tokens_stay_refused(
    client_in_each_mode, emulator
):
    from backend.auth.models import User
    from backend.extensions import db

    account = emulator.sign_up("erase-me@example.test")
    token = account["idToken"]
    first = client_in_each_mode.get("/api/v1/me", headers=bearer(token))
    assert first.status_code == 200
    erased = client_in_each_mode.delete("/api/v1/me", headers=bearer(token))
    assert erased.status_code == 200, erased.get_json()
    assert erased.get_json()["identity_account_deleted"] is True
    with pytest.raises(fb_auth.UserNotFoundError):
        fb_auth.get_user(account["localId"], app=firebase_app(PROJECT_ID))
    for _ in range(2):  # and not recreated by the first refusal either
        response = client_in_each_mode.get("/api/v1/me", headers=bearer(token))
        assert response.status_code == 401
    assert db.session.query(User).filter_by(uid=account["localId"]).count() == 0
    # The same person may sign up again: Firebase gives the new account a new uid.
    again = emulator.sign_up("erase-me@example.test")
    assert again["localId"] != account["localId"]
    fresh = client_in_each_mode.get("/api/v1/me", headers=bearer(again["idToken"]))
    assert fresh.status_code == 200 and fresh.get_json()["uid"] == again["localId"]


def test_an_erasure_firebase_cannot_confirm_erases_nothing(
    app, emulator, database_url, monkeypatch
):
    from backend.auth.models import ErasedAccount, User
    from backend.extensions import db

    project = "demo-unreachable-erase"
    monkeypatch.setenv("FIREBASE_AUTH_EMULATOR_HOST", f"127.0.0.1:{_closed_port()}")
    fb_client = make_test_app(
        database_url, env={"SAFEHAVEN_AUTH": "firebase", "FIREBASE_PROJECT_ID": project}
    ).test_client()
    now = int(time.time())
    token = _unsigned(
        {
            "iss": f"https://securetoken.google.com/{project}",
            "aud": project,
            "auth_time": now,
            "iat": now,
            "exp": now + 3600,
            "sub": "erasing",
            "user_id": "erasing",
        }
    )
    # The account's state as if looked up a moment ago (the lookup would fail here too):
    # the request gets as far as the erasure, and it is Firebase's deletion that fails.
    auth_service._revocation[(project, "erasing")] = (auth_service._clock(), False, 0)
    fb_client.get("/api/v1/me", headers=bearer(token))  # the account on first sight
    response = fb_client.delete("/api/v1/me", headers=bearer(token))
    assert response.status_code == 503, response.get_json()
    assert "nothing was erased" in response.get_json()["message"]
    db.session.expire_all()
    assert db.session.query(User).filter_by(uid="erasing").count() == 1
    assert db.session.query(ErasedAccount).count() == 0
    assert fb_client.get("/api/v1/me", headers=bearer(token)).status_code == 200
