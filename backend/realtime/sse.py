"""Server-sent events from a broker subscription.

A stream route's view opens its stream (:func:`live_stream`): it takes the caller's stream
slot, subscribes, authorises and reads the first snapshot, all in the request. What follows
is served by whichever server answered: the stream server (:mod:`backend.realtime.gateway`,
an event loop holding thousands of streams) takes the opened :class:`LiveStream` over; the
development server and the test client stream it on the request's thread."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

from flask import Response, current_app, request

from backend.errors import AppError
from backend.extensions import app_object
from backend.realtime.broker import RESYNC, Message, Subscription, dumps, get_broker
from backend.realtime.slots import Slot, get_slots

HEARTBEAT_S = 15.0
# An inline stream (development server) looks for its client having hung up this often, so
# a closed connection frees its slot within about this long.
HANGUP_CHECK_S = 0.5
GATEWAY_ENVIRON_KEY = "safehaven.stream_gateway"
HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


class StreamsServedElsewhere(AppError):
    http_status = 421
    default_message = "Live streams are served by the stream server, not by this API server"


def format_event(message: dict[str, Any]) -> bytes:
    return f"event: {message.get('type', 'message')}\ndata: {dumps(message)}\n\n".encode()


def in_app_context(
    read: Callable[[], dict[str, Any] | None],
) -> Callable[[], dict[str, Any] | None]:
    """``read`` made callable from a stream's body, after its request has ended: it runs in
    an app context of its own (whose teardown returns its database session)."""
    app = app_object()

    def run() -> dict[str, Any] | None:
        with app.app_context():
            return read()

    return run


class LiveStream:
    """An opened stream: its subscription, the events it starts with, the rule that ends it
    (that last message is still sent), what each message shows, the slot it holds, and how
    it answers the broker's ``resync`` marker.

    When the broker says messages may have been missed (its marker, after Redis came back),
    ``resync()`` gives the event to send instead: the journey's current state read again
    through the stream's access rules, or None when the watcher may no longer see it (the
    stream ends). It reads the database: the stream server calls it off its event loop."""

    def __init__(
        self,
        subscription: Subscription,
        first: list[dict[str, Any]],
        ends: Callable[[dict[str, Any]], bool],
        transform: Callable[[dict[str, Any]], dict[str, Any] | None] | None,
        slot: Slot | None,
        resync: Callable[[], dict[str, Any] | None] | None = None,
    ) -> None:
        self.subscription = subscription
        self.first = first
        self.ends = ends
        self.transform = transform
        self.slot = slot
        self.resync = resync

    def opening(self) -> tuple[bytes, bool]:
        """The stream's first bytes, and whether the stream already ends with them."""
        out = [b"retry: 3000\n\n"]
        for message in self.first:
            out.append(format_event(message))
            if self.ends(message):
                return b"".join(out), True
        return b"".join(out), False

    @staticmethod
    def is_resync(received: Message) -> bool:
        return received.data.get("type") == RESYNC  # the broker's marker, never published

    def resynced(self) -> tuple[bytes | None, bool]:
        """What the client is sent for a ``resync`` marker, and whether the stream ends
        (reads the database)."""
        if self.resync is None:
            return None, False
        current = self.resync()
        if current is None:
            return None, True
        return format_event(current), self.ends(current)

    def render(self, received: Message) -> tuple[bytes | None, bool]:
        """What the client is sent for ``received`` (None: nothing), and whether it ends the
        stream; not for a ``resync`` marker (``resynced``). Parsed and formatted once per
        process (shared by every watcher here)."""
        message = received.data
        ends = self.ends(message)
        shown = self.transform(message) if self.transform else message
        if shown is message:
            return received.event, ends
        return (None if shown is None else format_event(shown)), ends

    def close(self) -> None:
        """Unsubscribe and give the slot back (idempotent)."""
        self.subscription.close()
        if self.slot is not None:
            self.slot.release()


def live_stream(
    channel: str,
    opening: Callable[[], list[dict[str, Any]]],
    ends: Callable[[dict[str, Any]], bool],
    holder: tuple[str, int],
    transform: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None,
    resync: Callable[[], dict[str, Any] | None] | None = None,
) -> Response:
    """Open a stream of ``channel`` for ``holder`` (``("person", user_id)`` or ``("link",
    link_id)``): take one of its slots, subscribe, then ``opening()`` authorises and gives the
    first events; ``resync`` as LiveStream's. Raises TooManyStreams (429, Retry-After) past the holder's limit
    (``STREAMS_PER_PERSON`` / ``STREAMS_PER_LINK``), StreamsServedElsewhere (421) on an API
    server that does not serve streams, and whatever ``opening`` raises."""
    gateway = request.environ.get(GATEWAY_ENVIRON_KEY)
    config = current_app.config
    if gateway is None and not config.get("INLINE_STREAMS", True):
        raise StreamsServedElsewhere()
    kind, holder_id = holder
    limit = int(config.get("STREAMS_PER_PERSON" if kind == "person" else "STREAMS_PER_LINK", 5))
    slot = get_slots().acquire(
        f"{kind}:{holder_id}", limit, "You" if kind == "person" else "This watch link"
    )
    subscription: Subscription | None = None
    try:
        subscription = get_broker().subscribe(channel)
        first = opening()
    except BaseException:
        if subscription is not None:
            subscription.close()
        slot.release()
        raise
    stream = LiveStream(subscription, first, ends, transform, slot, resync)
    if gateway is not None:
        return gateway(stream, Response(mimetype="text/event-stream", headers=HEADERS))
    hangup = request.environ.get("werkzeug.socket") or request.environ.get("gunicorn.socket")
    return sse_response(stream, hangup=hangup)


def sse_response(
    stream: LiveStream, heartbeat: float = HEARTBEAT_S, hangup: socket.socket | None = None
) -> Response:
    """Serve ``stream`` on the request's thread until it ends or the client leaves; with the
    client's socket (``hangup``), a client that hangs up is noticed within HANGUP_CHECK_S
    and its slot freed, not only at the next heartbeat's failed write."""

    def events() -> Iterator[bytes]:
        try:
            data, ended = stream.opening()
            yield data
            if ended:
                return
            wait = HANGUP_CHECK_S if hangup is not None else heartbeat
            beat_at = time.monotonic() + heartbeat
            while True:
                received = stream.subscription.next_message(timeout=wait)
                if received is None:
                    if hangup is not None and _hung_up(hangup):
                        return
                    if time.monotonic() >= beat_at:
                        beat_at = time.monotonic() + heartbeat
                        yield b": keep-alive\n\n"
                    continue
                if stream.is_resync(received):
                    data_or_none, ends = stream.resynced()
                else:
                    data_or_none, ends = stream.render(received)
                if data_or_none is not None:
                    yield data_or_none
                if ends:
                    return
        finally:
            stream.close()

    response = Response(events(), mimetype="text/event-stream", headers=HEADERS)
    response.call_on_close(stream.close)  # also when the body never started
    return response


def _hung_up(sock: socket.socket) -> bool:
    """Whether the peer closed ``sock`` (readable with nothing to read) or it failed."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        return sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True
