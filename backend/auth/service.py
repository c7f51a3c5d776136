"""Token verification (dev or Firebase), users created on first sight, role grants."""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from backend.auth.models import ErasedAccount, User
from backend.db import table_of, utcnow
from backend.errors import NotFound, ServiceUnavailable, Unauthorized, ValidationError
from backend.extensions import db
from shared_schemas.enums import ROLES, Role

log = logging.getLogger(__name__)

DEV_TOKEN_SALT = "safehaven-dev-token"  # noqa: S105 - a namespace, not a secret
DEV_TOKEN_PREFIX = "dev."  # noqa: S105
DEV_TOKEN_MAX_AGE = int(timedelta(days=30).total_seconds())
LAST_SEEN_RESOLUTION = timedelta(minutes=5)


@functools.lru_cache(maxsize=8)
def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=DEV_TOKEN_SALT)


def mint_dev_token(secret: str, uid: str, role: str = Role.RESIDENT.value) -> str:
    """A signed development token for ``uid`` (accepted only in dev auth mode)."""
    if role not in ROLES:
        raise ValidationError(
            f"role must be one of {', '.join(ROLES)}", errors={"role": ["unknown role"]}
        )
    return DEV_TOKEN_PREFIX + _serializer(secret).dumps({"uid": uid, "role": role, "typ": "dev"})


class Identity(dict[str, Any]):
    """Verified claims: ``uid`` plus optional ``role``, ``email``, ``name``."""


# Verified dev tokens, so a client posting every second pays for the HMAC, base64 and JSON
# of its token once, not per request: (token, secret) -> (uid, role, signed at). Only
# successes are kept, each only while its signature is within DEV_TOKEN_MAX_AGE (checked on
# every hit, as itsdangerous does), so an expired token is refused exactly as before; dev
# tokens have no other revocation (a disabled account is refused by its row, read per
# request). Firebase tokens are not cached (their signature and expiry are checked on every
# request); their accounts' revocation state is, for a short while (below).
DEV_TOKEN_CACHE_SIZE = 4096
_dev_verified: dict[tuple[str, str], tuple[str, Any, int]] = {}
_dev_verified_lock = threading.Lock()


def _verify_dev(token: str, secret: str) -> Identity:
    hit = _dev_verified.get((token, secret))
    if hit is not None and 0 <= int(time.time()) - hit[2] <= DEV_TOKEN_MAX_AGE:
        return Identity(uid=hit[0], role=hit[1])
    try:
        data, signed_at = _serializer(secret).loads(
            token[len(DEV_TOKEN_PREFIX) :], max_age=DEV_TOKEN_MAX_AGE, return_timestamp=True
        )
    except SignatureExpired as exc:
        raise Unauthorized("dev token expired; mint a new one with `safehaven dev-token`") from exc
    except BadSignature as exc:
        raise Unauthorized("invalid token") from exc
    if (
        not isinstance(data, dict)
        or data.get("typ") != "dev"
        or not isinstance(data.get("uid"), str)
    ):
        raise Unauthorized("invalid token")
    with _dev_verified_lock:
        if len(_dev_verified) >= DEV_TOKEN_CACHE_SIZE:
            del _dev_verified[next(iter(_dev_verified))]  # the oldest entry
        _dev_verified[(token, secret)] = (data["uid"], data.get("role"), int(signed_at.timestamp()))
    return Identity(uid=data["uid"], role=data.get("role"))


_firebase_lock = threading.Lock()
_firebase_apps: dict[str, Any] = {}


def firebase_app(project_id: str) -> Any:
    """The firebase-admin app for ``project_id`` (created once per process)."""
    import firebase_admin

    with _firebase_lock:
        app = _firebase_apps.get(project_id)
        if app is None:
            app = firebase_admin.initialize_app(
                credential=firebase_credential(),
                options={"projectId": project_id},
                name=f"safehaven-{project_id}",
            )
            _firebase_apps[project_id] = app
        return app


def firebase_credential() -> Any:
    """The credential of this process's firebase-admin apps: none under the Auth emulator,
    the service-account file of ``GOOGLE_APPLICATION_CREDENTIALS``, else application default."""
    import os

    from firebase_admin import credentials

    if os.environ.get("FIREBASE_AUTH_EMULATOR_HOST"):
        return None  # firebase-admin uses its emulator credential
    if os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
        return credentials.Certificate(os.environ["GOOGLE_APPLICATION_CREDENTIALS"])
    return credentials.ApplicationDefault()


# Each account's revocation state as Firebase last reported it: (project, uid) ->
# (looked up at, disabled, tokens valid after in ms). ``check_revoked=True`` asks Firebase for
# the account on every verification: a round trip to Google (and a call against the project's
# quota) for every location fix a phone sends each second. A state is trusted for
# ``revocation_check_s``, so a revocation or a disabled account takes effect within that on
# the API (a sign-in to the portal looks it up every time). The comparison is firebase-admin's
# own (_auth_client._check_jwt_revoked_or_disabled): disabled, or issued before valid-after.
REVOCATION_CACHE_SIZE = 65_536
_revocation: dict[tuple[str, str], tuple[float, bool, int]] = {}
_revocation_lock = threading.Lock()
_clock = time.monotonic  # (tests move it)


