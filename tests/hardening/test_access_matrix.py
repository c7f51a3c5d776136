"""The access matrix: every route of the app against every kind of caller, with the status each
must get. The table is checked against ``app.url_map``: a new route without a row fails here.

Actors: anonymous; the resident who owns the data; another resident; an accepted contact on
the resident's journey; a contact of the resident not on that journey; a contact whose
invitation was revoked; staff of the venue concerned; staff of another venue; an admin.

API routes get each actor's bearer token. Portal routes (HTML under ``/portal``) get what a
browser has: every actor opened the sign-in page (its pre-sign-in cookie and form token), then
signed in with the portal's own form; staff and admins hold a session cookie, residents were
refused (403) and stay signed out. Every POST carries the actor's CSRF token.

Each cell starts from the same world: it is built once through the API and the portal, its
rows are kept, and every cell restores them into the emptied tables (the cell's own changes
are emptied again after it)."""

from __future__ import annotations

import io
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.reports import T0, WIGAN_CENTRAL

ACTORS = [
    "anonymous",
    "resident",
    "other_resident",
    "contact_on_journey",
    "contact_not_on_journey",
    "revoked_contact",
    "staff_this_venue",
    "staff_other_venue",
    "admin",
]
GROUPS = {
    "signed_in": ACTORS[1:],
    "non_owners": ACTORS[2:8],  # signed in, not the owner, not admin
    "contacts": ["contact_on_journey", "contact_not_on_journey", "revoked_contact"],
    "staff": ["staff_this_venue", "staff_other_venue"],
    "residents": ACTORS[1:6],
}
PERIOD = "from=2026-03-01T00:00:00Z&to=2026-03-08T00:00:00Z"


def expect(everyone: int | None = None, **statuses: int) -> dict[str, int]:
    """Expected status per actor: ``everyone``, then groups, then single actors override."""
    table: dict[str, int] = {}
    if everyone is not None:
        table.update(dict.fromkeys(ACTORS, everyone))
    for name in [n for n in statuses if n in GROUPS]:
        table.update(dict.fromkeys(GROUPS[name], statuses[name]))
    for name in [n for n in statuses if n not in GROUPS]:
        assert name in ACTORS, name
        table[name] = statuses[name]
    assert set(table) == set(ACTORS), f"missing actors: {set(ACTORS) - set(table)}"
    return table


SIGNED_IN = expect(anonymous=401, signed_in=200)
ADMIN_ONLY = expect(anonymous=401, signed_in=403, admin=200)
PUBLIC = expect(200)
# A venue's own staff and admins manage it; nobody else, not even staff of another venue.
TARGETED_RESIDENT = expect(404, anonymous=401, resident=200, admin=200)
# While open: admins read results; the targeted resident is told to wait; others see nothing.
OPEN_SURVEY_RESULTS = expect(404, anonymous=401, resident=403, admin=200)
SIGNED_IN_201 = expect(anonymous=401, signed_in=201)
OWNER_204 = expect(404, anonymous=401, resident=204)
# A contact not chosen for this journey is told no (403); strangers are not told it exists.
JOURNEY_READERS = expect(
    404, anonymous=401, resident=200, contact_on_journey=200, contact_not_on_journey=403
)
JOURNEY_OWNER = expect(404, anonymous=401, resident=200)
JOURNEY_OWNER_201 = expect(404, anonymous=401, resident=201)
JOURNEY_OWNER_204 = expect(404, anonymous=401, resident=204)
# The resident's unused invitation: anyone not yet linked may accept it.
ACCEPT_INVITATION = expect(
    201, anonymous=401, resident=422, contact_on_journey=409, contact_not_on_journey=409
)  # 422: your own invitation; 409: already your contact; a revoked contact may re-link
# The resident <-> contact_on_journey link: either side may revoke it, nobody else sees it.
REVOKE_CONTACT = expect(404, anonymous=401, resident=200, contact_on_journey=200)
VENUE_MANAGERS = expect(anonymous=401, signed_in=403, staff_this_venue=200, admin=200)
# Portal: a browser without a session is sent to the sign-in page (GET) or refused (POST).
SIGNED_OUT = ["anonymous", *GROUPS["residents"]]


def portal(staff: int, admin: int, staff_other_venue: int | None = None, post=False):  # type: ignore[no-untyped-def]
    """Portal statuses: signed-out browsers get 302 (GET) or 401 (POST)."""
    table = dict.fromkeys(SIGNED_OUT, 401 if post else 302)
    table.update(staff_this_venue=staff, staff_other_venue=staff, admin=admin)
    if staff_other_venue is not None:
        table["staff_other_venue"] = staff_other_venue
    return expect(**table)


PORTAL_STAFF = portal(staff=200, admin=200)
PORTAL_ADMIN = portal(staff=403, admin=200)
PORTAL_ADMIN_POST = portal(staff=403, admin=303, post=True)
PORTAL_THIS_VENUE = portal(staff=200, staff_other_venue=403, admin=200)
PORTAL_THIS_VENUE_POST = portal(staff=303, staff_other_venue=403, admin=303, post=True)


def _sos_body() -> dict[str, Any]:
    import uuid

    from tests.support.journeys import iso

    return {
        "client_id": str(uuid.uuid4()),
        "lat": 53.5430,
        "lon": -2.6400,
        "recorded_at": iso(datetime.now(UTC)),
    }


def _in_half_an_hour() -> str:
    from tests.support.journeys import iso

    return iso(datetime.now(UTC) + timedelta(minutes=30))


