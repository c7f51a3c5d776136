"""Seed Wigan's candidate safe places (real sites, never verified) and a labelled demo set."""

from __future__ import annotations

from collections.abc import Callable

import click
from sqlalchemy import select

from backend.auth.models import User
from backend.extensions import db
from backend.venues import service
from backend.venues.models import Venue
from shared_schemas.venues import VenueStatus

DEMO_NOTE = "DEMO DATA: a fictional venue for demonstrations, not a real safe place."
DEMO_SOURCE = "SafeHaven demo data (fictional)"
DEMO_STAFF_UID = "demo-staff"

# Verified demo venues in Wigan and Leigh town centres, open at 02:00 on a Saturday.
DEMO_VENUES = [
    # Wigan town centre
    (
        "demo:wigan-wallgate-tap",
        "[DEMO] The Wallgate Tap",
        "pub_or_bar",
        53.54385,
        -2.63420,
        "Wallgate, Wigan",
        "WN1 1BA",
        "Mo-Th 12:00-23:30; Fr-Sa 12:00-03:00; Su 12:00-22:30",
        ["ask_for_angela", "umay_safe_place"],
    ),
    (
        "demo:wigan-king-street-bar",
        "[DEMO] King Street Late Bar",
        "pub_or_bar",
        53.54430,
        -2.63300,
        "King Street, Wigan",
        "WN1 1BS",
        "We-Th 20:00-02:00; Fr-Sa 20:00-04:00",
        ["ask_for_angela", "safe_places"],
    ),
    (
        "demo:wigan-market-place-hotel",
        "[DEMO] Market Place Hotel",
        "hotel",
        53.54700,
        -2.63100,
        "Library Street, Wigan",
        "WN1 1NN",
        "24/7",
        ["umay_safe_place", "safe_haven"],
    ),
    (
        "demo:wigan-standishgate-24h",
        "[DEMO] Standishgate 24h Store",
        "shop",
        53.54800,
        -2.62850,
        "Standishgate, Wigan",
        "WN1 1XL",
        "24/7",
        ["safe_places"],
    ),
    (
        "demo:wigan-rae-a-and-e",
        "[DEMO] Royal Albert Edward Infirmary A&E",
        "hospital",
        53.56010,
        -2.62920,
        "Wigan Lane, Wigan",
        "WN1 2NN",
        "24/7",
        ["safe_haven"],
    ),
    # Leigh town centre
    (
        "demo:leigh-bradshawgate-arms",
        "[DEMO] The Bradshawgate Arms",
        "pub_or_bar",
        53.49720,
        -2.51900,
        "Bradshawgate, Leigh",
        "WN7 4NB",
        "Mo-Th 12:00-23:00; Fr-Sa 12:00-02:30; Su 12:00-22:30",
        ["ask_for_angela", "umay_safe_place"],
    ),
    (
        "demo:leigh-spinning-gate-hotel",
        "[DEMO] Spinning Gate Hotel",
        "hotel",
        53.49600,
        -2.51500,
        "Spinning Gate, Leigh",
        "WN7 4PG",
        "24/7",
        ["umay_safe_place"],
    ),
    (
        "demo:leigh-market-street-late-shop",
        "[DEMO] Market Street Late Shop",
        "shop",
        53.49800,
        -2.51700,
        "Market Street, Leigh",
        "WN7 1DY",
        "Mo-Su 06:00-03:00",
        ["safe_places"],
    ),
]


def demo_features() -> list[dict]:
    """The demo set as GeoJSON features (``external_ref`` keeps re-seeding idempotent)."""
    features = []
    for n, (ref, name, category, lat, lon, address, postcode, hours, schemes) in enumerate(
        DEMO_VENUES, 1
    ):
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {
                    "external_ref": ref,
                    "name": name,
                    "category": category,
                    "address": address,
                    "postcode": postcode,
                    # Ofcom's range reserved for drama: these numbers never ring anyone.
                    "phone": f"01632 960{n:03d}",
                    "opening_hours": hours,
                    "schemes": schemes,
                    "source": DEMO_SOURCE,
                    "notes": DEMO_NOTE,
                },
            }
        )
    return features


def progress_bar(label: str) -> Callable[[int, int], None]:
    """A text progress bar for long loads: ``label [####....] done/total``."""

    def progress(done: int, total: int) -> None:
        width = 30
        filled = int(width * done / max(total, 1))
        click.echo(
            f"\r  {label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}",
            nl=done == total,
        )

    return progress


def seed_wigan(echo: Callable[[str], None]) -> None:
    """Load the 141 candidate sites and the verified demo venues; idempotent."""
    summary = service.import_geojson(service.CANDIDATES_FILE, progress=progress_bar("candidates"))
    echo(summary.line("venues (candidates, unverified)"))
    demo = service.import_features(
        demo_features(),
        label="seed:demo",
        new_status=VenueStatus.VERIFIED.value,
        is_demo=True,
        progress=progress_bar("demo venues"),
    )
    echo(demo.line("venues (DEMO, verified)"))
    staff = db.session.scalar(select(User).where(User.uid == DEMO_STAFF_UID))
    pub = db.session.scalar(select(Venue).where(Venue.external_ref == DEMO_VENUES[0][0]))
    if staff is not None and pub is not None and service.link_staff(pub, staff):
        echo(f"venues: {DEMO_STAFF_UID} is staff of {pub.name}")
