"""Concern reports: categories, sending one (through the outbox, so it survives going
offline), and my earlier reports with what was done."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mobile_client.core.api import ApiError, load_schema
from mobile_client.core.context import Context, iso
from mobile_client.core.outbox import DrainResult


class Reports:
    """Reporting a concern."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def load_categories(self) -> list[dict[str, Any]]:
        cats = self.ctx.client.report_categories()
        self.ctx.state.update(categories=cats)
        return cats

    def submit_report(
        self,
        category: str,
        description: str,
        anonymous: bool,
        lat: float | None = None,
        lon: float | None = None,
        postcode: str | None = None,
        observed_at: datetime | None = None,
        contact_ok: bool = False,
    ) -> DrainResult:
        """Queue a concern report and try to send it; it survives going offline."""
        ctx = self.ctx
        body: dict[str, Any] = {
            "category": category,
            "description": description.strip(),
            "anonymous": bool(anonymous),
            "observed_at": iso(observed_at or datetime.now(UTC)),
        }
        if postcode:
            body["postcode"] = postcode.strip()
        elif lat is not None and lon is not None:
            body["lat"], body["lon"] = float(lat), float(lon)
        elif ctx.state.position:
            body["lat"], body["lon"] = ctx.state.position
        if contact_ok and not anonymous:
            body["consent_to_contact"] = True
        known = {c.get("code"): c for c in ctx.state.categories}
        if anonymous and known.get(category, {}).get("anonymous_allowed") is False:
            raise ApiError(
                422,
                "this kind of report cannot be anonymous",
                {"anonymous": [f"{known[category].get('name')} reports need a way to reach you"]},
                local=True,
            )
        schema = load_schema("report.in")
        if schema is not None:
            problems = schema.validate(body)
            if problems:
                raise ApiError(422, "check the report", problems, local=True)
        ctx.outbox.enqueue_report(body)
        ctx.refresh_outbox_counts()
        result = ctx.flush(force=True)
        if result.offline:
            ctx.state.update(
                message="No connection: your report is saved and will be sent when you are back online."
            )
        elif result.failed:
            ctx.state.update(
                message=f"The report was refused: {ctx.outbox.failed()[-1].last_error}"
            )
        else:
            ctx.state.update(message="Thank you. Your report was sent.")
        return result

    def load_my_reports(self) -> list[dict[str, Any]]:
        reports = self.ctx.client.my_reports()
        self.ctx.state.update(my_reports=reports)
        return reports
