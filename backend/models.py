"""Every domain's models, imported so the mapper registry and Alembic see them all."""

from backend.account.models import Device
from backend.alerts.models import AlertDelivery, OutboxAlert
from backend.areas.models import Postcode, Ward
from backend.auth.models import User
from backend.contacts.models import Contact, Invitation, LocationView
from backend.db import Base
from backend.journeys.models import (
    Journey,
    JourneyContact,
    LocationClient,
    LocationFix,
    WatchLink,
)

__all__ = [
    "AlertDelivery",
    "Base",
    "Contact",
    "Device",
    "Invitation",
    "Journey",
    "JourneyContact",
    "LocationClient",
    "LocationFix",
    "LocationView",
    "OutboxAlert",
    "Postcode",
    "User",
    "Ward",
    "WatchLink",
]
