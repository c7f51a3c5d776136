"""The caller's own account."""

from __future__ import annotations

from typing import Any

from backend.auth.models import User
from backend.errors import field_error
from backend.extensions import db


def update_me(actor: User, changes: dict[str, Any]) -> User:
    """Change the caller's display name or home ward; raises ValidationError for an unknown ward."""
    from backend.areas.models import Ward

    if (
        "ward_code" in changes
        and changes["ward_code"] is not None
        and db.session.get(Ward, changes["ward_code"]) is None
    ):
        raise field_error("ward_code", "unknown ward")
    for key in ("display_name", "ward_code"):
        if key in changes:
            setattr(actor, key, changes[key])
    db.session.commit()
    return actor
