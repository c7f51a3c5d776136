"""Contacts: invite, accept, revoke, and who has looked at my location."""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.factory import Factory
from kivy.uix.screenmanager import Screen

DIRECTION_TEXT = {
    "i_trust": "can watch your journeys",
    "trusts_me": "shares journeys with you",
    "mutual": "trusted contact",
}


class ContactsScreen(Screen):
    """Bound to ``app.ui.contacts``, ``app.ui.invitation`` and ``app.ui.viewers``."""

    def on_kv_post(self, base_widget: Any) -> None:
        app = App.get_running_app()
        app.ui.bind(contacts=self._show, viewers=self._show_viewers)
        self._show(app.ui, app.ui.contacts)
        self._show_viewers(app.ui, app.ui.viewers)

    def _show(self, _ui: Any, contacts: list[dict[str, Any]] | None) -> None:
        box = self.ids.list
        box.clear_widgets()
        if not contacts:
            box.add_widget(Factory.Muted(text="No contacts yet."))
        for c in contacts or []:
            row = Factory.ContactRow()
            row.ids.name.text = c["name"]
            row.ids.what.text = DIRECTION_TEXT.get(c["direction"], c["direction"])
            row.ids.revoke.bind(on_release=lambda *_, cid=c["id"]: self.revoke(cid))
            box.add_widget(row)

    def _show_viewers(self, _ui: Any, viewers: list[dict[str, Any]] | None) -> None:
        box = self.ids.viewers
        box.clear_widgets()
        for v in viewers or []:
            who = v.get("viewer") or v.get("name") or v.get("viewer_uid") or "watch link"
            box.add_widget(
                Factory.Muted(text=f"{who} looked at {v.get('viewed_at') or v.get('at', '')}")
            )
        if not viewers:
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

    def revoke(self, contact_id: int) -> None:
        app = App.get_running_app()
        app.core.submit(app.core.revoke_contact, contact_id)

    def who_can_see(self) -> None:
        app = App.get_running_app()
        app.core.submit(app.core.load_viewers)

    @staticmethod
    def invitation_text(invitation: dict[str, Any] | None) -> str:
        """The code to pass on and until when it works (the link is in the copied text)."""
        if not invitation:
            return ""
        from datetime import datetime

        expires = str(invitation.get("expires_at", ""))
        try:
            expires = (
                datetime.fromisoformat(expires.replace("Z", "+00:00"))
                .astimezone()
                .strftime("%a %d %b, %H:%M")
            )
        except ValueError:
            pass
        return f"Invitation code: {invitation.get('code', '')}\nWorks once, until {expires}"

    @staticmethod
    def invitation_message(invitation: dict[str, Any] | None) -> str:
        if not invitation:
            return ""
        return (
            "Please be my trusted contact on SafeHaven. In the app, open Contacts and accept "
            f"the code {invitation.get('code', '')} (or open {invitation.get('link', '')})."
        )
