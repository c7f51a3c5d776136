"""Rows for venue tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from backend.areas.service import ward_code_for_point
from backend.extensions import db
from backend.venues.models import Venue, VenueStaff

WIGAN_CENTRE = (53.5448, -2.6318)
LEIGH_CENTRE = (53.4975, -2.5190)
# Saturday 21 November 2026, 01:30 and Tuesday 24 November 2026, 01:30 (GMT = UTC in November).
SATURDAY_0130 = datetime(2026, 11, 21, 1, 30, tzinfo=UTC)
TUESDAY_0130 = datetime(2026, 11, 24, 1, 30, tzinfo=UTC)


def make_venue(staff_id: int | None = None, **values: Any) -> Venue:
    """A venue (verified, open 24/7 in Wigan town centre unless told otherwise), in the ward
    its position falls in."""
    defaults: dict[str, Any] = {
        "name": "Test venue",
        "category": "pub_or_bar",
        "lat": WIGAN_CENTRE[0],
        "lon": WIGAN_CENTRE[1],
        "opening_hours": "24/7",
        "status": "verified",
        "schemes": [],
    }
    merged = {**defaults, **values}
    merged.setdefault("ward_code", ward_code_for_point(merged["lat"], merged["lon"]))
    venue = Venue(**merged)
    if staff_id is not None:
        venue.staff_links.append(VenueStaff(user_id=staff_id))
    db.session.add(venue)
    db.session.commit()
    return venue
