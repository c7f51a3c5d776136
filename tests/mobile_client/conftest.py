"""Fixtures for the app's tests: a live SafeHaven server on loopback (the test app served by
werkzeug in a thread) that can be stopped and started again on the same port."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import BaseWSGIServer, make_server


class LiveServer:
    """The session's Flask app on 127.0.0.1; ``stop()`` cuts the network, ``start()`` restores it."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.app = app
        self.port = 0
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.port = server.server_port
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            assert self._thread is not None
            self._thread.join(timeout=5)
            self._server = None


@pytest.fixture
def live_server(app) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    server = LiveServer(app)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def core_factory(tmp_path, live_server):  # type: ignore[no-untyped-def]
    """Build signed-in app cores (one data folder each); all are closed at the end."""
    from mobile_client.core.controller import Core

    made: list[Core] = []

    def make(person, name: str | None = None) -> Core:  # type: ignore[no-untyped-def]
        core = Core(tmp_path / (name or person.uid), server_url=live_server.url)
        made.append(core)
        core.sign_in(person.token)
        return core

    yield make
    for core in made:
        core.close()
