"""Concern reports and the public updates on them."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base, utcnow
from backend.reports.references import new_reference
from shared_schemas.reports import ReportStatus


class Report(Base):
    """A concern. Anonymous reports keep no user id; no report keeps a device id or an IP.

    ``contact_*`` hold what an Open311 sender (e.g. FixMyStreet) passed for follow-up; they
    are never shown in any public or Open311 response."""

    __tablename__ = "reports"
    __table_args__ = (
        # The hotspot aggregation reads only these columns for a time range.
        Index("ix_reports_observed_at_ward_category", "observed_at", "ward_code", "category"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The short reference a person quotes ("WGN-7K3Q"): random, not a count of reports.
    reference: Mapped[str] = mapped_column(
        String(12), nullable=False, unique=True, default=new_reference
    )
    # SHA-256 of the receipt token handed once to an anonymous sender; it proves holding the
    # receipt and says nothing about who holds it.
    receipt_hash: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(40), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    lat: Mapped[float] = mapped_column(Float, nullable=False)
    lon: Mapped[float] = mapped_column(Float, nullable=False)
    postcode: Mapped[str | None] = mapped_column(String(8))
    ward_code: Mapped[str | None] = mapped_column(ForeignKey("wards.code", ondelete="SET NULL"))
    observed_at: Mapped[datetime] = mapped_column(nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    status: Mapped[str] = mapped_column(
        String(20), nullable=False, default=ReportStatus.RECEIVED.value
    )
    public_note: Mapped[str | None] = mapped_column(Text)
    anonymous: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    consent_to_contact: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    source: Mapped[str] = mapped_column(String(20), nullable=False, default="app")
    open311_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("open311_keys.id", ondelete="SET NULL")
    )
    external_url: Mapped[str | None] = mapped_column(String(500))
    media_url: Mapped[str | None] = mapped_column(String(500))
    # The second and later media_url of an Open311 post (JSON list); GeoReport v2 serves one
    # per request, so only admins see these, in the portal (see ``media_urls``).
    more_media_urls: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[str | None] = mapped_column(Text)  # JSON object of Open311 attributes
    contact_name: Mapped[str | None] = mapped_column(String(160))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(40))

    @property
    def media_urls(self) -> list[str]:
        """Every photo URL the sender posted, in the order sent (the first is ``media_url``)."""
        more = json.loads(self.more_media_urls) if self.more_media_urls else []
        return ([self.media_url] if self.media_url else []) + list(more)

    @property
    def category_name(self) -> str:
        from backend.reports.categories import BY_CODE

        category = BY_CODE.get(self.category)
        return category.name if category else self.category

    @property
    def team(self) -> str | None:
        from backend.reports.categories import BY_CODE

        category = BY_CODE.get(self.category)
        return category.team if category else None

    @property
    def guidance(self) -> str | None:
        from backend.reports.categories import BY_CODE

        category = BY_CODE.get(self.category)
        return category.guidance if category else None

    updates: Mapped[list[ReportUpdate]] = relationship(
        "ReportUpdate",
        back_populates="report",
        order_by="ReportUpdate.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    photos: Mapped[list[ReportPhoto]] = relationship(
        "ReportPhoto",
        back_populates="report",
        order_by="ReportPhoto.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class ReportUpdate(Base):
    """A status change or public note on a report, shown to the reporter and over Open311."""

    __tablename__ = "report_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), nullable=False, index=True
    )
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    # received | status | note | closed | reopened: what the step was, for the history.
    kind: Mapped[str] = mapped_column(String(20), nullable=False, default="status")
    note: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow, index=True)

    report: Mapped[Report] = relationship("Report", back_populates="updates")


class ReportPhoto(Base):
    """A photo sent with a report, re-encoded without any metadata (EXIF, GPS, device).

    Never public unless a partnership officer marks it so; ``token`` is the unguessable name
    in its URL."""

    __tablename__ = "report_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), nullable=False, index=True
    )
    token: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    content_type: Mapped[str] = mapped_column(String(20), nullable=False)
    # Deferred: listing a report's photos never loads the images themselves.
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False, deferred=True)
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    public: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)

    report: Mapped[Report] = relationship("Report", back_populates="photos")
