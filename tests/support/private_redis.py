"""A redis-server of the test's own on a free loopback port, for tests that stop and start it.

The ``private_redis`` fixture (offered to the fault tests by tests/hardening/conftest.py): before the server stops for good it closes the
real-time brokers of every app built during the test, or a broker whose Redis is gone keeps
retrying in the background for the rest of the session (and logs into later tests)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.support.apps import CREATED_APPS, close_brokers
from tests.support.servers import free_port


class PrivateRedis:
    """``start()`` and ``stop()`` (as often as a test likes) on one port, nothing saved."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    """A started PrivateRedis; afterwards the brokers of the apps built meanwhile are closed,
    then the server is stopped. Skips when redis-server is not installed."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server not installed")
    first_app = len(CREATED_APPS)
    server = PrivateRedis()
    server.start()
    try:
        yield server
    finally:
        close_brokers(since=first_app)
        server.stop()
