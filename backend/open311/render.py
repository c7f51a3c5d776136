"""GeoReport v2 documents in XML and JSON, and the spec's error format."""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET  # noqa: S405 - we only build XML, never parse it

from flask import Response

# How list members are named inside their XML parent.
LIST_ITEMS = {
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}
MIMETYPES = {"xml": "text/xml", "json": "application/json"}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(element: ET.Element, data: dict[str, Any]) -> None:
    for key, value in data.items():
        child = ET.SubElement(element, key)
        if isinstance(value, list):
            item_tag = LIST_ITEMS.get(key, "item")
            for item in value:
                node = ET.SubElement(child, item_tag)
                if isinstance(item, dict):
                    _fill(node, item)
                else:
                    node.text = _text(item)
        elif isinstance(value, dict):
            _fill(child, value)
        else:
            child.text = _text(value)


def xml_document(root: str, item: str | None, body: list[dict[str, Any]] | dict[str, Any]) -> bytes:
    """``<root><item>...</item>...</root>`` for a list, or ``<root>...</root>`` for a dict."""
    element = ET.Element(root)
    if isinstance(body, list):
        for entry in body:
            _fill(ET.SubElement(element, item or "item"), entry)
    else:
        _fill(element, body)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)


def document(
    fmt: str,
    root: str,
    item: str | None,
    body: list[dict[str, Any]] | dict[str, Any],
    status: int = 200,
) -> Response:
    """The response for ``body`` in ``fmt`` (xml or json)."""
    if fmt == "xml":
        payload = xml_document(root, item, body)
    else:
        payload = json.dumps(body, separators=(",", ":")).encode()
    return Response(payload, status=status, mimetype=MIMETYPES[fmt], content_type=None)


def errors(
    fmt: str, code: int, description: str, headers: dict[str, str] | None = None
) -> Response:
    """The spec's error list: ``[{"code": 400, "description": "..."}]`` or ``<errors>``."""
    response = document(fmt, "errors", "error", [{"code": code, "description": description}], code)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response
