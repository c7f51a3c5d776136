"""The public (keyless) Open311 listing cannot rebuild a hotspot cell that suppression hides:
it shows only requests that arrived over Open311 (public at their sender already), with
random ids; app reports, anonymous sexual-harassment reports among them, never appear."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from backend.areas.service import ward_code_for_point
from backend.open311 import service
from tests.support.reports import LEIGH_WEST, WIGAN_CENTRAL, make_report

BASE = "/open311/v2"
CENTRAL, LEIGH = "E05015010", "E05015003"


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def reported(app):  # type: ignore[no-untyped-def]
    """Two days ago: 2 anonymous sexual-harassment and 6 ASB app reports in Wigan Central,
    1 knife app report in Leigh West, and 1 street-drinking and 5 ASB reports that came in
    from FixMyStreet over Open311 (in Leigh West and Wigan Central)."""
    when = datetime.now(UTC) - timedelta(days=2)
    rows = []

    def add(n: int, where: tuple[float, float], ward: str, category: str, source: str) -> None:
        for _ in range(n):
            at = when + timedelta(seconds=len(rows) * 37)
            rows.append(
                make_report(
                    category=category,
                    lat=where[0] + 0.0004 * (len(rows) % 3),
                    lon=where[1],
                    ward_code=ward,
                    observed_at=at,
                    created_at=at,
                    updated_at=at,
                    source=source,
                    anonymous=source == "app",
                )
            )

    add(2, WIGAN_CENTRAL, CENTRAL, "sexual_harassment", "app")
    add(6, WIGAN_CENTRAL, CENTRAL, "asb", "app")
    add(1, LEIGH_WEST, LEIGH, "knife_weapon", "app")
    add(1, LEIGH_WEST, LEIGH, "street_drinking", "open311")
    add(5, WIGAN_CENTRAL, CENTRAL, "asb", "open311")
    return rows


def rebuilt_counts(client, start: datetime, end: datetime) -> Counter:  # type: ignore[no-untyped-def]
    """Ward x category counts rebuilt from the keyless listing: each listed position mapped
    to its ward with the shipped ward boundaries."""
    response = client.get(f"{BASE}/requests.json?start_date={iso(start)}&end_date={iso(end)}")
    assert response.status_code == 200
    return Counter(
        (ward_code_for_point(r["lat"], r["long"]), r["service_code"]) for r in response.get_json()
    )


def test_the_public_listing_never_reveals_a_suppressed_hotspot_cell(
    app, client, resident, reported
):
    end = datetime.now(UTC)
    start = end - timedelta(days=7)
    hotspots = client.get(
        f"/api/v1/insights/hotspots?from={iso(start)}&to={iso(end)}", headers=resident.headers
    ).get_json()
    minimum = int(app.config.get("HOTSPOT_MIN_COUNT", 5))
    suppressed = {(c["ward_code"], c["category"]) for c in hotspots["cells"] if c["suppressed"]}
    assert {(CENTRAL, "sexual_harassment"), (LEIGH, "knife_weapon")} <= suppressed
    truth = Counter((r.ward_code, r.category) for r in reported)
    from_open311 = Counter((r.ward_code, r.category) for r in reported if r.source == "open311")
    assert all(0 < truth[cell] < minimum for cell in suppressed)

    rebuilt = rebuilt_counts(client, start, end)

    for cell in suppressed:
        # What the listing shows of a hidden cell is only what its sender published already...
        assert rebuilt[cell] == from_open311[cell], cell
        # ...so a cell of app reports alone rebuilds to nothing at all.
        if from_open311[cell] == 0:
            assert rebuilt[cell] == 0, cell
    assert sum(rebuilt.values()) == sum(from_open311.values())
    assert rebuilt[(CENTRAL, "sexual_harassment")] == 0


def test_adding_app_reports_changes_nothing_in_the_public_listing(client, reported):
    def listing() -> list[dict]:
        return client.get(f"{BASE}/requests.json").get_json()

    before = listing()
    make_report(
        category="sexual_harassment",
        created_at=datetime.now(UTC) - timedelta(hours=1),
        observed_at=datetime.now(UTC) - timedelta(hours=1),
    )
    assert listing() == before


def test_references_are_random_and_app_reports_are_not_found_by_id(client, reported):
    listed = client.get(f"{BASE}/requests.json").get_json()
    ids = [r["service_request_id"] for r in listed]
    rows = {r.reference: r for r in reported}
    assert len(ids) == 6 and len(set(ids)) == 6
    for reference in ids:
        assert reference.startswith("WGN-") and reference != str(rows[reference].id)
    # Consecutive rows get unrelated ids (no order, no gaps to count).
    by_row = [r.reference for r in sorted(reported, key=lambda r: r.id)]
    assert by_row != sorted(by_row) or by_row != sorted(by_row, reverse=True)
    app_report = next(r for r in reported if r.source == "app")
    assert client.get(f"{BASE}/requests/{app_report.reference}.json").status_code == 404
    assert client.get(f"{BASE}/requests/{app_report.id}.json").status_code == 404
    # A partner with a key finds it (by category and grid square only).
    key = service.create_key("FixMyStreet")[1]
    found = client.get(f"{BASE}/requests/{app_report.reference}.json?api_key={key}")
    assert found.status_code == 200 and found.get_json()[0]["description"] is None
    # A key that is not valid is refused rather than treated as the public.
    refused = client.get(f"{BASE}/requests.json?api_key=sh311_not-a-key")
    assert refused.status_code == 403


def test_updates_of_app_reports_are_not_public(client, admin, reported):
    app_report = next(r for r in reported if r.source == "app")
    mine = next(r for r in reported if r.source == "open311")
    for report in (app_report, mine):
        response = client.patch(
            f"/api/v1/reports/{report.id}",
            json={"status": "acknowledged", "public_note": f"note {report.reference}"},
            headers=admin.headers,
        )
        assert response.status_code == 200, response.get_json()
    public = client.get(f"{BASE}/servicerequestupdates.json").get_json()
    assert [u["service_request_id"] for u in public] == [mine.reference]
    key = service.create_key("FixMyStreet")[1]
    partner = client.get(f"{BASE}/servicerequestupdates.json?api_key={key}").get_json()
    assert {u["service_request_id"] for u in partner} == {mine.reference, app_report.reference}


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_servicerequestupdates_refuse_a_wrong_or_revoked_api_key(client, reported, fmt):
    """Updates are public without a key (of Open311 requests only); a key that is sent must
    be valid, so a misconfigured FixMyStreet hears 403 instead of the public view."""
    from datetime import UTC, datetime

    from backend.extensions import db
    from backend.open311.models import Open311Key

    wrong = client.get(f"{BASE}/servicerequestupdates.{fmt}?api_key=sh311_not-a-key")
    assert wrong.status_code == 403
    row, key = service.create_key("FixMyStreet")
    assert client.get(f"{BASE}/servicerequestupdates.{fmt}?api_key={key}").status_code == 200
    db.session.get(Open311Key, row.id).revoked_at = datetime.now(UTC)
    db.session.commit()
    revoked = client.get(f"{BASE}/servicerequestupdates.{fmt}?api_key={key}")
    assert revoked.status_code == 403
    assert client.get(f"{BASE}/servicerequestupdates.{fmt}").status_code == 200
