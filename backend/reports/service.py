"""Concern reports: intake (app and Open311), triage, the reporter's view, blurred nearby
reports and the per-ward counts other domains aggregate."""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from backend.alerts import service as alerts
from backend.areas import gazetteer
from backend.areas import service as areas
from backend.auth.models import User
from backend.db import utcnow
from backend.errors import Conflict, NotFound, field_error
from backend.extensions import db
from backend.reports import photos, policy, references
from backend.reports.categories import (
    BY_CODE,
    CATEGORIES,
    URGENT_AFTER_MINUTES,
    Category,
    get_category,
)
from backend.reports.models import Report, ReportPhoto, ReportUpdate
from shared_schemas.reports import (
    MAX_DESCRIPTION,
    MAX_NOTE,
    MAX_PHOTOS,
    REPORT_STATUSES,
    ReportStatus,
)

log = logging.getLogger(__name__)

# Public views snap positions to a grid of about 150 m (latitude step 150 m; the longitude
# step is 150 m at the borough's latitude, 53.5 N).
GRID_M = 150.0
GRID_LAT_DEG = GRID_M / 111_195.0
GRID_LON_DEG = GRID_M / (111_195.0 * math.cos(math.radians(53.5)))
# How far in the past an observation may be; older ones belong in a call, not a form.
MAX_OBSERVED_AGE = timedelta(days=90)
CLOCK_SKEW = timedelta(minutes=10)
DEFAULT_NEARBY_MINUTES = 30
STATUS_ORDER = {s: i for i, s in enumerate(REPORT_STATUSES)}
# A reopened report goes back to being worked on.
REOPENED_STATUS = ReportStatus.IN_PROGRESS.value
normalise_reference = references.normalise


def _hash_receipt(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SentReport:
    """What the sender gets back once: the report and, for an anonymous report, the receipt
    token that alone lets this phone follow it (the server keeps only its hash)."""

    report: Report
    receipt: str | None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.report, name)


def list_categories() -> list[Category]:
    """Every category in display order."""
    return list(CATEGORIES)


def snap_to_grid(lat: float, lon: float) -> tuple[float, float]:
    """The centre of the ~150 m grid cell holding (lat, lon), rounded to 6 decimals."""
    snapped_lat = (math.floor(lat / GRID_LAT_DEG) + 0.5) * GRID_LAT_DEG
    snapped_lon = (math.floor(lon / GRID_LON_DEG) + 0.5) * GRID_LON_DEG
    return round(snapped_lat, 6), round(snapped_lon, 6)


@dataclass(frozen=True)
class Location:
    lat: float
    lon: float
    postcode: str | None
    ward_code: str


def locate_place(text: str, field: str) -> Location:
    """Resolve a place typed in words (the borough gazetteer: postcode, ward, town, street,
    safe place) to its best match; raises ValidationError naming ``field`` with what is
    accepted."""
    best = gazetteer.resolve(text, field)[0]
    return Location(lat=best.lat, lon=best.lon, postcode=best.postcode, ward_code=best.ward_code)


def locate(
    lat: float | None,
    lon: float | None,
    postcode: str | None,
    *,
    lat_field: str = "lat",
    postcode_field: str = "postcode",
) -> Location:
    """Resolve a point or a postcode to a position inside the borough and its ward;
    raises ValidationError naming the field (unknown postcode, outside Wigan Borough)."""
    if postcode:
        row = areas.lookup_postcode(postcode, field=postcode_field)
        lat, lon, code = row.lat, row.lon, row.postcode
    else:
        code = None
    if lat is None or lon is None:
        raise field_error(lat_field, "give lat and lon, or a postcode")
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise field_error(lat_field, "not a WGS84 coordinate")
    ward = areas.ward_code_for_point(lat, lon)
    if ward is None:
        raise field_error(
            postcode_field if postcode else lat_field,
            "this place is outside Wigan Borough; report it to the local council there",
        )
    return Location(lat=lat, lon=lon, postcode=code, ward_code=ward)


def check_observed_at(observed_at: datetime | None, now: datetime, field: str) -> datetime:
    """The observation time, defaulting to now; raises ValidationError if in the future
    or more than 90 days ago."""
    if observed_at is None:
        return now
    if observed_at.tzinfo is None:
        raise field_error(field, "give a time zone (e.g. 2026-11-21T21:30:00Z)")
    if observed_at > now + CLOCK_SKEW:
        raise field_error(field, "is in the future")
    if observed_at < now - MAX_OBSERVED_AGE:
        raise field_error(field, "is more than 90 days ago")
    return observed_at


