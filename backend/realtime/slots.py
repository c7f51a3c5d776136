"""Stream slots: how many live streams one person (or one watch link) holds open at once.

A slot is taken when a stream opens and given back when it ends. With ``REDIS_URL`` the
slots of every process are counted together in Redis: a sorted set per holder whose members
are slots and whose scores are their expiry times (Redis's own clock). Each process renews
the slots it holds every third of ``TTL_S``, so a slot whose process died (or stalled)
expires after ``TTL_S`` and never blocks its holder for longer. Without Redis (the embedded
default: one process) the count is a dictionary in the process."""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from backend.built_once import built_once, forget
from backend.errors import TooManyRequests
from backend.extensions import app_object

log = logging.getLogger(__name__)

TTL_S = 30  # a slot not renewed for this long (its process died) is free again
RENEWALS_PER_TTL = 3  # a process renews the slots it holds every TTL_S / 3 (10 s)
RETRY_AFTER_S = 5  # what a refused client is told to wait


class TooManyStreams(TooManyRequests):
    default_message = "Too many live streams open"


@dataclass(eq=False)
class Slot:
    """One open stream's place in its holder's count; ``release()`` gives it back (once)."""

    limiter: StreamSlots
    key: str
    member: str
    released: bool = False

    def release(self) -> None:
        if not self.released:
            self.released = True
            self.limiter._release(self)


class StreamSlots:
    """The in-process count (the embedded default)."""

    kind = "in-process"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, set[str]] = {}

    def acquire(self, key: str, limit: int, what: str) -> Slot:
        """A slot of ``key`` (e.g. ``person:12``), or TooManyStreams (429, Retry-After) when
        ``limit`` are already held; ``what`` names the holder in the message."""
        member = uuid.uuid4().hex
        with self._lock:
            held = self._held.setdefault(key, set())
            if len(held) >= limit:
                raise _refusal(limit, what)
            held.add(member)
        return Slot(self, key, member)

    def _release(self, slot: Slot) -> None:
        with self._lock:
            held = self._held.get(slot.key)
            if held is not None:
                held.discard(slot.member)
                if not held:
                    del self._held[slot.key]

    def held(self, key: str) -> int:
        """Slots of ``key`` held now (tests, health)."""
        with self._lock:
            return len(self._held.get(key, ()))

    def close(self) -> None:
        """Release connections and threads (none in-process)."""


def _refusal(limit: int, what: str) -> TooManyStreams:
    has = "have" if what == "You" else "has"
    return TooManyStreams(
        f"{what} already {has} {limit} live streams open (the most allowed); close one first",
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


# Expired slots are dropped, then one is added if fewer than the limit remain. Times are
# Redis's (TIME), so hosts with skewed clocks count alike.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])))
return 1
"""

# Renew this process's slots (ARGV: ttl, then key/member pairs); a key's own expiry follows.
_RENEW = """
local t = redis.call('TIME')
local expires = tonumber(t[1]) + tonumber(t[2]) / 1000000 + tonumber(ARGV[1])
for i = 2, #ARGV, 2 do
  redis.call('ZADD', ARGV[i], 'XX', expires, ARGV[i + 1])
  redis.call('EXPIRE', ARGV[i], math.ceil(tonumber(ARGV[1])))
end
return 1
"""


class RedisStreamSlots(StreamSlots):
    """Slots counted across processes and hosts in Redis, renewed by a thread per process."""

    kind = "redis"

    def __init__(self, url: str, prefix: str = "safehaven:", ttl_s: float = TTL_S) -> None:
        import redis

        super().__init__()
        self.prefix = prefix + "streams:"
        self.ttl_s = ttl_s
        self._redis = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        self._acquire = self._redis.register_script(_ACQUIRE)
        self._renew = self._redis.register_script(_RENEW)
        self._mine: dict[str, Slot] = {}  # member -> slot held by this process
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self, key: str, limit: int, what: str) -> Slot:
        """As StreamSlots.acquire, counted in Redis (in this process alone while Redis is
        unreachable)."""
        import redis

        member = uuid.uuid4().hex
        name = self.prefix + key
        try:
            granted = self._acquire(keys=[name], args=[limit, self.ttl_s, member])
        except (redis.RedisError, OSError):
            # A watcher is not turned away because Redis is down: this process counts alone.
            log.warning("stream slots: Redis unavailable, counting in this process only")
            return super().acquire(key, limit, what)
        if not granted:
            raise _refusal(limit, what)
        slot = Slot(self, name, member)
        with self._lock:
            self._mine[member] = slot
        self._ensure_renewer()
        return slot

    def _release(self, slot: Slot) -> None:
        if not slot.key.startswith(self.prefix):  # counted in this process (Redis was down)
            super()._release(slot)
            return
        with self._lock:
            self._mine.pop(slot.member, None)
        try:
            self._redis.zrem(slot.key, slot.member)
        except Exception:  # noqa: BLE001 - it expires on its own within the TTL
            log.warning("stream slot release failed; it expires in %s s", self.ttl_s)

    def held(self, key: str) -> int:
        name = self.prefix + key
        pipe = self._redis.pipeline()
        pipe.time()
        pipe.zrange(name, 0, -1, withscores=True)
        (seconds, micros), members = pipe.execute()
        now = seconds + micros / 1e6
        return sum(1 for _member, expires in members if expires > now)

    def renew(self) -> None:
        """Push the expiry of every slot this process holds ``ttl_s`` into the future."""
        with self._lock:
            pairs = [(slot.key, slot.member) for slot in self._mine.values()]
        for start in range(0, len(pairs), 1000):
            args: list[Any] = [self.ttl_s]
            for key, member in pairs[start : start + 1000]:
                args += [key, member]
            self._renew(args=args)

    def _ensure_renewer(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._renew_forever, name="safehaven-stream-slots", daemon=True
            )
            self._thread.start()

    def _renew_forever(self) -> None:
        while not self._stop.wait(self.ttl_s / RENEWALS_PER_TTL):
            try:
                self.renew()
            except Exception:  # noqa: BLE001 - try again next round; slots live for TTL_S
                log.warning("stream slots: renewal failed", exc_info=True)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=3)
            self._thread = None
        self._redis.close()
        self._redis.connection_pool.disconnect()


def get_slots(app: Any = None) -> StreamSlots:
    """The app's stream slots (created on first use): in Redis when ``REDIS_URL`` is set."""
    if app is None:
        app = app_object()

    def build() -> StreamSlots:
        url = app.config.get("REDIS_URL")
        if url:
            from backend.realtime.broker import redis_prefix

            return RedisStreamSlots(url, prefix=redis_prefix(app))
        return StreamSlots()

    return built_once(app.extensions, "safehaven_stream_slots", build)


def close_slots(app: Any) -> None:
    """Close the app's stream slots, if it has them."""
    slots = forget(app.extensions, "safehaven_stream_slots")
    if slots is not None:
        slots.close()
