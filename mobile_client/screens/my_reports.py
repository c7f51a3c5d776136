"""My reports: each report's reference, status, public notes and history, in UK time. Named
reports come from the server; anonymous ones are followed by the receipt on this phone."""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.factory import Factory
from kivy.uix.screenmanager import Screen

from shared_schemas import uktime

STATUS_WORDS = {
    "received": "Received",
    "acknowledged": "Seen by the team",
    "in_progress": "Being dealt with",
    "closed": "Closed",
}
STEP_WORDS = {"received": "Received", "note": "Note", "closed": "Closed", "reopened": "Reopened"}


def describe(report: dict[str, Any]) -> list[tuple[str, str]]:
    """The lines of one report's card as (style, text): heading, status, notes, history."""
    lines = [
        ("Heading", f"{report.get('category_name') or report.get('category')}"),
        (
            "Body",
            f"Reference {report.get('reference')}"
            + (" (anonymous, followed on this phone)" if report.get("anonymous") else ""),
        ),
        ("Body", f"Status: {STATUS_WORDS.get(report.get('status') or '', report.get('status'))}"),
        ("Muted", f"Sent {uktime.date_time(report.get('created_at'))}"),
    ]
    if report.get("public_note"):
        lines.append(("Body", f"What was done: {report['public_note']}"))
    for step in report.get("updates") or []:
        kind = step.get("kind") or "status"
        what = STEP_WORDS.get(kind) or STATUS_WORDS.get(step.get("status") or "", kind)
        note = f": {step['note']}" if step.get("note") else ""
        lines.append(("Muted", f"{uktime.date_time(step.get('created_at'))}  {what}{note}"))
    return lines


class MyReportsScreen(Screen):
    """Bound to ``app.ui.my_reports``."""

    def on_kv_post(self, base_widget: Any) -> None:
        app = App.get_running_app()
        app.ui.bind(my_reports=self._show)
        self._show(app.ui, app.ui.my_reports)

    def _show(self, _ui: Any, reports: list[dict[str, Any]] | None) -> None:
        box = self.ids.list
        box.clear_widgets()
        if not reports:
            box.add_widget(Factory.Muted(text="No reports yet. Reports you send appear here."))
        for report in reports or []:
            card = Factory.Column(padding=(0, 8), spacing=4)
            for style, text in describe(report):
                card.add_widget(getattr(Factory, style)(text=text))
            box.add_widget(card)