def clear_revocation_cache() -> None:
    """Forget every account's revocation state in this process (tests)."""
    with _revocation_lock:
        _revocation.clear()


def _revocation_state(uid: str, project_id: str, max_age_s: float) -> tuple[bool, int]:
    """``(disabled, tokens valid after in ms)`` of account ``uid``: looked up (firebase-admin
    errors propagate) unless a lookup at most ``max_age_s`` old is kept."""
    from firebase_admin import auth as fb_auth

    key = (project_id, uid)
    now = _clock()
    hit = _revocation.get(key)
    if hit is not None and 0 <= now - hit[0] <= max_age_s:
        return hit[1], hit[2]
    user = fb_auth.get_user(uid, app=firebase_app(project_id))
    state = (bool(user.disabled), int(user.tokens_valid_after_timestamp or 0))
    with _revocation_lock:
        _revocation.pop(key, None)  # re-inserted last: the dict stays oldest-first
        if len(_revocation) >= REVOCATION_CACHE_SIZE:
            del _revocation[next(iter(_revocation))]
        _revocation[key] = (now, *state)
    return state


def _verify_firebase(token: str, project_id: str, revocation_check_s: float = 0) -> Identity:
    from firebase_admin import auth as fb_auth
    from firebase_admin.exceptions import DeadlineExceededError, FirebaseError, UnavailableError

    try:
        app = firebase_app(project_id)
        if revocation_check_s <= 0:
            claims = fb_auth.verify_id_token(token, app=app, check_revoked=True)
        else:
            claims = fb_auth.verify_id_token(token, app=app, check_revoked=False)
            disabled, valid_after_ms = _revocation_state(
                claims["uid"], project_id, revocation_check_s
            )
            if disabled:
                raise fb_auth.UserDisabledError("The user record is disabled.")
            if claims["iat"] * 1000 < valid_after_ms:
                raise fb_auth.RevokedIdTokenError("The Firebase ID token has been revoked.")
    except fb_auth.RevokedIdTokenError as exc:
        raise Unauthorized("token revoked; sign in again") from exc
    except fb_auth.UserDisabledError as exc:
        raise Unauthorized("account disabled") from exc
    except fb_auth.ExpiredIdTokenError as exc:
        raise Unauthorized("token expired") from exc
    except (fb_auth.CertificateFetchError, UnavailableError, DeadlineExceededError) as exc:
        # (the keys, or the account's revocation state, could not be fetched: not the token's fault)
        raise ServiceUnavailable("cannot reach the identity provider to check your token") from exc
    except (fb_auth.InvalidIdTokenError, ValueError) as exc:
        raise Unauthorized("invalid token") from exc
    except FirebaseError as exc:
        log.warning("firebase verification failed: %s", exc)
        raise Unauthorized("invalid token") from exc
    return Identity(
        uid=claims["uid"],
        role=claims.get("role"),
        email=claims.get("email"),
        name=claims.get("name"),
    )


def verify_token(
    token: str,
    *,
    mode: str,
    secret: str,
    project_id: str | None,
    revocation_check_s: float = 0,
) -> Identity:
    """Verify a bearer token in the configured mode; raises Unauthorized (or 503). A Firebase
    account's revocation state is looked up unless one at most ``revocation_check_s`` old is
    kept (0: always)."""
    if not token or len(token) > 4096:
        raise Unauthorized("invalid token")
    if token.startswith(DEV_TOKEN_PREFIX):
        if mode != "dev":
            raise Unauthorized("dev tokens are not accepted by this server")
        return _verify_dev(token, secret)
    if mode != "firebase" or not project_id:
        raise Unauthorized("invalid token")
    return _verify_firebase(token, project_id, revocation_check_s)


def erased_uid_hash(uid: str) -> str:
    """What an erased account's tombstone keeps of its uid (SHA-256, no other data)."""
    return hashlib.sha256(f"safehaven-erased:{uid}".encode()).hexdigest()


def bury(user: User, now: datetime | None = None) -> None:
    """Add the tombstone of ``user``'s uid to the caller's transaction (no commit): once the
    row is deleted, tokens of that uid are refused instead of creating a new account."""
    key = erased_uid_hash(user.uid)
    if db.session.get(ErasedAccount, key) is None:
        db.session.add(ErasedAccount(uid_hash=key, erased_at=now or utcnow()))


