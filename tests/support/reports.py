"""Report rows for tests, written straight to the table with explicit times."""

from __future__ import annotations

from datetime import UTC, datetime

WIGAN_CENTRAL = (53.5500, -2.6300)  # E05015010
LEIGH_WEST = (53.4960, -2.5340)  # E05015003
MANCHESTER = (53.4808, -2.2426)  # outside the borough
T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday, far from the wall clock


def make_report(**fields):  # type: ignore[no-untyped-def]
    """Insert one report (defaults: anonymous ASB in Wigan Central at T0) and return it."""
    from backend.extensions import db
    from backend.reports.models import Report

    values = {
        "category": "asb",
        "description": "test report",
        "lat": WIGAN_CENTRAL[0],
        "lon": WIGAN_CENTRAL[1],
        "ward_code": "E05015010",
        "observed_at": T0,
        "created_at": T0,
        "updated_at": T0,
        "status": "received",
        "anonymous": True,
        "consent_to_contact": False,
        "source": "app",
    }
    values.update(fields)
    report = Report(**values)
    db.session.add(report)
    db.session.commit()
    return report
