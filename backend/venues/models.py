"""Safe places: venues, the staff who look after each one, and the audit trail of changes."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    DDL,
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend import spatial
from backend.db import Base, table_of, utcnow
from shared_schemas.venues import VenueStatus

# Columns only management views read: deferred, so the hot nearest-search path does not load
# (or, on SQLite, parse the timestamps of) them; ``undefer_group("manage")`` loads them at once.
MANAGE: dict[str, Any] = {"deferred": True, "deferred_group": "manage"}
# A verified venue is re-checked at least this often.
RECHECK_INTERVAL = timedelta(days=365)


class Venue(spatial.GeoPointMixin, Base):
    """A place where someone who feels unsafe can go; searchable by location."""

    __tablename__ = "venues"
    __table_args__ = (Index("ix_venues_status_category", "status", "category"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    category: Mapped[str] = mapped_column(String(30), nullable=False)
    address: Mapped[str | None] = mapped_column(String(300))
    postcode: Mapped[str | None] = mapped_column(String(8))
    phone: Mapped[str | None] = mapped_column(String(20))
    opening_hours: Mapped[str | None] = mapped_column(String(500))  # OSM opening_hours syntax
    schemes: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    accessibility: Mapped[str | None] = mapped_column(String(500))
    notes: Mapped[str | None] = mapped_column(Text, **MANAGE)
    ward_code: Mapped[str | None] = mapped_column(
        ForeignKey("wards.code", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(
        String(12), nullable=False, default=VenueStatus.PENDING.value
    )
    verification_note: Mapped[str | None] = mapped_column(Text, **MANAGE)
    verified_at: Mapped[datetime | None] = mapped_column()
    last_checked_at: Mapped[datetime | None] = mapped_column(**MANAGE)
    staff_trained_until: Mapped[date | None] = mapped_column(Date, **MANAGE)
    unavailable_until: Mapped[datetime | None] = mapped_column()
    unavailable_reason: Mapped[str | None] = mapped_column(String(300), **MANAGE)
    # Where an imported row came from, so a re-import updates it instead of duplicating it.
    external_ref: Mapped[str | None] = mapped_column(String(200), unique=True, **MANAGE)
    source: Mapped[str | None] = mapped_column(String(200), **MANAGE)
    is_demo: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow, **MANAGE)
    updated_at: Mapped[datetime] = mapped_column(
        nullable=False, default=utcnow, onupdate=utcnow, **MANAGE
    )

    staff_links: Mapped[list[VenueStaff]] = relationship(
        back_populates="venue", cascade="all, delete-orphan"
    )

    @property
    def staff_ids(self) -> list[int]:
        return sorted(link.user_id for link in self.staff_links)

    def recheck_due_at(self, at: datetime) -> bool:
        """Verified, and its last check is older than RECHECK_INTERVAL (or never happened) or
        its staff training lapsed before ``at``."""
        if self.status != VenueStatus.VERIFIED.value:
            return False
        if self.last_checked_at is None or self.last_checked_at < at - RECHECK_INTERVAL:
            return True
        return self.staff_trained_until is not None and self.staff_trained_until < at.date()

    @property
    def recheck_due(self) -> bool:
        return self.recheck_due_at(utcnow())

    def __repr__(self) -> str:
        return f"<Venue {self.id} {self.name!r} {self.status}>"


spatial.register_point_table(table_of(Venue))


class VenueStaff(Base):
    """A person who may edit a venue's details (its registered staff)."""

    __tablename__ = "venue_staff"

    venue_id: Mapped[int] = mapped_column(
        ForeignKey("venues.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    added_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)

    venue: Mapped[Venue] = relationship(back_populates="staff_links")


class VenueChange(Base):
    """One change to a venue and who made it (a person, or the importer/seeder)."""

    __tablename__ = "venue_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    venue_id: Mapped[int] = mapped_column(
        ForeignKey("venues.id", ondelete="CASCADE"), nullable=False, index=True
    )
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_label: Mapped[str | None] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(30), nullable=False)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)


