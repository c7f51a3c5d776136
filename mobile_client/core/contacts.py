"""Trusted contacts: inviting, accepting, revoking, who looked at my location, who a
journey is shared with, and the phone numbers the resident keeps for them on this phone.

One id names a person throughout the app: ``user_id``. ``link_id`` is only the consent
link itself (what revoking ends)."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from typing import Any

from mobile_client.core.api import ApiError
from mobile_client.core.context import Context
from shared_schemas import uktime

NO_NAME = "A contact with no name set"
SHARABLE = ("i_trust", "mutual")


def normalise_contacts(data: Any) -> list[dict[str, Any]]:
    """``GET /api/v1/contacts`` as rows ``{id, link_id, user_id, name, direction, phone}``:
    ``link_id`` (also ``id``) is the consent link (for revoking), ``user_id`` the other
    person (for sharing a journey with them); ``phone`` is their number when they chose
    to share it with me."""
    rows: list[dict[str, Any]] = []
    if not isinstance(data, dict):
        return rows
    for key, direction, other_key in (
        ("trusted", "i_trust", "contact"),
        ("trusted_by", "trusts_me", "owner"),
    ):
        for c in data.get(key) or []:
            other = c.get(other_key) or {}
            # the server's own wording first (it says when someone set no name)
            name = c.get("display_name") or other.get("display_name") or NO_NAME
            rows.append(
                c
                | {
                    "link_id": c.get("id"),
                    "user_id": other.get("id"),
                    "name": name,
                    "direction": direction,
                    "phone": c.get("phone") or other.get("phone"),
                }
            )
    return rows


class PhoneBook:
    """Numbers the resident keeps for contacts, on this phone only (never sent to the
    server): the text fallback of an SOS uses them. A table in the app's state file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        with self._db() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS contact_phones ("
                " user_id INTEGER PRIMARY KEY, name TEXT NOT NULL, phone TEXT NOT NULL)"
            )

    def _db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def set(self, user_id: int, name: str, phone: str) -> None:
        with self._lock, closing(self._db()) as conn, conn:
            if phone:
                conn.execute(
                    "INSERT INTO contact_phones (user_id, name, phone) VALUES (?, ?, ?)"
                    " ON CONFLICT (user_id) DO UPDATE SET name = excluded.name,"
                    " phone = excluded.phone",
                    (int(user_id), name, phone),
                )
            else:
                conn.execute("DELETE FROM contact_phones WHERE user_id = ?", (int(user_id),))

    def all(self) -> dict[int, tuple[str, str]]:
        """``{user_id: (name, phone)}``."""
        with self._lock, closing(self._db()) as conn:
            rows = conn.execute("SELECT user_id, name, phone FROM contact_phones").fetchall()
        return {int(u): (str(n), str(p)) for u, n, p in rows}

    def clear(self) -> None:
        with self._lock, closing(self._db()) as conn, conn:
            conn.execute("DELETE FROM contact_phones")


def clean_phone(text: str) -> str:
    """A phone number as typed, kept to digits and a leading +; '' when none is left."""
    text = text.strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    if not digits:
        return ""
    return ("+" if text.startswith("+") else "") + digits


class Contacts:
    """The people I trust and who trust me."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.phonebook = PhoneBook(ctx.outbox.path)

    def load_contacts(self) -> list[dict[str, Any]]:
        data = self.ctx.client.contacts()
        contacts = self._with_phones(normalise_contacts(data))
        sharable = {c["user_id"] for c in contacts if c["direction"] in SHARABLE}
        chosen = [u for u in self.ctx.state.share_selection if u in sharable]
        self.ctx.state.update(contacts=contacts, share_selection=chosen, online=True)
        return contacts

    def _with_phones(self, contacts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        kept = self.phonebook.all()
        return [
            c | {"local_phone": kept.get(int(c["user_id"] or 0), ("", ""))[1]} for c in contacts
        ]

    # -- who a journey is shared with: exactly what the screen shows ----------------------
    def set_shared(self, user_id: int, chosen: bool) -> list[int]:
        """Choose (or not) a person to share the next journey with; returns the selection."""
        current = [u for u in self.ctx.state.share_selection if u != int(user_id)]
        if chosen:
            current.append(int(user_id))
        self.ctx.state.update(share_selection=current)
        return current

    def clear_selection(self) -> None:
        self.ctx.state.update(share_selection=[])

    # -- numbers kept on this phone -------------------------------------------------------
    def set_phone(self, user_id: int, phone: str) -> str:
        """Keep (or with '' forget) a contact's number on this phone; never sent anywhere
        but to the phone's own messaging."""
        number = clean_phone(phone)
        if phone.strip() and len(number.lstrip("+")) < 6:
            raise ApiError(422, "that does not look like a phone number", local=True)
        name = next(
            (c["name"] for c in self.ctx.state.contacts if c.get("user_id") == int(user_id)),
            NO_NAME,
        )
        self.phonebook.set(int(user_id), name, number)
        self.ctx.state.update(contacts=self._with_phones(self.ctx.state.contacts))
        return number

    def text_numbers(self) -> list[tuple[str, str]]:
        """``(name, number)`` to text in an emergency: the numbers kept on this phone, and
        those my trusted contacts chose to share with me, one per person."""
        numbers = {u: (n, p) for u, (n, p) in self.phonebook.all().items()}
        for c in self.ctx.state.contacts:
            uid = c.get("user_id")
            if uid is not None and c.get("direction") in SHARABLE and c.get("phone"):
                numbers.setdefault(int(uid), (c["name"], str(c["phone"])))
        return sorted(numbers.values())

    # -- invitations and revoking ---------------------------------------------------------
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
        """End the consent link ``contact_id`` (a ``link_id``)."""
        row = next((c for c in self.ctx.state.contacts if c.get("link_id") == contact_id), None)
        self.ctx.client.revoke_contact(contact_id)
        self.load_contacts()
        name = row["name"] if row else "That contact"
        self.ctx.state.update(
            message="",  # the hold's warning is answered
            notice={"kind": "revoke", "text": f"{name} can no longer see your journeys."},
        )

    def share_my_phone(self, contact_id: int, share: bool) -> None:
        """Let this contact (a ``link_id``) see my phone number, or stop that."""
        self.ctx.client.set_contact_phone_sharing(contact_id, share)
        self.load_contacts()

    def load_viewers(self) -> list[dict[str, Any]]:
        """Who looked at my location, and when: ``{name, when, via}`` lines for people."""
        data = self.ctx.client.contact_views()
        items = data if isinstance(data, list) else (data or {}).get("items", [])
        self.ctx.state.update(viewers=[describe_view(v) for v in items])
        return items


def describe_view(view: dict[str, Any]) -> dict[str, Any]:
    """One "who looked" row as a person reads it: a name and a UK local time (the server's
    ``who`` and ``when`` when it gives them)."""
    viewer = view.get("viewer") if isinstance(view.get("viewer"), dict) else None
    who = view.get("who")
    if not who and viewer:
        who = viewer.get("display_name") or NO_NAME
    if not who:
        who = "Someone with your watch link" if view.get("via") == "link" else "Someone"
    when = view.get("when") or uktime.when(view.get("viewed_at"))
    return view | {
        "text": f"{who} saw your location ({when})" if when else f"{who} saw your location"
    }
