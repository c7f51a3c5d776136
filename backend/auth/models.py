"""People who sign in: one row per identity (Firebase uid, or a dev uid)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, utcnow
from shared_schemas.enums import Role


class User(Base):
    """A signed-in person; ``role`` is the source of truth for what they may do."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(128), unique=True, nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False, default=Role.RESIDENT.value)
    display_name: Mapped[str | None] = mapped_column(String(80))
    email: Mapped[str | None] = mapped_column(String(254))
    # E.164 (e.g. +447700900123); shown only to contacts the person chose (Contact.*_shares_phone).
    phone: Mapped[str | None] = mapped_column(String(16))
    ward_code: Mapped[str | None] = mapped_column(ForeignKey("wards.code", ondelete="SET NULL"))
    disabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column()

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN.value

    @property
    def is_venue_staff(self) -> bool:
        return self.role == Role.VENUE_STAFF.value

    def __repr__(self) -> str:
        return f"<User {self.id} {self.uid} {self.role}>"


class ErasedAccount(Base):
    """An erased account's tombstone: only a hash of its uid, so that the erased person's old
    tokens cannot sign the account back up (``backend.auth.service.user_for_identity``)."""

    __tablename__ = "erased_accounts"

    uid_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    erased_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
