"""Validate GeoReport v2 responses against the published JSON schemas (vendored beside
this file, see georeport_v2_schema/SOURCE.md); XML is read into the same shape first."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET  # noqa: S405 - parsing our own responses

from jsonschema import Draft4Validator, FormatChecker

SCHEMA_DIR = Path(__file__).resolve().parent / "georeport_v2_schema"
FORMATS = FormatChecker(formats=())


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if "T" not in value or not (value.endswith("Z") or "+" in value[10:] or "-" in value[10:]):
        raise ValueError(f"not an RFC 3339 date-time: {value!r}")
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


@FORMATS.checks("uri", raises=ValueError)
def _uri(value: object) -> bool:
    if isinstance(value, str) and "://" not in value:
        raise ValueError(f"not a URI: {value!r}")
    return True


def _schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMA_DIR / name).read_text())


def validate_list(items: Any, item_schema: str) -> None:
    """``requests.json``/``services.json`` are arrays of ``$ref`` items: check both levels."""
    container = _schema(item_schema.replace(".json", "s.json"))
    assert container["type"] == "array" and isinstance(items, list)
    validator = Draft4Validator(_schema(item_schema), format_checker=FORMATS)
    for item in items:
        validator.validate(item)


def validate_one(document: Any, schema: str) -> None:
    Draft4Validator(_schema(schema), format_checker=FORMATS).validate(document)


# --- XML into the JSON shape ---------------------------------------------------------

NUMBERS = {"lat", "long"}
BOOLEANS = {"metadata", "variable", "required"}
LISTS = {"attributes", "values"}


def _value(element: ET.Element) -> Any:
    tag = element.tag
    if tag in LISTS:
        return [_record(child) for child in element]
    text = element.text
    if text is None:
        return None
    if tag in NUMBERS:
        return float(text)
    if tag in BOOLEANS:
        assert text in ("true", "false"), (tag, text)
        return text == "true"
    if tag == "order":
        return int(text)
    return text


def _record(element: ET.Element) -> dict[str, Any]:
    return {child.tag: _value(child) for child in element}


def xml_items(payload: bytes, root: str, item: str) -> list[dict[str, Any]]:
    tree = ET.fromstring(payload)  # noqa: S314 - our own response
    assert tree.tag == root, tree.tag
    assert all(child.tag == item for child in tree)
    return [_record(child) for child in tree]


def xml_record(payload: bytes, root: str) -> dict[str, Any]:
    tree = ET.fromstring(payload)  # noqa: S314
    assert tree.tag == root, tree.tag
    return _record(tree)
