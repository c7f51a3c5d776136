"""Round trip with an Open311 client from PyPI (``georeport``) over real HTTP on loopback."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from georeport import GeoReport
from werkzeug.serving import make_server

from backend.open311 import service
from tests.support.reports import WIGAN_CENTRAL


@pytest.fixture
def server(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}/open311/v2"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_request_posted_over_http_reads_back_through_the_georeport_client(app, server, fmt):
    _, key = service.create_key("georeport test")
    with requests.Session() as http:
        posted = http.post(
            f"{server}/requests.json",
            data={
                "api_key": key,
                "jurisdiction_id": "wigan.gov.uk",
                "service_code": "youth_asb",
                "lat": str(WIGAN_CENTRAL[0]),
                "long": str(WIGAN_CENTRAL[1]),
                "description": "Bikes ridden at people on the canal towpath",
                "email": "someone@example.org",
            },
            timeout=10,
        )
    assert posted.status_code == 201, posted.text
    request_id = posted.json()[0]["service_request_id"]

    client = GeoReport(server, jurisdiction="wigan.gov.uk", output_format=fmt)
    services = client.get_service_list()
    assert "youth_asb" in {s["service_code"] for s in services}
    definition = client.get_service_definition("youth_asb")
    assert definition["service_code"] == "youth_asb"

    now = datetime.now(UTC)
    found = client.get_service_requests(
        start_date=(now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        end_date=(now + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        service_code="youth_asb",
    )
    if isinstance(found, dict):  # xmltodict gives a dict for a single <request>
        found = [found]
    assert [r["service_request_id"] for r in found] == [request_id]
    one = client.get_service_request(request_id)
    assert one["service_code"] == "youth_asb"
    assert one["status"] == "open"
    assert one["description"] == "Bikes ridden at people on the canal towpath"
    assert "someone@example.org" not in str(one)