@dataclass
class Row:
    """One route: how to call it against the world, and who gets what."""

    method: str
    rule: str
    path: Callable[[Any], str] | str
    expected: dict[str, int]
    json: Callable[[Any], Any] | dict[str, Any] | None = None
    form: Callable[[Any], dict[str, str]] | None = None
    # form fields that depend on who sends them (the portal's sign-in forms)
    form_for: Callable[[Any, str], dict[str, str]] | None = None
    check: Callable[[str, Any, Any], None] | None = field(default=None)
    auth: Callable[[Any], dict[str, str]] | None = None  # replaces the actor's credentials

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.rule)

    @property
    def portal(self) -> bool:
        return self.rule.startswith("/portal")


def only_own_reports(actor: str, world: Any, body: Any) -> None:
    """Nobody sees another person's reports in ``/mine``."""
    ids = {r["id"] for r in body}
    assert (world.report_id in ids) == (actor == "resident"), (actor, ids)


def export_is_own(actor: str, world: Any, body: Any) -> None:
    """The export holds the caller's data only."""
    assert body["profile"]["uid"] == world.people[actor].uid
    ids = {r["id"] for r in body["data"]["reports"]["reports"]}
    assert (world.report_id in ids) == (actor == "resident"), (actor, ids)


def own_venues_only(actor: str, world: Any, page: str) -> None:
    """Venue staff see their own venues in the portal list; admins see all."""
    assert ("The Swan" in page) == (actor in ("staff_this_venue", "admin")), actor
    assert ("Other Place" in page) == (actor in ("staff_other_venue", "admin")), actor


def venue_form(**values: str) -> dict[str, str]:
    return {
        "name": "Matrix Chemist",
        "category": "pharmacy",
        "address": "1 Market Place",
        "postcode": "",
        "lat": "53.5450",
        "lon": "-2.6320",
        "opening_hours": "Mo-Sa 09:00-18:00",
        "phone": "",
        "accessibility": "",
        **values,
    }


PORTAL_ROWS = [
    Row("GET", "/portal/sign-in", "/portal/sign-in", expect(200, staff=302, admin=302)),
    Row(
        "POST",
        "/portal/sign-in/dev",
        "/portal/sign-in/dev",
        # anonymous names nobody; residents may not use the portal
        expect(anonymous=401, residents=403, staff=303, admin=303),
        form_for=lambda w, actor: {"uid": w.people[actor].uid if actor in w.people else "nobody"},
    ),
    Row(
        "POST",
        "/portal/sign-in/firebase",
        "/portal/sign-in/firebase",
        # an ID token in Firebase mode; this server runs dev auth, so the dev token
        expect(anonymous=422, residents=403, staff=303, admin=303),
        form_for=lambda w, actor: {"id_token": w.people[actor].token if actor in w.people else ""},
    ),
    Row("POST", "/portal/sign-out", "/portal/sign-out", portal(303, 303, post=True)),
    Row("GET", "/portal/static/<path:filename>", "/portal/static/portal.css", PUBLIC),
    Row("GET", "/portal/", "/portal/", PORTAL_STAFF),
    Row(
        "GET",
        "/portal/opening-hours/check",
        "/portal/opening-hours/check?value=Mo-Fr%2009:00-17:00",
        PORTAL_STAFF,
    ),
    Row("GET", "/portal/users", "/portal/users", PORTAL_ADMIN),
    Row(
        "POST",
        "/portal/users/<int:user_id>/role",
        lambda w: f"/portal/users/{w.people['other_resident'].id}/role",
        PORTAL_ADMIN_POST,
        form=lambda w: {"role": "venue_staff"},
    ),
    # venues: staff manage their own; admins verify
    Row("GET", "/portal/venues", "/portal/venues", PORTAL_STAFF, check=own_venues_only),
    Row("GET", "/portal/venues/new", "/portal/venues/new", PORTAL_STAFF),
    Row(
        "POST",
        "/portal/venues/new",
        "/portal/venues/new",
        portal(303, 303, post=True),
        form=lambda w: venue_form(),
    ),
    Row(
        "GET",
        "/portal/venues/<int:venue_id>",
        lambda w: f"/portal/venues/{w.venue_id}",
        PORTAL_THIS_VENUE,
    ),
    Row(
        "GET",
        "/portal/venues/<int:venue_id>/edit",
        lambda w: f"/portal/venues/{w.venue_id}/edit",
        PORTAL_THIS_VENUE,
    ),
    Row(
        "POST",
        "/portal/venues/<int:venue_id>/edit",
        lambda w: f"/portal/venues/{w.venue_id}/edit",
        PORTAL_THIS_VENUE_POST,
        form=lambda w: venue_form(name="The Swan", category="pub_or_bar"),
    ),
    Row(
        "POST",
        "/portal/venues/<int:venue_id>/unavailable",
        lambda w: f"/portal/venues/{w.venue_id}/unavailable",
        PORTAL_THIS_VENUE_POST,
        form=lambda w: {
            "until_date": (datetime.now(UTC) + timedelta(days=2)).strftime("%d/%m/%Y"),
            "until_time": "18:00",
            "reason": "refurbishment",
        },
    ),
    Row(
        "POST",
        "/portal/venues/<int:venue_id>/verification",
        lambda w: f"/portal/venues/{w.pending_venue_id}/verification",
        PORTAL_ADMIN_POST,
        form=lambda w: {"action": "approve", "note": "checked on site"},
    ),
    Row("GET", "/portal/verification", "/portal/verification", PORTAL_ADMIN),
    Row("GET", "/portal/coverage", "/portal/coverage", PORTAL_ADMIN),
    # reports and hotspots: partnership admins only
    Row("GET", "/portal/reports", "/portal/reports", PORTAL_ADMIN),
    Row(
        "GET",
        "/portal/reports/<int:report_id>",
        lambda w: f"/portal/reports/{w.report_id}",
        PORTAL_ADMIN,
    ),
    Row(
        "POST",
        "/portal/reports/<int:report_id>/status",
        lambda w: f"/portal/reports/{w.report_id}/status",
        PORTAL_ADMIN_POST,
        form=lambda w: {"status": "in_progress", "public_note": "looking into it"},
    ),
    Row(
        "POST",
        "/portal/reports/<int:report_id>/close",
        lambda w: f"/portal/reports/{w.report_id}/close",
        portal(staff=403, admin=422, post=True),  # 422: closing needs a public note
        form=lambda w: {"close_note": ""},
    ),
    Row(
        "POST",
        "/portal/reports/<int:report_id>/reopen",
        lambda w: f"/portal/reports/{w.report_id}/reopen",
        portal(staff=403, admin=409, post=True),  # 409: the report is not closed
        form=lambda w: {"reason": "seen again"},
    ),
    Row(
        "GET",
        "/portal/reports/photos/<int:photo_id>",
        "/portal/reports/photos/999999",
        portal(staff=403, admin=404),
    ),
    Row(
        "POST",
        "/portal/reports/photos/<int:photo_id>/public",
        "/portal/reports/photos/999999/public",
        portal(staff=403, admin=404, post=True),
        form=lambda w: {"public": "yes"},
    ),
    Row("GET", "/portal/hotspots", "/portal/hotspots", PORTAL_ADMIN),
    Row("GET", "/portal/hotspots.csv", "/portal/hotspots.csv", PORTAL_ADMIN),
    # surveys: partnership admins only
    Row("GET", "/portal/surveys", "/portal/surveys", PORTAL_ADMIN),
    Row("GET", "/portal/surveys/new", "/portal/surveys/new", PORTAL_ADMIN),
    Row(
        "POST",
        "/portal/surveys/new",
        "/portal/surveys/new",
        PORTAL_ADMIN_POST,
        form=lambda w: {
            "title": "Lighting on the canal path",
            "borough_wide": "on",
            "q1_label": "Do you feel safe there after dark?",
            "q1_type": "yes_no",
        },
    ),
    Row(
        "GET",
        "/portal/surveys/<int:survey_id>",
        lambda w: f"/portal/surveys/{w.survey_id}",
        PORTAL_ADMIN,
    ),
    Row(
        "GET",
        "/portal/surveys/<int:survey_id>/results.csv",
        lambda w: f"/portal/surveys/{w.survey_id}/results.csv",
        PORTAL_ADMIN,
    ),
    Row(
        "POST",
        "/portal/surveys/<int:survey_id>/status",
        lambda w: f"/portal/surveys/{w.survey_id}/status",
        PORTAL_ADMIN_POST,
        form=lambda w: {"status": "closed"},
    ),
]


