"""Real-time fan-out: an in-process broker, or Redis pub/sub when ``REDIS_URL`` is set.

Both deliver JSON messages on named channels (``journey:<id>``) to local subscriptions,
each a bounded queue read by one stream. The Redis broker publishes to Redis and runs one
listener thread per process (a pattern subscription on its key prefix) that feeds the
local subscriptions, so a watcher on any process gets messages posted to any other.

A message reaches a process's subscriptions as one shared :class:`Message`: it is parsed
and formatted as a server-sent event once per process, not once per watcher."""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from backend.built_once import built_once, forget

log = logging.getLogger(__name__)

QUEUE_SIZE = 1000
# Waits between attempts to subscribe again after Redis is lost (then the last, for ever).
RESUBSCRIBE_BACKOFF_S = (0.1, 0.25, 0.5, 1.0, 2.0)
# The marker a local subscription gets when messages may have been missed (the Redis
# subscription was lost and is back): a stream answers it with the journey's current state.
RESYNC = "resync"


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# json.dumps with arguments builds an encoder per call; this one is built once (encode keeps
# no state between calls, so threads share it).
_ENCODER = json.JSONEncoder(separators=(",", ":"), default=_json_default)


def dumps(message: dict[str, Any]) -> str:
    """Compact JSON with ISO 8601 timestamps."""
    return _ENCODER.encode(message)


class Message:
    """One message as this process received it, shared by all its local subscriptions: the
    JSON text, parsed (``data``, read-only: every watcher sees the same dict) and formatted
    as a server-sent event (``event``) at most once each."""

    __slots__ = ("raw", "_data", "_event")

    def __init__(self, raw: str) -> None:
        self.raw = raw
        self._data: dict[str, Any] | None = None
        self._event: bytes | None = None

    @property
    def data(self) -> dict[str, Any]:
        data = self._data
        if data is None:  # two threads may both parse: the same value, no lock needed
            data = self._data = json.loads(self.raw)
        return data

    @property
    def event(self) -> bytes:
        """The message as one server-sent event (``event: <type>``, ``data: <json>``)."""
        event = self._event
        if event is None:
            kind = self.data.get("type", "message")
            event = self._event = f"event: {kind}\ndata: {self.raw}\n\n".encode()
        return event


