"""Open311 GeoReport v2 over the reports domain: services from the categories, request
intake (FixMyStreet-compatible), public request listings and status updates.

Listings follow the privacy rules: positions snapped to the ~150 m grid, no names, emails
or phone numbers ever, and request ids that are the reports' random references
(``Report.reference``, also what the reporter is given), not row ids.
Who sees what (docs/PRIVACY.md): a caller without a key sees only requests that arrived over
Open311 (already public at their sender, e.g. FixMyStreet), so the public listing says nothing
about app reports and cannot rebuild a hotspot cell that suppression hides; a caller with a
partner key (issued by the partnership) also sees app reports, by category only."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select

from backend.db import utcnow
from backend.errors import AppError, BadRequest, Forbidden, NotFound
from backend.extensions import db
from backend.open311.models import Open311Key
from backend.reports import references
from backend.reports import service as reports
from backend.reports.categories import BY_CODE, CATEGORIES, Category
from backend.reports.models import Report, ReportUpdate
from shared_schemas.common import utc_within_calendar
from shared_schemas.reports import MAX_DESCRIPTION, ReportStatus

DEFAULT_WINDOW = timedelta(days=90)
MAX_RESULTS = 1000
MAX_MEDIA_URLS = 10  # FixMyStreet lets a reporter attach a handful; a bound keeps rows small
KEY_PREFIX = "sh311_"

# FixMyStreet's status vocabulary for servicerequestupdates.xml.
FMS_STATUS = {
    ReportStatus.RECEIVED.value: "OPEN",
    ReportStatus.ACKNOWLEDGED.value: "INVESTIGATING",
    ReportStatus.IN_PROGRESS.value: "IN_PROGRESS",
    ReportStatus.CLOSED.value: "CLOSED",
}

ATTRIBUTES: tuple[dict[str, Any], ...] = (
    {
        "variable": True,
        "code": "observed_at",
        "datatype": "datetime",
        "required": False,
        "datatype_description": "When it happened, W3C date-time (e.g. 2026-11-20T21:30:00Z)",
        "order": 1,
        "description": "When did you see it? Leave empty for now.",
        "values": [],
    },
    {
        "variable": True,
        "code": "ongoing",
        "datatype": "singlevaluelist",
        "required": False,
        "datatype_description": None,
        "order": 2,
        "description": "Is it still happening?",
        "values": [{"key": "yes", "name": "Yes"}, {"key": "no", "name": "No"}],
    },
)
ATTRIBUTE_CODES = {a["code"] for a in ATTRIBUTES}


def bad_request(description: str) -> BadRequest:
    return BadRequest(description)


# --- keys ------------------------------------------------------------------------------


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(name: str) -> tuple[Open311Key, str]:
    """Issue a key for an Open311 client; returns the row and the key, shown only once
    (only its SHA-256 is stored). Raises BadRequest for an empty name."""
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise BadRequest("name: give 1 to 80 characters", errors={"name": ["1 to 80 characters"]})
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = Open311Key(name=name, key_hash=_hash(key), prefix=key[len(KEY_PREFIX) :][:8])
    db.session.add(row)
    db.session.commit()
    return row, key


def check_key(key: str | None) -> Open311Key:
    """The live key row for ``key``; raises Forbidden (the spec's 403) otherwise."""
    if not key:
        raise Forbidden("api_key is required to create a service request")
    row = db.session.scalar(select(Open311Key).where(Open311Key.key_hash == _hash(key)))
    if row is None or row.revoked_at is not None:
        raise Forbidden("api_key is not valid")
    return row


def is_partner(key: str | None) -> bool:
    """Whether a reading caller is a partner: no key is the public (False); a live key is a
    partner (True); a key that is not valid raises Forbidden, so a misconfigured partner
    hears about it instead of quietly getting the public view."""
    if not key:
        return False
    check_key(key)
    return True


def _visible(partner: bool) -> list[Any]:
    """The reports a caller may list: everything for a partner, else only those that arrived
    over Open311 (public at their sender already)."""
    return [] if partner else [Report.source == "open311"]


# --- services --------------------------------------------------------------------------


def service_entry(category: Category) -> dict[str, Any]:
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": f"{category.description} Handled by {category.team}. {category.guidance}",
        "metadata": True,
        "type": "batch",
        "keywords": category.keywords,
        "group": category.group,
    }


def list_services() -> list[dict[str, Any]]:
    """Every category as a GeoReport v2 service."""
    return [service_entry(c) for c in CATEGORIES]


