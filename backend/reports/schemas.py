"""Schemas of the reports domain (re-exported from the shared contract)."""

from shared_schemas.reports import (
    CategorySchema,
    FollowedReportSchema,
    FollowInSchema,
    NearbyQuerySchema,
    NearbyReportSchema,
    PhotoPublicSchema,
    ReopenSchema,
    ReportInSchema,
    ReportPhotoSchema,
    ReportReceiptSchema,
    ReportSchema,
    ReportStatusChangeSchema,
)

__all__ = [
    "CategorySchema",
    "FollowedReportSchema",
    "FollowInSchema",
    "PhotoPublicSchema",
    "ReopenSchema",
    "ReportPhotoSchema",
    "NearbyQuerySchema",
    "NearbyReportSchema",
    "ReportInSchema",
    "ReportReceiptSchema",
    "ReportSchema",
    "ReportStatusChangeSchema",
]
