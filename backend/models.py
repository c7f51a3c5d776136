"""Every domain's models, imported so the mapper registry and Alembic see them all."""

from backend.areas.models import Postcode, Ward
from backend.auth.models import User
from backend.db import Base
from backend.open311.models import Open311Key
from backend.reports.models import Report, ReportUpdate
from backend.surveys import models as surveys_models  # noqa: F401 - survey tables
from backend.venues.models import Venue, VenueChange, VenueStaff

__all__ = [
    "Base",
    "Open311Key",
    "Postcode",
    "Report",
    "ReportUpdate",
    "User",
    "Venue",
    "VenueChange",
    "VenueStaff",
    "Ward",
]
