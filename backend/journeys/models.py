"""Journeys, the contacts chosen for each, their location fixes, watch links and the
per-device credentials of third-party location clients (OwnTracks, Traccar)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base, utcnow


class Journey(Base):
    """A resident's trip shared live; ``active`` -> ``arrived`` | ``cancelled``.

    ``next_check_at`` is the indexed due time of the next overdue/stationary check (NULL once
    nothing is pending), so the sweep reads only the journeys that are due.
    ``active_owner_id`` equals ``owner_id`` while active and is NULL after: a unique column
    that allows one active journey per resident on both engines."""

    __tablename__ = "journeys"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    active_owner_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    state: Mapped[str] = mapped_column(String(12), nullable=False, default="active")
    # ``journey`` (to a destination) or ``emergency`` (started by an SOS with no journey: its
    # destination is where the SOS was raised and it has no overdue check).
    kind: Mapped[str] = mapped_column(String(12), nullable=False, default="journey")
    overdue: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    sos: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    sos_at: Mapped[datetime | None] = mapped_column()  # when SOS was first raised on it
    stationary: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # NULL once the retention purge has passed (with the label, postcode and venue).
    dest_lat: Mapped[float | None] = mapped_column(Float)
    dest_lon: Mapped[float | None] = mapped_column(Float)
    destination_label: Mapped[str | None] = mapped_column(String(160))
    destination_postcode: Mapped[str | None] = mapped_column(String(8))
    destination_venue_id: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    expected_arrival_at: Mapped[datetime] = mapped_column(nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column()
    last_lat: Mapped[float | None] = mapped_column(Float)
    last_lon: Mapped[float | None] = mapped_column(Float)
    last_fix_at: Mapped[datetime | None] = mapped_column()
    # The newest client timestamp stored, jumps included: a batch entirely after it needs no
    # duplicate or neighbour look-ups (the common case of a phone posting live).
    latest_fix_at: Mapped[datetime | None] = mapped_column()
    last_accuracy_m: Mapped[float | None] = mapped_column(Float)
    last_battery: Mapped[float | None] = mapped_column(Float)
    anchor_lat: Mapped[float | None] = mapped_column(Float)
    anchor_lon: Mapped[float | None] = mapped_column(Float)
    anchor_at: Mapped[datetime | None] = mapped_column()
    next_check_at: Mapped[datetime | None] = mapped_column(index=True)
    purge_fixes_at: Mapped[datetime | None] = mapped_column(index=True)

    contacts = relationship(
        "JourneyContact", cascade="all, delete-orphan", lazy="select", back_populates="journey"
    )

    @property
    def contact_user_ids(self) -> list[int]:
        return sorted(c.contact_user_id for c in self.contacts)


class JourneyContact(Base):
    """A contact chosen to watch one journey."""

    __tablename__ = "journey_contacts"

    journey_id: Mapped[int] = mapped_column(
        ForeignKey("journeys.id", ondelete="CASCADE"), primary_key=True
    )
    contact_user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )

    journey = relationship("Journey", back_populates="contacts")


class LocationFix(Base):
    """One position of a journey at a client timestamp (unique per journey: dedupe)."""

    __tablename__ = "location_fixes"
    __table_args__ = (UniqueConstraint("journey_id", "recorded_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    journey_id: Mapped[int] = mapped_column(
        ForeignKey("journeys.id", ondelete="CASCADE"), nullable=False
    )
    recorded_at: Mapped[datetime] = mapped_column(nullable=False)
    received_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    lat: Mapped[float] = mapped_column(Float, nullable=False)
    lon: Mapped[float] = mapped_column(Float, nullable=False)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    battery: Mapped[float | None] = mapped_column(Float)
    speed_mps: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(12), nullable=False, default="app")
    jump: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class WatchLink(Base):
    """A browser link to watch one journey without the app; only the token's hash is kept."""

    __tablename__ = "watch_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    journey_id: Mapped[int] = mapped_column(
        ForeignKey("journeys.id", ondelete="CASCADE"), nullable=False, index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()


class LocationClient(Base):
    """A per-device credential for OwnTracks (HTTP Basic) or Traccar (device id)."""

    __tablename__ = "location_clients"
    __table_args__ = (Index("ix_location_clients_user", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    username: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    label: Mapped[str] = mapped_column(String(80), nullable=False, default="phone")
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()

    user = relationship("User", lazy="joined")
