"""Who may report and who may triage; each function raises or returns None."""

from __future__ import annotations

from backend.auth.models import User
from backend.auth.policy import require_admin
from backend.errors import Unauthorized, field_error
from backend.reports.categories import Category


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
