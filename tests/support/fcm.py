"""FCM in tests: a firebase-admin app whose HTTP session is intercepted at the transport
adapter (the boundary firebase-admin's own tests use), recording the exact v1 request
bodies and answering like Google's endpoint would."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable
from typing import Any

import requests
from google.auth import credentials as google_credentials

UNREGISTERED = (
    404,
    {
        "error": {
            "code": 404,
            "message": "Requested entity was not found.",
            "status": "NOT_FOUND",
            "details": [
                {
                    "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                    "errorCode": "UNREGISTERED",
                }
            ],
        }
    },
)
UNAVAILABLE = (
    503,
    {
        "error": {
            "code": 503,
            "message": "The service is currently unavailable.",
            "status": "UNAVAILABLE",
        }
    },
)


class _StaticGoogleCredential(google_credentials.Credentials):
    """An OAuth2 credential that never leaves the machine."""

    def refresh(self, request: Any) -> None:
        self.token = "test-access-token"  # noqa: S105


class FakeFCM(requests.adapters.BaseAdapter):
    """Stands in for https://fcm.googleapis.com: records each request and replies with
    ``responder(body) -> (status, json)`` (default: success with a message name)."""

    def __init__(self, project_id: str) -> None:
        super().__init__()
        self.project_id = project_id
        self.requests: list[dict[str, Any]] = []
        self.replies: list[tuple[dict[str, Any], int]] = []
        self.urls: set[str] = set()
        self.headers: list[Any] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.responder: Callable[[dict[str, Any]], tuple[int, dict[str, Any]]] = self.ok

    def ok(self, _body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            n = next(self._ids)
        return 200, {"name": f"projects/{self.project_id}/messages/0:{n}"}

    def send(self, request, **_kwargs):  # type: ignore[no-untyped-def]
        body = json.loads(request.body)
        status, payload = self.responder(body)
        with self._lock:
            self.requests.append(body)
            self.replies.append((body, status))
            self.urls.add(request.url)
            self.headers.append(requests.structures.CaseInsensitiveDict(request.headers))
        response = requests.Response()
        response.status_code = status
        response._content = json.dumps(payload).encode()
        response.headers["Content-Type"] = "application/json; charset=UTF-8"
        response.url = request.url
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        pass

    def delivered(self) -> list[tuple[str, str]]:
        """``(token, alert_id)`` of every request FCM accepted."""
        return [
            (b["message"]["token"], b["message"]["data"]["alert_id"])
            for b, status in self.replies
            if status == 200
        ]


def intercepted_fcm(name: str, project_id: str = "demo-safehaven") -> tuple[Any, FakeFCM]:
    """A firebase-admin app named ``name`` and the fake FCM its messaging client talks to."""
    import firebase_admin
    from firebase_admin import messaging

    app = firebase_admin.initialize_app(
        _StaticGoogleCredential(),
        options={"projectId": project_id},
        name=name,
    )
    service = messaging._get_messaging_service(app)
    fake = FakeFCM(project_id)
    service._client.session.mount("https://fcm.googleapis.com", fake)
    return app, fake
