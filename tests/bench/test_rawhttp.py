"""The benchmarks' lean HTTP client (bench/support/rawhttp.py) against the real app on a live
server: query strings, JSON bodies, error statuses with their bodies, keep-alive reuse, and a
reconnect after the server closed the connection. A wrong client would make every figure of
bench/load.py and bench/location_relay.py wrong."""

from __future__ import annotations

import asyncio

import pytest

from bench.support.rawhttp import Connection, split_url
from tests.support.browser import LiveServer


@pytest.fixture
def server(app):  # type: ignore[no-untyped-def]
    live = LiveServer(app).start()
    yield live
    live.stop()


def test_split_url() -> None:
    assert split_url("http://127.0.0.1:8080") == ("127.0.0.1", 8080)
    assert split_url("http://localhost:5000/") == ("localhost", 5000)


def test_requests_on_one_kept_alive_connection(server, resident) -> None:  # type: ignore[no-untyped-def]
    async def scenario() -> list:
        conn = Connection(server.url)
        try:
            located = await conn.request(
                "GET",
                "/api/v1/areas/locate",
                params={"lat": 53.5450, "lon": -2.6320},
                headers=resident.headers,
            )
            first_socket = conn.writer
            patched = await conn.request(
                "PATCH",
                "/api/v1/me",
                json_body={"display_name": "Alice B"},
                headers=resident.headers,
            )
            refused = await conn.request(
                "GET", "/api/v1/venues/nearest", params={"lat": "north", "lon": 0}
            )
            same_socket = conn.writer is first_socket
            conn.close()  # as if the server had dropped it: the next request reconnects
            again = await conn.request("GET", "/api/v1/me", headers=resident.headers)
            return [located, patched, refused, same_socket, again]
        finally:
            conn.close()

    located, patched, refused, same_socket, again = asyncio.run(scenario())
    assert located.status_code == 200 and located.json()["ward"]["code"]
    assert patched.status_code == 200 and patched.json()["display_name"] == "Alice B"
    assert refused.status_code == 422
    assert "lat" in refused.json()["errors"]
    assert same_socket, "the connection was not kept alive"
    assert again.status_code == 200 and again.json()["display_name"] == "Alice B"
