"""Enumerations shared by the server and the app."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a signed-in person may do; ``resident`` is the default."""

    RESIDENT = "resident"
    VENUE_STAFF = "venue_staff"
    ADMIN = "admin"


ROLES = tuple(r.value for r in Role)
