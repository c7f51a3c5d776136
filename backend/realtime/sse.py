"""Server-sent events from a broker subscription."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from flask import Response

from backend.realtime.broker import Subscription, dumps

HEARTBEAT_S = 15.0


def format_event(message: dict[str, Any]) -> bytes:
    return f"event: {message.get('type', 'message')}\ndata: {dumps(message)}\n\n".encode()


def sse_response(
    subscription: Subscription,
    first: list[dict[str, Any]],
    ends_stream: Callable[[dict[str, Any]], bool],
    heartbeat: float = HEARTBEAT_S,
    transform: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None,
) -> Response:
    """Stream ``first`` then every message of ``subscription`` until ``ends_stream`` says so
    (that last message is still sent); the subscription is closed when the client leaves."""

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