ROWS = [
    Row("GET", "/healthz", "/healthz", PUBLIC),
    Row("GET", "/openapi.json", "/openapi.json", PUBLIC),
    Row("GET", "/docs", "/docs", PUBLIC),
    Row("GET", "/docs/static/<path:filename>", "/docs/static/swagger-ui.css", PUBLIC),
    Row("GET", "/static/<path:filename>", "/static/nothing.txt", expect(404)),
    # areas: public reference geography
    Row("GET", "/api/v1/areas/locate", "/api/v1/areas/locate?lat=53.55&lon=-2.63", PUBLIC),
    Row("GET", "/api/v1/areas/places", "/api/v1/areas/places?q=Hindley", PUBLIC),
    Row(
        "GET",
        "/api/v1/areas/postcodes/<string:postcode>",
        lambda w: f"/api/v1/areas/postcodes/{w.postcode.replace(' ', '%20')}",
        PUBLIC,
    ),
    Row("GET", "/api/v1/areas/wards", "/api/v1/areas/wards", PUBLIC),
    Row("GET", "/api/v1/areas/wards.geojson", "/api/v1/areas/wards.geojson", PUBLIC),
    Row("GET", "/api/v1/areas/wards/<string:code>", "/api/v1/areas/wards/E05015010", PUBLIC),
    # account
    Row("GET", "/api/v1/me", "/api/v1/me", SIGNED_IN),
    Row("PATCH", "/api/v1/me", "/api/v1/me", SIGNED_IN, json={"display_name": "Sam"}),
    Row("DELETE", "/api/v1/me", "/api/v1/me", SIGNED_IN),
    Row("GET", "/api/v1/me/export", "/api/v1/me/export", SIGNED_IN, check=export_is_own),
    # users (admin)
    Row("GET", "/api/v1/users", "/api/v1/users", ADMIN_ONLY),
    Row(
        "PUT",
        "/api/v1/users/<int:user_id>/role",
        lambda w: f"/api/v1/users/{w.people['other_resident'].id}/role",
        ADMIN_ONLY,
        json={"role": "venue_staff"},
    ),
    # reports
    Row("GET", "/api/v1/reports/categories", "/api/v1/reports/categories", PUBLIC),
    Row(
        "POST",
        "/api/v1/reports",
        "/api/v1/reports",
        expect(201),  # anonymous reports need no account
        json={
            "category": "asb",
            "description": "shouting at the bus stop",
            "lat": WIGAN_CENTRAL[0],
            "lon": WIGAN_CENTRAL[1],
            "anonymous": True,
        },
    ),
    Row("GET", "/api/v1/reports/mine", "/api/v1/reports/mine", SIGNED_IN, check=only_own_reports),
    Row(
        "GET",
        "/api/v1/reports/nearby",
        f"/api/v1/reports/nearby?lat={WIGAN_CENTRAL[0]}&lon={WIGAN_CENTRAL[1]}",
        PUBLIC,
    ),
    Row(
        "PATCH",
        "/api/v1/reports/<int:report_id>",
        lambda w: f"/api/v1/reports/{w.report_id}",
        ADMIN_ONLY,
        json={"status": "in_progress", "public_note": "looking into it"},
    ),
    Row(
        "POST",
        "/api/v1/reports/follow",
        "/api/v1/reports/follow",
        expect(404),  # the world's report is named: no receipt follows it
        json=lambda w: {"reference": _reference(w.report_id), "receipt": "z" * 32},
    ),
    Row(
        "POST",
        "/api/v1/reports/<reference>/photos",
        lambda w: f"/api/v1/reports/{_reference(w.report_id)}/photos",
        expect(404, resident=201),  # only its sender; nobody else learns it exists
        form=lambda w: {"photo": (io.BytesIO(_tiny_jpeg()), "p.jpg")},  # type: ignore[dict-item]
    ),
    Row(
        "POST",
        "/api/v1/reports/<int:report_id>/reopen",
        lambda w: f"/api/v1/reports/{w.report_id}/reopen",
        expect(anonymous=401, signed_in=403, admin=409),  # 409: it is not closed
        json={"reason": "seen again"},
    ),
    Row(
        "PATCH",
        "/api/v1/reports/photos/<int:photo_id>",
        "/api/v1/reports/photos/999999",
        expect(anonymous=401, signed_in=403, admin=404),
        json={"public": True},
    ),
    # insights: aggregates (small groups suppressed) for anyone signed in
    Row("GET", "/api/v1/insights/hotspots", f"/api/v1/insights/hotspots?{PERIOD}", SIGNED_IN),
    Row(
        "GET", "/api/v1/insights/hotspots.csv", f"/api/v1/insights/hotspots.csv?{PERIOD}", SIGNED_IN
    ),
    Row(
        "GET", "/api/v1/insights/hotspots.svg", f"/api/v1/insights/hotspots.svg?{PERIOD}", SIGNED_IN
    ),
    Row(
        "GET", "/api/v1/insights/hotspots.png", f"/api/v1/insights/hotspots.png?{PERIOD}", SIGNED_IN
    ),
    # venues: public reads of listed venues; their staff and admins manage them
    Row("GET", "/api/v1/venues/nearest", "/api/v1/venues/nearest?lat=53.5448&lon=-2.6318", PUBLIC),
    Row("GET", "/api/v1/venues", "/api/v1/venues?bbox=-2.7,53.5,-2.5,53.6", PUBLIC),
    Row("GET", "/api/v1/venues.geojson", "/api/v1/venues.geojson", PUBLIC),
    Row(
        "POST",
        "/api/v1/venues",
        "/api/v1/venues",
        expect(anonymous=401, signed_in=403, staff=201, admin=201),
        json={
            "name": "Matrix Pharmacy",
            "category": "pharmacy",
            "lat": 53.4975,
            "lon": -2.5190,
            "opening_hours": "Mo-Sa 09:00-18:00",
        },
    ),
    Row("GET", "/api/v1/venues/recheck-due", "/api/v1/venues/recheck-due", ADMIN_ONLY),
    Row(
        "GET",
        "/api/v1/venues/<int:venue_id>",
        lambda w: f"/api/v1/venues/{w.pending_venue_id}",  # unlisted: hidden from strangers
        expect(404, staff_this_venue=200, admin=200),
    ),
    Row(
        "PATCH",
        "/api/v1/venues/<int:venue_id>",
        lambda w: f"/api/v1/venues/{w.venue_id}",
        VENUE_MANAGERS,
        json={"accessibility": "step-free entrance"},
    ),
    Row(
        "GET",
        "/api/v1/venues/<int:venue_id>/history",
        lambda w: f"/api/v1/venues/{w.venue_id}/history",
        VENUE_MANAGERS,
    ),
    Row(
        "PUT",
        "/api/v1/venues/<int:venue_id>/unavailable",
        lambda w: f"/api/v1/venues/{w.venue_id}/unavailable",
        VENUE_MANAGERS,
        json={"until": None},
    ),
    Row(
        "POST",
        "/api/v1/venues/<int:venue_id>/verification",
        lambda w: f"/api/v1/venues/{w.venue_id}/verification",
        ADMIN_ONLY,
        json={"action": "suspend", "note": "complaint under review"},
    ),
    # surveys: seen and answered by residents of the targeted wards (the resident here lives
    # in Abram; the others have no home ward); results for admins until the survey closes
    Row("GET", "/api/v1/surveys", "/api/v1/surveys", SIGNED_IN),
    Row(
        "POST",
        "/api/v1/surveys",
        "/api/v1/surveys",
        expect(anonymous=401, signed_in=403, admin=201),
        json=lambda w: w.survey_body,
    ),
    Row(
        "GET",
        "/api/v1/surveys/<int:survey_id>",
        lambda w: f"/api/v1/surveys/{w.survey_id}",
        TARGETED_RESIDENT,
    ),
    Row(
        "POST",
        "/api/v1/surveys/<int:survey_id>/open",
        lambda w: f"/api/v1/surveys/{w.draft_survey_id}/open",
        ADMIN_ONLY,
    ),
    Row(
        "POST",
        "/api/v1/surveys/<int:survey_id>/close",
        lambda w: f"/api/v1/surveys/{w.survey_id}/close",
        ADMIN_ONLY,
    ),
    Row(
        "POST",
        "/api/v1/surveys/<int:survey_id>/responses",
        lambda w: f"/api/v1/surveys/{w.survey_id}/responses",
        expect(404, anonymous=401, resident=200, admin=403),  # 200: changes their answer
        json={"answers": {"colour": "blue", "pets": ["dog"], "safe": 2, "unsafe": "no"}},
    ),
    Row(
        "GET",
        "/api/v1/surveys/<int:survey_id>/responses/mine",
        lambda w: f"/api/v1/surveys/{w.survey_id}/responses/mine",
        expect(404, anonymous=401, resident=200),
    ),
    Row(
        "GET",
        "/api/v1/surveys/<int:survey_id>/results",
        lambda w: f"/api/v1/surveys/{w.survey_id}/results",
        OPEN_SURVEY_RESULTS,
    ),
    Row(
        "GET",
        "/api/v1/surveys/<int:survey_id>/results.csv",
        lambda w: f"/api/v1/surveys/{w.survey_id}/results.csv",
        OPEN_SURVEY_RESULTS,
    ),
    Row(
        "GET",
        "/api/v1/surveys/<int:survey_id>/results/<string:question>.svg",
        lambda w: f"/api/v1/surveys/{w.survey_id}/results/colour.svg",
        OPEN_SURVEY_RESULTS,
    ),
    Row(
        "GET",
        "/api/v1/surveys/<int:survey_id>/gap",
        lambda w: f"/api/v1/surveys/{w.survey_id}/gap",
        # admins pass the access rule; this survey pairs no perception question with a
        # report category, so there is no gap to show (404 naming why)
        expect(404, anonymous=401, resident=403),
    ),
    # contacts: mutual, revocable consent; each person sees only their own links
    Row("GET", "/api/v1/contacts", "/api/v1/contacts", SIGNED_IN, check=None),
    Row("GET", "/api/v1/contacts/views", "/api/v1/contacts/views", SIGNED_IN),
    Row("POST", "/api/v1/contacts/invitations", "/api/v1/contacts/invitations", SIGNED_IN_201),
    Row(
        "POST",
        "/api/v1/contacts/invitations/<string:code>/accept",
        lambda w: f"/api/v1/contacts/invitations/{w.invitation_code}/accept",
        ACCEPT_INVITATION,
    ),
    Row(
        "PATCH",
        "/api/v1/contacts/<int:contact_id>",
        lambda w: f"/api/v1/contacts/{w.contact_link_id}",
        REVOKE_CONTACT,  # the same two people: either side shares their own number
        json={"share_phone": True},
    ),
    Row(
        "DELETE",
        "/api/v1/contacts/<int:contact_id>",
        lambda w: f"/api/v1/contacts/{w.contact_link_id}",
        REVOKE_CONTACT,
    ),
    # journeys: the owner acts; chosen (accepted, not revoked) contacts read; nobody else,
    # admins included, sees a location
    Row(
        "POST",
        "/api/v1/journeys",
        "/api/v1/journeys",
        expect(anonymous=401, signed_in=201, resident=409),  # 409: one active journey at a time
        json=lambda w: {**w.journey_body, "expected_arrival_at": _in_half_an_hour()},
    ),
    Row(
        "GET",
        "/api/v1/journeys/<int:journey_id>",
        lambda w: f"/api/v1/journeys/{w.journey_id}",
        JOURNEY_READERS,
    ),
    Row(
        "GET",
        "/api/v1/journeys/<int:journey_id>/stream",
        lambda w: f"/api/v1/journeys/{w.journey_id}/stream",
        JOURNEY_READERS,
    ),
    Row(
        "POST",
        "/api/v1/journeys/<int:journey_id>/locations",
        lambda w: f"/api/v1/journeys/{w.journey_id}/locations",
        JOURNEY_OWNER,
        json=lambda w: {"fixes": [w.fix]},
    ),
    Row(
        "POST",
        "/api/v1/journeys/<int:journey_id>/arrived",
        lambda w: f"/api/v1/journeys/{w.journey_id}/arrived",
        JOURNEY_OWNER,
    ),
    Row(
        "POST",
        "/api/v1/journeys/<int:journey_id>/sos",
        lambda w: f"/api/v1/journeys/{w.journey_id}/sos",
        JOURNEY_OWNER,
    ),
    # SOS from anywhere: the resident (active journey with a contact) raises it, people with
    # no trusted contact of their own are told there is no one to alert; only the owner reads
    # it, only its recipient acknowledges its alert
    Row(
        "POST",
        "/api/v1/sos",
        "/api/v1/sos",
        expect(409, anonymous=401, resident=201),
        json=lambda w: _sos_body(),
    ),
    Row(
        "GET",
        "/api/v1/sos/<int:sos_id>",
        lambda w: f"/api/v1/sos/{w.journey['sos']['id']}",
        JOURNEY_OWNER,
    ),
    Row(
        "POST",
        "/api/v1/alerts/<int:alert_id>/received",
        lambda w: f"/api/v1/alerts/{w.journey['sos']['alert_id']}/received",
        expect(404, anonymous=401, contact_on_journey=200),
    ),
    Row(
        "POST",
        "/api/v1/journeys/<int:journey_id>/cancel",
        lambda w: f"/api/v1/journeys/{w.journey_id}/cancel",
        JOURNEY_OWNER,
    ),
    Row(
        "POST",
        "/api/v1/journeys/<int:journey_id>/watch-links",
        lambda w: f"/api/v1/journeys/{w.journey_id}/watch-links",
        JOURNEY_OWNER_201,
    ),
    Row(
        "DELETE",
        "/api/v1/journeys/<int:journey_id>/watch-links/<int:link_id>",
        lambda w: f"/api/v1/journeys/{w.journey_id}/watch-links/{w.watch_link_id}",
        JOURNEY_OWNER_204,
    ),
    # watch links: whoever holds the unexpired token (no account needed)
    Row("GET", "/watch/<string:token>", lambda w: f"/watch/{w.watch_token}", PUBLIC),
    Row("GET", "/watch/<string:token>/events", lambda w: f"/watch/{w.watch_token}/events", PUBLIC),
    Row("GET", "/watch/static/<path:filename>", "/watch/static/watch.css", PUBLIC),
    # location clients: credentials of the signed-in person; the protocols authenticate by
    # that credential (HTTP Basic / device id), so every caller gets the same answer
    Row("GET", "/api/v1/location-clients", "/api/v1/location-clients", SIGNED_IN),
    Row(
        "POST",
        "/api/v1/location-clients",
        "/api/v1/location-clients",
        SIGNED_IN_201,
        json={"label": "my phone"},
    ),
    Row(
        "DELETE",
        "/api/v1/location-clients/<int:client_id>",
        lambda w: f"/api/v1/location-clients/{w.location_client['id']}",
        OWNER_204,
    ),
    Row(
        "POST",
        "/owntracks",
        "/owntracks",
        expect(200),
        json=lambda w: w.owntracks_message,
        auth=lambda w: w.basic_auth,
    ),
    Row(
        "GET",
        "/osmand",
        lambda w: (
            f"/osmand?id={w.location_client['secret']}&lat=53.545&lon=-2.632&timestamp={w.now}"
        ),
        expect(200),
        auth=lambda w: {},
    ),
    Row(
        "POST",
        "/osmand",
        lambda w: (
            f"/osmand?id={w.location_client['secret']}&lat=53.545&lon=-2.632&timestamp={w.now}"
        ),
        expect(200),
        auth=lambda w: {},
    ),
    Row(
        "POST",
        "/api/v1/me/devices",
        "/api/v1/me/devices",
        SIGNED_IN_201,
        json={"token": "fcm-token-for-the-matrix-0123456789", "platform": "android"},
    ),
    Row(
        "DELETE",
        "/api/v1/me/devices/<int:device_id>",
        lambda w: f"/api/v1/me/devices/{w.journey_phone_id}",
        OWNER_204,
    ),
    Row("GET", "/api/v1/app-config", "/api/v1/app-config", PUBLIC),
    # No offline map pack is configured in the tests: nobody gets one.
    Row(
        "GET",
        "/api/v1/app-config/offline-map.mbtiles",
        "/api/v1/app-config/offline-map.mbtiles",
        expect(404),
    ),
    # Open311: public reads (no names, blurred); writes need the client's api_key, not a person
    Row("GET", "/open311/v2/", "/open311/v2/", PUBLIC),
    Row("GET", "/open311/v2/discovery", "/open311/v2/discovery", PUBLIC),
    Row("GET", "/open311/v2/media/<token>", "/open311/v2/media/not-public", expect(404)),
    Row("GET", "/open311/v2/discovery.<fmt>", "/open311/v2/discovery.xml", PUBLIC),
    Row("GET", "/open311/v2/services.<fmt>", "/open311/v2/services.json", PUBLIC),
    Row("GET", "/open311/v2/services/<code>.<fmt>", "/open311/v2/services/asb.json", PUBLIC),
    Row("GET", "/open311/v2/requests.<fmt>", "/open311/v2/requests.json", PUBLIC),
    Row(
        "GET",
        "/open311/v2/requests/<request_id>.<fmt>",
        # An app report is not in the public (keyless) Open311 view, whoever asks.
        lambda w: f"/open311/v2/requests/{w.report_reference}.json",
        expect(404),
    ),
    Row(
        "GET",
        "/open311/v2/servicerequestupdates.<fmt>",
        "/open311/v2/servicerequestupdates.json",
        PUBLIC,
    ),
    Row(
        "POST",
        "/open311/v2/requests.<fmt>",
        "/open311/v2/requests.json",
        expect(201),
        form=lambda w: {
            "api_key": w.open311_key,
            "service_code": "street_drinking",
            "lat": "53.550123",
            "long": "-2.630456",
            "description": "drinking by the benches",
        },
    ),
    *PORTAL_ROWS,
]


