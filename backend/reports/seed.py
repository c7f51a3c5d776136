"""A clearly labelled synthetic month of concern reports for the demo hotspots.

Concentrated where the 2024-25 serious violence strategy names hotspots: the GMP beats
Wigan Central, Leigh East, Leigh West and Atherton, and the Worsley Hall community-led pilot
area (county lines, Op Portlock; in Douglas ward). Leigh East is no 2023 ward name: its
points fall in Leigh Central & Higher Folds. Every row has source "synthetic" and a description that
starts with SYNTHETIC_LABEL, so it can never be mistaken for a real report."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import delete, func, select

from backend.areas import service as areas
from backend.db import rowcount, table_of, utcnow
from backend.extensions import db
from backend.reports.models import Report, ReportUpdate
from backend.reports.references import distinct_references

SYNTHETIC_LABEL = "[SYNTHETIC DEMO DATA - not a real report]"
SOURCE = "synthetic"
DAYS = 30
# (area, centre lat, centre lon, spread in metres, reports, category weights)
HOTSPOTS = (
    (
        "Wigan Central",
        53.5500,
        -2.6300,
        450,
        160,
        {
            "street_drinking": 3,
            "asb": 3,
            "knife_weapon": 2,
            "sexual_harassment": 2,
            "feeling_unsafe": 2,
        },
    ),
    (
        "Leigh East",
        53.4975,
        -2.5090,
        450,
        110,
        {"youth_asb": 3, "asb": 2, "knife_weapon": 2, "drug_dealing": 2},
    ),
    (
        "Leigh West",
        53.4960,
        -2.5340,
        450,
        100,
        {"youth_asb": 3, "asb": 2, "street_drinking": 2, "dangerous_dog": 1},
    ),
    (
        "Atherton",
        53.5260,
        -2.4920,
        600,
        90,
        {"youth_asb": 3, "knife_weapon": 2, "environment": 2, "asb": 2},
    ),
    (
        "Worsley Hall",
        53.5410,
        -2.6570,
        400,
        110,
        {"drug_dealing": 4, "exploitation": 2, "asb": 2, "youth_asb": 2},
    ),
)
BACKGROUND = 80  # scattered across the borough, so quiet wards are not all empty
BOROUGH_BOX = (53.45, 53.62, -2.74, -2.43)
METRES_PER_DEG_LAT = 111_195.0


def _jitter(rng: random.Random, lat: float, lon: float, spread_m: float) -> tuple[float, float]:
    dlat = rng.gauss(0, spread_m) / METRES_PER_DEG_LAT
    dlon = rng.gauss(0, spread_m) / (METRES_PER_DEG_LAT * 0.595)
    return lat + dlat, lon + dlon


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def synthetic_reports(now, rng: random.Random) -> list[dict]:  # type: ignore[no-untyped-def]
    """The rows to insert: one month before ``now``, weighted towards evenings and weekends."""
    rows = []
    everywhere = {"asb": 3, "environment": 3, "feeling_unsafe": 2, "youth_asb": 1, "other": 1}
    # (name, centre or None for anywhere in the borough, spread in metres, count, weights)
    plan: list[tuple[str, tuple[float, float] | None, int, int, dict[str, int]]] = [
        (name, (lat, lon), spread, n, weights) for name, lat, lon, spread, n, weights in HOTSPOTS
    ]
    plan.append(("borough", None, 0, BACKGROUND, everywhere))
    for name, centre, spread, count, weights in plan:
        made = attempts = 0
        while made < count and attempts < count * 20:
            attempts += 1
            if centre is None:
                lat = rng.uniform(BOROUGH_BOX[0], BOROUGH_BOX[1])
                lon = rng.uniform(BOROUGH_BOX[2], BOROUGH_BOX[3])
            else:
                lat, lon = _jitter(rng, *centre, spread)
            ward = areas.ward_code_for_point(lat, lon)
            if ward is None:
                continue
            # Later days a little busier, so "this week vs last week" shows a rise.
            day = DAYS * (1 - rng.random() ** 1.3)
            hour = rng.choices(range(24), weights=[1] * 7 + [2] * 9 + [5] * 8)[0]
            observed = (now - timedelta(days=day)).replace(
                hour=hour, minute=rng.randrange(60), second=0, microsecond=0
            )
            if observed > now:
                observed -= timedelta(days=1)
            category = _pick(rng, weights)
            rows.append(
                {
                    "category": category,
                    "description": f"{SYNTHETIC_LABEL} {category.replace('_', ' ')} near {name}",
                    "lat": round(lat, 6),
                    "lon": round(lon, 6),
                    "ward_code": ward,
                    "observed_at": observed,
                    "created_at": observed + timedelta(minutes=rng.randrange(5, 240)),
                    "updated_at": observed + timedelta(minutes=rng.randrange(5, 240)),
                    "status": rng.choice(["received", "acknowledged", "in_progress", "closed"]),
                    "anonymous": rng.random() < 0.4,
                    "consent_to_contact": False,
                    "user_id": None,
                    "source": SOURCE,
                }
            )
            made += 1
    for row, reference in zip(rows, distinct_references(len(rows)), strict=True):
        row["reference"] = reference
        row["updated_at"] = max(row["updated_at"], row["created_at"])
        row["created_at"] = min(row["created_at"], now)
        row["updated_at"] = min(row["updated_at"], now)
    return rows


def seed_wigan(echo: Callable[[str], None]) -> None:
    """Insert the synthetic month unless it is already there (idempotent)."""
    existing = db.session.scalar(select(func.count()).where(Report.source == SOURCE))
    if existing:
        echo(f"synthetic reports: imported 0, skipped {existing} (already seeded)")
        return
    rows = synthetic_reports(utcnow(), random.Random(2024))  # noqa: S311 - demo data
    db.session.execute(table_of(Report).insert(), rows)
    db.session.flush()
    ids = db.session.execute(
        select(Report.id, Report.status, Report.updated_at).where(Report.source == SOURCE)
    ).all()
    db.session.execute(
        table_of(ReportUpdate).insert(),
        [{"report_id": i, "status": s, "note": None, "created_at": t} for i, s, t in ids],
    )
    db.session.commit()
    echo(f"synthetic reports (labelled {SYNTHETIC_LABEL}): imported {len(rows)}, skipped 0 (none)")


def clear_synthetic() -> int:
    """Remove the synthetic reports; returns how many."""
    result = db.session.execute(delete(Report).where(Report.source == SOURCE))
    db.session.commit()
    return rowcount(result)
