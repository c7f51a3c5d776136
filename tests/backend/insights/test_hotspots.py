"""Ward hotspots: this period against the previous one, ranked, suppressed for non-admins,
as JSON, CSV and a choropleth."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.reports import make_report

START = datetime(2026, 3, 2, tzinfo=UTC)
END = START + timedelta(days=7)
PERIOD = "from=2026-03-02T00:00:00Z&to=2026-03-09T00:00:00Z"
CENTRAL, LEIGH_WEST, ATHERTON_N = "E05015010", "E05015003", "E05014993"


@pytest.fixture
def week(app):  # type: ignore[no-untyped-def]
    """Wigan Central ASB 8 this week vs 2 last; Leigh West knife 6 vs 6; Atherton North
    youth ASB 2 vs 0 (a small cell)."""

    def add(n: int, ward: str, category: str, first: datetime) -> None:
        for i in range(n):
            make_report(ward_code=ward, category=category, observed_at=first + timedelta(hours=i))

    add(8, CENTRAL, "asb", START + timedelta(days=1))
    add(2, CENTRAL, "asb", START - timedelta(days=3))
    add(6, LEIGH_WEST, "knife_weapon", START + timedelta(days=2))
    add(6, LEIGH_WEST, "knife_weapon", START - timedelta(days=5))
    add(2, ATHERTON_N, "youth_asb", START + timedelta(days=3))
    add(3, CENTRAL, "asb", END + timedelta(hours=1))  # after the period: not counted
    add(4, CENTRAL, "asb", START - timedelta(days=8))  # before the previous period


def cells(body):  # type: ignore[no-untyped-def]
    return {(c["ward_code"], c["category"]): c for c in body["cells"]}


def test_admins_see_every_cell_ranked_by_change(client, admin, week):
    response = client.get(f"/api/v1/insights/hotspots?{PERIOD}&by=ward", headers=admin.headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["previous_from"].startswith("2026-02-23")
    ranked = [(c["ward_code"], c["count"], c["previous"], c["change"]) for c in body["cells"]]
    assert ranked == [
        (CENTRAL, 8, 2, 6),
        (ATHERTON_N, 2, 0, 2),
        (LEIGH_WEST, 6, 6, 0),
    ]
    assert [c["rank"] for c in body["cells"]] == [1, 2, 3]
    central = cells(body)[(CENTRAL, "asb")]
    assert central["ward_name"] == "Wigan Central" and central["change_pct"] == 300.0
    assert cells(body)[(ATHERTON_N, "youth_asb")]["change_pct"] is None  # from zero
    assert body["suppressed_cells"] == 0


def test_small_cells_are_suppressed_for_everyone_else(client, resident, week):
    body = client.get(f"/api/v1/insights/hotspots?{PERIOD}", headers=resident.headers).get_json()
    by_cell = cells(body)
    central = by_cell[(CENTRAL, "asb")]  # previous 2 < 5: the whole cell is hidden
    assert central["suppressed"] is True
    assert (central["count"], central["previous"], central["change"]) == (None, None, None)
    assert by_cell[(ATHERTON_N, "youth_asb")]["count"] is None
    assert by_cell[(LEIGH_WEST, "knife_weapon")]["count"] == 6
    assert body["cells"][0]["ward_code"] == LEIGH_WEST  # visible cells rank first
    assert body["suppressed_cells"] == 2


def test_the_minimum_count_is_configurable(app, client, resident, week, monkeypatch):
    monkeypatch.setitem(app.config, "HOTSPOT_MIN_COUNT", 2)
    body = client.get(f"/api/v1/insights/hotspots?{PERIOD}", headers=resident.headers).get_json()
    assert body["suppressed_cells"] == 0 and body["min_count"] == 2


def test_a_category_filter(client, admin, week):
    body = client.get(
        f"/api/v1/insights/hotspots?{PERIOD}&category=knife_weapon", headers=admin.headers
    ).get_json()
    assert [(c["ward_code"], c["category"]) for c in body["cells"]] == [
        (LEIGH_WEST, "knife_weapon")
    ]


def test_the_default_window_is_the_last_seven_days(app, admin, week):
    from backend.auth.models import User
    from backend.extensions import db
    from backend.insights import service

    actor = db.session.get(User, admin.id)
    result = service.hotspots(actor, None, None, now=END)
    assert (result.start, result.end) == (START, END)
    assert cells({"cells": result.cells})[(CENTRAL, "asb")]["count"] == 8
    only_from = service.hotspots(actor, START, None, now=END + timedelta(days=30))
    assert only_from.end == END


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=last-week", "from"),
        ("to=2026-02-30T00:00:00Z", "to"),
        ("from=2026-03-02T00:00:00", "from"),
        ("from=2026-03-09T00:00:00Z&to=2026-03-02T00:00:00Z", "from"),
        ("from=2024-01-01T00:00:00Z&to=2026-03-02T00:00:00Z", "from"),
        ("by=lsoa", "by"),
        ("category=alien_landing", "category"),
    ],
)
def test_bad_queries_are_422_naming_the_field(client, admin, query, field):
    response = client.get(f"/api/v1/insights/hotspots?{query}", headers=admin.headers)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_hotspots_need_a_signed_in_caller(client):
    for suffix in ("", ".csv", ".svg", ".png"):
        assert client.get(f"/api/v1/insights/hotspots{suffix}?{PERIOD}").status_code == 401


def test_csv_export_matches_the_table_and_keeps_suppression(client, resident, admin, week):
    response = client.get(f"/api/v1/insights/hotspots.csv?{PERIOD}", headers=resident.headers)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["ward_name"] for r in rows] == ["Leigh West", "Atherton North", "Wigan Central"]
    assert rows[0]["count"] == "6" and rows[2]["count"] == "" and rows[2]["suppressed"] == "True"
    admin_rows = list(
        csv.DictReader(
            io.StringIO(
                client.get(
                    f"/api/v1/insights/hotspots.csv?{PERIOD}", headers=admin.headers
                ).get_data(as_text=True)
            )
        )
    )
    assert admin_rows[0]["ward_name"] == "Wigan Central" and admin_rows[0]["count"] == "8"


def test_the_choropleth_draws_every_ward(client, admin, resident, week):
    from xml.etree import ElementTree as ET  # noqa: S405

    response = client.get(f"/api/v1/insights/hotspots.svg?{PERIOD}", headers=admin.headers)
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    svg = ET.fromstring(response.data)  # noqa: S314 - our own image
    paths = svg.findall(".//{http://www.w3.org/2000/svg}path")
    assert len(paths) >= 25  # one per ward polygon at least
    assert b"Wigan Central" in response.data
    png = client.get(f"/api/v1/insights/hotspots.png?{PERIOD}", headers=resident.headers)
    assert png.status_code == 200 and png.data.startswith(b"\x89PNG")


def test_ward_totals_hide_a_ward_with_any_suppressed_cell(app, resident, week):
    from backend.auth.models import User
    from backend.extensions import db
    from backend.insights import service

    result = service.hotspots(db.session.get(User, resident.id), START, END)
    totals = service.ward_totals(result)
    assert totals == {LEIGH_WEST: 6, CENTRAL: None, ATHERTON_N: None}
