"""Contacts: invite, accept, revoke, and who has looked at my location."""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.factory import Factory
from kivy.uix.screenmanager import Screen

from shared_schemas import uktime

DIRECTION_TEXT = {
    "i_trust": "can watch your journeys",
    "trusts_me": "shares journeys with you",
    "mutual": "trusted contact",
}


class ContactsScreen(Screen):
    """Bound to ``app.ui.contacts``, ``app.ui.invitation`` and ``app.ui.viewers``."""

    def on_kv_post(self, base_widget: Any) -> None:
        app = App.get_running_app()
        app.ui.bind(contacts=self._show, viewers=self._show_viewers, sos=self._show)
        self._show(app.ui, app.ui.contacts)
        self._show_viewers(app.ui, app.ui.viewers)

    def _show(self, *_: Any) -> None:
        app = App.get_running_app()
        contacts = app.ui.contacts
        box = self.ids.list
        box.clear_widgets()
        if not contacts:
            box.add_widget(Factory.Muted(text="No contacts yet."))
        for c in contacts or []:
            row = Factory.ContactRow()
            row.ids.name.text = c["name"]
            row.ids.what.text = DIRECTION_TEXT.get(c["direction"], "trusted contact")
            warning = app.core.revoke_warning(c)
            row.ids.warning.text = warning if "watching" in warning else ""
            row.ids.revoke.text = f"Hold to stop sharing with {c['name']}"
            if c["direction"] == "trusts_me":
                row.ids.revoke.text = f"Hold to stop watching {c['name']}"
            row.ids.revoke.bind(on_hold=lambda btn, c=c: self.revoke(btn, c))
            row.ids.revoke.bind(on_short=lambda _btn, c=c: self.hold_hint(c))
            row.ids.share_mine.text = f"Let {c['name']} see my phone number"
            row.ids.share_mine.state = "down" if c.get("share_phone") else "normal"
            row.ids.share_mine.bind(
                on_release=lambda btn, c=c: self.share_mine(c, btn.state == "down")
            )
            if c["direction"] in ("i_trust", "mutual"):
                row.ids.phone.text = c.get("local_phone") or ""
                row.ids.save_phone.bind(
                    on_release=lambda _btn, c=c, field=row.ids.phone: self.save_phone(c, field.text)
                )
            else:
                row.remove_widget(row.ids.phone_row)
                row.remove_widget(row.ids.phone_note)
            box.add_widget(row)

    def share_mine(self, contact: dict[str, Any], share: bool) -> None:
        app = App.get_running_app()
        app.core.submit(app.core.share_my_phone, contact["link_id"], share)

    def hold_hint(self, contact: dict[str, Any]) -> None:
        app = App.get_running_app()
        app.core.state.update(message=app.core.revoke_warning(contact))

    def save_phone(self, contact: dict[str, Any], number: str) -> None:
        app = App.get_running_app()
        app.core.submit(app.core.set_contact_phone, contact["user_id"], number)
        app.core.state.update(
            notice={
                "kind": "phone",
                "text": f"Number for {contact['name']} kept on this phone only, for texts in an SOS.",
            }
            if number.strip()
            else None
        )

    def _show_viewers(self, _ui: Any, viewers: list[dict[str, Any]] | None) -> None:
        box = self.ids.viewers
        box.clear_widgets()
        for v in viewers or []:
            box.add_widget(Factory.Muted(text=str(v.get("text") or "Someone looked")))
        if not viewers and not getattr(self, "_asked", False):
            box.add_widget(Factory.Muted(text="Tap above to see who has seen your location."))
        elif not viewers:
            box.add_widget(Factory.Muted(text="Nobody has looked at your location."))

    def invite(self) -> None:
        app = App.get_running_app()
        app.core.submit(app.core.create_invitation)

    def copy_invitation(self, text: str) -> None:
        from kivy.core.clipboard import Clipboard

        Clipboard.copy(text)
        App.get_running_app().core.state.update(
            message="Invitation copied: send it to someone you trust."
        )

    def accept(self, code: str) -> None:
        app = App.get_running_app()
        if code.strip():
            app.core.submit(app.core.accept_invitation, code)

    def revoke(self, button: Any, contact: dict[str, Any]) -> None:
        """Held long enough (a stray tap revokes nobody)."""
        button.reset()
        app = App.get_running_app()
        app.core.submit(app.core.revoke_contact, contact["link_id"])

    def who_can_see(self) -> None:
        from kivy.clock import Clock

        self._asked = True
        app = App.get_running_app()
        future = app.core.submit(app.core.load_viewers)
        # an empty answer changes no state: redraw when it is in, to say "nobody"
        future.add_done_callback(
            lambda _f: Clock.schedule_once(
                lambda _dt: self._show_viewers(None, app.ui.viewers), 0.3
            )
        )

    @staticmethod
    def invitation_text(invitation: dict[str, Any] | None) -> str:
        """The code to pass on and until when it works (the link is in the copied text)."""
        if not invitation:
            return ""
        expires = uktime.when(invitation.get("expires_at")) or "it expires"
        return f"Invitation code: {invitation.get('code', '')}\nWorks once, until {expires}"

    @staticmethod
    def invitation_message(invitation: dict[str, Any] | None) -> str:
        if not invitation:
            return ""
        return (
            "Please be my trusted contact on SafeHaven. In the app, open Contacts and accept "
            f"the code {invitation.get('code', '')} (or open {invitation.get('link', '')})."
        )
