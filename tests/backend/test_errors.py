"""Every error, whatever raised it, comes back in the one shape."""

from __future__ import annotations

import pytest

SHAPE = {"code", "status", "message", "errors"}


def assert_error(response, code: int) -> dict:
    assert response.status_code == code, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == SHAPE
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    return body


def test_401_without_a_token(client):
    response = client.get("/api/v1/me")
    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header", ["Basic abc", "Bearer", "Bearer    ", "Token x", "Bearer dev.garbage"]
)
def test_401_for_malformed_or_invalid_authorization(client, header):
    assert_error(client.get("/api/v1/me", headers={"Authorization": header}), 401)


def test_403_for_a_resident_on_an_admin_route(client, resident):
    body = assert_error(client.get("/api/v1/users", headers=resident.headers), 403)
    assert body["status"] == "Forbidden"


def test_404_for_an_unknown_path(client):
    assert_error(client.get("/api/v1/nothing-here"), 404)


def test_405_names_the_allowed_methods(client):
    response = client.delete("/healthz")
    assert_error(response, 405)
    assert "GET" in response.headers["Allow"]


def test_413_for_an_oversized_body(client, resident, app):
    big = b'{"display_name": "' + b"x" * (app.config["MAX_CONTENT_LENGTH"] + 10) + b'"}'
    response = client.patch(
        "/api/v1/me", data=big, headers={**resident.headers, "Content-Type": "application/json"}
    )
    assert_error(response, 413)


def test_415_for_a_body_that_is_not_json(client, resident):
    response = client.patch(
        "/api/v1/me",
        data="display_name=x",
        headers={**resident.headers, "Content-Type": "text/plain"},
    )
    body = assert_error(response, 415)
    assert "application/json" in body["message"]


def test_400_for_broken_json(client, resident):
    response = client.patch(
        "/api/v1/me",
        data="{not json",
        headers={**resident.headers, "Content-Type": "application/json"},
    )
    assert response.status_code in (400, 422)
    assert set(response.get_json()) == SHAPE


def test_422_names_the_field(client, resident):
    response = client.patch(
        "/api/v1/me", json={"display_name": "", "ward_code": "nope"}, headers=resident.headers
    )
    body = assert_error(response, 422)
    assert set(body["errors"]) == {"display_name", "ward_code"}
    assert "display_name" in body["message"]


def test_422_for_unknown_fields(client, resident):
    body = assert_error(
        client.patch("/api/v1/me", json={"role": "admin"}, headers=resident.headers), 422
    )
    assert "role" in body["errors"]


def test_422_for_an_unknown_ward(client, resident):
    body = assert_error(
        client.patch("/api/v1/me", json={"ward_code": "E05999999"}, headers=resident.headers), 422
    )
    assert body["errors"] == {"ward_code": ["unknown ward"]}


@pytest.fixture
def scratch_app(app, database_url):
    """A second app on the same database, to which a test may add routes."""
    from tests.support.apps import make_test_app

    return make_test_app(database_url)


def test_429_has_retry_after(scratch_app):
    from backend.extensions import limiter

    app, client = scratch_app, scratch_app.test_client()

    @app.get("/api/v1/_limited_for_test")
    @limiter.limit("2/minute")
    def limited():
        return {"ok": True}

    statuses = [client.get("/api/v1/_limited_for_test").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    response = client.get("/api/v1/_limited_for_test")
    assert_error(response, 429)
    assert int(response.headers["Retry-After"]) > 0


def test_500_is_in_the_shape_and_hides_the_detail(scratch_app):
    app, client = scratch_app, scratch_app.test_client()

    @app.get("/api/v1/_boom_for_test")
    def boom():
        raise RuntimeError("secret internals")

    body = assert_error(client.get("/api/v1/_boom_for_test"), 500)
    assert "secret" not in body["message"]
