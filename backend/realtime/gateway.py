"""The stream server: an ASGI app (served by uvicorn, ``safehaven stream-server``) that holds
the live streams of a deployment on one event loop per process, off the API's workers.

It serves the stream routes (``STREAM_ENDPOINTS``) and ``/healthz`` of the same Flask app:
each request is dispatched to Flask on a small thread pool exactly as the API servers would
(authentication, rate limits, authorisation, the stream slot, logging the look, error
shape); the view opens its :class:`~backend.realtime.sse.LiveStream` and hands it here
instead of streaming it on its thread. From then on the stream costs a coroutine, not a
thread: the broker's delivering thread wakes it through the event loop, and a client that
hangs up is noticed at once (uvicorn reports the disconnect), which frees its slot."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import Flask, Response
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.test import EnvironBuilder

from backend.errors import error_body
from backend.realtime.broker import close_broker, dumps
from backend.realtime.slots import close_slots
from backend.realtime.sse import GATEWAY_ENVIRON_KEY, HEARTBEAT_S, LiveStream

log = logging.getLogger(__name__)

STREAM_ENDPOINTS = frozenset({"journeys.stream", "journeys.watch_events", "health.healthz"})
DISPATCH_THREADS = 16  # requests being authorised at once (database round trips)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class _Handoff:
    """What a stream view returns under the gateway: the opened stream and its headers."""

    def __init__(self) -> None:
        self.stream: LiveStream | None = None

    def __call__(self, stream: LiveStream, response: Response) -> Response:
        self.stream = stream
        return response


class _Wake:
    """Wakes one stream's task from the broker's thread (or its heartbeat timer)."""

    __slots__ = ("loop", "future")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.future: asyncio.Future[None] | None = None

    def arm(self) -> asyncio.Future[None]:
        self.future = self.loop.create_future()
        return self.future

    def fire(self) -> None:
        future = self.future
        if future is not None and not future.done():
            future.set_result(None)

    def fire_threadsafe(self) -> None:
        self.loop.call_soon_threadsafe(self.fire)


class Gateway:
    """The ASGI application (``create_gateway()`` builds it from the environment)."""

    def __init__(self, flask_app: Flask, heartbeat: float = HEARTBEAT_S) -> None:
        self.flask_app = flask_app
        self.heartbeat = heartbeat
        self.executor = ThreadPoolExecutor(DISPATCH_THREADS, thread_name_prefix="stream-open")
        self.open_streams = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        environ = _environ(scope)
        try:
            adapter = self.flask_app.url_map.bind_to_environ(environ)
            endpoint, _ = adapter.match()
        except (NotFound, MethodNotAllowed):
            endpoint = None
        if endpoint not in STREAM_ENDPOINTS:
            await _send_error(send, 404, "Not a live stream route: this is the stream server")
            return
        handoff = _Handoff()
        environ[GATEWAY_ENVIRON_KEY] = handoff
        loop = asyncio.get_running_loop()
        response = await loop.run_in_executor(self.executor, self._dispatch, environ)
        if handoff.stream is not None and response.status_code != 200:
            # opened, then refused on the way out (an after-request hook failed)
            await loop.run_in_executor(self.executor, handoff.stream.close)
            handoff.stream = None
        if handoff.stream is None:  # an error, /healthz: Flask's whole answer
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": _headers(response),
                }
            )
            await send({"type": "http.response.body", "body": response.get_data()})
            return
        await self._stream(handoff.stream, response, receive, send)

    def _dispatch(self, environ: dict[str, Any]) -> Response:
        """Flask's request handling (as ``Flask.wsgi_app``), returning the response object."""
        app = self.flask_app
        ctx = app.request_context(environ)
        error: BaseException | None = None
        try:
            try:
                ctx.push()
                response = app.full_dispatch_request()
            except Exception as exc:  # noqa: BLE001 - as Flask.wsgi_app
                error = exc
                response = app.handle_exception(exc)
            if environ[GATEWAY_ENVIRON_KEY].stream is None:
                response.get_data()  # read the body inside the context
            return response
        finally:
            ctx.pop(error)

    async def _stream(
        self, stream: LiveStream, response: Response, receive: Receive, send: Send
    ) -> None:
        loop = asyncio.get_running_loop()
        wake = _Wake(loop)
        gone = False

        async def hang_up() -> None:
            nonlocal gone
            while (await receive())["type"] != "http.disconnect":
                pass
            gone = True
            wake.fire()

        self.open_streams += 1
        stream.subscription.on_put = wake.fire_threadsafe
        listener = loop.create_task(hang_up())
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": _headers(response, streaming=True),
                }
            )
            data, ended = stream.opening()
            await send({"type": "http.response.body", "body": data, "more_body": not ended})
            if ended:
                return
            subscription = stream.subscription
            beat_at = loop.time() + self.heartbeat
            while not gone:
                received = subscription.next_nowait()
                if received is None:
                    future = wake.arm()
                    received = subscription.next_nowait()  # queued before it was armed
                    if received is None:
                        timer = loop.call_at(beat_at, wake.fire)
                        await future
                        timer.cancel()
                        if gone:
                            return
                        if loop.time() >= beat_at:
                            beat_at = loop.time() + self.heartbeat
                            await send(_body(b": keep-alive\n\n"))
                        continue
                if stream.is_resync(received):  # reads the database: off the loop
                    data_or_none, ends = await loop.run_in_executor(self.executor, stream.resynced)
                else:
                    data_or_none, ends = stream.render(received)
                if ends:
                    await send({"type": "http.response.body", "body": data_or_none or b""})
                    return
                if data_or_none is not None:
                    await send(_body(data_or_none))
        finally:
            self.open_streams -= 1
            stream.subscription.on_put = None
            listener.cancel()
            # Giving the slot back is a Redis round trip at scale: off the event loop.
            try:
                await loop.run_in_executor(self.executor, stream.close)
            except RuntimeError:  # the executor is shut down: the process is ending
                stream.close()

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                # The app's modules and objects live as long as the process: out of the
                # cyclic collector's full passes, which otherwise walk them all while
                # thousands of streams wait (they stall the event loop).
                gc.collect()
                gc.freeze()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.executor.shutdown(wait=False, cancel_futures=True)
                close_slots(self.flask_app)
                close_broker(self.flask_app)
                await send({"type": "lifespan.shutdown.complete"})
                return