def create_report(
    actor: User | None, data: dict[str, Any], *, now: datetime | None = None
) -> SentReport:
    """Record a report from the app and give its reference. Anonymous reports store no user
    id (and no report stores an IP or device id); their sender gets a receipt token instead.
    Raises ValidationError (category, description, location, time, anonymity not allowed)
    or Unauthorized (a named report without signing in)."""
    now = now or utcnow()
    category = get_category(data["category"])
    description = (data.get("description") or "").strip()
    if not description:
        raise field_error("description", "must not be empty")
    if len(description) > MAX_DESCRIPTION:
        raise field_error("description", f"at most {MAX_DESCRIPTION} characters")
    anonymous = bool(data.get("anonymous"))
    policy.require_can_report(actor, category, anonymous)
    where = locate(data.get("lat"), data.get("lon"), data.get("postcode"))
    observed_at = check_observed_at(data.get("observed_at"), now, "observed_at")
    receipt = secrets.token_urlsafe(24) if anonymous else None
    report = add_report(
        category,
        description,
        where,
        observed_at,
        now,
        anonymous=anonymous,
        # Consent to be contacted means nothing without an identity to contact.
        consent_to_contact=bool(data.get("consent_to_contact")) and not anonymous,
        user_id=None if anonymous else actor.id,  # type: ignore[union-attr]
        source="app",
        receipt_hash=_hash_receipt(receipt) if receipt else None,
    )
    return SentReport(report, receipt)


def add_report(
    category: Category,
    description: str,
    where: Location,
    observed_at: datetime,
    now: datetime,
    **intake: Any,
) -> Report:
    """Store a received report at ``where`` with a fresh reference and its first update, for
    any intake (the app, Open311); ``intake`` carries who sent it and how. Commits."""
    for attempt in range(5):
        try:
            return _insert_report(category, description, where, observed_at, now, **intake)
        except IntegrityError:
            # Two reports drew the same reference (about 1 in a million per pair): draw again.
            db.session.rollback()
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def _insert_report(
    category: Category,
    description: str,
    where: Location,
    observed_at: datetime,
    now: datetime,
    **intake: Any,
) -> Report:
    report = Report(
        reference=references.new_reference(),
        category=category.code,
        description=description,
        lat=where.lat,
        lon=where.lon,
        postcode=where.postcode,
        ward_code=where.ward_code,
        observed_at=observed_at,
        created_at=now,
        updated_at=now,
        status=ReportStatus.RECEIVED.value,
        **intake,
    )
    db.session.add(report)
    db.session.flush()
    db.session.add(
        ReportUpdate(report_id=report.id, status=report.status, kind="received", created_at=now)
    )
    db.session.commit()
    return report


def get_report(report_id: int) -> Report:
    """One report; raises NotFound."""
    report = db.session.get(Report, report_id)
    if report is None:
        raise NotFound(f"no report {report_id}")
    return report


def follow_anonymous(reference: str, receipt: str) -> Report:
    """An anonymous report for whoever holds its receipt; raises NotFound for a wrong
    reference or receipt alike (so neither can be probed on its own)."""
    report = db.session.scalar(
        select(Report).where(Report.reference == normalise_reference(reference))
    )
    expected = report.receipt_hash if report is not None else None
    given = _hash_receipt(receipt or "")
    # compare_digest on a placeholder too, so a wrong reference costs the same as a wrong
    # receipt.
    if expected is None:
        hmac.compare_digest("0" * 64, given)
    if expected is None or not hmac.compare_digest(expected, given):
        raise NotFound("no report with this reference and receipt")
    return report  # type: ignore[return-value]


def _report_by_reference(reference: str) -> Report:
    report = db.session.scalar(
        select(Report).where(Report.reference == normalise_reference(reference))
    )
    if report is None:
        raise NotFound("no report with this reference")
    return report


