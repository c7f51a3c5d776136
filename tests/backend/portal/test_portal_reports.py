"""Reports triage and hotspots pages through the test client (admins only)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.backend.portal.helpers import sign_in, token_for
from tests.backend.portal.venue_rows import LEIGH_CENTRAL, LEIGH_CENTRE, WIGAN_CENTRAL

pytest.importorskip("backend.reports.service")
from tests.backend.portal.report_rows import make_report  # noqa: E402

MONDAY = datetime(2026, 11, 16, 21, 0, tzinfo=UTC)
LAST_WEEK = datetime(2026, 11, 10, 21, 0, tzinfo=UTC)


def test_admin_filters_reports(client, admin):
    knife = make_report(MONDAY, category="knife_weapon", description="Saw a blade")
    leigh = make_report(MONDAY, lat=LEIGH_CENTRE[0], lon=LEIGH_CENTRE[1], description="Leigh noise")
    old = make_report(LAST_WEEK, status="closed", description="Old one")
    sign_in(client, admin.uid)

    def ids(query: str) -> set[int]:
        html = client.get(f"/portal/reports?{query}").get_data(as_text=True)
        return {r.id for r in (knife, leigh, old) if f'id="report-{r.id}"' in html}

    assert ids("") == {knife.id, leigh.id, old.id}
    assert ids("category=knife_weapon") == {knife.id}
    assert ids(f"ward={LEIGH_CENTRAL}") == {leigh.id}
    assert ids("status=closed") == {old.id}
    assert ids("date_from=2026-11-15&date_to=2026-11-16") == {knife.id, leigh.id}
    assert ids(f"ward={WIGAN_CENTRAL}&date_to=2026-11-11") == {old.id}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("category=ufo", "category"),
        ("status=lost", "status"),
        ("date_from=yesterday", "date_from"),
        ("date_from=2026-11-20&date_to=2026-11-01", "date_to"),
    ],
)
def test_bad_filters_are_a_clear_422(client, admin, query, field):
    sign_in(client, admin.uid)
    response = client.get(f"/portal/reports?{query}")
    assert response.status_code == 422 and field in response.get_data(as_text=True)


def test_admin_moves_a_report_on_with_a_public_note(client, admin, resident):
    from backend.extensions import db

    report = make_report(MONDAY, anonymous=False, user_id=resident.id)
    sign_in(client, admin.uid)
    token = token_for(client, f"/portal/reports/{report.id}")
    response = client.post(
        f"/portal/reports/{report.id}/status",
        data={
            "status": "in_progress",
            "public_note": "Patrols added on Friday nights",
            "csrf_token": token,
        },
    )
    assert response.status_code == 303
    db.session.refresh(report)
    assert report.status == "in_progress" and report.public_note == "Patrols added on Friday nights"
    page = client.get(f"/portal/reports/{report.id}?saved=1").get_data(as_text=True)
    assert "Patrols added on Friday nights" in page and "sent to the reporter" in page
    mine = client.get("/api/v1/reports/mine", headers=resident.headers).get_json()
    assert "Patrols added on Friday nights" in str(mine)
    backwards = client.post(
        f"/portal/reports/{report.id}/status",
        data={"status": "received", "public_note": "", "csrf_token": token},
    )
    assert backwards.status_code == 409 and "cannot go back" in backwards.get_data(as_text=True)


@pytest.mark.parametrize(
    "path", ["/portal/reports", "/portal/reports/1", "/portal/hotspots", "/portal/hotspots.csv"]
)
def test_venue_staff_cannot_see_reports_or_hotspots(client, venue_staff, path):
    make_report(MONDAY)
    sign_in(client, venue_staff.uid)
    assert client.get(path).status_code == 403


def test_staff_cannot_change_a_report(client, venue_staff):
    report = make_report(MONDAY)
    sign_in(client, venue_staff.uid)
    response = client.post(
        f"/portal/reports/{report.id}/status",
        data={"status": "closed", "csrf_token": token_for(client)},
    )
    assert response.status_code == 403


def test_hotspots_compare_this_week_with_last_and_export_csv(client, admin):
    for _ in range(3):
        make_report(MONDAY)
    make_report(LAST_WEEK)
    make_report(MONDAY, lat=LEIGH_CENTRE[0], lon=LEIGH_CENTRE[1], category="street_drinking")
    sign_in(client, admin.uid)
    html = client.get("/portal/hotspots?week_ending=2026-11-20").get_data(as_text=True)
    row = html.split(f'id="ward-{WIGAN_CENTRAL}"')[1].split("</tr>")[0]
    assert [cell.split(">")[-1] for cell in row.split("</td>")[1:4]] == ["3", "1", "+2"]
    assert '<path class="ward c4"' in html  # the busiest ward is darkest
    csv = client.get("/portal/hotspots.csv?week_ending=2026-11-20")
    assert csv.mimetype == "text/csv"
    lines = csv.get_data(as_text=True).splitlines()
    assert lines[0].startswith("period_from,period_to,rank,ward_code")
    assert any(WIGAN_CENTRAL in line and ",asb," in line for line in lines[1:])
    assert client.get("/portal/hotspots?week_ending=soon").status_code == 422
