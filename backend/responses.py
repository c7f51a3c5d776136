"""JSON responses for hot paths, built without a marshmallow dump.

A route on a hot path may return ``json_response(payload)`` where ``payload`` already has
exactly the shape and types of its documented ``@blp.response`` schema (flask-smorest passes a
Response through untouched, and the schema still documents it). Each such route has a test
holding its output equal to the schema's dump.

The payload may hold :class:`Prerendered` objects: JSON objects part of which was rendered
once and kept (the nearest answer's venue fields, rendered when its index is built), spliced
into the body as they are."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import orjson
from flask import Response


class Prerendered(Mapping[str, Any]):
    """A JSON object: ``rendered`` (the members of an object already rendered as JSON, without
    the braces) plus ``fields`` (rendered with the rest of the payload). Reads as a mapping of
    both (decoded on first access: for tests and Python callers, not the response path)."""

    __slots__ = ("rendered", "fields", "_decoded")

    def __init__(self, rendered: bytes, fields: dict[str, Any]) -> None:
        self.rendered = rendered
        self.fields = fields
        self._decoded: dict[str, Any] | None = None

    def fragment(self) -> orjson.Fragment:
        if not self.fields:
            return orjson.Fragment(b"{" + self.rendered + b"}")
        rest = orjson.dumps(self.fields)
        if not self.rendered:
            return orjson.Fragment(rest)
        return orjson.Fragment(b"{" + self.rendered + b"," + rest[1:])

    def _mapping(self) -> dict[str, Any]:
        if self._decoded is None:
            decoded = orjson.loads(b"{" + self.rendered + b"}")
            decoded.update(self.fields)
            self._decoded = decoded
        return self._decoded

    def __getitem__(self, key: str) -> Any:
        return self._mapping()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._mapping())

    def __len__(self) -> int:
        return len(self._mapping())

    def __repr__(self) -> str:
        return f"Prerendered({self._mapping()!r})"


def _default(value: Any) -> Any:
    if isinstance(value, Prerendered):
        return value.fragment()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(payload: Any) -> bytes:
    """``payload`` as compact JSON: datetimes and dates as orjson writes them, which is
    ``isoformat()`` (what marshmallow's DateTime and Date fields write; a test holds it),
    :class:`Prerendered` spliced in."""
    return orjson.dumps(payload, default=_default)


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(dumps(payload), status=status, mimetype="application/json")
