"""Request guards that hold for every route, whatever domain serves it.

NUL characters: PostgreSQL text cannot hold U+0000 (psycopg raises DataError, which was a 500
on the PostGIS engine; found by the property tests). They are refused up front, naming the
field, in JSON bodies, forms, query strings and path parameters."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

from backend.errors import BadRequest, NotFound, field_error
from backend.extensions import request_object

NUL = "\x00"
MESSAGE = "must not contain control characters (NUL, U+0000)"
FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}
MAX_JSON_DEPTH = 64  # GeoJSON, surveys and fixes nest under 10 levels
# A JSON string (skipped whole, brackets inside it do not nest) or one bracket.
_JSON_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def json_too_deep(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the arrays and objects of the JSON text ``raw`` nest deeper than ``limit``.
    Bodies with fewer brackets than ``limit`` cannot and are not scanned (the live fix
    post has three)."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth = 0
    for match in _JSON_TOKENS.finditer(raw):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif token in (b"]", b"}"):
            depth -= 1
    return False


def find_nul(value: Any, field: str = "_schema") -> str | None:
    """The field (innermost object key, as the domains name their fields) of the first string
    or key holding a NUL in a JSON value, else None."""
    if isinstance(value, str):
        return field if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            name = str(key)
            if NUL in name:
                return name.replace(NUL, "\\0")
            found = find_nul(item, name)
            if found:
                return found
    if isinstance(value, list):
        for item in value:
            found = find_nul(item, field)
            if found:
                return found
    return None


def refuse_nul_characters() -> None:
    """Before each request: 404 for a NUL in a path parameter, 422 naming the field for a NUL
    in the query string, a form or a JSON body, and for a form part with no name."""
    req = request_object()  # one proxy look-up
    for value in (req.view_args or {}).values():
        if isinstance(value, str) and NUL in value:
            raise NotFound("no such resource")
    # A NUL reaches the query string only percent-encoded (or raw, which a server may pass
    # on): without either, its arguments are not parsed here.
    query = req.query_string
    sources = [req.args] if b"%00" in query or b"\x00" in query else []
    mimetype = req.mimetype
    if mimetype in FORM_TYPES:
        sources.append(req.form)
    for source in sources:
        for key, values in source.lists():
            if key is None:  # a multipart part whose Content-Disposition names no field
                raise field_error("_form", "every form part must have a name")
            if NUL in key or any(NUL in v for v in values):
                raise field_error(key.replace(NUL, "\\0"), MESSAGE)
    if req.content_length and mimetype not in FORM_TYPES:
        if json_too_deep(req.get_data(cache=True)):
            raise BadRequest(
                f"JSON nested deeper than {MAX_JSON_DEPTH} levels",
                errors={"_schema": [f"nests deeper than {MAX_JSON_DEPTH} levels"]},
            )
    if mimetype == "application/json" and req.content_length:
        # A NUL can only reach a parsed JSON value from a raw NUL byte (a UTF-16/32 body has
        # them everywhere) or the escape \u0000: without either the body is not parsed here
        # (the route parses it once, not twice).
        raw = req.get_data(cache=True)
        if b"\x00" not in raw and b"\\u0000" not in raw:
            return
        body = req.get_json(silent=True)
        found = find_nul(body) if body is not None else None
        if found:
            raise field_error(found, MESSAGE)


def register(app: Flask) -> None:
    app.before_request(refuse_nul_characters)