class Subscription:
    """Messages for a set of channels, in arrival order; close it when done."""

    def __init__(self, broker: LocalBroker, channels: tuple[str, ...]) -> None:
        self.broker = broker
        self.channels = channels
        # A SimpleQueue (C): one lock handoff per message, where queue.Queue's conditions
        # cost several per put and get. Bounded by hand in put(): only the broker puts.
        self._queue: queue.SimpleQueue[Message] = queue.SimpleQueue()
        self.closed = False
        # Called (from the delivering thread) after each message is queued: the stream
        # server's event loop sets it to wake the stream's task (backend.realtime.gateway).
        self.on_put: Callable[[], None] | None = None

    def put(self, message: Message | str) -> None:
        if isinstance(message, str):
            message = Message(message)
        if self._queue.qsize() >= QUEUE_SIZE:  # a stalled reader loses the oldest
            try:
                self._queue.get_nowait()
            except queue.Empty:
                pass
        self._queue.put(message)
        on_put = self.on_put
        if on_put is not None:
            on_put()

    def next_nowait(self) -> Message | None:
        """The next message if one is queued, else None (never blocks)."""
        try:
            return self._queue.get_nowait()
        except queue.Empty:
            return None

    def next_message(self, timeout: float | None = None) -> Message | None:
        """The next message (shared with the process's other subscriptions; do not change
        its ``data``), or None after ``timeout`` seconds without one."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def get(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The next message (a dict of its own), or None after ``timeout`` seconds without
        one."""
        message = self.next_message(timeout)
        return None if message is None else json.loads(message.raw)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.broker._unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LocalBroker:
    """Fan-out inside this process only (the embedded default)."""

    kind = "in-process"

    # Bumped each time the broker may have missed messages (a Redis subscription made again):
    # whatever was kept in step with the messages before is no longer.
    epoch = 0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: dict[str, set[Subscription]] = {}
        self._observers: list[Callable[[str, str], None]] = []

    def publish(self, channel: str, message: dict[str, Any]) -> None:
        """Send ``message`` to every subscriber of ``channel``."""
        self._deliver(channel, dumps(message))

    def observe(self, observer: Callable[[str, str], None]) -> None:
        """Call ``observer(channel, raw JSON)`` for every message this process receives, on
        any channel, before its subscriptions get it: for caches kept in step with what is
        published (they also check ``hearing()`` and ``epoch``). It must be quick and must
        not raise."""
        with self._lock:
            if observer not in self._observers:
                self._observers.append(observer)

    def hearing(self) -> bool:
        """Whether this process receives every message published from now on (in-process:
        always; Redis: while subscribed)."""
        return True

    def _deliver(self, channel: str, raw: str) -> None:
        for observer in self._observers:
            observer(channel, raw)
        with self._lock:
            subs = self._subs.get(channel)
            targets = list(subs) if subs else None
        if targets:
            message = Message(raw)  # parsed and formatted once for all of them
            for sub in targets:
                sub.put(message)

    def subscribe(self, *channels: str) -> Subscription:
        """A subscription to ``channels``, receiving from now on."""
        sub = Subscription(self, channels)
        with self._lock:
            for channel in channels:
                self._subs.setdefault(channel, set()).add(sub)
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            for channel in sub.channels:
                subs = self._subs.get(channel)
                if subs is not None:
                    subs.discard(sub)
                    if not subs:
                        del self._subs[channel]

    def _resync_all(self) -> None:
        """Put a ``resync`` marker on every local subscription's channels."""
        with self._lock:
            channels = list(self._subs)
        for channel in channels:
            self._deliver(channel, dumps({"type": RESYNC, "channel": channel}))

    def subscriber_count(self) -> int:
        with self._lock:
            return sum(len(s) for s in self._subs.values())

    def ping(self) -> None:
        """Raise if the broker cannot be reached (in-process: always reachable)."""

    def status(self) -> dict[str, Any]:
        """For ``/healthz``: ``ok``, ``kind``, and when not ok the part that ``failed`` and
        the ``error``."""
        return {"ok": True, "kind": self.kind}

    def close(self) -> None:
        """Release connections and threads (nothing to release in-process)."""


