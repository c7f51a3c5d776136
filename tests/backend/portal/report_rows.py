"""Concern report rows for portal tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.backend.portal.venue_rows import WIGAN_CENTRE


def make_report(observed_at: datetime, **values: Any):  # type: ignore[no-untyped-def]
    """A report row (named, received, in Wigan town centre unless told otherwise)."""
    from backend.areas.service import ward_code_for_point
    from backend.extensions import db
    from backend.reports.models import Report

    defaults: dict[str, Any] = {
        "category": "asb",
        "description": "Group shouting and throwing bottles outside the shops",
        "lat": WIGAN_CENTRE[0],
        "lon": WIGAN_CENTRE[1],
        "observed_at": observed_at,
        "created_at": observed_at,
        "updated_at": observed_at,
        "status": "received",
        "anonymous": True,
    }
    merged = {**defaults, **values}
    merged.setdefault("ward_code", ward_code_for_point(merged["lat"], merged["lon"]))
    report = Report(**merged)
    db.session.add(report)
    db.session.commit()
    return report
