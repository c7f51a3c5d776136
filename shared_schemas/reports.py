"""Concern reports, their categories, nearby blurred reports and ward hotspots."""

from __future__ import annotations

from enum import StrEnum

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared_schemas.common import Latitude, Longitude, UtcDateTime

MAX_DESCRIPTION = 4000
MAX_NOTE = 2000


class ReportStatus(StrEnum):
    """Where a report is in its handling; only forward moves are allowed."""

    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"


REPORT_STATUSES = tuple(s.value for s in ReportStatus)


class CategorySchema(Schema):
    """A kind of concern, who handles it and what to tell the reporter first."""

    code = fields.String(required=True, metadata={"example": "knife_weapon"})
    name = fields.String(required=True)
    description = fields.String()
    team = fields.String(required=True, metadata={"example": "Police (101 non-emergency)"})
    guidance = fields.String(required=True)
    anonymous_allowed = fields.Boolean(required=True)
    group = fields.String()


class ReportInSchema(Schema):
    """A new concern report: where by lat/lon or by postcode, and when it was seen."""

    category = fields.String(required=True, validate=validate.Length(min=1, max=40))
    description = fields.String(required=True, validate=validate.Length(min=1, max=MAX_DESCRIPTION))
    lat = Latitude(load_default=None)
    lon = Longitude(load_default=None)
    postcode = fields.String(load_default=None, validate=validate.Length(max=10))
    observed_at = UtcDateTime(load_default=None, format="iso")
    anonymous = fields.Boolean(load_default=False)
    consent_to_contact = fields.Boolean(load_default=False)

    @validates_schema
    def _one_location(self, data, **_kwargs):  # type: ignore[no-untyped-def]
        has_point = data.get("lat") is not None or data.get("lon") is not None
        if has_point and (data.get("lat") is None or data.get("lon") is None):
            missing = "lon" if data.get("lat") is not None else "lat"
            raise ValidationError("give both lat and lon", field_name=missing)
        if not has_point and not data.get("postcode"):
            raise ValidationError("give lat and lon, or a postcode", field_name="lat")
        if has_point and data.get("postcode"):
            raise ValidationError("give lat/lon or a postcode, not both", field_name="postcode")


REPORT_STEP_KINDS = ("received", "status", "note", "closed", "reopened")
MAX_PHOTOS = 3


class ReportUpdateSchema(Schema):
    """One step in a report's handling as the reporter sees it: ``kind`` says whether it
    was received, a status change, a public note, the closing or a reopening."""

    status = fields.String(required=True)
    kind = fields.String(validate=validate.OneOf(REPORT_STEP_KINDS))
    note = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)


class ReportPhotoSchema(Schema):
    """A photo on a report as its sender sees it (stored without EXIF)."""

    id = fields.Integer(required=True)
    content_type = fields.String(required=True)
    width = fields.Integer()
    height = fields.Integer()
    public = fields.Boolean()


class ReportSchema(Schema):
    """A report as its own author (or an admin) sees it."""

    id = fields.Integer(required=True)
    reference = fields.String(required=True, metadata={"example": "WGN-7K3QX"})
    category = fields.String(required=True)
    category_name = fields.String()
    team = fields.String()
    description = fields.String()
    lat = fields.Float()
    lon = fields.Float()
    postcode = fields.String(allow_none=True)
    ward_code = fields.String(allow_none=True)
    observed_at = fields.DateTime()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    status = fields.String(validate=validate.OneOf(REPORT_STATUSES))
    public_note = fields.String(allow_none=True)
    anonymous = fields.Boolean()
    consent_to_contact = fields.Boolean()
    updates = fields.List(fields.Nested(ReportUpdateSchema))
    photos = fields.List(fields.Nested(ReportPhotoSchema))


class ReportReceiptSchema(Schema):
    """What the sender gets back; an anonymous report is not linked to anyone afterwards.
    ``receipt`` (anonymous reports only) is given once: keep it on the phone to follow the
    report with ``POST /api/v1/reports/follow`` and to add photos."""

    id = fields.Integer(required=True)
    reference = fields.String(required=True, metadata={"example": "WGN-7K3QX"})
    receipt = fields.String(allow_none=True)
    category = fields.String(required=True)
    status = fields.String(required=True)
    ward_code = fields.String(allow_none=True)
    anonymous = fields.Boolean(required=True)
    team = fields.String()
    guidance = fields.String()
    created_at = fields.DateTime()


class FollowInSchema(Schema):
    """An anonymous report's reference and the receipt its sender was given."""

    reference = fields.String(required=True, validate=validate.Length(min=4, max=20))
    receipt = fields.String(required=True, validate=validate.Length(min=16, max=64))


class FollowedReportSchema(Schema):
    """An anonymous report as the holder of its receipt sees it: its handling, not its text."""

    reference = fields.String(required=True)
    category = fields.String(required=True)
    category_name = fields.String()
    team = fields.String()
    status = fields.String(validate=validate.OneOf(REPORT_STATUSES))
    public_note = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    updates = fields.List(fields.Nested(ReportUpdateSchema))


class PhotoPublicSchema(Schema):
    """Admin: whether a report photo is public."""

    public = fields.Boolean(required=True)


class ReopenSchema(Schema):
    """Admin: reopen a closed report, saying why."""

    reason = fields.String(required=True, validate=validate.Length(min=1, max=MAX_NOTE))


class ReportStatusChangeSchema(Schema):
    """Admin triage: move the status forward and/or add a public note."""

    status = fields.String(load_default=None, validate=validate.OneOf(REPORT_STATUSES))
    public_note = fields.String(load_default=None, validate=validate.Length(max=MAX_NOTE))

    @validates_schema
    def _something(self, data, **_kwargs):  # type: ignore[no-untyped-def]
        if data.get("status") is None and not data.get("public_note"):
            raise ValidationError("give a status or a public_note", field_name="status")


class NearbyQuerySchema(Schema):
    lat = Latitude(required=True)
    lon = Longitude(required=True)
    radius_m = fields.Integer(load_default=1000, validate=validate.Range(min=50, max=5000))


class NearbyReportSchema(Schema):
    """A recent report near you: category and time only, position blurred to a ~150 m grid."""

    category = fields.String(required=True)
    category_name = fields.String()
    reported_at = fields.DateTime(required=True)
    lat = fields.Float(required=True)
    lon = fields.Float(required=True)


class HotspotQuerySchema(Schema):
    from_ = UtcDateTime(data_key="from", load_default=None, format="iso")
    to = UtcDateTime(load_default=None, format="iso")
    by = fields.String(load_default="ward", validate=validate.OneOf(["ward"]))
    category = fields.String(load_default=None, validate=validate.Length(min=1, max=40))


class HotspotCellSchema(Schema):
    """One ward x category cell; counts are null when suppressed."""

    rank = fields.Integer()
    ward_code = fields.String(required=True)
    ward_name = fields.String()
    category = fields.String(required=True)
    count = fields.Integer(allow_none=True)
    previous = fields.Integer(allow_none=True)
    change = fields.Integer(allow_none=True)
    change_pct = fields.Float(allow_none=True)
    suppressed = fields.Boolean(required=True)


class HotspotsSchema(Schema):
    start = fields.DateTime(data_key="from", required=True)
    end = fields.DateTime(data_key="to", required=True)
    previous_from = fields.DateTime(required=True)
    by = fields.String()
    category = fields.String(allow_none=True)
    min_count = fields.Integer()
    suppressed_cells = fields.Integer()
    cells = fields.List(fields.Nested(HotspotCellSchema))
