"""Server-sent events from a broker subscription."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from flask import Response, current_app

from backend.realtime.broker import RESYNC, Subscription, dumps

HEARTBEAT_S = 15.0


def format_event(message: dict[str, Any]) -> bytes:
    return f"event: {message.get('type', 'message')}\ndata: {dumps(message)}\n\n".encode()


def in_app_context(
    read: Callable[[], dict[str, Any] | None],
) -> Callable[[], dict[str, Any] | None]:
    """``read`` made callable from a stream's body, after its request has ended: it runs in
    an app context of its own (whose teardown returns its database session)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def run() -> dict[str, Any] | None:
        with app.app_context():
            return read()

    return run


def sse_response(
    subscription: Subscription,
    first: list[dict[str, Any]],
    ends_stream: Callable[[dict[str, Any]], bool],
    heartbeat: float = HEARTBEAT_S,
    transform: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None,
    resync: Callable[[], dict[str, Any] | None] | None = None,
) -> Response:
    """Stream ``first`` then every message of ``subscription`` until ``ends_stream`` says so
    (that last message is still sent); the subscription is closed when the client leaves.

    When the broker says messages may have been missed (its ``resync`` marker, after Redis
    came back), ``resync()`` gives the event to send instead: the journey's current state
    read again through the stream's access rules, or None when the watcher may no longer see
    it (the stream ends)."""

    def events() -> Iterator[bytes]:
        try:
            yield b"retry: 3000\n\n"
            for message in first:
                yield format_event(message)
                if ends_stream(message):
                    return
            while True:
                received = subscription.next_message(timeout=heartbeat)
                if received is None:
                    yield b": keep-alive\n\n"
                    continue
                # Parsed and formatted once per process (shared by every watcher here).
                message = received.data
                if message.get("type") == RESYNC:  # the broker's marker, never published
                    current = resync() if resync is not None else None
                    if current is None:
                        if resync is None:
                            continue
                        return
                    yield format_event(current)
                    if ends_stream(current):
                        return
                    continue
                ends = ends_stream(message)
                shown = transform(message) if transform else message
                if shown is message:
                    yield received.event
                elif shown is not None:
                    yield format_event(shown)
                if ends:
                    return
        finally:
            subscription.close()

    response = Response(
        events(),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
    response.call_on_close(subscription.close)  # also when the body never started
    return response
