"""JSON responses for hot paths, built without a marshmallow dump.

A route on a hot path may return ``json_response(payload)`` where ``payload`` already has
exactly the shape and types of its documented ``@blp.response`` schema (flask-smorest passes a
Response through untouched, and the schema still documents it). Each such route has a test
holding its output equal to the schema's dump."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from flask import Response


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()  # what marshmallow's DateTime/Date fields write
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_response(payload: Any, status: int = 200) -> Response:
    body = json.dumps(payload, default=_default, separators=(",", ":"), allow_nan=False)
    return Response(body, status=status, mimetype="application/json")
