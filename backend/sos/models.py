"""An SOS press as the phone sent it: unique per (resident, client id), so a resend after a
lost answer finds the first one instead of alerting everyone again."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, utcnow


class SosEvent(Base):
    """One SOS: the journey it was raised on (an emergency share when there was none) and
    the outbox alert that carries it to the contacts."""

    __tablename__ = "sos_events"
    __table_args__ = (UniqueConstraint("user_id", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    client_id: Mapped[str] = mapped_column(String(36), nullable=False)
    journey_id: Mapped[int | None] = mapped_column(
        ForeignKey("journeys.id", ondelete="SET NULL"), index=True
    )
    alert_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert_outbox.id", ondelete="SET NULL"), index=True
    )
    lat: Mapped[float] = mapped_column(Float, nullable=False)
    lon: Mapped[float] = mapped_column(Float, nullable=False)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    battery: Mapped[int | None] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(nullable=False)
    raised_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
