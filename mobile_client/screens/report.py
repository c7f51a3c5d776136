"""Report a concern: category with its guidance, what happened, where, anonymous or not."""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.uix.screenmanager import Screen

DANGER_LINE = "If anyone is in danger now, call 999."


class ReportScreen(Screen):
    """Bound to ``app.ui.categories``; reports go through the offline outbox."""

    def category_names(self, categories: list[dict[str, Any]] | None) -> list[str]:
        return [c.get("name") or c.get("label") or c.get("code") for c in categories or []]

    def category(self, name: str) -> dict[str, Any] | None:
        for c in App.get_running_app().ui.categories or []:
            if name in (c.get("name"), c.get("label"), c.get("code")):
                return c
        return None

    def guidance(self, name: str) -> str:
        c = self.category(name)
        if not c:
            return DANGER_LINE
        text = c.get("guidance") or ""
        team = c.get("team") or c.get("handled_by")
        if team:
            text += f"\nHandled by: {team}"
        if c.get("anonymous_allowed") is False:
            text += "\nThis kind of report cannot be anonymous."
        return text.strip() or DANGER_LINE

    def on_category(self, name: str) -> None:
        """A category that needs a way back to the reporter turns the anonymous switch off."""
        c = self.category(name)
        allowed = not c or c.get("anonymous_allowed", True)
        self.ids.anonymous.disabled = not allowed
        if not allowed:
            self.ids.anonymous.active = False

    def submit(self) -> None:
        app = App.get_running_app()
        ids = self.ids
        c = self.category(ids.category.text)
        if not c:
            app.core.state.update(message="Choose a category first.")
            return
        use_postcode = ids.postcode.text.strip()
        app.core.submit(
            self._send,
            app,
            c.get("code") or c.get("id"),
            ids.description.text,
            ids.anonymous.active,
            use_postcode or None,
            ids.contact_ok.active,
        )

    def _send(
        self,
        app: Any,
        code: str,
        text: str,
        anonymous: bool,
        postcode: str | None,
        contact_ok: bool,
    ) -> None:
        result = app.core.submit_report(
            code, text, anonymous, postcode=postcode, contact_ok=contact_ok
        )
        if result.sent or result.offline:
            app.later(self._clear)

    def _clear(self) -> None:
        self.ids.description.text = ""
