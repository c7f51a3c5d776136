"""Request arguments: flask-smorest's parser, with a fast path for a plainly valid query string.

A schema on a hot path may define ``load_plain(args)``: what its webargs load of the query
string ``args`` gives when every argument is plainly valid, else None; the full parse then
runs and words every error exactly as before. :func:`plain_query` builds such a loader from
a schema's own fields, converters and validators; each schema that has one has a property
test holding it equal to the schema's load. (JSON bodies are parsed by webargs: a plain
path for the fix route's body saved 1% of accepted fixes/s, issue 20, and was removed.)"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

import flask_smorest
from flask import request
from marshmallow import Schema, ValidationError, fields, missing
from webargs.flaskparser import FlaskParser

# Canonical spellings only (ASCII digits: ``\d`` would admit other scripts' digits); anything
# else, however valid, goes to the schema.
_FLOAT = re.compile(r"-?[0-9]{1,12}(\.[0-9]{1,20})?", re.ASCII)
_INTEGER = re.compile(r"-?[0-9]{1,9}", re.ASCII)
_ISO_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?",
    re.ASCII,
)


def _float(field: fields.Float) -> Callable[[str], Any]:
    def convert(text: str) -> float | None:
        if not _FLOAT.fullmatch(text):
            return None
        value = float(text)
        return value if math.isfinite(value) else None

    return convert


def _integer(field: fields.Integer) -> Callable[[str], Any]:
    if field.strict:  # a strict Integer refuses every string
        raise TypeError("plain_query cannot read a strict Integer field")

    def convert(text: str) -> int | None:
        return int(text) if _INTEGER.fullmatch(text) else None

    return convert


def _boolean(field: fields.Boolean) -> Callable[[str], Any]:
    truthy, falsy = field.truthy, field.falsy

    def convert(text: str) -> bool | None:
        if text in truthy:
            return True
        if text in falsy:
            return False
        return None

    return convert


def _aware_datetime(field: fields.AwareDateTime) -> Callable[[str], Any]:
    zone = field.default_timezone
    if field.format not in (None, "iso") or zone is None:
        raise TypeError("plain_query reads ISO 8601 times with a default zone only")

    def convert(text: str) -> datetime | None:
        if not _ISO_DATETIME.fullmatch(text):
            return None
        try:
            value = datetime.fromisoformat(text)  # what the field's "iso" format uses
        except ValueError:
            return None
        return value if value.tzinfo is not None else value.replace(tzinfo=zone)

    return convert


_CONVERTERS: tuple[tuple[type[fields.Field], Callable[[Any], Callable[[str], Any]]], ...] = (
    (fields.AwareDateTime, _aware_datetime),
    (fields.Float, _float),
    (fields.Integer, _integer),
    (fields.Boolean, _boolean),
)


def _converter(field: fields.Field) -> Callable[[str], Any]:
    if field.data_key is not None:
        raise TypeError("plain_query reads fields under their own names only")
    for kind, make in _CONVERTERS:
        if type(field) is kind:
            return make(field)
    raise TypeError(f"plain_query cannot read a {type(field).__name__} field")


def plain_query(
    schema: Schema, names: Collection[str], required: Collection[str] = ()
) -> Callable[[Any], dict[str, Any] | None]:
    """A loader of the query strings that give only ``names`` (each once, ``required`` among
    them), in canonical spellings that pass the fields' validators: it returns what the
    schema's load returns for them (the given values and the other fields' load defaults).
    The schema's own ``validates_schema`` hooks do not run: give ``required`` so that they
    cannot fail on what is loaded."""
    readers = {}
    for name in names:
        field = schema.fields[name]
        readers[name] = (_converter(field), tuple(field.validators))
    defaults: dict[str, Any] = {}
    made: dict[str, Callable[[], Any]] = {}
    for name, field in schema.fields.items():
        default = field.load_default
        if default is missing:
            continue
        if callable(default):
            made[name] = default
        else:
            defaults[name] = default
    needed = frozenset(required) | {n for n, f in schema.fields.items() if f.required}

    def load(args: Any) -> dict[str, Any] | None:
        loaded = dict(defaults)
        for name, make in made.items():
            loaded[name] = make()
        for name, values in args.lists():
            reader = readers.get(name)
            if reader is None or len(values) != 1:
                return None
            convert, validators = reader
            value = convert(values[0])
            if value is None:
                return None
            try:
                for validator in validators:
                    if validator(value) is False:
                        return None
            except ValidationError:
                return None
            loaded[name] = value
        if not needed <= loaded.keys():
            return None
        return loaded

    return load


class Parser(FlaskParser):
    """webargs' Flask parser; a query string the schema loads plainly skips webargs' load."""

    def parse(self, argmap: Any, req: Any = None, *, location: str | None = None, **kwargs: Any):  # type: ignore[no-untyped-def]
        load_plain = getattr(argmap, "load_plain", None)
        if load_plain is not None and location == "query":
            loaded = load_plain((req if req is not None else request).args)
            if loaded is not None:
                return loaded
        return super().parse(argmap, req, location=location, **kwargs)


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint with :class:`Parser` (documentation unchanged)."""

    ARGUMENTS_PARSER = Parser()