def add_photo(
    actor: User | None,
    reference: str,
    receipt: str | None,
    raw: bytes,
    *,
    max_bytes: int = photos.DEFAULT_MAX_BYTES,
    now: datetime | None = None,
) -> ReportPhoto:
    """Attach a photo to a report its sender holds (their own named report, or an anonymous
    one with its receipt), stored without metadata and not public. Raises NotFound (no such
    report, or not theirs), ValidationError (not a photo, too large), Conflict (already
    ``MAX_PHOTOS``)."""
    report = _report_by_reference(reference)
    holds_receipt = bool(
        receipt
        and report.receipt_hash
        and hmac.compare_digest(report.receipt_hash, _hash_receipt(receipt))
    )
    policy.require_can_add_photo(actor, report, holds_receipt)
    held = db.session.scalar(
        select(func.count()).select_from(ReportPhoto).where(ReportPhoto.report_id == report.id)
    )
    if (held or 0) >= MAX_PHOTOS:
        raise Conflict(
            f"a report can carry {MAX_PHOTOS} photos at most",
            errors={"photo": [f"this report already has {MAX_PHOTOS} photos"]},
        )
    cleaned = photos.clean(raw, max_bytes=max_bytes)
    photo = ReportPhoto(
        report_id=report.id,
        token=secrets.token_urlsafe(18),
        content_type=cleaned.content_type,
        data=cleaned.data,
        width=cleaned.width,
        height=cleaned.height,
        public=False,
        created_at=now or utcnow(),
    )
    db.session.add(photo)
    db.session.commit()
    return photo


def photo_for_admin(actor: User, photo_id: int) -> ReportPhoto:
    """Admins: one photo of any report; raises Forbidden, NotFound."""
    policy.require_can_triage(actor)
    photo = db.session.get(ReportPhoto, photo_id)
    if photo is None:
        raise NotFound(f"no photo {photo_id}")
    return photo


def set_photo_public(actor: User, photo_id: int, public: bool) -> ReportPhoto:
    """Admins: make a photo public (its Open311 ``media_url`` then serves it) or private
    again. Raises Forbidden, NotFound."""
    photo = photo_for_admin(actor, photo_id)
    photo.public = public
    db.session.commit()
    return photo


def public_photo(token: str) -> ReportPhoto:
    """A photo an officer made public; raises NotFound for any other (private or unknown
    alike)."""
    photo = db.session.scalar(select(ReportPhoto).where(ReportPhoto.token == token[:40]))
    if photo is None or not photo.public:
        raise NotFound("no public photo here")
    return photo


def public_photo_tokens(report_ids: list[int]) -> dict[int, str]:
    """The first public photo's token per report, for those of ``report_ids`` that have one."""
    if not report_ids:
        return {}
    rows = db.session.execute(
        select(ReportPhoto.report_id, ReportPhoto.token)
        .where(ReportPhoto.report_id.in_(report_ids), ReportPhoto.public.is_(True))
        .order_by(ReportPhoto.id)
    ).all()
    found: dict[int, str] = {}
    for report_id, token in rows:
        found.setdefault(report_id, token)
    return found


def priority_order() -> list[Any]:
    """Triage order: open before closed, then category severity (weapons, exploitation and
    sexual violence first), then not yet acknowledged, then the longest waiting."""
    severity = case({c.code: c.severity for c in CATEGORIES}, value=Report.category, else_=0)
    return [
        case((Report.status == ReportStatus.CLOSED.value, 1), else_=0),
        severity.desc(),
        case((Report.status == ReportStatus.RECEIVED.value, 0), else_=1),
        Report.created_at,
        Report.id,
    ]