@dataclass
class PortalBrowser:
    """What one actor's browser holds for the portal: its cookies and its form token."""

    cookies: dict[str, str]
    csrf: str

    def client(self, app):  # type: ignore[no-untyped-def]
        client = app.test_client()
        for name, value in self.cookies.items():
            client.set_cookie(name, value, path="/portal")
        return client


@dataclass
class World:
    people: dict[str, Any]
    report_id: int
    report_reference: str
    postcode: str
    open311_key: str
    venue_id: int
    pending_venue_id: int
    survey_id: int
    draft_survey_id: int
    survey_body: dict[str, Any]
    journey: dict[str, Any] = field(default_factory=dict)
    portal: dict[str, PortalBrowser] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        """Journey-world values (``journey_id``, ``watch_token``...) by name."""
        journey = self.__dict__.get("journey") or {}
        key = name.removeprefix("journey_") if name.startswith("journey_") else name
        if key in journey:
            return journey[key]
        raise AttributeError(name)

    def headers(self, actor: str) -> dict[str, str]:
        return {} if actor == "anonymous" else self.people[actor].headers


@dataclass
class Snapshot:
    """The world's rows (every table but the reference geography) and sequence positions."""

    tables: list[tuple[Any, list[dict[str, Any]]]]
    sequences: list[tuple[str, int | None]]


