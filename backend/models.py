"""Every domain's models, imported so the mapper registry and Alembic see them all."""

from backend.account.models import Device
from backend.alerts.models import AlertDelivery, AlertReceipt, OutboxAlert
from backend.areas.models import Postcode, Ward
from backend.auth.models import User
from backend.contacts.models import Contact, Invitation, LocationView
from backend.db import Base
from backend.journeys.models import Journey, JourneyContact, LocationClient, LocationFix, WatchLink
from backend.open311.models import Open311Key
from backend.portal.models import PortalSession
from backend.reports.models import Report, ReportUpdate
from backend.sos.models import SosEvent
from backend.surveys import models as surveys_models  # noqa: F401 - survey tables
from backend.venues.models import Venue, VenueChange, VenueIndexState, VenueStaff

__all__ = [
    "AlertDelivery",
    "AlertReceipt",
    "Base",
    "Contact",
    "Device",
    "Invitation",
    "Journey",
    "JourneyContact",
    "LocationClient",
    "LocationFix",
    "LocationView",
    "Open311Key",
    "OutboxAlert",
    "PortalSession",
    "Postcode",
    "Report",
    "ReportUpdate",
    "SosEvent",
    "User",
    "Venue",
    "VenueChange",
    "VenueIndexState",
    "VenueStaff",
    "Ward",
    "WatchLink",
]
