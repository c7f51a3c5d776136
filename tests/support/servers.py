"""Real server processes for tests and benchmarks, on 127.0.0.1 and free ports: gunicorn (the
API pool), the stream server, and nginx routing between them as the production load balancer."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"Listening at: http://([0-9.]+):(\d+)")
# How long a server may take to answer before the test fails: a bound, not a measure. Two
# xdist workers on a shared 2-core machine took over 60 s to bring up the two-process
# stream server.
START_TIMEOUT_S = 180.0


def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def gunicorn(
    env: dict[str, str],
    threads: int = 16,
    workers: int = 1,
    timeout: float = START_TIMEOUT_S,
    extra_args: list[str] | None = None,
    app: str = "backend:create_app()",
) -> Iterator[str]:
    """Run ``app`` (by default ``backend:create_app()``) under gunicorn (gthread) on a free
    port; yields its base URL and stops it (and its log file) on exit. ``extra_args`` go before
    the app (e.g. ``["--pid", path, "--worker-connections", "5000"]``)."""
    gunicorn_bin = str(Path(sys.executable).with_name("gunicorn"))
    command = [
        gunicorn_bin,
        "--bind",
        "127.0.0.1:0",
        "--worker-class",
        "gthread",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--timeout",
        "120",
        "--graceful-timeout",
        "2",
        *(extra_args or []),
        app,
    ]
    with _serve(command, env, timeout, "gunicorn") as url:
        yield url


@contextmanager
def stream_server(
    env: dict[str, str],
    workers: int = 1,
    timeout: float = START_TIMEOUT_S,
    pids: list[int] | None = None,
    host: str = "127.0.0.1",
    extra_args: list[str] | None = None,
) -> Iterator[str]:
    """Run the stream server as production runs it (``safehaven stream-server``, uvicorn) on a
    free port of ``host``; yields its base URL once ``/healthz`` answers there, and stops it on
    exit. Its process id is appended to ``pids`` (the benchmarks read its memory)."""
    command = [
        str(Path(sys.executable).with_name("safehaven")),
        "stream-server",
        *(extra_args or []),
        "--host",
        host,
        "--port",
        "0",
        "--workers",
        str(workers),
    ]
    with _serve(command, env, timeout, "stream server", pids) as url:
        deadline = time.monotonic() + timeout
        while True:  # bound before its workers have built the app
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:  # noqa: S310
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the stream server did not answer /healthz")
            time.sleep(0.1)
        yield url


@contextmanager
def _serve(
    command: list[str],
    env: dict[str, str],
    timeout: float,
    name: str,
    pids: list[int] | None = None,
) -> Iterator[str]:
    log = tempfile.NamedTemporaryFile("w+", prefix="server-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    if pids is not None:
        pids.append(process.pid)
    try:
        deadline = time.monotonic() + timeout
        host, port = "127.0.0.1", None
        while port is None:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited: {Path(log.name).read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start: {Path(log.name).read_text()[-2000:]}")
            match = LISTENING.search(Path(log.name).read_text())
            if match:
                host, port = match.group(1), int(match.group(2))
            else:
                time.sleep(0.05)
        yield f"http://{host}:{port}"
    finally:
        process.send_signal(signal.SIGINT)  # quick shutdown: open streams are not waited for
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        os.unlink(log.name)


NGINX = "/usr/sbin/nginx"
# The production load balancer's routing (docs/OPERATIONS.md): the stream paths go to the
# stream server, everything else to the API pool.
NGINX_CONF = """
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 16384; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  upstream safehaven_api {{ server {api}; keepalive 64; }}
  upstream safehaven_streams {{ server {streams}; }}
  server {{
    listen {host}:{port};
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $http_host;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    location ~ ^(/api/v1/journeys/[0-9]+/stream|/watch/[^/]+/events)$ {{
      proxy_pass http://safehaven_streams;
      proxy_buffering off;
      proxy_read_timeout 1h;
    }}
    location / {{ proxy_pass http://safehaven_api; }}
  }}
}}
"""


@contextmanager
def load_balancer(
    api: str,
    streams: str,
    timeout: float = 20.0,
    host: str = "127.0.0.1",
    prefix: list[str] | None = None,
) -> Iterator[str]:
    """A private nginx on a free port of ``host`` routing as the production load balancer does
    (the stream paths to ``streams``, the rest to ``api``); yields its base URL. ``prefix``
    goes before its command (``ip netns exec NAME``: bench/stream_vanish.py)."""
    port = free_port()  # (free on loopback here is free in a fresh namespace too)
    with tempfile.TemporaryDirectory(prefix="nginx-") as folder:
        conf = Path(folder) / "nginx.conf"
        conf.write_text(
            NGINX_CONF.format(
                dir=folder,
                api=api.removeprefix("http://"),
                streams=streams.removeprefix("http://"),
                port=port,
                host=host,
            )
        )
        process = subprocess.Popen(
            [
                *(prefix or []),
                NGINX,
                "-c",
                str(conf),
                "-p",
                folder,
                "-e",
                f"{folder}/error.log",
                "-g",
                "daemon off;",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    with socket.create_connection((host, port), timeout=0.2):
                        break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(
                            f"nginx did not start: {(Path(folder) / 'error.log').read_text()}"
                        ) from None
                    time.sleep(0.05)
            yield f"http://{host}:{port}"
        finally:
            process.terminate()
            process.wait(timeout=10)