BUILT: dict[int, tuple[World, Snapshot]] = {}


def _take_snapshot() -> Snapshot:
    from sqlalchemy import select, text

    from backend.extensions import db
    from tests.conftest import REFERENCE_TABLES

    tables = []
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            if table.name in REFERENCE_TABLES:
                continue
            # ``geog`` is derived from lat/lon by the database (a trigger on PostGIS)
            columns = [c for c in table.columns if c.name != "geog"]
            rows = [dict(row) for row in conn.execute(select(*columns)).mappings()]
            tables.append((table, rows))
        sequences = []
        if conn.dialect.name == "postgresql":
            sequences = [
                (f'"{name}"', value)
                for name, value in conn.execute(
                    text(
                        "SELECT sequencename, last_value FROM pg_sequences "
                        "WHERE schemaname = 'public'"
                    )
                )
            ]
    return Snapshot(tables, sequences)


def _restore(snapshot: Snapshot) -> None:
    from sqlalchemy import text

    from backend.extensions import db

    with db.engine.begin() as conn:
        # On PostgreSQL every table's rows in one round trip (psycopg's pipeline mode), not
        # one per table: a restore took ~13 ms and ~4.6 ms of the server's CPU, now ~10 and ~2.8.
        with (
            conn.connection.dbapi_connection.pipeline()
            if conn.dialect.name == "postgresql"
            else nullcontext()
        ):
            for table, rows in snapshot.tables:
                if rows:
                    conn.execute(table.insert(), rows)
        if snapshot.sequences:
            # one round trip for every sequence
            values = ", ".join(f"(:n{i}, :v{i}, :c{i})" for i in range(len(snapshot.sequences)))
            params: dict[str, Any] = {}
            for i, (name, value) in enumerate(snapshot.sequences):
                params.update({f"n{i}": name, f"v{i}": value or 1, f"c{i}": value is not None})
            conn.execute(
                text(
                    "SELECT setval(s, v::bigint, c::boolean) "  # noqa: S608 - placeholders only
                    f"FROM (VALUES {values}) AS t(s, v, c)"
                ),
                params,
            )


