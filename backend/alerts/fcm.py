"""Firebase Cloud Messaging through firebase-admin: one HTTP v1 request per message, with a
bounded timeout, no hidden retries, Retry-After read back, and the alert id as the tray tag so
a repeated send of one alert replaces itself on the phone instead of showing twice."""

from __future__ import annotations

import email.utils
import threading
import warnings
from datetime import UTC, datetime
from typing import Any

from google.auth import credentials as google_credentials

from backend.alerts.service import MAX_RETRY_AFTER_S, Pusher, SendResult
from shared_schemas.uktime import naive_as_utc

GOOGLE_FCM = "https://fcm.googleapis.com"
# The token a loopback stand-in receives: it is not Google, so it never sees a real one.
STAND_IN_ACCESS_TOKEN = "safehaven-fcm-stand-in"  # noqa: S105 - not a secret

_apps: dict[tuple[str, str | None, float], Any] = {}
_lock = threading.Lock()


def build_message(item: dict[str, Any]) -> Any:
    """The FCM message for one delivery ``{token, title, body, data}``; ``data`` carries
    ``alert_id``, which is also the Android notification ``tag`` and the APNs
    ``apns-collapse-id``: the phone's notification tray keeps one copy of an alert however many
    times it is sent. No Android ``collapse_key``: FCM stores at most four collapse keys per
    offline device and does not say which it keeps, so one key per alert could drop alerts
    for a phone that was offline; messages without one are each kept (up to 100)."""
    from firebase_admin import messaging

    key = str(item["data"]["alert_id"])
    with warnings.catch_warnings():
        # Devices register FCM registration tokens; firebase-admin 7.7 prefers installation
        # ids (``fid``) but still sends ``token`` as the v1 API's field of that name.
        warnings.filterwarnings("ignore", "Message.token is deprecated", DeprecationWarning)
        return messaging.Message(
            token=item["token"],
            notification=messaging.Notification(title=item["title"], body=item["body"]),
            data=item["data"],
            android=messaging.AndroidConfig(
                priority="high", notification=messaging.AndroidNotification(tag=key)
            ),
            apns=messaging.APNSConfig(headers={"apns-priority": "10", "apns-collapse-id": key}),
        )


def retry_after_seconds(exc: Exception, now: datetime | None = None) -> float | None:
    """The ``Retry-After`` of a failed FCM answer (seconds or an HTTP date), capped at an
    hour; None when the answer had none."""
    response = getattr(exc, "http_response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = (naive_as_utc(when) - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, min(seconds, MAX_RETRY_AFTER_S))


def fcm_pusher(app: Any) -> Pusher:
    """A pusher that sends one message per call through firebase-admin's ``messaging.send``
    on the firebase-admin ``app``, classifying failures for the worker."""
    from firebase_admin import exceptions, messaging

    permanent = (
        exceptions.InvalidArgumentError,
        messaging.SenderIdMismatchError,
        exceptions.PermissionDeniedError,
    )

    def push(item: dict[str, Any]) -> SendResult:
        message = build_message(item)
        try:
            message_id = messaging.send(message, app=app)
        except messaging.UnregisteredError as exc:
            return SendResult(False, kind="unregistered", error=_describe(exc))
        except permanent as exc:
            return SendResult(False, kind="permanent", error=_describe(exc))
        except exceptions.FirebaseError as exc:
            return SendResult(
                False, kind="retry", error=_describe(exc), retry_after_s=retry_after_seconds(exc)
            )
        return SendResult(True, message_id=message_id)

    return push


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


class _StandInCredential(google_credentials.Credentials):
    """Credentials for a loopback stand-in of FCM: a fixed token, never fetched from Google."""

    def refresh(self, request: Any) -> None:
        self.token = STAND_IN_ACCESS_TOKEN


def messaging_app(project_id: str, endpoint: str | None = None, timeout_s: float = 10.0) -> Any:
    """The firebase-admin app that sends pushes for ``project_id`` (one per process and
    setting): ``httpTimeout`` bounds every send, and the messaging client's transport neither
    retries 500/503 on its own nor sleeps for a Retry-After inside a call (urllib3 would,
    for any length): the worker owns retries, so a claim's lease covers one send. With
    ``endpoint`` (tests only; production refuses the setting) requests go to that loopback
    stand-in of ``https://fcm.googleapis.com`` instead."""
    import firebase_admin
    import requests
    from firebase_admin import messaging
    from urllib3.util import retry

    from backend.auth.service import firebase_credential

    key = (project_id, endpoint, float(timeout_s))
    with _lock:
        app = _apps.get(key)
        if app is not None:
            return app
        credential = _StandInCredential() if endpoint else firebase_credential()
        app = firebase_admin.initialize_app(
            credential=credential,
            options={"projectId": project_id, "httpTimeout": timeout_s},
            name=f"safehaven-fcm-{len(_apps)}-{project_id}",
        )
        # firebase-admin 7.x (pinned <8) keeps its messaging client and URL on the service
        # object; these two lines are the only places that reach inside it.
        service = messaging._get_messaging_service(app)
        base = (endpoint or GOOGLE_FCM).rstrip("/")
        if endpoint:
            service._fcm_url = f"{base}/v1/projects/{project_id}/messages:send"
        # One retry of a refused connection (nothing was sent); a read error or any HTTP
        # status is returned to the worker as it is.
        once = retry.Retry(
            total=1, connect=1, read=False, status=0, other=0, redirect=0, raise_on_status=False
        )
        adapter = requests.adapters.HTTPAdapter(
            pool_connections=4, pool_maxsize=64, max_retries=once
        )
        service._client.session.mount(base, adapter)
        _apps[key] = app
        return app


def pusher_for(project_id: str, endpoint: str | None = None, timeout_s: float = 10.0) -> Pusher:
    """The FCM pusher of this process for ``project_id`` (see :func:`messaging_app`)."""
    return fcm_pusher(messaging_app(project_id, endpoint, timeout_s))


def forget_apps() -> None:
    """Delete the firebase-admin apps made here (tests that change settings)."""
    import firebase_admin

    with _lock:
        for app in _apps.values():
            firebase_admin.delete_app(app)
        _apps.clear()
