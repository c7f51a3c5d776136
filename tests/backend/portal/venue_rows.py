"""Venue rows for portal tests (Wigan town centre, Leigh): the venues domain's factory."""

from __future__ import annotations

from tests.backend.venues.factories import LEIGH_CENTRE, WIGAN_CENTRE, make_venue

WIGAN_CENTRAL = "E05015010"  # the ward of WIGAN_CENTRE
LEIGH_CENTRAL = "E05015001"  # Leigh Central & Higher Folds, the ward of LEIGH_CENTRE

__all__ = ["LEIGH_CENTRAL", "LEIGH_CENTRE", "WIGAN_CENTRAL", "WIGAN_CENTRE", "make_venue"]
