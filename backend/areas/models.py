"""Reference geography: Wigan's electoral wards and postcodes."""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base


class Ward(Base):
    """An electoral ward (ONS 2023 code) with its polygon as GeoJSON and its bounding box."""

    __tablename__ = "wards"

    code: Mapped[str] = mapped_column(String(9), primary_key=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    geometry: Mapped[str] = mapped_column(Text, nullable=False)  # GeoJSON geometry, WGS84
    area_m2: Mapped[float] = mapped_column(Float, nullable=False)
    min_lat: Mapped[float] = mapped_column(Float, nullable=False)
    min_lon: Mapped[float] = mapped_column(Float, nullable=False)
    max_lat: Mapped[float] = mapped_column(Float, nullable=False)
    max_lon: Mapped[float] = mapped_column(Float, nullable=False)
    centroid_lat: Mapped[float] = mapped_column(Float, nullable=False)
    centroid_lon: Mapped[float] = mapped_column(Float, nullable=False)


class Postcode(Base):
    """A postcode (normalised ``"WN1 1AA"``) and its point."""

    __tablename__ = "postcodes"

    postcode: Mapped[str] = mapped_column(String(8), primary_key=True)
    lat: Mapped[float] = mapped_column(Float, nullable=False)
    lon: Mapped[float] = mapped_column(Float, nullable=False)
    ward_code: Mapped[str | None] = mapped_column(
        ForeignKey("wards.code", ondelete="SET NULL"), index=True
    )
    lsoa_code: Mapped[str | None] = mapped_column(String(9))