class RedisBroker(LocalBroker):
    """Fan-out across processes and hosts through Redis pub/sub."""

    kind = "redis"

    def __init__(self, url: str, prefix: str = "safehaven:") -> None:
        import redis

        super().__init__()
        self.prefix = prefix
        self._redis = redis.Redis.from_url(url, socket_connect_timeout=2)
        # Health probes get their own pooled client with a read timeout: a Redis that
        # accepts but never answers must make /healthz say so, not hang it.
        self._probe = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        self._pubsub: Any = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._ready = threading.Event()  # set while the pattern subscription is live
        self._tried = threading.Event()  # the first attempt to subscribe has ended
        self._lost = False  # the subscription failed since it was last live
        self._failures = 0  # attempts failed in a row
        self._start_lock = threading.Lock()
        # Idle connections kept for PUBLISH (one per concurrent publisher): redis-py's pool
        # polls the socket and records metrics on every checkout, several times the CPU of
        # the command itself on the fix path. Only whole replies are read on them.
        self._publishers: list[Any] = []
        self._publishers_lock = threading.Lock()
        self._publishers_pid = os.getpid()

    def publish(self, channel: str, message: dict[str, Any]) -> None:
        """PUBLISH on a kept connection; on a connection failure, once more on a fresh one
        (as redis-py's retry would); raises ``redis.RedisError`` or ``OSError``."""
        import redis

        name, text = self.prefix + channel, dumps(message)
        conn = self._idle_publisher()
        try:
            try:
                conn.send_command("PUBLISH", name, text)
                conn.read_response()
            except (redis.ConnectionError, redis.TimeoutError, OSError):
                conn.disconnect()
                conn.send_command("PUBLISH", name, text)  # reconnects
                conn.read_response()
        except BaseException:
            conn.disconnect()  # a reply may be left unread: never reuse it
            raise
        with self._publishers_lock:
            if self._publishers_pid == os.getpid():
                self._publishers.append(conn)
                return
        conn.disconnect()

    def _idle_publisher(self) -> Any:
        with self._publishers_lock:
            if self._publishers_pid != os.getpid():  # forked: the sockets are the parent's
                self._publishers, self._publishers_pid = [], os.getpid()
            if self._publishers:
                return self._publishers.pop()
        pool = self._redis.connection_pool
        return pool.connection_class(**pool.connection_kwargs)

    def ping(self) -> None:
        """Round trip to Redis on a kept connection; raises ``redis.RedisError``."""
        self._probe.ping()

    def status(self) -> dict[str, Any]:
        """Reachable (a round trip on the kept probe connection) and subscribed (this
        process's listener holds its pattern subscription; the first check starts it): a
        process that cannot hear other processes' messages is failing even when Redis
        answers."""
        import redis

        try:
            self.ping()
        except redis.RedisError as exc:
            failed = {"failed": "ping", "error": exc.__class__.__name__}
            return {"ok": False, "kind": self.kind, **failed}
        if not self.start(wait=1.0):
            failed = {"failed": "subscription", "error": "not subscribed"}
            return {"ok": False, "kind": self.kind, **failed}
        return {"ok": True, "kind": self.kind}

    def subscribe(self, *channels: str) -> Subscription:
        """A subscription to ``channels``; while Redis is unreachable it is made all the same
        and gets a ``resync`` marker once the broker is subscribed again."""
        self._ensure_listener()
        return super().subscribe(*channels)

    def hearing(self) -> bool:
        """Subscribed now (the listener is started if it is not running; without waiting)."""
        if self._thread is None or not self._thread.is_alive():
            self._ensure_listener(wait=0)
        return self._ready.is_set()

    @property
    def subscribed(self) -> bool:
        """Whether this process's pattern subscription is live (Redis confirmed it and the
        connection has not failed since)."""
        return self._ready.is_set()

    def start(self, wait: float = 5.0) -> bool:
        """Start the listener if it is not running and wait up to ``wait`` seconds for
        the subscription; returns whether it is subscribed."""
        self._ensure_listener(wait)
        return self.subscribed

    def _ensure_listener(self, wait: float = 5.0) -> None:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._ready.clear()
                self._tried.clear()
                self._thread = threading.Thread(
                    target=self._listen, name="safehaven-redis-broker", daemon=True
                )
                self._thread.start()
        # The subscription is live once Redis confirms it: later publishes reach us. When
        # the first attempt fails (Redis down) this returns at once; the listener keeps
        # trying and the subscriptions made meanwhile get a resync marker.
        self._tried.wait(timeout=wait)

    def _listen(self) -> None:
        """Subscribe, read, and on any failure subscribe again after a bounded backoff
        (RESUBSCRIBE_BACKOFF_S), for as long as the broker is open. A failed subscribe
        leaves no pubsub behind: redis-py's ``get_message`` on an unsubscribed pubsub
        returns None forever, which once hid a listener that had given up."""
        while not self._stop.is_set():
            try:
                if self._pubsub is None:
                    pubsub = self._redis.pubsub(ignore_subscribe_messages=False)
                    self._pubsub = pubsub
                    pubsub.psubscribe(self.prefix + "*")
                self._read_messages()
            except Exception:  # noqa: BLE001 - resubscribe on any connection failure
                if self._stop.is_set():
                    break
                self._ready.clear()
                self._lost = True
                pubsub, self._pubsub = self._pubsub, None
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except Exception:  # noqa: BLE001, S110 - the connection is gone anyway
                        pass
                failures = self._failures
                self._failures += 1
                self._tried.set()
                delay = RESUBSCRIBE_BACKOFF_S[min(failures, len(RESUBSCRIBE_BACKOFF_S) - 1)]
                log.warning(
                    "redis broker: not subscribed (attempt %d), trying again in %.2f s",
                    failures + 1,
                    delay,
                    exc_info=failures == 0,
                )
                self._stop.wait(delay)

    def _read_messages(self) -> None:
        """Deliver messages until stopped; raises when the connection fails. With hiredis
        (redis-py's parser here) the replies are read straight off the subscription's socket,
        every complete one per read: redis-py's ``get_message`` polls the socket and builds a
        message dict per reply, most of the listener's time for a small fix."""
        raw = _raw_reader(self._pubsub)
        if raw is None:
            message = self._pubsub.get_message(timeout=0.5)
            if message is not None:
                self._on_reply(message["type"], message["channel"], message["data"])
            return
        reader, sock, incomplete = raw
        buffer = bytearray(65536)
        sock.settimeout(0.5)  # this connection only ever reads the subscription
        while not self._stop.is_set():
            reply = reader.gets()
            if reply is incomplete or reply is False:
                try:
                    received = sock.recv_into(buffer)
                except TimeoutError:
                    continue
                if not received:
                    raise ConnectionError("redis closed the subscription connection")
                reader.feed(buffer, 0, received)
                continue
            if isinstance(reply, Exception):
                raise reply
            if isinstance(reply, list) and len(reply) >= 3:
                kind = reply[0]
                kind = kind.decode() if isinstance(kind, bytes) else kind
                if kind == "pmessage" and len(reply) == 4:
                    self._on_reply(kind, reply[2], reply[3])
                else:
                    self._on_reply(kind, reply[1], reply[2])

    def _on_reply(self, kind: str, channel: Any, data: Any) -> None:
        if kind == "psubscribe":
            self._failures = 0
            self.epoch += 1  # (only this thread writes it)
            self._ready.set()
            self._tried.set()
            if self._lost:  # messages may have been missed: every local watcher resyncs
                self._lost = False
                log.warning("redis broker: subscribed again; watchers resync")
                self._resync_all()
        elif kind == "pmessage":
            name = channel.decode() if isinstance(channel, bytes) else channel
            self._deliver(
                name[len(self.prefix) :], data.decode() if isinstance(data, bytes) else data
            )

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=3)
            self._thread = None
        if self._pubsub is not None:
            self._pubsub.close()
            self._pubsub = None
        for client in (self._redis, self._probe):
            client.close()
            client.connection_pool.disconnect()
        with self._publishers_lock:
            publishers, self._publishers = self._publishers, []
        for conn in publishers:
            conn.disconnect()


