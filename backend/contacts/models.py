"""Trusted contacts: invitations, consented links, and the audit trail of location views."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base, utcnow


class Invitation(Base):
    """A single-use invitation to become ``inviter``'s trusted contact; only its hash is kept."""

    __tablename__ = "contact_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    inviter_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(nullable=False)
    accepted_at: Mapped[datetime | None] = mapped_column()
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Contact(Base):
    """``owner`` trusts ``contact`` (who accepted): the contact may be chosen to watch journeys."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("owner_id", "contact_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    contact_user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="active")
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Each side chooses whether the other may see their phone number (off by default).
    owner_shares_phone: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    contact_shares_phone: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    owner = relationship("User", foreign_keys=[owner_id], lazy="joined")
    contact_user = relationship("User", foreign_keys=[contact_user_id], lazy="joined")


class LocationView(Base):
    """Someone looked at ``owner``'s location: a contact (``viewer``) or a watch link."""

    __tablename__ = "location_views"
    __table_args__ = (Index("ix_location_views_owner_viewed", "owner_id", "viewed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    viewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    journey_id: Mapped[int | None] = mapped_column(ForeignKey("journeys.id", ondelete="SET NULL"))
    watch_link_id: Mapped[int | None] = mapped_column(
        ForeignKey("watch_links.id", ondelete="SET NULL")
    )
    via: Mapped[str] = mapped_column(String(16), nullable=False)
    viewed_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)

    viewer = relationship("User", foreign_keys=[viewer_id], lazy="joined")