class VenueIndexState(Base):
    """One row: the token of the venues table's last change that a nearest search can see.
    Triggers on ``venues`` replace it in the writer's transaction (``backend.venues.index``);
    the app never writes it."""

    __tablename__ = "venue_index_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False)


# Columns whose change can change a nearest answer's membership or order.
INDEXED_COLUMNS = ("id", "lat", "lon", "status", "category", "unavailable_until", "opening_hours")

# The channel ``backend.venues.index`` listens on for each new token (delivered at commit).
INDEX_CHANNEL = "safehaven_venue_index"


def pg_bump_function(notify: bool = True) -> str:
    """The PostgreSQL trigger function replacing the token (and, since migration 0009,
    notifying it on :data:`INDEX_CHANNEL`)."""
    send = f"    PERFORM pg_notify('{INDEX_CHANNEL}', token::text);\n" if notify else ""
    return (
        "CREATE OR REPLACE FUNCTION safehaven_venue_index_bump() RETURNS trigger AS $$\n"  # noqa: S608 - constants only
        "DECLARE\n"
        "    token bigint := (random() * 9.0e18)::bigint;\n"
        "BEGIN\n"
        "    INSERT INTO venue_index_state (id, version) VALUES (1, token)\n"
        "    ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version;\n"
        f"{send}"
        "    RETURN NULL;\n"
        "END $$ LANGUAGE plpgsql"
    )


def trigger_ddl(dialect: str) -> list[str]:
    """Statements creating the triggers that change the token on ``dialect``."""
    columns = ", ".join(INDEXED_COLUMNS)
    if dialect == "postgresql":
        return [
            pg_bump_function(),
            "CREATE OR REPLACE TRIGGER trg_venues_index_write AFTER INSERT OR DELETE OR UPDATE OF "
            f"{columns} ON venues FOR EACH STATEMENT EXECUTE FUNCTION safehaven_venue_index_bump()",
            "CREATE OR REPLACE TRIGGER trg_venues_index_truncate AFTER TRUNCATE ON venues "
            "FOR EACH STATEMENT EXECUTE FUNCTION safehaven_venue_index_bump()",
        ]
    bump = (
        "BEGIN INSERT INTO venue_index_state (id, version) VALUES (1, random()) "
        "ON CONFLICT (id) DO UPDATE SET version = excluded.version; END"
    )
    return [
        f"CREATE TRIGGER IF NOT EXISTS venues_index_ai AFTER INSERT ON venues {bump}",
        f"CREATE TRIGGER IF NOT EXISTS venues_index_ad AFTER DELETE ON venues {bump}",
        f"CREATE TRIGGER IF NOT EXISTS venues_index_au AFTER UPDATE OF {columns} ON venues {bump}",
    ]


def drop_trigger_ddl(dialect: str) -> list[str]:
    """Statements removing what :func:`trigger_ddl` made."""
    if dialect == "postgresql":
        return [
            "DROP TRIGGER IF EXISTS trg_venues_index_write ON venues",
            "DROP TRIGGER IF EXISTS trg_venues_index_truncate ON venues",
            "DROP FUNCTION IF EXISTS safehaven_venue_index_bump()",
        ]
    return [f"DROP TRIGGER IF EXISTS venues_index_{kind}" for kind in ("ai", "ad", "au")]


def _register_triggers() -> None:
    """With ``create_all``/``drop_all``: once every table exists (the triggers name both
    tables), and before the tables go."""
    metadata = Base.metadata
    for dialect in ("sqlite", "postgresql"):
        for stmt in trigger_ddl(dialect):
            event.listen(metadata, "after_create", DDL(stmt).execute_if(dialect=dialect))
        for stmt in drop_trigger_ddl(dialect):
            event.listen(metadata, "before_drop", DDL(stmt).execute_if(dialect=dialect))


_register_triggers()