def waiting_minutes(report: Report, now: datetime) -> int | None:
    """Minutes a report has waited unacknowledged (None once acknowledged or later)."""
    if report.status != ReportStatus.RECEIVED.value:
        return None
    return max(0, int((now - report.created_at).total_seconds() // 60))


def is_overdue(report: Report, now: datetime) -> bool:
    """An urgent kind (weapon, firearm, exploitation) unacknowledged for URGENT_AFTER_MINUTES."""
    waited = waiting_minutes(report, now)
    category = BY_CODE.get(report.category)
    return bool(
        category and category.urgent and waited is not None and waited >= URGENT_AFTER_MINUTES
    )


def my_reports(actor: User) -> list[Report]:
    """The caller's own named reports, newest first, with their updates."""
    return list(
        db.session.scalars(
            select(Report).where(Report.user_id == actor.id).order_by(Report.id.desc())
        )
    )


def change_status(
    actor: User,
    report_id: int,
    status: str | None,
    public_note: str | None,
    *,
    now: datetime | None = None,
) -> Report:
    """Admin triage: move a report forward (received -> acknowledged -> in_progress ->
    closed) and/or add a public note; closing needs a public note. Tells a named reporter
    ("you said, we did"). Raises Forbidden (not admin), NotFound, ValidationError (closing
    without a note), Conflict (backwards or already closed: reopen it instead)."""
    policy.require_can_triage(actor)
    now = now or utcnow()
    report = get_report(report_id)
    new_status = status or report.status
    note = (public_note or "").strip() or None
    if report.status == ReportStatus.CLOSED.value and (new_status != report.status or note):
        raise Conflict(
            "this report is closed; reopen it with a reason",
            errors={"status": ["the report is closed: reopen it with a reason"]},
        )
    if STATUS_ORDER[new_status] < STATUS_ORDER[report.status]:
        raise Conflict(
            f"status can only move forward (it is {report.status})",
            errors={"status": [f"cannot go back from {report.status} to {new_status}"]},
        )
    if new_status == report.status and not note:
        raise Conflict(
            f"the report is already {new_status}",
            errors={"status": [f"already {new_status}; add a public_note to say more"]},
        )
    closing = new_status == ReportStatus.CLOSED.value
    if closing and not note:
        raise field_error("public_note", "say in a public note what was done before closing")
    if closing:
        kind = "closed"
    elif new_status != report.status:
        kind = "status"
    else:
        kind = "note"
    return _record_step(actor, report, new_status, note, kind, now)


def reopen(actor: User, report_id: int, reason: str, *, now: datetime | None = None) -> Report:
    """Admin: reopen a closed report with a reason (kept in its history beside the closing
    note, and told to a named reporter). Raises Forbidden, NotFound, ValidationError (no
    reason), Conflict (not closed)."""
    policy.require_can_triage(actor)
    now = now or utcnow()
    report = get_report(report_id)
    reason = (reason or "").strip()
    if not reason:
        raise field_error("reason", "say why the report is reopened")
    if len(reason) > MAX_NOTE:
        raise field_error("reason", f"at most {MAX_NOTE} characters")
    if report.status != ReportStatus.CLOSED.value:
        raise Conflict(
            f"only a closed report can be reopened (it is {report.status})",
            errors={"status": [f"the report is {report.status.replace('_', ' ')}, not closed"]},
        )
    return _record_step(actor, report, REOPENED_STATUS, reason, "reopened", now)


def _record_step(
    actor: User, report: Report, status: str, note: str | None, kind: str, now: datetime
) -> Report:
    report.status = status
    if note:
        report.public_note = note
    report.updated_at = now
    step = ReportUpdate(
        report_id=report.id, status=status, kind=kind, note=note, actor_id=actor.id, created_at=now
    )
    db.session.add(step)
    _notify_reporter(report, step)
    db.session.commit()
    return report


def _notify_reporter(report: Report, update: ReportUpdate) -> bool:
    """Queue the "you said, we did" push in the caller's transaction; False when there is
    nobody to tell (an anonymous or Open311 report)."""
    if report.user_id is None:
        return False
    label = "reopened" if update.kind == "reopened" else update.status.replace("_", " ")
    body = update.note or f"Your {report.category_name.lower()} report is now {label}."
    alerts.notify_user(
        report.user_id,
        "report_status",
        f"Your report {report.reference}: {label}",
        body,
        {"report_id": str(report.id), "reference": report.reference, "status": update.status},
    )
    return True


def nearby(
    lat: float,
    lon: float,
    radius_m: float,
    *,
    now: datetime | None = None,
    window_minutes: int = DEFAULT_NEARBY_MINUTES,
) -> list[dict[str, Any]]:
    """Reports of the last ``window_minutes`` whose blurred position lies within ``radius_m``:
    category and time only, positions snapped to the ~150 m grid, newest first."""
    from backend.spatial import bounding_boxes, haversine_m

    now = now or utcnow()
    since = now - timedelta(minutes=window_minutes)
    pad = radius_m + GRID_M
    clauses = []
    for min_lat, max_lat, min_lon, max_lon in bounding_boxes(lat, lon, pad):
        clauses.append(
            (Report.lat.between(min_lat, max_lat)) & (Report.lon.between(min_lon, max_lon))
        )
    rows = db.session.execute(
        select(Report.category, Report.created_at, Report.lat, Report.lon)
        .where(Report.created_at >= since, Report.created_at <= now)
        .where(clauses[0] if len(clauses) == 1 else (clauses[0] | clauses[1]))
        .order_by(Report.created_at.desc(), Report.id.desc())
        .limit(500)
    ).all()
    found = []
    for category, created_at, rlat, rlon in rows:
        slat, slon = snap_to_grid(rlat, rlon)
        if haversine_m(lat, lon, slat, slon) > radius_m:
            continue
        found.append(
            {
                "category": category,
                "category_name": get_category(category).name,
                "reported_at": created_at.replace(second=0, microsecond=0),
                "lat": slat,
                "lon": slon,
            }
        )
    return found


def counts_by_ward(start: datetime, end: datetime, category: str | None = None) -> dict[str, int]:
    """Reports observed in ``[start, end)`` per ward code (wards with none are absent);
    raises ValidationError for an unknown category or an inverted period."""
    if end <= start:
        raise field_error("end", "must be after start")
    query = (
        select(Report.ward_code, func.count())
        .where(Report.observed_at >= start, Report.observed_at < end)
        .where(Report.ward_code.is_not(None))
        .group_by(Report.ward_code)
    )
    if category is not None:
        query = query.where(Report.category == get_category(category).code)
    return {ward: int(n) for ward, n in db.session.execute(query) if ward is not None}


def ward_category_counts(
    previous_start: datetime, start: datetime, end: datetime, category: str | None = None
) -> list[tuple[str, str, int, int]]:
    """``(ward_code, category, count in [start, end), count in [previous_start, start))``
    for every ward x category with a report in either period, in one pass."""
    current = func.sum(case((Report.observed_at >= start, 1), else_=0))
    previous = func.sum(case((Report.observed_at < start, 1), else_=0))
    query = (
        select(Report.ward_code, Report.category, current, previous)
        .where(Report.observed_at >= previous_start, Report.observed_at < end)
        .where(Report.ward_code.is_not(None))
        .group_by(Report.ward_code, Report.category)
    )
    if category is not None:
        query = query.where(Report.category == category)
    return [(w, c, int(cur or 0), int(prev or 0)) for w, c, cur, prev in db.session.execute(query)]


ERASED_DESCRIPTION = ""  # the sender erased their account: the text went with it


def export_user(user: User) -> dict[str, Any]:
    """The caller's named reports for ``GET /api/v1/me/export`` (anonymous ones hold no link)."""
    return {
        "reports": [
            {
                "id": r.id,
                "reference": r.reference,
                "category": r.category,
                "description": r.description,
                "lat": r.lat,
                "lon": r.lon,
                "postcode": r.postcode,
                "ward_code": r.ward_code,
                "observed_at": r.observed_at.isoformat(),
                "created_at": r.created_at.isoformat(),
                "status": r.status,
                "public_note": r.public_note,
                "consent_to_contact": r.consent_to_contact,
                "updates": [
                    {
                        "status": u.status,
                        "kind": u.kind,
                        "note": u.note,
                        "created_at": u.created_at.isoformat(),
                    }
                    for u in r.updates
                ],
            }
            for r in my_reports(user)
        ]
    }


def erase_user(user: User) -> None:
    """Erasure: the person's reports stay (hotspot counts: category, ward, times) but become
    anonymous with no contact details, no text, photo or postcode, and their point moved to
    the centre of its ~150 m grid square; their photos are deleted, the ones an officer made
    public included (a photo can show a face or a house: docs/PRIVACY.md); their name is
    removed from triage updates they wrote. No commit."""
    theirs = select(Report.id).where(Report.user_id == user.id)
    db.session.execute(
        delete(ReportPhoto)
        .where(ReportPhoto.report_id.in_(theirs))
        .execution_options(synchronize_session=False)
    )
    for report in db.session.scalars(select(Report).where(Report.user_id == user.id)):
        report.lat, report.lon = snap_to_grid(report.lat, report.lon)
    db.session.execute(
        update(Report)
        .where(Report.user_id == user.id)
        .values(
            user_id=None,
            anonymous=True,
            consent_to_contact=False,
            contact_name=None,
            contact_email=None,
            contact_phone=None,
            description=ERASED_DESCRIPTION,
            postcode=None,
            media_url=None,
            external_url=None,
            attributes=None,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(ReportUpdate).where(ReportUpdate.actor_id == user.id).values(actor_id=None)
    )
