"""The stream server's listening socket: every connection it accepts has TCP keepalives and a
user timeout, so a phone that vanishes without closing is dropped by the kernel once its
heartbeats go unacknowledged (and its stream's slot is freed)."""

from __future__ import annotations

import socket
import sys

import pytest

from backend.realtime.server import (
    KEEPALIVE_COUNT,
    KEEPALIVE_IDLE_S,
    KEEPALIVE_INTERVAL_S,
    listening_socket,
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux socket options")
def test_accepted_connections_inherit_keepalives_and_the_user_timeout():
    server = listening_socket("127.0.0.1", 0, user_timeout_s=30)
    try:
        server.listen(1)
        client = socket.create_connection(server.getsockname(), timeout=5)
        accepted, _ = server.accept()
        with client, accepted:
            options = {
                "keepalive": accepted.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
                "idle": accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
                "interval": accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
                "count": accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
                "user_timeout_ms": accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT),
            }
        assert options == {
            "keepalive": 1,
            "idle": KEEPALIVE_IDLE_S,
            "interval": KEEPALIVE_INTERVAL_S,
            "count": KEEPALIVE_COUNT,
            "user_timeout_ms": 30_000,
        }
    finally:
        server.close()


def test_the_stream_server_refuses_to_start_without_redis(tmp_path):
    """Without Redis its streams would never hear of a fix posted to the API pool."""
    import os
    import subprocess
    from pathlib import Path

    env = {
        **os.environ,
        "SAFEHAVEN_ENV": "testing",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
        "REDIS_URL": "",
    }
    done = subprocess.run(
        [str(Path(sys.executable).with_name("safehaven")), "stream-server", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and "needs REDIS_URL" in done.stderr
