"""Abuse limits of the journeys domain: the per-person budget of location fixes, the limit on
starting journeys, and the throttle on location-client logins.

All three count in the rate limiter's storage (Redis when ``REDIS_URL`` is set, shared by
every worker) and are off when rate limiting is (``SAFEHAVEN_RATELIMIT=false``). Keys carry
no address and no credential: both are keyed hashes."""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import threading
import time
from typing import Any

from flask import current_app
from limits import parse

from backend.errors import TooManyRequests
from backend.extensions import limiter

log = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {
    # A phone posting a fix every second sends 60 a minute; an offline catch-up of an hour
    # (3,600 fixes) is accepted over three minutes (the app honours Retry-After). 0: no budget.
    "FIX_BUDGET_PER_MINUTE": 1200,
    # A resident starts a few journeys a day (a mistaken start is cancelled and restarted).
    "JOURNEY_START_RATE_LIMIT": "5/minute;30/hour",
    # Failed location-client logins (OwnTracks Basic auth, Traccar ids) before 429.
    "LOCATION_CLIENT_FAILURES_PER_SOURCE": "20/15 minutes",
    "LOCATION_CLIENT_FAILURES_PER_CREDENTIAL": "10/15 minutes",
}
# Each process charges a person's fixes to the shared count only once it has seen this share
# of the budget from them in the current minute: a phone's every-second post costs no round
# trip to the storage, a flood is counted in the shared storage after a few batches. At most
# (workers x share) fixes a minute pass beyond the budget.
LOCAL_SHARE = 0.1


def configured(name: str) -> Any:
    """A limit from the app config (``SAFEHAVEN_...`` settings put it there), else its default."""
    value = current_app.config.get(name)
    return DEFAULTS[name] if value is None else value


def journey_start_limit() -> str:
    """The limit on starting journeys, for ``limiter.limit`` (read at request time)."""
    return str(configured("JOURNEY_START_RATE_LIMIT"))


def keyed_hash(prefix: str, value: str) -> str:
    """``prefix:<keyed hash of value>``: a storage key that does not reveal ``value``."""
    secret = str(current_app.config.get("SECRET_KEY", "")).encode()
    return f"{prefix}:" + hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()[:24]


def _retry_after(window_end: float, now: float) -> str:
    return str(max(1, math.ceil(window_end - now)))


# --- the fix budget ------------------------------------------------------------------------


class FixBudget:
    """Fixes per person per minute (fixed one-minute windows), counted in this process and,
    past LOCAL_SHARE of the budget, in the limiter's shared storage."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._minute = -1
        # person -> [fixes seen here this minute, of which already added to the shared count]
        self._seen: dict[str, list[int]] = {}

    def charge(self, person: str, fixes: int, budget: int, now: float | None = None) -> None:
        """Count ``fixes`` against ``person``'s budget for this minute; raises TooManyRequests
        (with Retry-After, nothing counted) when they would take it over ``budget``."""
        now = time.time() if now is None else now
        minute = int(now // 60)
        with self._lock:
            if minute != self._minute:
                self._minute, self._seen = minute, {}
            seen = self._seen.get(person)
            if seen is None:
                seen = self._seen[person] = [0, 0]
            total = seen[0] + fixes
            if total <= budget * LOCAL_SHARE:
                seen[0] = total
                return
            unshared = total - seen[1]
        storage = limiter.storage
        key = f"safehaven:fix-budget:{person}:{minute}"
        try:
            shared = storage.get(key)
        except Exception:  # noqa: BLE001 - storage unreachable (Redis down): count here only
            log.warning("fix budget storage unreachable; counting in this process")
            if total > budget:
                raise TooManyRequests(
                    f"more than {budget} location fixes in a minute; send them again later",
                    headers={"Retry-After": _retry_after((minute + 1) * 60, now)},
                ) from None
            with self._lock:
                if self._minute == minute:
                    seen[0] = total
            return
        if shared + unshared > budget:
            raise TooManyRequests(
                f"more than {budget} location fixes in a minute; send them again later",
                headers={"Retry-After": _retry_after((minute + 1) * 60, now)},
            )
        try:
            storage.incr(key, 120, amount=unshared)
        except Exception:  # noqa: BLE001 - lost between the read and the write: not counted
            log.warning("fix budget storage unreachable; counting in this process")
        with self._lock:
            if self._minute == minute:
                seen[0] = seen[1] = total

    def reset(self) -> None:
        """Forget this process's counts (tests, with ``limiter.reset()``)."""
        with self._lock:
            self._minute, self._seen = -1, {}


_budget = FixBudget()
reset_fix_budget = _budget.reset


def charge_fixes(person: str, fixes: int) -> None:
    """Charge a batch of ``fixes`` to ``person`` (their uid); raises TooManyRequests when it
    would take them over the budget (``FIX_BUDGET_PER_MINUTE``). Off without rate limiting."""
    if not limiter.enabled:
        return
    budget = int(configured("FIX_BUDGET_PER_MINUTE"))
    if budget > 0:
        _budget.charge(person, fixes, budget)


# --- location-client logins ----------------------------------------------------------------


def _failure_limits() -> tuple[Any, Any]:
    return (
        parse(str(configured("LOCATION_CLIENT_FAILURES_PER_SOURCE"))),
        parse(str(configured("LOCATION_CLIENT_FAILURES_PER_CREDENTIAL"))),
    )


def _throttled(item: Any, key: str) -> TooManyRequests | None:
    strategy = limiter.limiter
    if strategy.test(item, key):
        return None
    reset_at, _remaining = strategy.get_window_stats(item, key)
    return TooManyRequests(
        "too many failed logins; try again later",
        headers={"Retry-After": _retry_after(reset_at, time.time())},
    )


def refuse_throttled_source(source: str) -> None:
    """Before a location-client login: raises TooManyRequests when ``source`` (a hashed
    address) has failed too often in the window, whatever credential it sends now."""
    if not limiter.enabled:
        return
    refused = _throttled(_failure_limits()[0], f"client-login:{source}")
    if refused is not None:
        raise refused


def login_failed(source: str, credential: str) -> TooManyRequests | None:
    """Count a failed location-client login against ``source`` and ``credential`` (the
    OwnTracks username or the Traccar id, hashed here); returns the 429 to answer instead of
    401 once either has failed too often (a correct secret is still accepted for a throttled
    credential, so no one can lock a resident's tracker out by failing on its username)."""
    if not limiter.enabled:
        return None
    per_source, per_credential = _failure_limits()
    source_key = f"client-login:{source}"
    credential_key = "client-login:" + keyed_hash("cred", credential)
    refused = _throttled(per_credential, credential_key) or _throttled(per_source, source_key)
    strategy = limiter.limiter
    strategy.hit(per_source, source_key)
    strategy.hit(per_credential, credential_key)
    return refused
