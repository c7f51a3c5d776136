"""Starting the stream server: uvicorn on a listening socket set up for long-lived streams."""

from __future__ import annotations

import socket
import sys

# A client that vanishes without closing (a phone losing signal) leaves heartbeats
# unacknowledged: the kernel gives up on the connection after the user timeout, uvicorn
# reports the disconnect and the stream's slot is freed. Accepted sockets inherit these.
KEEPALIVE_IDLE_S, KEEPALIVE_INTERVAL_S, KEEPALIVE_COUNT = 20, 5, 3


def listening_socket(host: str, port: int, user_timeout_s: int) -> socket.socket:
    """A bound TCP socket with keepalives and a user timeout for every connection it accepts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    if sys.platform.startswith("linux"):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, KEEPALIVE_IDLE_S)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, KEEPALIVE_INTERVAL_S)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, KEEPALIVE_COUNT)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, user_timeout_s * 1000)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def run_stream_server(host: str, port: int, workers: int = 1, user_timeout_s: int = 30) -> None:
    """Serve ``backend.realtime.gateway:create_gateway`` with ``workers`` uvicorn processes
    on one socket; prints ``Listening at: http://HOST:PORT`` once bound (port 0: a free one)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    sock = listening_socket(host, port, user_timeout_s)
    bound = sock.getsockname()[1]
    config = uvicorn.Config(
        "backend.realtime.gateway:create_gateway",
        factory=True,
        workers=workers,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
        # streams never finish on their own: at shutdown they are cut after this
        timeout_graceful_shutdown=2,
        backlog=4096,
    )
    print(f"SafeHaven streams: Listening at: http://{host}:{bound}", file=sys.stderr, flush=True)
    if workers > 1:
        Multiprocess(config, sockets=[sock]).run()
    else:
        uvicorn.Server(config).run(sockets=[sock])