def service_definition(code: str) -> dict[str, Any]:
    """The attributes of one service; raises NotFound."""
    if code not in BY_CODE:
        raise NotFound(f"service_code {code[:40]!r} not found")
    return {"service_code": code, "attributes": [dict(a) for a in ATTRIBUTES]}


# --- dates -----------------------------------------------------------------------------


def parse_w3c(value: str, field: str) -> datetime:
    """A W3C/ISO 8601 date-time with a zone (a bare date means midnight UTC); raises BadRequest."""
    text = (value or "").strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return datetime.fromisoformat(text).replace(tzinfo=UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise bad_request(f"{field}: not a W3C date-time (e.g. 2026-11-21T09:30:00Z)") from None
    if parsed.tzinfo is None:
        raise bad_request(f"{field}: give a time zone (e.g. 2026-11-21T09:30:00Z)")
    try:
        return utc_within_calendar(parsed)
    except OverflowError:
        raise bad_request(f"{field}: outside the supported calendar range") from None


def w3c(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# --- intake ----------------------------------------------------------------------------

FMS_TITLE = re.compile(
    r"^\s*title:[ \t]*(?P<title>[^\n]*)\n\s*detail:[ \t]*(?P<rest>.*)$", re.DOTALL
)
FMS_URL = re.compile(r"\n\s*url:[ \t]*(?P<url>\S+)(?P<tail>.*)$", re.DOTALL)


def parse_fms_description(text: str) -> tuple[str, str | None]:
    """FixMyStreet's ``title: ...\\n\\ndetail: ...\\n\\nurl: ...`` into (description, url);
    any other text is kept as it is."""
    match = FMS_TITLE.match(text or "")
    if not match:
        return (text or "").strip(), None
    title, rest, url = match.group("title").strip(), match.group("rest"), None
    found = FMS_URL.search(rest)
    if found:
        url, rest = found.group("url"), rest[: found.start()]
    detail = rest.strip()
    body = f"{title}\n\n{detail}" if title and detail else (title or detail)
    return body, url


def _float(form: dict[str, str], name: str) -> float | None:
    raw = (form.get(name) or "").strip()
    if raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise bad_request(f"{name}: not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise bad_request(f"{name}: not a number")
    return value


@dataclass
class PostResult:
    report: Report
    notice: str


def _media_urls(values: Sequence[str | None]) -> list[str]:
    """Every ``media_url`` sent (FixMyStreet repeats the field for several photos), blanks
    and repeats dropped, in order; raises BadRequest for one that is not an http(s) URL or
    for more than MAX_MEDIA_URLS."""
    urls: list[str] = []
    for value in values:
        url = (value or "").strip()
        if not url or url in urls:
            continue
        if not re.match(r"^https?://\S+$", url) or len(url) > 500:
            raise bad_request("media_url: not an http(s) URL")
        urls.append(url)
    if len(urls) > MAX_MEDIA_URLS:
        raise bad_request(f"media_url: at most {MAX_MEDIA_URLS} per request")
    return urls


def create_request(
    form: dict[str, str],
    attributes: dict[str, str],
    *,
    media_urls: list[str] | None = None,
    now: datetime | None = None,
) -> PostResult:
    """POST requests: validate like the spec says (400 for bad input, 403 for a bad key)
    and store the report with the sender's contact details for follow-up only.
    ``media_urls`` is every ``media_url`` of the post (default: the one in ``form``): all
    are kept; the listing serves the first, the portal's report page shows them all."""
    now = now or utcnow()
    key = check_key(form.get("api_key"))
    code = (form.get("service_code") or "").strip()
    if not code:
        raise bad_request("service_code: required")
    category = BY_CODE.get(code)
    if category is None:
        raise NotFound(f"service_code {code[:40]!r} not found")
    lat, lon = _float(form, "lat"), _float(form, "long")
    address = (form.get("address_string") or "").strip() or None
    postcode = reports.areas.postcode_in_address(address) if address else None
    if (lat is None) != (lon is None):
        raise bad_request("lat and long: give both")
    if lat is None and address is None and not form.get("address_id"):
        raise bad_request(
            f"location: give lat and long, or address_string: {reports.gazetteer.ACCEPTED}"
        )
    if lat is not None and not (-90 <= lat <= 90):
        raise bad_request("lat: out of range")
    if lon is not None and not (-180 <= lon <= 180):
        raise bad_request("long: out of range")
    try:
        if lat is not None:
            where = reports.locate(lat, lon, None, lat_field="lat")
        elif address is not None:
            where = reports.locate_place(address, "address_string")
        else:
            raise bad_request("address_id: not supported here; give lat/long or address_string")
    except AppError as exc:
        if isinstance(exc, BadRequest):
            raise
        raise bad_request(exc.message) from None
    if lat is not None and postcode:
        # FixMyStreet sends both; the point wins, the postcode is kept only if it parses.
        try:
            where = reports.Location(
                where.lat, where.lon, reports.areas.normalise_postcode(postcode), where.ward_code
            )
        except AppError:
            pass
    raw_description = (form.get("description") or "").strip()
    if not raw_description:
        raise bad_request("description: required")
    description, url = parse_fms_description(raw_description)
    if len(description) > MAX_DESCRIPTION:
        raise bad_request(f"description: at most {MAX_DESCRIPTION} characters")
    kept: dict[str, str] = {}
    for name, value in attributes.items():
        if name not in ATTRIBUTE_CODES:
            continue  # FixMyStreet adds its own (title, report_url, easting...): ignored
        kept[name] = value
    if kept.get("ongoing") and kept["ongoing"] not in ("yes", "no"):
        raise bad_request("attribute[ongoing]: must be yes or no")
    observed = None
    if kept.get("observed_at"):
        observed = parse_w3c(kept["observed_at"], "attribute[observed_at]")
    try:
        observed = reports.check_observed_at(observed, now, "attribute[observed_at]")
    except AppError as exc:
        raise bad_request(exc.message) from None
    media_urls = _media_urls(media_urls if media_urls is not None else [form.get("media_url")])
    name = " ".join(
        p
        for p in ((form.get("first_name") or "").strip(), (form.get("last_name") or "").strip())
        if p
    )
    email = (form.get("email") or "").strip() or None
    if email and ("@" not in email or len(email) > 254):
        raise bad_request("email: not an email address")
    report = reports.add_report(
        category,
        description,
        where,
        observed,
        now,
        anonymous=False,
        consent_to_contact=bool(email or form.get("phone")),
        user_id=None,
        source="open311",
        open311_key_id=key.id,
        external_url=(url or "")[:500] or None,
        media_url=media_urls[0] if media_urls else None,
        more_media_urls=json.dumps(media_urls[1:]) if len(media_urls) > 1 else None,
        attributes=json.dumps(kept) if kept else None,
        contact_name=name[:160] or None,
        contact_email=email,
        contact_phone=((form.get("phone") or "").strip()[:40] or None),
    )
    return PostResult(report, f"Passed to {category.team}. {category.guidance}")


# --- listings --------------------------------------------------------------------------


def request_view(
    report: Report, public_photo: str | None = None, media_base: str = ""
) -> dict[str, Any]:
    """The public GeoReport v2 view of a report (see the module docstring for what is hidden).
    ``public_photo`` is the token of a photo an officer made public: only then does a report
    from the app get a ``media_url`` (under ``media_base``, this API's absolute root)."""
    lat, lon = reports.snap_to_grid(report.lat, report.lon)
    if report.source == "open311":
        media_url = report.media_url
    elif public_photo:
        media_url = f"{media_base.rstrip('/')}/media/{public_photo}"
    else:
        media_url = None
    category = BY_CODE.get(report.category)
    return {
        "service_request_id": report.reference,
        "status": "closed" if report.status == ReportStatus.CLOSED.value else "open",
        "status_notes": report.public_note,
        "service_name": category.name if category else report.category,
        "service_code": report.category,
        "description": report.description if report.source == "open311" else None,
        "agency_responsible": category.team if category else None,
        "service_notice": None,
        "requested_datetime": w3c(report.created_at),
        "updated_datetime": w3c(report.updated_at),
        "expected_datetime": None,
        "address": None,
        "address_id": None,
        "zipcode": None,
        "lat": lat,
        "long": lon,
        "media_url": media_url,
    }


REQUEST_ID = re.compile(
    re.escape(references.PREFIX) + f"[{references.ALPHABET}]{{{references.LENGTH}}}"
)


def parse_request_id(text: str) -> str | None:
    """A request id: the report's reference (``WGN-7K3QX``, see ``Report.reference``), in any
    case, else None."""
    reference = references.normalise(text)
    return reference if REQUEST_ID.fullmatch(reference) else None


def _id_list(raw: str) -> list[str]:
    ids = []
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        request_id = parse_request_id(part)
        if request_id is None:
            raise bad_request(f"service_request_id: {part[:20]!r} is not a request id")
        ids.append(request_id)
    if not ids:
        raise bad_request("service_request_id: empty")
    return ids


def find_requests(
    args: dict[str, str], *, now: datetime | None = None, media_base: str = ""
) -> list[dict[str, Any]]:
    """GET requests with the spec's filters: ``service_request_id`` (overrides the rest),
    ``service_code``, ``start_date``/``end_date`` (default the last 90 days, at most 90 days
    apart), ``status`` (open, closed); newest first, at most 1000. Without ``api_key`` only
    Open311-sourced requests (see the module docstring). Raises BadRequest, Forbidden (a key
    that is not valid)."""
    now = now or utcnow()
    query = select(Report).where(*_visible(is_partner(args.get("api_key"))))
    if args.get("service_request_id"):
        query = query.where(Report.reference.in_(_id_list(args["service_request_id"])))
    else:
        start = parse_w3c(args["start_date"], "start_date") if args.get("start_date") else None
        end = parse_w3c(args["end_date"], "end_date") if args.get("end_date") else None
        if start is None:
            end = now if end is None else end
            start = end - DEFAULT_WINDOW
        elif end is None:
            end = min(now, start + DEFAULT_WINDOW)
        if end < start:
            raise bad_request("end_date: is before start_date")
        if end - start > DEFAULT_WINDOW:
            raise bad_request("start_date/end_date: may not span more than 90 days")
        query = query.where(Report.created_at >= start, Report.created_at <= end)
        if args.get("service_code"):
            codes = [c.strip() for c in args["service_code"].split(",") if c.strip()]
            unknown = [c for c in codes if c not in BY_CODE]
            if unknown:
                raise bad_request(f"service_code: unknown {unknown[0][:40]!r}")
            query = query.where(Report.category.in_(codes))
        if args.get("status"):
            wanted = {s.strip().lower() for s in args["status"].split(",") if s.strip()}
            if not wanted or not wanted <= {"open", "closed"}:
                raise bad_request("status: must be open or closed")
            if wanted == {"open"}:
                query = query.where(Report.status != ReportStatus.CLOSED.value)
            elif wanted == {"closed"}:
                query = query.where(Report.status == ReportStatus.CLOSED.value)
    rows = list(
        db.session.scalars(
            query.order_by(Report.created_at.desc(), Report.id.desc()).limit(MAX_RESULTS)
        )
    )
    public = reports.public_photo_tokens([r.id for r in rows])
    return [request_view(r, public.get(r.id), media_base) for r in rows]


def get_request(
    request_id: str, api_key: str | None = None, *, media_base: str = ""
) -> dict[str, Any]:
    """One request by its reference, if the caller may list it; raises NotFound, Forbidden
    (a key that is not valid)."""
    visible = _visible(is_partner(api_key))
    found = parse_request_id(request_id)
    report = (
        db.session.scalar(select(Report).where(Report.reference == found, *visible))
        if found is not None
        else None
    )
    if report is None:
        raise NotFound(f"service_request_id {request_id[:20]!r} not found")
    return request_view(report, reports.public_photo_tokens([report.id]).get(report.id), media_base)


def find_updates(args: dict[str, str], *, now: datetime | None = None) -> list[dict[str, Any]]:
    """FixMyStreet's servicerequestupdates: public updates in ``start_date``..``end_date``
    (default the last 90 days), of the requests the caller may list; raises BadRequest for
    bad dates, Forbidden for a key that is not valid."""
    now = now or utcnow()
    visible = _visible(is_partner(args.get("api_key")))
    start = parse_w3c(args["start_date"], "start_date") if args.get("start_date") else None
    end = parse_w3c(args["end_date"], "end_date") if args.get("end_date") else None
    end = end or now
    start = start or end - DEFAULT_WINDOW
    if end < start:
        raise bad_request("end_date: is before start_date")
    if end - start > DEFAULT_WINDOW:
        raise bad_request("start_date/end_date: may not span more than 90 days")
    rows = db.session.execute(
        select(ReportUpdate, Report.reference)
        .join(Report, Report.id == ReportUpdate.report_id)
        .where(ReportUpdate.created_at >= start, ReportUpdate.created_at <= end, *visible)
        # The first "received" row is the report itself, not an update.
        .where(or_(ReportUpdate.actor_id.is_not(None), ReportUpdate.status != "received"))
        .order_by(ReportUpdate.created_at, ReportUpdate.id)
        .limit(MAX_RESULTS)
    ).all()
    return [
        {
            "update_id": str(update.id),
            "service_request_id": reference,
            "status": FMS_STATUS.get(update.status, "OPEN"),
            "updated_datetime": w3c(update.created_at),
            "description": update.note or "",
            "media_url": "",
        }
        for update, reference in rows
    ]
