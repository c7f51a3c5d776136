"""Open311 GeoReport v2: schema-valid XML and JSON, FixMyStreet-shaped posts, the spec's
errors, filters and windows, hidden contact details, hashed keys and servicerequestupdates."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from xml.etree import ElementTree as ET  # noqa: S405

import pytest
from sqlalchemy import text

from backend.extensions import db
from backend.open311 import service
from tests.backend.open311.schemas import validate_list, validate_one, xml_items, xml_record
from tests.support.reports import MANCHESTER, WIGAN_CENTRAL, make_report

BASE = "/open311/v2"


@pytest.fixture
def api_key(app) -> str:  # type: ignore[no-untyped-def]
    return service.create_key("FixMyStreet")[1]


def fixmystreet_form(key: str, **overrides) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """What FixMyStreet's Open311 sender posts for a basic (non-extended) endpoint."""
    form = {
        "api_key": key,
        "jurisdiction_id": "wigan.gov.uk",
        "service_code": "street_drinking",
        "lat": "53.550123",
        "long": "-2.630456",
        "address_string": "WN1 1AA",
        "email": "pat.resident@example.org",
        "first_name": "Pat",
        "last_name": "Resident",
        "phone": "07700 900123",
        "description": (
            "title: Drinking outside the precinct\n\n"
            "detail: Group drinking every evening by the benches, bottles left behind.\n\n"
            "url: https://www.fixmystreet.com/report/1234567\n\n"
            "Submitted via FixMyStreet\n"
        ),
        "media_url": "https://www.fixmystreet.com/photo/1234567.0.full.jpeg",
        "attribute[title]": "Drinking outside the precinct",
        "attribute[description]": "Group drinking every evening by the benches",
        "attribute[report_url]": "https://www.fixmystreet.com/report/1234567",
        "attribute[easting]": "358176",
        "attribute[northing]": "405607",
        "attribute[fixmystreet_id]": "1234567",
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def errors_of(response, fmt: str) -> list[dict]:  # type: ignore[no-untyped-def]
    if fmt == "json":
        return response.get_json()
    tree = ET.fromstring(response.data)  # noqa: S314
    assert tree.tag == "errors"
    return [{c.tag: c.text for c in error} for error in tree]


def test_discovery_lists_the_endpoint_in_both_formats(client):
    body = client.get(f"{BASE}/discovery.json").get_json()
    assert body["endpoints"][0]["url"].endswith("/open311/v2")
    assert set(body["endpoints"][0]["formats"]) == {"text/xml", "application/json"}
    assert client.get(f"{BASE}/discovery").get_json() == body
    # The base URL clients are configured with answers with discovery too.
    base = client.get(f"{BASE}/")
    assert base.status_code == 200 and base.get_json() == body
    record = xml_record(client.get(f"{BASE}/discovery.xml").data, "discovery")
    assert record["contact"] == body["contact"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_services_and_definitions_match_the_published_schemas(client, fmt):
    response = client.get(f"{BASE}/services.{fmt}?jurisdiction_id=wigan.gov.uk")
    assert response.status_code == 200
    assert response.mimetype == ("application/json" if fmt == "json" else "text/xml")
    services = (
        response.get_json() if fmt == "json" else xml_items(response.data, "services", "service")
    )
    validate_list(services, "service.json")
    assert {s["service_code"] for s in services} >= {"knife_weapon", "drug_dealing", "asb"}
    for entry in services:
        response = client.get(f"{BASE}/services/{entry['service_code']}.{fmt}")
        definition = (
            response.get_json()
            if fmt == "json"
            else xml_record(response.data, "service_definition")
        )
        validate_one(definition, "service-definition.json")
        assert definition["service_code"] == entry["service_code"]


def test_the_schemas_do_catch_a_bad_document():
    import jsonschema

    with pytest.raises(jsonschema.ValidationError):
        validate_list([{"service_request_id": "1", "status": "pending"}], "request.json")
    with pytest.raises(jsonschema.ValidationError):
        validate_list(
            [
                {
                    "service_request_id": "1",
                    "status": "open",
                    "service_code": "asb",
                    "requested_datetime": "yesterday",
                }
            ],
            "request.json",
        )


def test_a_fixmystreet_post_gets_the_service_requests_xml_it_expects(client, api_key):
    response = client.post(f"{BASE}/requests.xml", data=fixmystreet_form(api_key))
    assert response.status_code == 201, response.data
    assert response.mimetype == "text/xml"
    tree = ET.fromstring(response.data)  # noqa: S314
    assert tree.tag == "service_requests"
    requests_ = tree.findall("request")
    assert len(requests_) == 1
    request_id = requests_[0].findtext("service_request_id")
    # The report's random reference, not the row id: it says nothing about how many reports
    # came in, and it is what the reporter is told.
    assert request_id and re.fullmatch(r"WGN-[2-9A-HJ-NP-Z]{5}", request_id)
    row = (
        db.session.execute(text("SELECT * FROM reports WHERE reference = :id"), {"id": request_id})
        .mappings()
        .one()
    )
    assert str(row["id"]) != request_id
    assert row["category"] == "street_drinking"
    assert row["ward_code"] == "E05015010"
    assert row["description"] == (
        "Drinking outside the precinct\n\n"
        "Group drinking every evening by the benches, bottles left behind."
    )
    assert row["external_url"] == "https://www.fixmystreet.com/report/1234567"
    assert row["contact_email"] == "pat.resident@example.org"
    assert row["contact_name"] == "Pat Resident"
    assert row["user_id"] is None and row["source"] == "open311"
    assert row["media_url"].endswith("1234567.0.full.jpeg")


PHOTOS = [f"https://www.fixmystreet.com/photo/1234567.{n}.full.jpeg" for n in range(3)]


def post_with_photos(client, key: str, urls: list[str], fmt: str = "xml"):  # type: ignore[no-untyped-def]
    """A FixMyStreet post repeating ``media_url`` once per photo, as its sender does."""
    from werkzeug.datastructures import MultiDict

    form = MultiDict(fixmystreet_form(key, media_url=None))
    for url in urls:
        form.add("media_url", url)
    return client.post(f"{BASE}/requests.{fmt}", data=form)


def test_every_repeated_media_url_is_kept_and_the_listing_serves_the_first(client, admin, api_key):
    from tests.backend.portal.helpers import sign_in

    response = post_with_photos(client, api_key, [*PHOTOS, PHOTOS[1], ""])
    assert response.status_code == 201, response.data
    request_id = ET.fromstring(response.data).findtext("request/service_request_id")  # noqa: S314
    row = (
        db.session.execute(
            text("SELECT id, media_url, more_media_urls FROM reports WHERE reference = :id"),
            {"id": request_id},
        )
        .mappings()
        .one()
    )
    # All kept, in order, the repeat and the blank dropped; the first where it always was.
    assert row["media_url"] == PHOTOS[0]
    assert json.loads(row["more_media_urls"]) == PHOTOS[1:]
    # GeoReport v2 has one media_url per request: the listing serves the first (XML and JSON).
    listed = client.get(f"{BASE}/requests/{request_id}.json").get_json()
    assert [r["media_url"] for r in listed] == [PHOTOS[0]]
    xml = client.get(f"{BASE}/requests/{request_id}.xml").data
    assert [r["media_url"] for r in xml_items(xml, "service_requests", "request")] == [PHOTOS[0]]
    # An admin sees them all on the portal's report page.
    sign_in(client, admin.uid)
    page = client.get(f"/portal/reports/{row['id']}").get_data(as_text=True)
    assert all(f'href="{url}"' in page for url in PHOTOS)
    assert page.index(PHOTOS[0]) < page.index(PHOTOS[1]) < page.index(PHOTOS[2])


def test_one_media_url_is_stored_as_before(client, api_key):
    response = post_with_photos(client, api_key, [PHOTOS[2]])
    assert response.status_code == 201
    row = db.session.execute(text("SELECT media_url, more_media_urls FROM reports")).one()
    assert tuple(row) == (PHOTOS[2], None)


@pytest.mark.parametrize(
    ("urls", "message"),
    [
        ([PHOTOS[0], "javascript:alert(1)"], "not an http(s) URL"),
        ([f"https://example.org/{n}.jpg" for n in range(11)], "at most 10"),
    ],
)
def test_bad_or_too_many_media_urls_are_a_400_and_nothing_is_stored(client, api_key, urls, message):
    response = post_with_photos(client, api_key, urls, fmt="json")
    assert response.status_code == 400
    (error,) = errors_of(response, "json")
    assert "media_url" in error["description"] and message in error["description"]
    assert db.session.execute(text("SELECT count(*) FROM reports")).scalar_one() == 0


def test_a_multipart_post_with_a_photo_is_accepted(client, api_key):
    import io

    form = fixmystreet_form(api_key)
    form["photo"] = (io.BytesIO(b"\xff\xd8\xff fake jpeg"), "photo.jpeg")  # type: ignore[assignment]
    response = client.post(f"{BASE}/requests.xml", data=form, content_type="multipart/form-data")
    assert response.status_code == 201


def test_a_json_post_by_postcode_with_attributes(client, api_key):
    observed = (datetime.now(UTC) - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    form = fixmystreet_form(
        api_key,
        lat=None,
        long=None,
        service_code="drug_dealing",
        description="Needles left in the alley",
        **{"attribute[observed_at]": observed, "attribute[ongoing]": "yes"},
    )
    response = client.post(f"{BASE}/requests.json", data=form)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert list(body[0]) == ["service_request_id", "service_notice", "account_id"]
    row = db.session.execute(
        text("SELECT postcode, attributes FROM reports WHERE reference = :id"),
        {"id": body[0]["service_request_id"]},
    ).one()
    assert row.postcode == "WN1 1AA"
    assert json.loads(row.attributes)["ongoing"] == "yes"


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(
    ("overrides", "status", "mentions"),
    [
        ({"api_key": None}, 403, "api_key"),
        ({"api_key": "sh311_not-a-real-key"}, 403, "api_key"),
        ({"service_code": "alien_landing"}, 404, "service_code"),
        ({"service_code": None}, 400, "service_code"),
        ({"lat": "north", "address_string": None}, 400, "lat"),
        ({"lat": "95", "address_string": None}, 400, "lat"),
        ({"long": None, "address_string": None}, 400, "long"),
        ({"lat": str(MANCHESTER[0]), "long": str(MANCHESTER[1])}, 400, "outside Wigan"),
        ({"lat": None, "long": None, "address_string": "ZZ99 9ZZ"}, 400, "address_string"),
        ({"lat": None, "long": None, "address_string": None}, 400, "location"),
        # A place the borough gazetteer does not hold: the error says what is accepted.
        (
            {"lat": None, "long": None, "address_string": "Wigan Pier"},
            400,
            "a street with its town (Market Street, Hindley)",
        ),
        ({"description": "x" * 4001}, 400, "description"),
        ({"description": None}, 400, "description"),
        ({"attribute[observed_at]": "last tuesday"}, 400, "observed_at"),
        ({"attribute[observed_at]": "2001-01-01T00:00:00Z"}, 400, "observed_at"),
        ({"attribute[ongoing]": "perhaps"}, 400, "ongoing"),
        ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
        ({"email": "not-an-email"}, 400, "email"),
    ],
)
def test_bad_posts_get_the_spec_error_format(client, api_key, fmt, overrides, status, mentions):
    response = client.post(f"{BASE}/requests.{fmt}", data=fixmystreet_form(api_key, **overrides))
    assert response.status_code == status
    errors = errors_of(response, fmt)
    assert len(errors) == 1
    assert int(errors[0]["code"]) == status
    assert mentions in errors[0]["description"]
    assert db.session.execute(text("SELECT count(*) FROM reports")).scalar() == 0


def test_a_revoked_key_is_refused(client, api_key):
    db.session.execute(text("UPDATE open311_keys SET revoked_at = created_at"))
    db.session.commit()
    assert client.post(f"{BASE}/requests.json", data=fixmystreet_form(api_key)).status_code == 403


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_listed_requests_validate_and_never_show_names_emails_or_app_text(client, api_key, fmt):
    client.post(f"{BASE}/requests.xml", data=fixmystreet_form(api_key))
    make_report(description="App text stays private", created_at=datetime.now(UTC))
    # Without a key: only what arrived over Open311 (public at its sender already).
    public = client.get(f"{BASE}/requests.json?jurisdiction_id=wigan.gov.uk").get_json()
    assert [r["service_code"] for r in public] == ["street_drinking"]
    # A partner with a key also sees the app report, by category only.
    response = client.get(f"{BASE}/requests.{fmt}?jurisdiction_id=wigan.gov.uk&api_key={api_key}")
    assert response.status_code == 200
    found = (
        response.get_json()
        if fmt == "json"
        else xml_items(response.data, "service_requests", "request")
    )
    validate_list(found, "request.json")
    assert len(found) == 2
    raw = response.get_data(as_text=True)
    for secret in ("Pat", "Resident", "pat.resident@example.org", "07700", "App text stays"):
        assert secret not in raw
    by_source = {r["service_code"]: r for r in found}
    assert by_source["street_drinking"]["description"].startswith("Drinking outside")
    assert by_source["asb"]["description"] is None
    # Positions are blurred to the grid.
    assert (by_source["street_drinking"]["lat"], by_source["street_drinking"]["long"]) != (
        53.550123,
        -2.630456,
    )


def test_one_request_by_id_in_both_formats(client, api_key):
    request_id = ET.fromstring(  # noqa: S314
        client.post(f"{BASE}/requests.xml", data=fixmystreet_form(api_key)).data
    ).findtext("request/service_request_id")
    as_json = client.get(f"{BASE}/requests/{request_id}.json").get_json()
    validate_list(as_json, "request.json")
    as_xml = xml_items(
        client.get(f"{BASE}/requests/{request_id}.xml").data, "service_requests", "request"
    )
    validate_list(as_xml, "request.json")
    assert as_json[0]["service_request_id"] == as_xml[0]["service_request_id"] == request_id
    for path in ("requests/999999.json", "requests/abc.json"):
        response = client.get(f"{BASE}/{path}")
        assert response.status_code == 404
        assert response.get_json()[0]["code"] == 404
    assert client.get(f"{BASE}/requests/999999.xml").status_code == 404
    assert b"<errors>" in client.get(f"{BASE}/requests/999999.xml").data


def test_filters_dates_status_codes_ids_and_the_90_day_window(client, admin, api_key):
    t = datetime(2026, 3, 2, 12, tzinfo=UTC)
    a = make_report(category="asb", created_at=t)
    b = make_report(category="knife_weapon", created_at=t + timedelta(days=1), status="closed")
    c = make_report(category="asb", created_at=t - timedelta(days=100))

    def ids(query: str) -> list[str]:
        response = client.get(f"{BASE}/requests.json?{query}&api_key={api_key}")
        assert response.status_code == 200, response.get_json()
        return [r["service_request_id"] for r in response.get_json()]

    a, b, c = (SimpleNamespace(id=r.reference) for r in (a, b, c))

    window = "start_date=2026-02-01T00:00:00Z&end_date=2026-03-31T00:00:00Z"
    assert ids(window) == [b.id, a.id]  # newest first
    assert ids(f"{window}&status=open") == [a.id]
    assert ids(f"{window}&status=closed") == [b.id]
    assert ids(f"{window}&status=open,closed") == [b.id, a.id]
    assert ids(f"{window}&service_code=knife_weapon") == [b.id]
    assert ids(f"{window}&service_code=knife_weapon,asb") == [b.id, a.id]
    assert ids(f"service_request_id={a.id},{c.id}") == [a.id, c.id]  # newest first
    # Only an end date: the 90 days before it.
    assert ids("end_date=2026-03-04T00:00:00Z") == [b.id, a.id]
    # Only a start date: 90 days from it.
    assert ids("start_date=2025-11-01T00:00:00Z") == [c.id]
    # Default: the last 90 days from now (these rows are from 2026-03, long before).
    assert c.id not in ids("")


def test_at_most_1000_requests_are_listed(client, api_key):
    from backend.reports.models import Report

    t = datetime(2026, 3, 2, 12, tzinfo=UTC)
    rows = [
        {
            "category": "asb",
            "description": "bulk",
            "lat": WIGAN_CENTRAL[0],
            "lon": WIGAN_CENTRAL[1],
            "ward_code": "E05015010",
            "observed_at": t,
            "created_at": t + timedelta(seconds=i),
            "updated_at": t,
            "status": "received",
            "anonymous": True,
            "consent_to_contact": False,
            "source": "app",
            "reference": f"WGN-T{i:04d}",
        }
        for i in range(1005)
    ]
    db.session.execute(Report.__table__.insert(), rows)
    db.session.commit()
    found = client.get(
        f"{BASE}/requests.json?start_date=2026-03-01T00:00:00Z&end_date=2026-03-03T00:00:00Z"
        f"&api_key={api_key}"
    ).get_json()
    assert len(found) == 1000


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(
    ("query", "mentions"),
    [
        ("start_date=yesterday", "start_date"),
        ("end_date=2026-13-01T00:00:00Z", "end_date"),
        ("start_date=2026-03-01T00:00:00", "time zone"),
        ("start_date=2026-03-10T00:00:00Z&end_date=2026-03-01T00:00:00Z", "before"),
        ("start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z", "90 days"),
        ("status=pending", "status"),
        ("service_code=alien_landing", "service_code"),
        ("service_request_id=12;DROP", "service_request_id"),
    ],
)
def test_bad_filters_are_400_in_the_spec_format(client, fmt, query, mentions):
    response = client.get(f"{BASE}/requests.{fmt}?{query}")
    assert response.status_code == 400
    errors = errors_of(response, fmt)
    assert int(errors[0]["code"]) == 400 and mentions in errors[0]["description"]


def test_unknown_service_and_format(client):
    response = client.get(f"{BASE}/services/alien_landing.xml")
    assert response.status_code == 404
    assert errors_of(response, "xml")[0]["code"] == "404"
    assert client.get(f"{BASE}/services.csv").status_code == 404


def test_servicerequestupdates_carry_admin_status_changes(client, admin, api_key):
    request_id = ET.fromstring(  # noqa: S314
        client.post(f"{BASE}/requests.xml", data=fixmystreet_form(api_key)).data
    ).findtext("request/service_request_id")
    report_id = db.session.execute(
        text("SELECT id FROM reports WHERE reference = :id"), {"id": request_id}
    ).scalar_one()
    for change in (
        {"status": "acknowledged", "public_note": "PSPO patrol booked"},
        {"status": "closed", "public_note": "Dispersal order served"},
    ):
        assert (
            client.patch(
                f"/api/v1/reports/{report_id}", json=change, headers=admin.headers
            ).status_code
            == 200
        )
    response = client.get(
        f"{BASE}/servicerequestupdates.xml?jurisdiction_id=wigan.gov.uk&api_key={api_key}"
    )
    assert response.status_code == 200
    updates = xml_items(response.data, "service_requests_updates", "request_update")
    assert [(u["service_request_id"], u["status"], u["description"]) for u in updates] == [
        (request_id, "INVESTIGATING", "PSPO patrol booked"),
        (request_id, "CLOSED", "Dispersal order served"),
    ]
    assert all(u["update_id"] and u["updated_datetime"].endswith("Z") for u in updates)
    # The request itself now reads closed with the last public note.
    closed = client.get(f"{BASE}/requests/{request_id}.json").get_json()[0]
    assert (closed["status"], closed["status_notes"]) == ("closed", "Dispersal order served")
    bad = client.get(f"{BASE}/servicerequestupdates.xml?start_date=nonsense")
    assert bad.status_code == 400


def test_create_key_command_prints_a_key_once_and_stores_only_its_hash(app):
    result = app.test_cli_runner().invoke(args=["open311", "create-key", "FixMyStreet"])
    assert result.exit_code == 0, result.output
    key = result.output.split(": ", 1)[1].split()[0]
    assert key.startswith("sh311_") and len(key) > 30
    dump = " ".join(
        str(v) for row in db.session.execute(text("SELECT * FROM open311_keys")).all() for v in row
    )
    assert key not in dump
    assert service.check_key(key).name == "FixMyStreet"
    assert app.test_cli_runner().invoke(args=["open311", "create-key", " "]).exit_code != 0


def test_an_address_line_with_a_postcode_in_it_is_placed_at_that_postcode(client, api_key):
    from sqlalchemy import select

    from backend.areas.service import lookup_postcode
    from backend.extensions import db
    from backend.reports.models import Report

    form = fixmystreet_form(api_key, lat=None, long=None, address_string="Wallgate, Wigan wn1 1aa")
    response = client.post(f"{BASE}/requests.json", data=form)
    assert response.status_code == 201, response.get_json()
    stored = db.session.scalars(select(Report)).one()
    point = lookup_postcode("WN1 1AA")
    assert (stored.lat, stored.lon) == (point.lat, point.lon)


@pytest.mark.parametrize(
    ("address", "ward"),
    [("Market Street, Hindley", "E05014998"), ("Hindley", "E05014998"), ("WN7", None)],
)
def test_an_address_line_without_a_postcode_is_placed_by_the_borough_gazetteer(
    client, api_key, address, ward
):
    """The same resolver as the app's pin: a street with its town, a town, a postcode area."""
    from sqlalchemy import select

    from backend.areas import gazetteer
    from backend.extensions import db
    from backend.reports.models import Report

    form = fixmystreet_form(api_key, lat=None, long=None, address_string=address)
    response = client.post(f"{BASE}/requests.json", data=form)
    assert response.status_code == 201, response.get_json()
    stored = db.session.scalars(select(Report)).one()
    best = gazetteer.resolve(address)[0]
    assert (stored.lat, stored.lon, stored.ward_code) == (best.lat, best.lon, best.ward_code)
    if ward:
        assert stored.ward_code == ward
