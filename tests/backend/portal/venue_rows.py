"""Venue rows for portal tests (Wigan town centre, Leigh)."""

from __future__ import annotations

from typing import Any

WIGAN_CENTRE = (53.5448, -2.6318)  # Wigan Central ward
LEIGH_CENTRE = (53.4975, -2.5190)  # Leigh Central & Higher Folds ward
WIGAN_CENTRAL = "E05015010"
LEIGH_CENTRAL = "E05015001"


def make_venue(staff_id: int | None = None, **values: Any):  # type: ignore[no-untyped-def]
    """A venue row, verified and open 24/7 in Wigan town centre unless told otherwise."""
    from backend.areas.service import ward_code_for_point
    from backend.extensions import db
    from backend.venues.models import Venue, VenueStaff

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
