"""The production shape on loopback: an API pool (gunicorn gthread, streams refused), the
stream server (``safehaven stream-server``, two processes) and nginx routing the stream paths
to it, sharing one database and Redis."""

from __future__ import annotations

import contextlib
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from tests.support import databases
from tests.support.apps import TEST_SECRET
from tests.support.servers import NGINX, gunicorn, load_balancer, stream_server


@dataclass
class Production:
    url: str  # the load balancer: what phones and browsers use
    api: str  # the API pool directly
    streams: str  # the stream server directly
    redis_url: str = ""
    redis_prefix: str = ""  # its keys and channels in Redis

    def slots_held(self) -> int:
        """Stream slots held now, by anyone, on this shape (its keys in Redis)."""
        import redis

        connection = redis.Redis.from_url(self.redis_url, socket_connect_timeout=2)
        try:
            keys = list(connection.scan_iter(match=f"{self.redis_prefix}streams:*"))
            return sum(int(connection.zcard(key)) for key in keys)
        finally:
            connection.close()


def production_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    return {
        "SAFEHAVEN_ENV": "testing",
        "SAFEHAVEN_AUTH": "dev",
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SAFEHAVEN_RATELIMIT": "false",
        "SAFEHAVEN_REDIS_PREFIX": f"test-{uuid.uuid4().hex[:8]}:",
        **extra,
    }


@contextmanager
def production_shape(
    database_url: str, redis_url: str, api_threads: int = 4, **extra: str
) -> Iterator[Production]:
    """Start the three (nginx is required in CI, skipped without it locally). The API pool
    is one worker of ``api_threads`` threads: a stream held on it would starve it at once."""
    if shutil.which(NGINX) is None:
        if databases.IN_CI:
            pytest.fail("CI=true and nginx (apt nginx-light) is not installed")
        pytest.skip("nginx (apt nginx-light) is not installed")
    env = production_env(database_url, redis_url, **extra)
    with (
        gunicorn({**env, "SAFEHAVEN_INLINE_STREAMS": "false"}, threads=api_threads) as api,
        stream_server(env, workers=2) as streams,
        load_balancer(api, streams) as url,
    ):
        yield Production(
            url=url,
            api=api,
            streams=streams,
            redis_url=redis_url,
            redis_prefix=env["SAFEHAVEN_REDIS_PREFIX"],
        )


class SharedProduction:
    """One production shape for the tests of a module whose shapes would be identical (each
    start costs the CPU of three app builds): started at the first :meth:`get`, stopped by
    :meth:`close`. Between tests :meth:`settle` waits until every stream slot is given back,
    and stops the shape if one is not (the next test then gets a fresh one). What else the
    servers keep is looked up afresh: the tables are emptied after each test, and a person is
    read by the uid of their token on every request."""

    SETTLE_S = 10.0  # a closed stream gives its slot back within a second (docs/OPERATIONS.md)

    def __init__(self, database_url: str, redis_url: str) -> None:
        self.database_url, self.redis_url = database_url, redis_url
        self._stack: contextlib.ExitStack | None = None
        self._shape: Production | None = None

    def get(self) -> Production:
        if self._shape is None:
            stack = contextlib.ExitStack()
            self._shape = stack.enter_context(production_shape(self.database_url, self.redis_url))
            self._stack = stack
        return self._shape

    def settle(self) -> None:
        if self._shape is None:
            return
        deadline = time.monotonic() + self.SETTLE_S
        while self._shape.slots_held():
            if time.monotonic() > deadline:
                self.close()  # a stream still open: the next test must not count it
                return
            time.sleep(0.05)

    def close(self) -> None:
        stack, self._stack, self._shape = self._stack, None, None
        if stack is not None:
            stack.close()
