"""The alert outbox (written in the same transaction as the state change) and one delivery
row per (alert, device), claimed by one worker at a time with a lease and marked sent right
after FCM's answer to that one message."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, utcnow


class OutboxAlert(Base):
    """An alert to deliver: ``pending`` until the worker fans it out to devices (``expanded``)."""

    __tablename__ = "alert_outbox"
    __table_args__ = (Index("ix_alert_outbox_status_created", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(24), nullable=False)
    journey_id: Mapped[int | None] = mapped_column(ForeignKey("journeys.id", ondelete="SET NULL"))
    subject_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # JSON list of the user ids whose devices receive it.
    recipients: Mapped[str] = mapped_column(Text, nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(String(1000), nullable=False)
    data: Mapped[str] = mapped_column(Text, nullable=False, default="{}")
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="pending")
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    expanded_at: Mapped[datetime | None] = mapped_column()


class AlertDelivery(Base):
    """One alert to one device: ``pending`` -> ``sent`` | ``unregistered`` | ``failed``.

    A worker claims a pending row by setting ``claimed_by`` and moving ``next_attempt_at`` to
    the end of its lease; if the worker dies mid-send the row simply comes due again when the
    lease runs out. ``attempts`` counts claims, so a message that keeps killing workers still
    gives up after the limit."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        UniqueConstraint("alert_id", "device_id"),
        Index("ix_alert_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(
        ForeignKey("alert_outbox.id", ondelete="CASCADE"), nullable=False
    )
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id", ondelete="SET NULL"))
    # The recipient the device belonged to when the alert was fanned out (for per-person status).
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token: Mapped[str] = mapped_column(String(4096), nullable=False)
    status: Mapped[str] = mapped_column(String(14), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
    message_id: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(String(300))
    # "<host>:<pid>:<nonce>" of the worker claim holding the lease (while pending: in flight),
    # or of the claim that sent or gave it up; cleared when a retry releases the lease.
    claimed_by: Mapped[str | None] = mapped_column(String(80))


class AlertReceipt(Base):
    """A recipient's phone acknowledged an alert (``POST /api/v1/alerts/{id}/received``): the
    only ground for telling the sender "delivered"."""

    __tablename__ = "alert_receipts"

    alert_id: Mapped[int] = mapped_column(
        ForeignKey("alert_outbox.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    received_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