def _raw_reader(pubsub: Any) -> tuple[Any, Any, Any] | None:
    """(hiredis reader, socket, its "incomplete" sentinel) of a subscribed redis-py PubSub
    whose connection parses with hiredis, else None (then ``get_message`` is used)."""
    try:
        from redis._parsers import hiredis as redis_hiredis

        connection = pubsub.connection
        parser = connection._parser
        reader, sock = parser._reader, connection._sock
        incomplete = redis_hiredis.NOT_ENOUGH_DATA
    except (ImportError, AttributeError):
        return None
    if not isinstance(parser, redis_hiredis._HiredisParser) or reader is None or sock is None:
        return None
    return reader, sock, incomplete


def redis_prefix(app: Any) -> str:
    """The prefix of every Redis key and channel this deployment uses. Pub/sub channels are
    global across Redis databases: the prefix keeps deployments (and test runs) sharing one
    Redis apart."""
    return str(
        app.config.get("SAFEHAVEN_REDIS_PREFIX")
        or os.environ.get("SAFEHAVEN_REDIS_PREFIX", "safehaven:")
    )


def get_broker(app: Any = None) -> LocalBroker:
    """The app's broker (created on first use): Redis when ``REDIS_URL`` is set."""
    if app is None:
        from backend.extensions import app_object

        app = app_object()

    def build() -> LocalBroker:
        url = app.config.get("REDIS_URL")
        return RedisBroker(url, prefix=redis_prefix(app)) if url else LocalBroker()

    return built_once(app.extensions, "safehaven_broker", build)


def close_broker(app: Any) -> None:
    """Close the app's broker, if it has one."""
    broker = forget(app.extensions, "safehaven_broker")
    if broker is not None:
        broker.close()


def journey_channel(journey_id: int) -> str:
    return f"journey:{journey_id}"


def publish(channel: str, message: dict[str, Any]) -> None:
    """Publish on the current app's broker; a broker outage is logged, never raised (the
    database already holds the truth and the stream resyncs on reconnect)."""
    try:
        get_broker().publish(channel, message)
    except Exception:  # noqa: BLE001
        log.warning("real-time publish failed on %s", channel, exc_info=True)
