"""Journeys (``/api/v1/journeys``), location clients (``/owntracks``, ``/osmand``) and the
watch-link page (``/watch/<token>``)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from flask import Response, render_template, request, url_for

from backend.arguments import Blueprint
from backend.auth.current import (
    current_identity,
    current_user,
    identity_required,
    login_required,
    rate_limit_key,
)
from backend.errors import AppError, Unauthorized, field_error
from backend.extensions import limiter
from backend.journeys import clients, limits, service
from backend.journeys.schemas import (
    FixBatchResultSchema,
    FixBatchSchema,
    JourneyCreatedSchema,
    JourneyCreateSchema,
    JourneySchema,
    LocationClientCreateSchema,
    LocationClientSchema,
    WatchLinkCreatedSchema,
)
from backend.realtime.broker import journey_channel
from backend.realtime.sse import in_app_context, live_stream
from backend.reports.limits import hashed_ip
from backend.responses import json_response

blp = Blueprint(
    "journeys",
    __name__,
    description="Live journeys, location clients and watch links",
    static_folder="static",
    static_url_path="/watch/static",
    template_folder="templates",
)


def _watch_url(token: str) -> str:
    return url_for("journeys.watch_page", token=token, _external=True)


@blp.post("/api/v1/journeys")
@login_required
@limiter.limit(limits.journey_start_limit, key_func=rate_limit_key)
@blp.arguments(JourneyCreateSchema)
@blp.response(201, JourneyCreatedSchema)
def start_journey(data):
    """Start sharing a journey with chosen contacts (and optionally a watch link)."""
    journey, link, token = service.start_journey(current_user(), data)
    body = service.journey_dict(journey)
    body["watch_link_id"] = link.id if link else None
    body["watch_url"] = _watch_url(token) if token else None
    return body


@blp.get("/api/v1/journeys/<int:journey_id>")
@login_required
@blp.response(200, JourneySchema)
def get_journey(journey_id: int):
    """A journey, for its owner or a contact chosen to watch it."""
    return service.get_journey(current_user(), journey_id)


@blp.post("/api/v1/journeys/<int:journey_id>/locations")
@identity_required  # the hot path: the service reads the caller with the journey, one statement
@blp.arguments(FixBatchSchema())  # an instance: a schema class is instantiated per request
@blp.response(200, FixBatchResultSchema)
def add_locations(data, journey_id: int):
    """Add a batch of location fixes (duplicates ignored, out-of-order stored in order)."""
    # Three integers already shaped as FixBatchResultSchema dumps them: no dump per fix.
    return json_response(service.add_fixes_as(current_identity(), journey_id, data["fixes"]))


_LIVE_FIXES = f"{blp.name}.{add_locations.__name__}"


@limiter.request_filter
def live_fix_request() -> bool:
    """The fix route carries no rate limit (a walking resident's phone posts every second,
    and residents behind one carrier NAT share an address): this tells flask-limiter so up
    front, instead of it working out on every request that no limit applies (0.1 ms, a
    tenth of a fix POST's CPU with the limiter on)."""
    return request.endpoint == _LIVE_FIXES  # type: ignore[no-any-return]


@blp.post("/api/v1/journeys/<int:journey_id>/arrived")
@login_required
@blp.response(200, JourneySchema)
def arrived(journey_id: int):
    """Arrived safely: ends the journey and tells the contacts."""
    actor = current_user()
    return service.journey_dict(service.arrive(actor, journey_id), actor.id)


@blp.post("/api/v1/journeys/<int:journey_id>/sos")
@login_required
# Generous: a real SOS is one press; this only stops a broken client or a script from
# flooding every contact's phone. Keyed per person (carrier NAT shares addresses).
@limiter.limit("10/minute;60/hour", key_func=rate_limit_key)
@blp.response(200, JourneySchema)
def raise_sos(journey_id: int):
    """SOS: contacts are alerted at once with the last position and battery."""
    actor = current_user()
    return service.journey_dict(service.sos(actor, journey_id), actor.id)


@blp.post("/api/v1/journeys/<int:journey_id>/cancel")
@login_required
@blp.response(200, JourneySchema)
def cancel(journey_id: int):
    """Stop sharing the journey without an arrival."""
    actor = current_user()
    return service.journey_dict(service.cancel(actor, journey_id), actor.id)


@blp.post("/api/v1/journeys/<int:journey_id>/watch-links")
@login_required
@blp.response(201, WatchLinkCreatedSchema)
def create_watch_link(journey_id: int):
    """A new watch link (shown once) for someone without the app."""
    link, token = service.create_watch_link(current_user(), journey_id)
    return {"id": link.id, "url": _watch_url(token), "token": token}


@blp.delete("/api/v1/journeys/<int:journey_id>/watch-links/<int:link_id>")
@login_required
@blp.response(204)
def revoke_watch_link(journey_id: int, link_id: int):
    """Revoke a watch link; open pages stop updating at once."""
    service.revoke_watch_link(current_user(), journey_id, link_id)


@blp.get("/api/v1/journeys/<int:journey_id>/stream")
@login_required
@blp.doc(responses={"200": {"description": "text/event-stream of state, fix and alert events"}})
def stream(journey_id: int):
    """Live server-sent events: ``state``, ``fix``, ``alert`` (with ``alert_id``); ends when
    the journey ends, or with ``revoked`` (``by_display_name``, ``at``) when your access is.
    Each person holds at most ``SAFEHAVEN_STREAMS_PER_PERSON`` (5) open streams: one more is
    refused with 429 and ``Retry-After``."""
    actor = current_user()
    actor_id = actor.id  # the stream outlives the request's database session

    def ends(message: dict[str, Any]) -> bool:
        if message.get("type") == "access_revoked":
            return message.get("user_id") == actor_id
        return _ends_journey(message)

    def resync() -> dict[str, Any] | None:
        current = service.stream_state(actor_id, journey_id)
        return None if current is None else {"type": "resync", "journey": current}

    def for_watcher(message: dict[str, Any]) -> dict[str, Any]:
        # The watcher whose access ended is told who stopped sharing and when (``revoked``).
        if message.get("type") == "access_revoked" and message.get("user_id") == actor_id:
            return {
                "type": "revoked",
                "by_display_name": message.get("by_display_name"),
                "at": message.get("at"),
            }
        return message

    return live_stream(
        journey_channel(journey_id),
        lambda: [{"type": "state", "journey": service.open_stream(actor, journey_id)}],
        ends,
        holder=("person", actor_id),
        transform=for_watcher,
        resync=in_app_context(resync),
    )


def _ends_journey(message: dict[str, Any]) -> bool:
    """A ``state`` (or ``resync``) event saying the journey is no longer active."""
    kind = message.get("type")
    return kind in ("state", "resync") and message["journey"]["state"] != "active"


# --- location clients ---------------------------------------------------------------------


@blp.post("/api/v1/location-clients")
@login_required
@blp.arguments(LocationClientCreateSchema)
@blp.response(201, LocationClientSchema)
def create_location_client(data):
    """A credential for OwnTracks (HTTP Basic username + secret) or Traccar Client (device
    identifier = secret); the secret is shown once."""
    client, secret = service.create_location_client(current_user(), data["label"])
    return {
        "id": client.id,
        "username": client.username,
        "label": client.label,
        "created_at": client.created_at,
        "secret": secret,
    }


@blp.get("/api/v1/location-clients")
@login_required
@blp.response(200, LocationClientSchema(many=True))
def list_location_clients():
    """Your location-client credentials (without secrets)."""
    return service.list_location_clients(current_user())


@blp.delete("/api/v1/location-clients/<int:client_id>")
@login_required
@blp.response(204)
def revoke_location_client(client_id: int):
    """Stop accepting a location-client credential."""
    service.revoke_location_client(current_user(), client_id)


def _basic_auth() -> tuple[str, str]:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        raise Unauthorized(
            "use HTTP Basic auth with your location-client credential",
            headers={"WWW-Authenticate": 'Basic realm="SafeHaven"'},
        )
    try:
        username, _, password = base64.b64decode(value.strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise Unauthorized(
            "malformed Basic credentials", headers={"WWW-Authenticate": 'Basic realm="SafeHaven"'}
        ) from exc
    return username, password


_BASIC_REALM = {"WWW-Authenticate": 'Basic realm="SafeHaven"'}


@blp.post("/owntracks")
@blp.doc(security=[])
def owntracks():
    """OwnTracks HTTP mode: stores location/transition fixes on your active journey and
    replies with the contacts sharing with you (OwnTracks ``location`` and ``card``)."""
    source = hashed_ip()
    limits.refuse_throttled_source(source)
    username, password = _basic_auth()
    credential = service.client_credential(username, password)
    if credential is None:
        throttled = limits.login_failed(source, f"owntracks:{username}")
        if throttled is not None:
            raise throttled
        raise Unauthorized("unknown or revoked credential", headers=_BASIC_REALM)
    # OwnTracks re-queues (and resends forever) any message not answered by a 2xx JSON array,
    # so a message that can never be stored (malformed, or timed before the journey or in
    # the future) is acknowledged, not stored, and the reason named in a header. Over the
    # fix budget it is 429: OwnTracks keeps it and sends it again later, as it should.
    rejected = None
    payload = request.get_json(force=True, silent=True)
    try:
        if not isinstance(payload, dict):
            raise field_error("_type", "send an OwnTracks JSON object")
        fix = clients.owntracks_fix(payload)
        if fix is not None:
            service.add_client_fixes(credential, [fix], source="owntracks")
        else:
            service.require_client_standing(credential)
    except Unauthorized as exc:
        raise Unauthorized(exc.message, headers=_BASIC_REALM) from exc
    except AppError as exc:
        if exc.http_status not in (409, 422):
            raise
        rejected = exc.message
        service.require_client_standing(credential)
    response = json_response(service.owntracks_friends(credential))
    if rejected:
        response.headers["X-SafeHaven-Rejected"] = rejected[:200]
    return response


@blp.route("/osmand", methods=["GET", "POST"])
@blp.doc(security=[])
def osmand():
    """Traccar Client (OsmAnd protocol): query string, form or JSON; speed in knots;
    ``id`` is your location-client secret."""
    params: dict[str, Any] = dict(request.args.items())
    if request.method == "POST":
        body = request.get_json(silent=True) if request.is_json else None
        if isinstance(body, dict):
            params.update(body)
        else:
            params.update(request.form.items())
    source = hashed_ip()
    limits.refuse_throttled_source(source)
    device = clients.osmand_device(params)
    credential = service.client_credential(None, device)
    if credential is None:
        throttled = limits.login_failed(source, f"osmand:{device}")
        if throttled is not None:
            raise throttled
        raise Unauthorized("unknown or revoked device identifier")
    # Traccar Client keeps a position and resends it until it is answered 200, before any
    # later one: a fix that can never be stored (malformed, or timed before the journey or
    # in the future) is acknowledged, not stored, and the reason named in a header, as for
    # OwnTracks. Over the fix budget it is 429: the client keeps it and sends it again.
    response = Response(status=200)
    try:
        _device, fix = clients.osmand_fix(params)
        service.add_client_fixes(credential, [fix], source="traccar")
    except AppError as exc:
        if exc.http_status not in (409, 422):
            raise
        if exc.http_status == 422:
            response.headers["X-SafeHaven-Rejected"] = exc.message[:200]
    return response


# --- watch page ---------------------------------------------------------------------------

WATCH_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def _private(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = WATCH_CSP
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@blp.get("/watch/<string:token>")
@limiter.limit("120/minute", key_func=hashed_ip)  # token guessing, per hashed address
@blp.doc(
    security=[],
    # An HTML page, and an HTML page saying why when the link is unknown or expired
    # (documented as such: the fuzzer found the error page declared as JSON).
    responses={
        "200": {"description": "The live watch page", "content": {"text/html": {"schema": {}}}},
        "default": {
            "description": "Link unavailable (404 unknown, 410 expired or ended)",
            "content": {"text/html": {"schema": {}}},
        },
    },
)
def watch_page(token: str):
    """The watch page for a contact without the app (HTML; the token is the credential)."""
    try:
        service.journey_for_watch_token(token)
    except AppError as exc:
        html = render_template("watch_gone.html", message=exc.message)
        return _private(Response(html, status=exc.http_status, mimetype="text/html"))
    return _private(Response(render_template("watch.html"), mimetype="text/html"))


@blp.get("/watch/<string:token>/events")
@limiter.limit("120/minute", key_func=hashed_ip)
@blp.doc(security=[])
def watch_events(token: str):
    """Live events for the watch page (server-sent events); at most
    ``SAFEHAVEN_STREAMS_PER_LINK`` (5) open at once per link (429 and ``Retry-After``)."""
    journey, link = service.journey_for_watch_token(token)
    link_id = link.id

    def ends(message: dict[str, Any]) -> bool:
        if message.get("type") == "link_revoked":
            return message.get("link_id") == link_id
        return _ends_journey(message)

    def resync() -> dict[str, Any] | None:
        current = service.watch_state(token)
        return None if current is None else {"type": "resync", "journey": current}

    def opening() -> list[dict[str, Any]]:
        snapshot, _ = service.watch_snapshot(token)
        return [{"type": "state", "journey": snapshot}]

    return _private(
        live_stream(
            journey_channel(journey.id),
            opening,
            ends,
            holder=("link", link_id),
            transform=_for_link,
            resync=in_app_context(resync),
        )
    )


def _for_link(message: dict[str, Any]) -> dict[str, Any] | None:
    """What a link viewer may see: no contact ids, no other viewers' revocations."""
    if message.get("type") == "access_revoked":
        return None
    if message.get("type") == "state":
        journey = {k: v for k, v in message["journey"].items() if k != "contact_ids"}
        return {**message, "journey": journey}
    return message
