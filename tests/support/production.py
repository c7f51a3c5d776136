"""The production shape on loopback: an API pool (gunicorn gthread, streams refused), the
stream server (``safehaven stream-server``, two processes) and nginx routing the stream paths
to it, sharing one database and Redis."""

from __future__ import annotations

import shutil
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
        yield Production(url=url, api=api, streams=streams)
