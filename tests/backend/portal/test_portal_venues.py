"""Venue pages through the test client: registration, edits, availability, verification,
night coverage, and who may see what."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tests.backend.portal.helpers import sign_in, token_for
from tests.backend.portal.venue_rows import LEIGH_CENTRE, WIGAN_CENTRAL, make_venue

pytest.importorskip("backend.venues.service")


def _post(client, path, data):  # type: ignore[no-untyped-def]
    return client.post(path, data={**data, "csrf_token": token_for(client)})


def test_staff_registers_a_venue_from_a_postcode(client, venue_staff):
    from backend.venues.models import Venue

    sign_in(client, venue_staff.uid)
    response = _post(
        client,
        "/portal/venues/new",
        {
            "name": "The Moon Under Water",
            "category": "pub_or_bar",
            "postcode": "wn1 1aa",
            "opening_hours": "Mo-Th 11:00-23:00; Fr-Sa 11:00-02:00",
            "schemes": ["ask_for_angela", "safe_haven"],
            "action": "save",
        },
    )
    assert response.status_code == 303
    from sqlalchemy import select

    from backend.extensions import db

    venue = db.session.scalars(select(Venue).where(Venue.name == "The Moon Under Water")).one()
    assert venue.status == "pending" and venue.ward_code == WIGAN_CENTRAL
    assert venue.postcode == "WN1 1AA" and abs(venue.lat - 53.546967) < 1e-6
    assert venue.schemes == ["ask_for_angela", "safe_haven"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Venue registered" in page and "Wigan Central" in page
    assert client.get("/portal/venues").get_data(as_text=True).count("The Moon Under Water") == 1


def test_find_on_map_places_the_postcode_without_saving(client, venue_staff):
    from backend.venues.models import Venue

    sign_in(client, venue_staff.uid)
    response = _post(
        client, "/portal/venues/new", {"name": "", "postcode": "WN7 1AA", "action": "locate"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'value="53.497402"' in html
    assert 'class="marker"' in html and 'visibility="hidden"' not in html
    from sqlalchemy import func, select

    from backend.extensions import db

    assert db.session.scalar(select(func.count()).select_from(Venue)) == 0


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "Pub", "postcode": "ZZ1 1ZZ"}, "postcode"),
        ({"name": "Pub", "postcode": "not a postcode"}, "postcode"),
        (
            {"name": "Pub", "postcode": "WN1 1AA", "opening_hours": "Mo-Fr 25:00-26:00"},
            "opening_hours",
        ),
        ({"name": "", "postcode": "WN1 1AA"}, "name"),
        ({"name": "Pub", "lat": "north", "lon": "-2.6"}, "lat"),
        ({"name": "Pub", "lat": "53.5", "lon": "999"}, "lon"),
        ({"name": "Pub", "postcode": "WN1 1AA", "category": "castle"}, "category"),
        ({"name": "Pub", "postcode": "WN1 1AA", "schemes": ["made_up"]}, "schemes"),
    ],
)
def test_bad_registration_is_refused_naming_the_field(client, venue_staff, data, field):
    sign_in(client, venue_staff.uid)
    response = _post(
        client, "/portal/venues/new", {"category": "pub_or_bar", "action": "save", **data}
    )
    assert response.status_code in (409, 422)
    html = response.get_data(as_text=True)
    assert f'href="#{field}"' in html and f'id="{field}-error"' in html


def test_staff_edit_their_venue_and_mark_it_unavailable(client, venue_staff):
    venue = make_venue(venue_staff.id, name="Corner Shop", category="shop")
    sign_in(client, venue_staff.uid)
    form = client.get(f"/portal/venues/{venue.id}/edit").get_data(as_text=True)
    assert 'value="Corner Shop"' in form
    response = _post(
        client,
        f"/portal/venues/{venue.id}/edit",
        {
            "name": "Corner Shop Express",
            "category": "shop",
            "lat": str(venue.lat),
            "lon": str(venue.lon),
            "opening_hours": "Mo-Su 07:00-23:00",
            "action": "save",
        },
    )
    assert response.status_code == 303
    # A new name sends the verified venue back to the partnership, and the page says so.
    assert response.headers["Location"].endswith("saved=review")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "until then residents are not shown this venue" in page
    assert "Corner Shop Express" in page and "updated: " in page
    day = (datetime.now(UTC) + timedelta(days=2)).strftime("%d/%m/%Y")
    _post(
        client,
        f"/portal/venues/{venue.id}/unavailable",
        {"until_date": day, "until_time": "18:30", "reason": "refit", "action": "set"},
    )
    page = client.get(f"/portal/venues/{venue.id}").get_data(as_text=True)
    assert "Temporarily unavailable until" in page and "refit" in page
    _post(client, f"/portal/venues/{venue.id}/unavailable", {"action": "clear"})
    assert "Temporarily unavailable until" not in client.get(f"/portal/venues/{venue.id}").get_data(
        as_text=True
    )


def test_unavailable_in_the_past_is_refused(client, venue_staff):
    venue = make_venue(venue_staff.id)
    sign_in(client, venue_staff.uid)
    response = _post(
        client,
        f"/portal/venues/{venue.id}/unavailable",
        {"until_date": "01/01/2020", "until_time": "10:00", "action": "set"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "must be in the future" in page
    assert 'href="#until_date">Unavailable until (date): must be in the future' in page


@pytest.mark.parametrize(
    ("typed", "field", "says"),
    [
        ({"until_date": "", "until_time": "18:00"}, "until_date", "give the date"),
        ({"until_date": "31/02/2030", "until_time": ""}, "until_date", "not a date"),
        ({"until_date": "2030-13-01", "until_time": ""}, "until_date", "not a date"),
        ({"until_date": "01/01/2030", "until_time": "6pm"}, "until_time", "24-hour clock"),
        ({"until_date": "01/01/2030", "until_time": "24:00"}, "until_time", "24-hour clock"),
    ],
)
def test_unavailable_takes_a_uk_date_and_a_24_hour_time(client, venue_staff, typed, field, says):
    from backend.portal import service

    venue = make_venue(venue_staff.id)
    sign_in(client, venue_staff.uid)
    response = _post(client, f"/portal/venues/{venue.id}/unavailable", {**typed, "action": "set"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="{field}-error"' in page and says in page
    assert 'aria-invalid="true"' in page
    assert service.parse_uk_time("0730", "t").isoformat() == "07:30:00"
    assert service.parse_uk_time("23.05", "t").isoformat() == "23:05:00"


def test_unavailable_until_a_uk_wall_time_is_stored_in_utc(client, venue_staff):
    """Summer time: 18:00 in London on 1 July is 17:00 UTC."""
    from backend.auth.models import User
    from backend.extensions import db
    from backend.portal import service

    venue = make_venue(venue_staff.id)
    now = datetime(2030, 6, 30, 12, 0, tzinfo=UTC)
    staff = db.session.get(User, venue_staff.id)
    service.set_unavailable(staff, venue.id, "01/07/2030", "18:00", "refit", now)
    db.session.refresh(venue)
    stored = venue.unavailable_until
    stored = stored if stored.tzinfo else stored.replace(tzinfo=UTC)
    assert stored == datetime(2030, 7, 1, 17, 0, tzinfo=UTC)


def test_staff_cannot_reach_another_venue(client, venue_staff, make_person):
    other = make_person("staff-erin", "venue_staff")
    theirs = make_venue(other.id, name="Erin's Bar")
    sign_in(client, venue_staff.uid)
    assert client.get(f"/portal/venues/{theirs.id}").status_code == 403
    assert client.get(f"/portal/venues/{theirs.id}/edit").status_code == 403
    assert "Erin's Bar" not in client.get("/portal/venues").get_data(as_text=True)
    for path, data in [
        (f"/portal/venues/{theirs.id}/edit", {"name": "Mine now", "postcode": "WN1 1AA"}),
        (
            f"/portal/venues/{theirs.id}/unavailable",
            {"until_date": "01/01/2030", "until_time": "10:00", "action": "set"},
        ),
        (f"/portal/venues/{theirs.id}/verification", {"action": "suspend", "note": "gotcha"}),
    ]:
        assert _post(client, path, data).status_code == 403
    assert client.get("/portal/venues/999999").status_code == 404


@pytest.mark.parametrize("path", ["/portal/verification", "/portal/coverage", "/portal/users"])
def test_staff_cannot_open_admin_pages(client, venue_staff, path):
    sign_in(client, venue_staff.uid)
    assert client.get(path).status_code == 403


def test_staff_cannot_verify_their_own_venue(client, venue_staff):
    venue = make_venue(venue_staff.id, status="pending")
    sign_in(client, venue_staff.uid)
    response = _post(
        client, f"/portal/venues/{venue.id}/verification", {"action": "approve", "note": "ok!"}
    )
    assert response.status_code == 403


def test_admin_approves_from_the_queue_and_sees_rechecks(client, admin, venue_staff):
    from backend.extensions import db

    pending = make_venue(venue_staff.id, name="New Pharmacy", status="pending")
    stale = make_venue(
        None,
        name="Old Hotel",
        last_checked_at=datetime(2020, 1, 1, tzinfo=UTC),
        verified_at=datetime(2020, 1, 1, tzinfo=UTC),
    )
    sign_in(client, admin.uid)
    queue = client.get("/portal/verification").get_data(as_text=True)
    assert f'id="pending-{pending.id}"' in queue and f'id="recheck-{stale.id}"' in queue
    response = _post(
        client,
        f"/portal/venues/{pending.id}/verification",
        {"action": "approve", "note": "Visited, staff briefed", "back": "queue"},
    )
    assert response.status_code == 303
    db.session.refresh(pending)
    assert pending.status == "verified" and pending.verification_note == "Visited, staff briefed"
    assert f'id="pending-{pending.id}"' not in client.get("/portal/verification").get_data(
        as_text=True
    )


def test_verification_needs_a_note_and_a_possible_action(client, admin):
    venue = make_venue(None, status="verified")
    sign_in(client, admin.uid)
    no_note = _post(client, f"/portal/venues/{venue.id}/verification", {"action": "suspend"})
    assert no_note.status_code == 422 and "note" in no_note.get_data(as_text=True)
    impossible = _post(
        client, f"/portal/venues/{venue.id}/verification", {"action": "reject", "note": "no"}
    )
    assert impossible.status_code in (409, 422)


def test_night_coverage_shows_wards_without_an_open_safe_place(client, admin):
    # Wigan town centre: a late bar (covered both nights); Leigh: a shop closing at 22:00.
    make_venue(None, name="Late Bar", opening_hours="Fr-Sa 18:00-03:00")
    make_venue(
        None,
        name="Leigh Shop",
        lat=LEIGH_CENTRE[0],
        lon=LEIGH_CENTRE[1],
        opening_hours="Mo-Su 08:00-22:00",
    )
    make_venue(
        None, name="Suspended Club", lat=LEIGH_CENTRE[0], lon=LEIGH_CENTRE[1], status="suspended"
    )
    sign_in(client, admin.uid)
    html = client.get("/portal/coverage?week_of=2026-11-18&moment=sat_0200").get_data(as_text=True)
    assert "Friday 20/11/2026" in html
    assert f'id="gap-{WIGAN_CENTRAL}"' not in html
    assert 'id="gap-E05015001"' in html  # Leigh Central & Higher Folds
    assert '<path class="ward covered" d=' in html and '<path class="ward gap" d=' in html
    refused = client.get("/portal/coverage?week_of=someday")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert (
        'href="#week_of">Weekend of (any date, dd/mm/yyyy; the next Friday is used): not a date'
        in page
    )
    assert 'value="someday"' in page  # what was typed comes back to be corrected


def test_night_coverage_counts_per_ward_and_time(admin, app):
    from backend.auth.models import User
    from backend.extensions import db
    from backend.portal.service import night_coverage

    make_venue(None, name="Late Bar", opening_hours="Fr 18:00-03:00")
    actor = db.session.get(User, admin.id)
    result = night_coverage(actor, date(2026, 11, 20))
    wigan = next(w for w in result["wards"] if w.code == WIGAN_CENTRAL)
    assert wigan.open_counts == {"fri_2300": 1, "sat_0200": 1, "sat_2300": 0, "sun_0200": 0}
    assert wigan.gaps == ["sat_2300", "sun_0200"]
