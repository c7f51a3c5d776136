"""The nearest query's plain load: whatever the query string, the route's parser gives what
webargs' full parse of the shared schema gives, values, types and errors alike."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from flask import Flask, request
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import Schema, fields
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from backend.arguments import Blueprint, Parser, plain_query
from backend.venues.schemas import NearestQuerySchema
from shared_schemas import venues as shared

SERVED, SHARED = NearestQuerySchema(), shared.NearestQuerySchema()
APP = Flask(__name__)

numbers = st.one_of(
    st.sampled_from(
        ["53.5", "-2.63", "90", "90.0", "90.0000001", "-180", "180.5", "0", "-0", "+5", "5.0"]
    ),
    st.sampled_from(["05", "1e3", " 53.5", "53.5 ", "nan", "inf", "-inf", "1_0", "\u0665\u0663"]),
    st.sampled_from(["1", "50", "51", "100000", "100000.5", "0.5", "", "east", "1" * 20]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(-200, 200).map(str),
    st.integers(-(10**12), 10**12).map(str),
)
flags = st.sampled_from(["true", "false", "True", "FALSE", "1", "0", "yes", "on", "off", "", "2"])
times = st.one_of(
    st.sampled_from(
        [
            "2026-11-21T02:00:00Z",
            "2026-11-21T02:00:00+00:00",
            "2026-11-21T02:00",
            "2026-11-21T02:00:00.123456+05:30",
            "2026-03-29T01:30:00",  # does not exist in London
            "2026-10-25T01:30:00",  # happens twice in London
            "2026-11-21",
            "2026-11-21 02:00:00Z",
            "20261121T020000Z",
            "1999-01-01T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-11-21T24:00:00Z",
            "now",
        ]
    ),
    st.datetimes().map(lambda t: t.isoformat(timespec="seconds")),
    st.datetimes().map(lambda t: t.isoformat() + "Z"),
)
values = {
    "lat": numbers,
    "lon": numbers,
    "limit": numbers,
    "radius_m": numbers,
    "open_now": flags,
    "include_candidates": flags,
    "at": times,
    "near": st.sampled_from(["WN1 1AA", "W", "x" * 11]),
    "category": st.sampled_from(["pub_or_bar", "pharmacy,hotel", "nightclub"]),
    "x": st.just("1"),
}
pairs = st.sampled_from(sorted(values)).flatmap(lambda key: st.tuples(st.just(key), values[key]))
point = st.tuples(st.just("lat"), numbers), st.tuples(st.just("lon"), numbers)
decimals = st.integers(0, 9).flatmap(
    lambda places: st.floats(-185, 185).map(lambda x: f"{x:.{places}f}")
)
plausible = st.fixed_dictionaries(
    {"lat": decimals, "lon": decimals},
    optional={
        "limit": st.integers(0, 60).map(str),
        "radius_m": decimals,
        "open_now": flags,
        "include_candidates": flags,
        "at": times,
    },
).map(lambda query: list(query.items()))
queries = st.one_of(
    st.lists(pairs, max_size=9),
    st.tuples(*point, st.lists(pairs, max_size=5)).map(lambda q: [q[0], q[1], *q[2]]),
    plausible,
)


def parse(parser: FlaskParser, schema: Schema, query: list[tuple[str, str]]):  # type: ignore[no-untyped-def]
    with APP.test_request_context("/?" + urlencode(query)):
        try:
            return parser.parse(schema, request, location="query")
        except HTTPException as exc:
            return exc


def typed(loaded: dict) -> dict:
    """Values with their types and zones (equal datetimes may differ in zone)."""
    return {k: (v, type(v), getattr(v, "tzinfo", None)) for k, v in loaded.items()}


@settings(max_examples=600, derandomize=True, deadline=None, database=None)
@given(queries)
def test_the_routes_parser_loads_what_webargs_loads_or_raises_the_same_error(query):
    served = parse(Blueprint.ARGUMENTS_PARSER, SERVED, query)
    expected = parse(FlaskParser(), SHARED, query)
    if isinstance(expected, HTTPException):
        assert isinstance(served, HTTPException)
        assert served.code == expected.code == 422
        assert served.data["messages"] == expected.data["messages"]  # type: ignore[attr-defined]
    else:
        assert not isinstance(served, HTTPException), served
        assert typed(served) == typed(expected)


@pytest.mark.parametrize(
    "query",
    [
        "lat=53.5451&lon=-2.6325",
        "lat=53.5451&lon=-2.6325&limit=5&at=2026-11-21T02:00:00Z",
        "lat=53&lon=-2&open_now=false&radius_m=500&include_candidates=true",
        "lat=53.5451&lon=-2.6325&at=2026-11-21T02:00",
    ],
)
def test_the_apps_own_queries_take_the_plain_load(query):
    args = MultiDict(pair.split("=") for pair in query.split("&"))
    loaded = SERVED.load_plain(args)
    assert loaded is not None
    assert typed(loaded) == typed(parse(FlaskParser(), SHARED, list(args.items(multi=True))))


@pytest.mark.parametrize(
    "query",
    [
        "near=WN1+1AA",
        "lat=53.5&lon=-2.6&near=WN1+1AA",
        "lat=53.5",
        "lat=53.5&lon=-2.6&lon=-2.7",
        "lat=53.5&lon=-2.6&category=pub_or_bar",
        "lat=53.5&lon=-2.6&x=1",
        "lat=91&lon=-2.6",
        "lat=53.5&lon=-2.6&limit=0",
        "lat=1e1&lon=2",
        "lat=53.5&lon=-2.6&at=1999-01-01T00:00:00Z",
    ],
)
def test_anything_unusual_is_left_to_the_schema(query):
    with APP.test_request_context("/?" + query):
        assert SERVED.load_plain(request.args) is None


def test_a_field_it_cannot_read_is_refused_when_the_loader_is_made():
    class Named(Schema):
        name = fields.String()
        renamed = fields.Float(data_key="other")

    with pytest.raises(TypeError, match="String"):
        plain_query(Named(), ["name"])
    with pytest.raises(TypeError, match="own names"):
        plain_query(Named(), ["renamed"])


def test_a_schema_without_a_plain_load_is_parsed_by_webargs():
    class Point(Schema):
        lat = fields.Float(required=True)

    with APP.test_request_context("/?lat=1.5&x=2"):
        assert Parser().parse(Point(), request, location="query") == {"lat": 1.5}


@settings(max_examples=200, derandomize=True, deadline=None, database=None)
@given(st.floats(-90, 90), st.floats(-180, 180))
def test_the_apps_coordinates_as_python_writes_them_take_the_plain_load(lat, lon):
    # The app sends str(float): up to 17 significant digits, exponents for tiny values.
    query = [("lat", str(lat)), ("lon", str(lon)), ("open_now", "true")]
    expected = parse(FlaskParser(), SHARED, query)
    loaded = SERVED.load_plain(MultiDict(query))
    if "e" in str(lat) + str(lon):
        assert loaded is None
    else:
        assert loaded is not None and typed(loaded) == typed(expected)


def test_the_route_loads_a_plain_point_query_itself_and_a_bad_one_through_webargs(
    client, monkeypatch
):
    through_webargs = []
    full_parse = FlaskParser.parse

    def counted(self, argmap, *args, **kwargs):  # type: ignore[no-untyped-def]
        through_webargs.append(type(argmap).__name__)
        return full_parse(self, argmap, *args, **kwargs)

    monkeypatch.setattr(FlaskParser, "parse", counted)
    point = client.get("/api/v1/venues/nearest?lat=53.5451&lon=-2.6325&at=2026-11-21T02:00Z")
    assert point.status_code == 200, point.json
    assert through_webargs == []
    bad = client.get("/api/v1/venues/nearest?lat=95&lon=-2.6325")
    assert bad.status_code == 422 and "lat" in bad.json["errors"]
    assert through_webargs == ["NearestQuerySchema"]


def test_a_strict_integer_is_refused_and_a_required_field_is_required():
    class Paged(Schema):
        page = fields.Integer(strict=True)
        size = fields.Integer(required=True)
        lat = fields.Float()

    with pytest.raises(TypeError, match="strict"):
        plain_query(Paged(), ["page"])
    load = plain_query(Paged(), ["size", "lat"])
    assert load(MultiDict([("lat", "1.5")])) is None
    assert load(MultiDict([("lat", "1.5"), ("size", "3")])) == {"lat": 1.5, "size": 3}
