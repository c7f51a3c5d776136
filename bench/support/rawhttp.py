"""A lean HTTP/1.1 keep-alive client over asyncio streams, for the benchmarks' simulated
clients: a general client library (httpx, requests) costs more CPU per request than the
server's trivial routes, and on a 2-core machine the client would then be what gets measured.

Only what the benchmarks send and the server answers: one request at a time per connection,
bodies with ``Content-Length`` (gunicorn + Flask answer so), JSON request bodies."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlencode


def split_url(base: str) -> tuple[str, int]:
    """``http://host:port`` -> ``(host, port)``."""
    host, port = base.removeprefix("http://").rstrip("/").split(":")
    return host, int(port)


async def read_response(
    reader: asyncio.StreamReader, want_body: bool = True
) -> tuple[int, bool, bytes]:
    """One response: its status, whether the server keeps the connection open, and its body
    (read in any case, returned only if ``want_body``)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length, keep = 0, True
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            keep = False
    body = await reader.readexactly(length) if length else b""
    return status, keep, body if want_body else b""


class Response:
    __slots__ = ("status_code", "content")

    def __init__(self, status_code: int, content: bytes) -> None:
        self.status_code, self.content = status_code, content

    def json(self) -> Any:
        return json.loads(self.content)


class Connection:
    """One keep-alive connection (a phone's), reopened once if the server closed it."""

    def __init__(self, base: str, timeout: float = 30.0) -> None:
        self.host, self.port = split_url(base)
        self.timeout = timeout
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        if params:
            path = f"{path}?{urlencode(params)}"
        body = b"" if json_body is None else json.dumps(json_body).encode()
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if json_body is not None:
            head.append("Content-Type: application/json")
        if body or method in ("POST", "PUT", "PATCH"):
            head.append(f"Content-Length: {len(body)}")
        raw = ("\r\n".join(head) + "\r\n\r\n").encode() + body
        for attempt in range(2):
            fresh = self.writer is None
            try:
                if self.writer is None:
                    self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
                self.writer.write(raw)
                assert self.reader is not None
                status, keep, content = await asyncio.wait_for(
                    read_response(self.reader), self.timeout
                )
            except TimeoutError:
                self.close()  # the answer may still come: never send the request again
                raise
            except (OSError, asyncio.IncompleteReadError):
                self.close()
                # A kept-alive connection the server closed meanwhile: retry once on a new one.
                if fresh or attempt:
                    raise
                continue
            if not keep:
                self.close()
            return Response(status, content)
        raise ConnectionError("unreachable")  # pragma: no cover - the loop returns or raises

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None