def _body(data: bytes) -> dict[str, Any]:
    return {"type": "http.response.body", "body": data, "more_body": True}


def _headers(response: Response, streaming: bool = False) -> list[tuple[bytes, bytes]]:
    return [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in response.headers.items()
        if not (streaming and name.lower() == "content-length")
    ]


async def _send_error(send: Send, status: int, message: str) -> None:
    body = dumps(error_body(status, message)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(body)),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _environ(scope: Scope) -> dict[str, Any]:
    """The WSGI environ of an ASGI HTTP request without a body (GET streams, health)."""
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
    host = next((v for k, v in headers if k.lower() == "host"), None)
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client") or ("", 0)
    scheme = scope.get("scheme", "http")
    builder = EnvironBuilder(
        path=scope.get("root_path", "") + scope["path"],
        base_url=f"{scheme}://{host or f'{server[0]}:{server[1]}'}",
        method=scope["method"],
        headers=headers,
        query_string=scope.get("query_string", b"").decode("latin-1"),
        environ_base={"REMOTE_ADDR": client[0], "REMOTE_PORT": str(client[1])},
    )
    try:
        return builder.get_environ()
    finally:
        builder.close()


def create_gateway(flask_app: Flask | None = None) -> Gateway:
    """The stream server's ASGI app, around ``flask_app`` (default: built from the
    environment, as the API servers build theirs)."""
    if flask_app is None:
        from backend.app import create_app

        flask_app = create_app()
    return Gateway(flask_app)
