"""Schemas of the reports domain (re-exported from the shared contract)."""

from shared_schemas.reports import (
    CategorySchema,
    NearbyQuerySchema,
    NearbyReportSchema,
    ReportInSchema,
    ReportReceiptSchema,
    ReportSchema,
    ReportStatusChangeSchema,
)

__all__ = [
    "CategorySchema",
    "NearbyQuerySchema",
    "NearbyReportSchema",
    "ReportInSchema",
    "ReportReceiptSchema",
    "ReportSchema",
    "ReportStatusChangeSchema",
]
