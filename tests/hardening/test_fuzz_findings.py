"""Bugs the fuzzer found, pinned so they stay fixed (each was a 500 before)."""

from __future__ import annotations

import pytest


def test_an_id_beyond_32_bits_in_a_path_is_404_not_an_overflow(client, admin):
    # PostgreSQL raised NumericValueOutOfRange for /users/64164260880532/role.
    response = client.put(
        "/api/v1/users/64164260880532/role", json={"role": "venue_staff"}, headers=admin.headers
    )
    assert response.status_code == 404
    assert response.get_json()["code"] == 404
    response = client.patch(
        f"/api/v1/reports/{2**31}", json={"status": "in_progress"}, headers=admin.headers
    )
    assert response.status_code == 404


def test_int_path_parameters_are_documented_with_their_range(client):
    spec = client.get("/openapi.json").get_json()
    parameters = spec["paths"]["/api/v1/users/{user_id}/role"]["parameters"]
    assert parameters[0]["schema"]["maximum"] == 2**31 - 1


@pytest.mark.parametrize("request_id", ["99999999999", "%C2%B2", "0", "1%C2%B2"])
def test_open311_request_ids_out_of_range_or_not_ascii_are_404(client, request_id):
    # '²'.isdigit() is True but int('²') raises; 11 digits overflowed PostgreSQL's integer.
    response = client.get(f"/open311/v2/requests/{request_id}.json")
    assert response.status_code == 404
    assert response.get_json()[0]["code"] == 404


@pytest.mark.parametrize("ids", ["%C2%B2", "99999999999", "1,%C2%B2"])
def test_open311_request_id_filters_out_of_range_or_not_ascii_are_400(client, ids):
    response = client.get(f"/open311/v2/requests.json?service_request_id={ids}")
    assert response.status_code == 400
    assert "service_request_id" in response.get_json()[0]["description"]


def test_public_routes_document_an_optional_token_and_private_ones_a_required_one(client):
    spec = client.get("/openapi.json").get_json()
    assert {} in spec["security"]
    assert spec["paths"]["/api/v1/me"]["get"]["security"] == [{"bearerAuth": []}]
    assert "security" not in spec["paths"]["/api/v1/reports"]["post"]


def test_open311_operations_document_their_own_formats(client):
    spec = client.get("/openapi.json").get_json()
    responses = spec["paths"]["/open311/v2/requests.{fmt}"]["get"]["responses"]
    assert set(responses["200"]["content"]) == {"application/json", "text/xml"}
    assert responses["default"]["content"]["application/json"]["schema"]["type"] == "array"


def test_a_nul_character_in_a_json_body_is_422_naming_the_field(client, resident):
    # PostgreSQL text cannot hold U+0000: psycopg raised DataError, a 500 on PostGIS.
    response = client.patch(
        "/api/v1/me", json={"display_name": "Al\x00ice"}, headers=resident.headers
    )
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"display_name"}
    response = client.post(
        "/api/v1/reports",
        json={"category": "asb", "description": "ok", "lat": 53.55, "lon": -2.63, "x": ["\x00"]},
    )
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"x"}


def test_the_nul_guard_reads_every_json_spelling_of_nul(client, resident):
    """The guard skips parsing a body holding neither a NUL byte nor the escape: every way a
    NUL can be spelt in JSON is still found, and text that only looks like one is not."""
    import json

    for body in (
        b'{"display_name": "Al\\u0000ice"}',  # the escape
        '{"display_name": "Al\\u0000ice"}'.encode("utf-16"),  # UTF-16: NUL bytes everywhere
        b'{"display_name": "Alice", "k\\u0000": 1}',  # in a key
    ):
        response = client.patch(
            "/api/v1/me",
            data=body,
            headers={**resident.headers, "Content-Type": "application/json"},
        )
        assert response.status_code == 422, body
        assert "U+0000" in json.dumps(response.get_json()), body
    response = client.patch(
        "/api/v1/me",
        data=b'{"display_name": "Al\\\\u0000ice"}',  # an escaped backslash, then text
        headers={**resident.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 200
    assert response.get_json()["display_name"] == "Al\\u0000ice"


def test_a_nul_character_in_a_query_a_form_or_a_path_is_refused(client):
    response = client.get("/api/v1/reports/nearby?lat=53.55&lon=-2.63&radius_m=5%00")
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"radius_m"}
    response = client.post(
        "/open311/v2/requests.json", data={"api_key": "k\x00", "service_code": "asb"}
    )
    assert response.status_code == 400  # Open311 speaks 400 for bad input
    assert "api_key" in response.get_json()[0]["description"]
    assert client.get("/api/v1/areas/postcodes/WN1%001AA").status_code == 404


def test_a_multipart_part_without_a_name_is_refused(client):
    """Found by the OpenAPI fuzzer: a form part whose Content-Disposition has no name reads
    as a key of None, which the NUL guard and the Open311 form reader tripped over (500)."""
    body = (
        b"--b\r\nContent-Disposition: form-data\r\n\r\ntrue\r\n"
        b'--b\r\nContent-Disposition: form-data; name="service_code"\r\n\r\nasb\r\n--b--\r\n'
    )
    response = client.post(
        "/open311/v2/requests.json", data=body, content_type="multipart/form-data; boundary=b"
    )
    assert response.status_code == 400  # Open311 speaks 400 for bad input
    assert "must have a name" in response.get_json()[0]["description"]
    response = client.post("/osmand", data=body, content_type="multipart/form-data; boundary=b")
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"_form"}