def delete_identity_account(uid: str, *, mode: str, project_id: str | None) -> bool:
    """In Firebase mode, delete ``uid``'s Firebase account (its tokens then fail verification,
    and the same e-mail signs up as a new uid); True if it was deleted or already gone. Dev
    mode has no accounts outside this database: False. firebase-admin errors propagate."""
    if mode != "firebase" or not project_id:
        return False
    from firebase_admin import auth as fb_auth

    try:
        fb_auth.delete_user(uid, app=firebase_app(project_id))
    except fb_auth.UserNotFoundError:
        pass
    with _revocation_lock:
        _revocation.pop((project_id, uid), None)
    return True


def user_for_identity(identity: Identity) -> User:
    """The user row for a verified identity, created on first sight; raises Unauthorized if
    disabled, or if the uid belongs to an erased account (its tombstone)."""
    uid = identity["uid"]
    user = db.session.scalar(select(User).where(User.uid == uid))
    now = utcnow()
    if user is None:
        if db.session.get(ErasedAccount, erased_uid_hash(uid)) is not None:
            db.session.rollback()
            raise Unauthorized("this account was erased; create a new account to sign in again")
        role = identity.get("role") if identity.get("role") in ROLES else Role.RESIDENT.value
        user = User(
            uid=uid,
            role=role,
            email=identity.get("email"),
            display_name=identity.get("name"),
            last_seen_at=now,
        )
        db.session.add(user)
        try:
            db.session.commit()
        except IntegrityError:  # another request created it first
            db.session.rollback()
            user = db.session.scalar(select(User).where(User.uid == uid))
            if user is None:
                raise
    elif user.last_seen_at is None or now - user.last_seen_at > LAST_SEEN_RESOLUTION:
        user.last_seen_at = now
        db.session.commit()
    if user.disabled:
        raise Unauthorized("account disabled")
    return user


_users = table_of(User)
_touch_last_seen = (
    update(_users).where(_users.c.id == bindparam("user_id")).values(last_seen_at=bindparam("now"))
)


def admit_principal(
    conn: Connection, user_id: int, disabled: bool, last_seen_at: datetime | None, now: datetime
) -> None:
    """For a hot path that reads the caller's row in the same statement as what they act on:
    refuse a disabled account (Unauthorized, as :func:`user_for_identity` does) and refresh
    ``last_seen_at`` at the same resolution, on ``conn`` (the caller commits)."""
    if disabled:
        raise Unauthorized("account disabled")
    if last_seen_due(last_seen_at, now):
        conn.execute(_touch_last_seen, {"user_id": user_id, "now": now})


def last_seen_due(last_seen_at: datetime | None, now: datetime) -> bool:
    """Whether a caller seen last at ``last_seen_at`` is due a ``last_seen_at`` refresh."""
    return last_seen_at is None or last_seen_at < seen_recently_since(now)


def seen_recently_since(now: datetime) -> datetime:
    """A caller seen at or after this time is not due a ``last_seen_at`` refresh (for a
    statement that checks it in SQL)."""
    return now - LAST_SEEN_RESOLUTION


def ensure_user(uid: str, role: str | None) -> User:
    """Create the user ``uid`` or set its role (CLI and seeding). With ``role=None`` an
    existing user keeps its role and a new one is a resident; raises ValidationError for an
    unknown role."""
    if role is not None and role not in ROLES:
        raise ValidationError(
            f"role must be one of {', '.join(ROLES)}", errors={"role": ["unknown role"]}
        )
    user = db.session.scalar(select(User).where(User.uid == uid))
    if user is None:
        user = User(uid=uid, role=role or Role.RESIDENT.value)
        db.session.add(user)
    elif role is not None:
        user.role = role
    db.session.commit()
    return user


def get_user(user_id: int) -> User:
    """One user by id; raises NotFound."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


def list_users(role: str | None = None) -> list[User]:
    """Users, optionally of one role, newest first."""
    stmt = select(User).order_by(User.id.desc())
    if role:
        stmt = stmt.where(User.role == role)
    return list(db.session.scalars(stmt))


def grant_role(actor: User, user_id: int, role: str, *, mode: str, project_id: str | None) -> User:
    """Set ``user_id``'s role (admin only); in Firebase mode also the ``role`` custom claim,
    and revoke their refresh tokens so the change applies at once. Raises Forbidden,
    NotFound, ValidationError (an admin cannot demote themselves: someone must stay admin)."""
    from backend.auth import policy

    policy.require_admin(actor)
    if role not in ROLES:
        raise ValidationError(
            "unknown role", errors={"role": [f"must be one of {', '.join(ROLES)}"]}
        )
    user = get_user(user_id)
    if user.id == actor.id and role != Role.ADMIN.value:
        raise ValidationError(
            "an admin cannot remove their own admin role",
            errors={"role": ["cannot demote yourself"]},
        )
    if mode == "firebase" and project_id:
        from firebase_admin import auth as fb_auth

        app = firebase_app(project_id)
        fb_auth.set_custom_user_claims(user.uid, {"role": role}, app=app)
    user.role = role
    db.session.commit()
    return user
