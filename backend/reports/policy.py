"""Who may report and who may triage; each function raises or returns None."""

from __future__ import annotations

from backend.auth.models import User
from backend.auth.policy import require_admin
from backend.errors import NotFound, Unauthorized, field_error
from backend.reports.categories import Category
from backend.reports.models import Report


def require_can_report(actor: User | None, category: Category, anonymous: bool) -> None:
    """Anonymous reports need no account, but only where the category allows them;
    named reports need a signed-in caller. Raises ValidationError or Unauthorized."""
    if anonymous and not category.anonymous_allowed:
        raise field_error(
            "anonymous",
            f"{category.name} reports cannot be anonymous: {category.team} needs to reach you",
        )
    if not anonymous and actor is None:
        raise Unauthorized(
            "sign in to send a named report, or send it anonymously",
            headers={"WWW-Authenticate": "Bearer"},
        )


def require_can_triage(actor: User) -> None:
    """Only partnership admins change a report's status; raises Forbidden."""
    require_admin(actor)


def require_can_add_photo(actor: User | None, report: Report, holds_receipt: bool) -> None:
    """Only the sender adds photos: the signed-in author of a named report, or whoever holds
    an anonymous report's receipt. Raises NotFound otherwise (a stranger learns nothing)."""
    if report.user_id is not None and actor is not None and actor.id == report.user_id:
        return
    if report.user_id is None and holds_receipt:
        return
    raise NotFound("no report with this reference")
