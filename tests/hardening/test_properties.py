"""Property tests (hypothesis) for coordinates and inputs: whatever arrives, the answer is a
2xx or a 4xx in the shared error shape naming the field, never a 5xx."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.reports import WIGAN_CENTRAL

SHAPE = {"code", "status", "message", "errors"}
PROPERTY_SETTINGS = settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

edge_floats = st.sampled_from(
    [
        math.nan,
        math.inf,
        -math.inf,
        90.0,
        -90.0,
        90.0000001,
        -90.0000001,
        180.0,
        -180.0,
        180.0000001,
        -180.0000001,
        0.0,
        -0.0,
        1e308,
        -1e308,
        5e-324,
    ]
)
any_float = st.one_of(edge_floats, st.floats(allow_nan=True, allow_infinity=True))
wrong_types = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


@pytest.fixture(autouse=True)
def _no_rate_limits(app):  # type: ignore[no-untyped-def]
    """Rate limits have their own tests; here they would turn examples into 429s."""
    from backend.extensions import limiter

    limiter.enabled = False
    yield
    limiter.enabled = True


def assert_ok_or_names_field(response, *fields: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code >= 400:
        body = response.get_json()
        assert set(body) == SHAPE
        assert body["code"] == response.status_code
        if response.status_code == 422:
            assert set(body["errors"]) & set(fields), body


def _query_number(value: float) -> str:
    return repr(value) if not math.isnan(value) else "nan"


@PROPERTY_SETTINGS
@given(lat=any_float, lon=any_float)
def test_nearby_reports_take_any_coordinates_without_a_5xx(client, lat, lon):
    response = client.get(
        f"/api/v1/reports/nearby?lat={_query_number(lat)}&lon={_query_number(lon)}"
    )
    assert_ok_or_names_field(response, "lat", "lon")
    valid = math.isfinite(lat) and math.isfinite(lon) and abs(lat) <= 90 and abs(lon) <= 180
    assert (response.status_code == 200) == valid, (lat, lon, response.status_code)


@PROPERTY_SETTINGS
@given(lat=any_float, lon=any_float)
def test_locate_takes_any_coordinates_without_a_5xx(client, lat, lon):
    response = client.get(f"/api/v1/areas/locate?lat={_query_number(lat)}&lon={_query_number(lon)}")
    assert_ok_or_names_field(response, "lat", "lon")
    valid = math.isfinite(lat) and math.isfinite(lon) and abs(lat) <= 90 and abs(lon) <= 180
    if not valid:
        assert 400 <= response.status_code < 500


@pytest.mark.parametrize(
    "lat, lon",
    [(90.0, 0.0), (-90.0, 0.0), (53.5, 180.0), (53.5, -180.0), (-90.0, -180.0), (0.0, 179.9999)],
)
def test_poles_and_the_antimeridian_are_valid_places_with_nothing_near(client, lat, lon):
    response = client.get(f"/api/v1/reports/nearby?lat={lat}&lon={lon}&radius_m=2000")
    assert response.status_code == 200
    assert response.get_json() == []


@PROPERTY_SETTINGS
@given(lat=any_float, lon=any_float)
def test_report_coordinates_in_json_never_5xx(client, resident, lat, lon):
    body = {
        "category": "asb",
        "description": "property test",
        "lat": lat,
        "lon": lon,
        "anonymous": True,
    }
    # json.dumps writes NaN/Infinity (not JSON): the server must refuse those cleanly too.
    response = client.post(
        "/api/v1/reports",
        data=json.dumps(body),
        headers={**resident.headers, "Content-Type": "application/json"},
    )
    assert_ok_or_names_field(response, "lat", "lon", "_schema", "location")
    assert response.status_code in (201, 400, 422)


@PROPERTY_SETTINGS
@given(
    field=st.sampled_from(["category", "description", "lat", "lon", "anonymous", "observed_at"]),
    value=wrong_types,
)
def test_wrong_types_in_a_report_name_the_field(client, resident, field, value):
    body = {
        "category": "asb",
        "description": "property test",
        "lat": WIGAN_CENTRAL[0],
        "lon": WIGAN_CENTRAL[1],
        "anonymous": True,
    }
    body[field] = value
    response = client.post("/api/v1/reports", json=body, headers=resident.headers)
    assert_ok_or_names_field(response, field, "location")


@PROPERTY_SETTINGS
@given(
    text=st.one_of(
        st.text(min_size=0, max_size=200),
        st.just(""),
        st.just(" \t\n"),
        st.just("\x00"),
        st.just("\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace")),
        st.just("🚨" * 500),
        st.just("x" * 20_000),
        st.just("\u202e\u0644\u0627 RTL"),
    )
)
def test_any_text_in_a_report_description_or_display_name(client, resident, text):
    report = client.post(
        "/api/v1/reports",
        json={
            "category": "asb",
            "description": text,
            "lat": WIGAN_CENTRAL[0],
            "lon": WIGAN_CENTRAL[1],
            "anonymous": True,
        },
        headers=resident.headers,
    )
    assert_ok_or_names_field(report, "description")
    me = client.patch("/api/v1/me", json={"display_name": text}, headers=resident.headers)
    assert_ok_or_names_field(me, "display_name")
    if me.status_code == 200:  # kept as written, less the spaces around it
        assert client.get("/api/v1/me", headers=resident.headers).get_json()["display_name"] == (
            text.strip()
        )


@PROPERTY_SETTINGS
@given(raw=st.binary(max_size=300))
def test_arbitrary_bytes_as_a_json_body(client, resident, raw):
    response = client.post(
        "/api/v1/reports",
        data=raw,
        headers={**resident.headers, "Content-Type": "application/json"},
    )
    assert response.status_code in (201, 400, 401, 422), response.get_data(as_text=True)
    assert set(response.get_json()) == SHAPE


def _body_routes(app):  # type: ignore[no-untyped-def]
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH"}):
            yield method, rule


def test_every_body_route_refuses_an_oversized_body_with_413(app, client, admin):
    too_big = app.config["MAX_CONTENT_LENGTH"] + 1
    seen = 0
    for method, rule in _body_routes(app):
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<int:{name}>", "1").replace(f"<{name}>", "json")
            path = path.replace(f"<string:{name}>", "x")
        body = b'{"x": "' + b"a" * too_big + b'"}'
        content_type = "application/json"
        accepted = getattr(app.view_functions[rule.endpoint], "accepts_content_types", None)
        if accepted and content_type not in accepted:  # an upload route: its own type
            content_type = sorted(accepted)[0]
            if content_type.startswith("multipart/"):
                content_type += "; boundary=x"
        response = client.open(
            path,
            method=method,
            data=body,
            headers={**admin.headers, "Content-Type": content_type},
        )
        assert response.status_code == 413, (method, path, response.status_code)
        seen += 1
    assert seen >= 4
