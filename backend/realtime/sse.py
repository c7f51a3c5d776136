"""Server-sent events from a broker subscription."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from flask import Response

from backend.realtime.broker import Subscription, dumps

HEARTBEAT_S = 15.0


def format_event(message: dict[str, Any]) -> str:
    return f"event: {message.get('type', 'message')}\ndata: {dumps(message)}\n\n"


def sse_response(
    subscription: Subscription,
    first: list[dict[str, Any]],
    ends_stream: Callable[[dict[str, Any]], bool],
    heartbeat: float = HEARTBEAT_S,
    transform: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None,
) -> Response:
    """Stream ``first`` then every message of ``subscription`` until ``ends_stream`` says so
    (that last message is still sent); the subscription is closed when the client leaves."""

    def events() -> Iterator[str]:
        try:
            yield "retry: 3000\n\n"
            for message in first:
                yield format_event(message)
                if ends_stream(message):
                    return
            while True:
                message = subscription.get(timeout=heartbeat)
                if message is None:
                    yield ": keep-alive\n\n"
                    continue
                if ends_stream(message):
                    shown = transform(message) if transform else message
                    if shown is not None:
                        yield format_event(shown)
                    return
                shown = transform(message) if transform else message
                if shown is not None:
                    yield format_event(shown)
        finally:
            subscription.close()

    response = Response(
        events(),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
    response.call_on_close(subscription.close)  # also when the body never started
    return response