@pytest.fixture
def world(app, client, make_person):  # type: ignore[no-untyped-def]
    """The world every cell starts from: built once per app through the API and the portal,
    then restored from its rows into the emptied tables for each cell."""
    if id(app) in BUILT:
        built, snapshot = BUILT[id(app)]
        _restore(snapshot)
        return built
    built = _build_world(app, client, make_person)
    BUILT[id(app)] = (built, _take_snapshot())
    return built


def _build_world(app, client, make_person) -> World:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from backend.areas.models import Postcode
    from backend.extensions import db
    from backend.open311 import service as open311
    from tests.backend.venues.factories import make_venue
    from tests.support.reports import make_report

    roles = {"staff_this_venue": "venue_staff", "staff_other_venue": "venue_staff"}
    people = {
        actor: make_person(
            f"matrix-{actor}", roles.get(actor, "admin" if actor == "admin" else "resident")
        )
        for actor in ACTORS[1:]
    }
    report = make_report(
        user_id=people["resident"].id, anonymous=False, observed_at=T0, description="mine"
    )
    postcode = db.session.scalar(select(Postcode.postcode).limit(1))
    here = make_venue(staff_id=people["staff_this_venue"].id, name="The Swan")
    pending = make_venue(
        staff_id=people["staff_this_venue"].id, name="Swan Annexe", status="pending", lat=53.55
    )
    make_venue(staff_id=people["staff_other_venue"].id, name="Other Place", lat=53.50)
    survey_id, draft_id, survey_body = _surveys(client, people)
    journey = _journeys(client, people)
    browsers = _portal_browsers(app, people)
    return World(
        people,
        report.id,
        report.reference,
        postcode,
        open311.create_key("matrix")[1],
        here.id,
        pending.id,
        survey_id,
        draft_id,
        survey_body,
        journey,
        browsers,
    )


