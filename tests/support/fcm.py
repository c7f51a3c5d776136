"""FCM in tests, intercepted at its HTTP boundary and nowhere else: in-process, a
firebase-admin app whose HTTP session is intercepted at the transport adapter (the boundary
firebase-admin's own tests use); for worker processes, a loopback HTTP stand-in for
fcm.googleapis.com they reach through ``SAFEHAVEN_FCM_ENDPOINT``. Both record the exact v1
request bodies and answer like Google's endpoint would."""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
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


# --- a loopback stand-in for fcm.googleapis.com, for worker processes -----------------------

INTERNAL = (
    500,
    {"error": {"code": 500, "message": "Internal error encountered.", "status": "INTERNAL"}},
)
QUOTA_EXCEEDED = (
    429,
    {
        "error": {
            "code": 429,
            "message": "Quota exceeded for quota metric 'Send requests'.",
            "status": "RESOURCE_EXHAUSTED",
            "details": [
                {
                    "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                    "errorCode": "QUOTA_EXCEEDED",
                }
            ],
        }
    },
)
FAULTS = ("500", "429", "timeout")


@dataclass
class Exchange:
    """One request the stand-in received and what became of it. ``fault`` is None for an
    accepted send; ``abandoned`` says the client hung up on a stalled request (it timed out)."""

    seq: int
    received_at: float
    body: dict[str, Any]
    path: str
    authorization: str | None
    attempt: int  # the n-th request for this (token, alert_id), from 1
    fault: str | None = None
    answered_at: float | None = None
    retry_after_s: float | None = None
    abandoned: bool | None = None
    message_id: str | None = None

    @property
    def pair(self) -> tuple[str, str]:
        message = self.body.get("message", {})
        return message.get("token", ""), message.get("data", {}).get("alert_id", "")


def seeded_faults(seed: int, rate: float = 0.3) -> Callable[[Exchange], str | None]:
    """A deterministic fault plan: for the n-th request of each (token, alert_id), a hash of
    the seed, the pair and n picks 500, 429 or a stall past the client timeout, each with
    probability rate/3, independent of the order requests arrive in."""

    def decide(exchange: Exchange) -> str | None:
        token, alert_id = exchange.pair
        digest = hashlib.sha256(f"{seed}|{token}|{alert_id}|{exchange.attempt}".encode()).digest()
        u = int.from_bytes(digest[:8], "big") / 2**64
        if u >= rate:
            return None
        return FAULTS[min(int(u / (rate / 3)), 2)]

    return decide


class FCMStandIn:
    """Stands in for https://fcm.googleapis.com on 127.0.0.1 for other processes (a worker
    run with ``SAFEHAVEN_FCM_ENDPOINT``): ``POST /v1/projects/<id>/messages:send`` only.

    ``plan(exchange)`` names the fault to inject (None accepts the send): ``"500"``, ``"429"``
    (with ``Retry-After: retry_after_s``) or ``"timeout"`` (no answer until the client hangs
    up, at most ``stall_cap_s``). ``on_request(exchange)`` runs first and may return a fault
    name or ``"ok"`` to override the plan. ``on_accept(exchange)`` runs for every accepted
    send (hand it to the device). Everything is logged in ``exchanges``."""

    def __init__(
        self,
        project_id: str,
        plan: Callable[[Exchange], str | None] | None = None,
        retry_after_s: float = 1.0,
        stall_cap_s: float = 60.0,
    ) -> None:
        self.project_id = project_id
        self.plan = plan or (lambda _exchange: None)
        self.retry_after_s = retry_after_s
        self.stall_cap_s = stall_cap_s
        self.on_request: Callable[[Exchange], str | None] | None = None
        self.on_accept: Callable[[Exchange], None] | None = None
        self.exchanges: list[Exchange] = []
        self._attempts: dict[tuple[str, str], int] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FCMStandIn:
        import http.server

        stand_in = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server convention
                stand_in._handle(self)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="fcm-stand-in")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(10)  # type: ignore[union-attr]
            self._server = None

    def __enter__(self) -> FCMStandIn:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _reply(self, handler: Any, status: int, payload: dict[str, Any], headers=()) -> None:  # type: ignore[no-untyped-def]
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=UTF-8")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _handle(self, handler: Any) -> None:  # type: ignore[no-untyped-def]
        import time

        received = time.time()
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length)
        expected_path = f"/v1/projects/{self.project_id}/messages:send"
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if handler.path != expected_path or not isinstance(body, dict):
            self._reply(handler, 404, {"error": {"code": 404, "status": "NOT_FOUND"}})
            return
        with self._lock:
            exchange = Exchange(
                seq=len(self.exchanges) + 1,
                received_at=received,
                body=body,
                path=handler.path,
                authorization=handler.headers.get("Authorization"),
                attempt=0,
            )
            exchange.attempt = self._attempts[exchange.pair] = (
                self._attempts.get(exchange.pair, 0) + 1
            )
            self.exchanges.append(exchange)
        override = self.on_request(exchange) if self.on_request else None
        fault = self.plan(exchange) if override is None else override
        exchange.fault = None if fault in (None, "ok") else fault
        if exchange.fault == "timeout":
            exchange.abandoned = self._stall(handler)
            exchange.answered_at = time.time()
            return
        if exchange.fault == "500":
            status, payload = INTERNAL
            exchange.answered_at = time.time()
            self._reply(handler, status, payload)
            return
        if exchange.fault == "429":
            status, payload = QUOTA_EXCEEDED
            exchange.retry_after_s = self.retry_after_s
            exchange.answered_at = time.time()
            self._reply(handler, status, payload, [("Retry-After", f"{self.retry_after_s:g}")])
            return
        exchange.message_id = f"projects/{self.project_id}/messages/0:{next(self._ids)}"
        exchange.answered_at = time.time()  # accepted: FCM now delivers it, answered or not
        if self.on_accept is not None:
            self.on_accept(exchange)
        try:
            self._reply(handler, 200, {"name": exchange.message_id})
        except OSError:
            pass  # the client is gone (killed): the message was still accepted

    def _stall(self, handler: Any) -> bool:  # type: ignore[no-untyped-def]
        """Answer nothing; True once the client hangs up, False if the cap is reached."""
        connection = handler.connection
        connection.settimeout(self.stall_cap_s)
        try:
            return connection.recv(1) == b""
        except TimeoutError:
            return False
        except OSError:
            return True  # reset by the client

    def settled(self, exchanges: list[Exchange], timeout: float = 10.0) -> list[Exchange]:
        """``exchanges`` once the stand-in has finished each (a stall ends when the client's
        hang-up reaches this thread, which can be after the client has moved on); raises
        AssertionError if one is still open after ``timeout`` seconds."""
        import time

        deadline = time.monotonic() + timeout
        while any(e.answered_at is None for e in exchanges):
            if time.monotonic() > deadline:
                open_ = [e.pair for e in exchanges if e.answered_at is None]
                raise AssertionError(f"exchanges still open after {timeout} s: {open_}")
            time.sleep(0.01)
        return exchanges

    def accepted(self) -> list[Exchange]:
        with self._lock:
            return [e for e in self.exchanges if e.fault is None and e.message_id]
