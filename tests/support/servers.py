"""Real server processes for tests and benchmarks: gunicorn on 127.0.0.1, port 0."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")


@contextmanager
def gunicorn(
    env: dict[str, str],
    threads: int = 16,
    workers: int = 1,
    timeout: float = 60.0,
    extra_args: list[str] | None = None,
    app: str = "backend:create_app()",
) -> Iterator[str]:
    """Run ``app`` (by default ``backend:create_app()``) under gunicorn (gthread) on a free
    port; yields its base URL and stops it (and its log file) on exit. ``extra_args`` go before
    the app (e.g. ``["--pid", path, "--worker-connections", "5000"]``)."""
    gunicorn_bin = str(Path(sys.executable).with_name("gunicorn"))
    log = tempfile.NamedTemporaryFile("w+", prefix="gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
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
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + timeout
        port = None
        while port is None:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {Path(log.name).read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start: {Path(log.name).read_text()[-2000:]}")
            match = LISTENING.search(Path(log.name).read_text())
            if match:
                port = int(match.group(1))
            else:
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGINT)  # quick shutdown: open streams are not waited for
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        os.unlink(log.name)