def _portal_browsers(app, people) -> dict[str, PortalBrowser]:  # type: ignore[no-untyped-def]
    """Each actor opens the portal's sign-in page and signs in with its form, as a browser
    does: staff and admins get a session; residents are refused and stay signed out."""
    from backend.portal.routes import PRE_COOKIE, SESSION_COOKIE
    from tests.backend.portal.helpers import csrf_from

    browsers = {}
    for actor in ACTORS:
        browser = app.test_client()
        csrf = csrf_from(browser.get("/portal/sign-in").get_data(as_text=True))
        if actor != "anonymous":
            signed = browser.post(
                "/portal/sign-in/dev", data={"uid": people[actor].uid, "csrf_token": csrf}
            )
            assert signed.status_code == (403 if actor in SIGNED_OUT else 303), actor
            if signed.status_code == 303:
                csrf = csrf_from(browser.get("/portal/").get_data(as_text=True))
        cookies = {
            name: cookie.value
            for name in (PRE_COOKIE, SESSION_COOKIE)
            if (cookie := browser.get_cookie(name, path="/portal")) is not None
        }
        assert (SESSION_COOKIE in cookies) == (actor not in SIGNED_OUT), actor
        browsers[actor] = PortalBrowser(cookies, csrf)
    return browsers


def _journeys(client, people) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The resident walks home sharing with contact_on_journey; contact_not_on_journey is a
    contact not chosen; revoked_contact was chosen and then revoked the link."""
    import base64

    from tests.support.journeys import befriend, iso, start_journey

    owner = people["resident"]
    link = befriend(client, owner, people["contact_on_journey"])
    befriend(client, owner, people["contact_not_on_journey"])
    revoked = befriend(client, owner, people["revoked_contact"])
    journey = start_journey(
        client, owner, [people["contact_on_journey"], people["revoked_contact"]], watch_link=True
    )
    gone = client.delete(f"/api/v1/contacts/{revoked}", headers=people["revoked_contact"].headers)
    assert gone.status_code == 200, gone.get_json()
    sos = client.post("/api/v1/sos", json=_sos_body(), headers=owner.headers).get_json()
    assert [r["user_id"] for r in sos["recipients"]] == [people["contact_on_journey"].id], sos
    code = client.post("/api/v1/contacts/invitations", headers=owner.headers).get_json()["code"]
    device = client.post(
        "/api/v1/location-clients", json={"label": "OwnTracks"}, headers=owner.headers
    ).get_json()
    credential = base64.b64encode(f"{device['username']}:{device['secret']}".encode()).decode()
    phone = client.post(
        "/api/v1/me/devices",
        json={"token": "owner-phone-token-for-the-matrix-0123456789", "platform": "android"},
        headers=owner.headers,
    ).get_json()
    return {
        "id": journey["id"],
        "phone_id": phone["id"],
        "contact_link_id": link,
        "watch_link_id": journey["watch_link_id"],
        "watch_token": journey["watch_url"].rstrip("/").rsplit("/", 1)[-1],
        "invitation_code": code,
        "location_client": device,
        "basic_auth": {"Authorization": f"Basic {credential}"},
        "now": int(datetime.now(UTC).timestamp()),
        "fix": {"lat": 53.5430, "lon": -2.6400, "recorded_at": iso(datetime.now(UTC))},
        "owntracks_message": {
            "_type": "location",
            "lat": 53.5431,
            "lon": -2.6399,
            "tst": int(datetime.now(UTC).timestamp()),
        },
        "body": {
            "destination": {"lat": 53.5519, "lon": -2.6353, "label": "Mesnes Park"},
            "expected_arrival_at": iso(datetime.now(UTC) + timedelta(minutes=30)),
            "contact_ids": [],
            "watch_link": True,  # a journey shared with no one is refused
        },
        "sos": sos,
    }


def _surveys(client, people):  # type: ignore[no-untyped-def]
    """An open survey for Abram answered by the resident (who lives there), and a draft."""
    from backend.auth.models import User
    from backend.extensions import db
    from tests.backend.surveys.conftest import ABRAM, CLOSES, OPENS, question_set

    db.session.get(User, people["resident"].id).ward_code = ABRAM
    db.session.commit()
    body = {
        "title": "Feeling safe in Abram",
        "opens_at": OPENS,
        "closes_at": CLOSES,
        "target_wards": [ABRAM],
        "questions": question_set(),
    }
    admin = people["admin"].headers
    created = [client.post("/api/v1/surveys", json=body, headers=admin) for _ in range(2)]
    assert all(r.status_code == 201 for r in created), created[0].get_json()
    survey_id, draft_id = (r.get_json()["id"] for r in created)
    assert client.post(f"/api/v1/surveys/{survey_id}/open", headers=admin).status_code == 200
    answered = client.post(
        f"/api/v1/surveys/{survey_id}/responses",
        json={"answers": {"colour": "red", "pets": ["cat"], "safe": 4, "unsafe": "no"}},
        headers=people["resident"].headers,
    )
    assert answered.status_code == 201, answered.get_json()
    return survey_id, draft_id, body


def _reference(report_id: int) -> str:
    from backend.extensions import db
    from backend.reports.models import Report

    return db.session.get(Report, report_id).reference  # type: ignore[union-attr]


def _tiny_jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (90, 90, 90)).save(out, "JPEG")
    return out.getvalue()


def _app_routes(app) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_every_route_has_a_row_and_every_row_a_route(app):
    keys = [row.key for row in ROWS]
    assert len(keys) == len(set(keys)), "duplicate rows"
    routes = _app_routes(app)
    assert routes - set(keys) == set(), "routes without a row in the access matrix"
    assert set(keys) - routes == set(), "rows for routes that do not exist"


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r.method} {r.rule}")
def test_access(app, client, world, row, actor):
    path = row.path(world) if callable(row.path) else row.path
    kwargs: dict[str, Any] = {}
    if row.portal:
        browser = world.portal[actor]
        client = browser.client(app)
    else:
        kwargs["headers"] = row.auth(world) if row.auth is not None else world.headers(actor)
    if row.json is not None:
        kwargs["json"] = row.json(world) if callable(row.json) else row.json
    if row.form is not None or row.form_for is not None:
        kwargs["data"] = row.form(world) if row.form is not None else {}
        if row.form_for is not None:
            kwargs["data"].update(row.form_for(world, actor))
    if row.portal and row.method == "POST":
        kwargs["data"] = {**kwargs.get("data", {}), "csrf_token": browser.csrf}
    response = client.open(path, method=row.method, **kwargs)
    expected = row.expected[actor]
    assert response.status_code == expected, (
        f"{row.method} {path} as {actor}: {response.status_code} "
        f"{response.get_data(as_text=True)[:300]}"
    )
    if expected >= 400 and response.mimetype == "application/json" and path.startswith("/api/"):
        assert set(response.get_json()) == {"code", "status", "message", "errors"}
    if row.portal and expected == 302 and actor in SIGNED_OUT:
        assert response.headers["Location"].startswith("/portal/sign-in?next=/portal")
    if row.portal and expected == 303:
        assert response.headers["Location"].startswith("/portal/")
    if row.check is not None and expected < 300:
        body = response.get_data(as_text=True) if row.portal else response.get_json()
        row.check(actor, world, body)
    response.close()
