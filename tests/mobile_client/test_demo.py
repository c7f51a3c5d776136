"""``make app`` (``python -m mobile_client --demo``) against a real server with no input: the
demo resident shares a journey to a Wigan safe place with their contact and the server
receives the simulated walk's fixes; the app prints none of Kivy's harmless start-up noise."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from mobile_client.core.geo import haversine_m
from mobile_client.core.location import DEMO_ROUTE
from tests.mobile_client.test_ui import display, seed_demo_venues  # noqa: F401 - the fixture
from tests.support.apps import TEST_SECRET

ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 180  # the app signs in through `safehaven dev-token`, a cold CLI start on a busy machine


def seed_demo(app) -> None:  # type: ignore[no-untyped-def]
    """What `make run` seeds and the demo needs: the demo users, demo-resident trusting
    demo-contact, and the verified demo venues."""
    from backend.auth.seed import seed_wigan as seed_users
    from backend.contacts.seed import seed_wigan as seed_contacts

    seed_users(lambda _line: None)
    seed_contacts(lambda _line: None)
    seed_demo_venues()


@pytest.mark.slow
def test_the_demo_walks_to_a_safe_place_and_the_server_gets_its_fixes(
    display,  # noqa: F811 - the fixture imported above
    tmp_path,
    app,
    database_url,
    live_server,
):
    from backend.auth.models import User
    from backend.extensions import db
    from backend.journeys.models import Journey, JourneyContact, LocationFix
    from backend.venues.models import Venue

    seed_demo(app)
    env = os.environ | {
        "DISPLAY": display,
        # `safehaven dev-token` (run by the app) signs for, and writes to, this server.
        "SAFEHAVEN_ENV": "testing",
        "SAFEHAVEN_AUTH": "dev",
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": database_url,
        "KIVY_HOME": str(tmp_path / "kivy"),  # a first start: Kivy writes a new config
    }
    for name in ("SDL_VIDEODRIVER", "KIVY_LOG_MODE", "KIVY_CLIPBOARD", "PYTHONWARNINGS"):
        env.pop(name, None)
    argv = [sys.executable, "-m", "mobile_client", "--server", live_server.url, "--demo"]
    argv += ["--speedup", "20", "--data-dir", str(tmp_path / "app")]
    log = tmp_path / "app.log"
    with log.open("w") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        resident = None
        journey = None
        fixes: list[LocationFix] = []
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline and proc.poll() is None:
            db.session.expire_all()
            resident = db.session.scalar(select(User).where(User.uid == "demo-resident"))
            journey = resident and db.session.scalar(
                select(Journey).where(Journey.owner_id == resident.id)
            )
            if journey is not None:
                fixes = list(
                    db.session.scalars(
                        select(LocationFix)
                        .where(LocationFix.journey_id == journey.id)
                        .order_by(LocationFix.recorded_at)
                    )
                )
                there = fixes and (
                    haversine_m(fixes[-1].lat, fixes[-1].lon, journey.dest_lat, journey.dest_lon)
                    < 15
                )
                if len(fixes) >= 5 and there:
                    break
            time.sleep(0.5)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    output = log.read_text(errors="replace")
    assert journey is not None, f"the demo started no journey:\n{output[-3000:]}"

    venue = db.session.get(Venue, journey.destination_venue_id)
    assert venue is not None and venue.status == "verified", "the demo walks to a safe place"
    contact = db.session.scalar(select(User).where(User.uid == "demo-contact"))
    watchers = db.session.scalars(
        select(JourneyContact.contact_user_id).where(JourneyContact.journey_id == journey.id)
    ).all()
    assert list(watchers) == [contact.id], "shared with the demo resident's trusted contact"

    assert len(fixes) >= 5, f"the server got {len(fixes)} fixes:\n{output[-3000:]}"
    first, last = fixes[0], fixes[-1]
    assert haversine_m(first.lat, first.lon, *DEMO_ROUTE[0]) < 15, "it sets off from the route"
    assert haversine_m(last.lat, last.lon, journey.dest_lat, journey.dest_lon) < 15, (
        "it walks to the safe place"
    )

    # What the terminal shows: the demo's own line, no Kivy start-up chatter or tracebacks.
    assert f"demo: journey {journey.id} shared, walking to {venue.name}" in output, output
    for noise in ("Older configuration", "Cutbuffer", "Providers:", "Traceback", "CRITICAL"):
        assert noise not in output, f"{noise!r} printed:\n{output[-3000:]}"
