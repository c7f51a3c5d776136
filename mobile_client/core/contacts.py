"""Trusted contacts: inviting, accepting, revoking, and who looked at my location."""

from __future__ import annotations

from typing import Any

from mobile_client.core.context import Context


def normalise_contacts(data: Any) -> list[dict[str, Any]]:
    """``GET /api/v1/contacts`` as rows ``{id, user_id, name, direction}``: ``id`` is the
    link (for revoking), ``user_id`` the other person (for sharing a journey with them)."""
    rows: list[dict[str, Any]] = []
    if not isinstance(data, dict):
        return rows
    for key, direction, other_key in (
        ("trusted", "i_trust", "contact"),
        ("trusted_by", "trusts_me", "owner"),
    ):
        for c in data.get(key) or []:
            other = c.get(other_key) or {}
            name = other.get("display_name") or f"Resident {other.get('id', '?')}"
            rows.append(c | {"user_id": other.get("id"), "name": name, "direction": direction})
    return rows


class Contacts:
    """The people I trust and who trust me."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def load_contacts(self) -> list[dict[str, Any]]:
        data = self.ctx.client.contacts()
        contacts = normalise_contacts(data)
        self.ctx.state.update(contacts=contacts, online=True)
        return contacts

    def create_invitation(self) -> dict[str, Any]:
        invitation = self.ctx.client.create_invitation()
        self.ctx.state.update(invitation=invitation)
        return invitation

    def accept_invitation(self, code: str) -> dict[str, Any]:
        accepted = self.ctx.client.accept_invitation(code)
        self.load_contacts()
        self.ctx.state.update(message="Invitation accepted: you are now trusted contacts.")
        return accepted

    def revoke_contact(self, contact_id: int) -> None:
        self.ctx.client.revoke_contact(contact_id)
        self.load_contacts()

    def load_viewers(self) -> list[dict[str, Any]]:
        """Who looked at my location, and when."""
        data = self.ctx.client.contact_views()
        items = data if isinstance(data, list) else (data or {}).get("items", [])
        self.ctx.state.update(viewers=items)
        return items
