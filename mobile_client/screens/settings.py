"""Settings: server address, sign-in, data export and account deletion."""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.uix.screenmanager import Screen


class SettingsScreen(Screen):
    """Bound to ``app.ui.server_url`` and ``app.ui.signed_in``."""

    def save_name(self, name: str) -> None:
        app = App.get_running_app()
        app.core.submit(app.core.set_display_name, name)

    def save_phone(self, phone: str) -> None:
        app = App.get_running_app()
        app.core.submit(app.core.set_my_phone, phone)

    def save_server(self, url: str) -> None:
        App.get_running_app().core.set_server(url)

    def sign_in(self, token: str) -> None:
        app = App.get_running_app()
        if token.strip():
            app.core.submit(app.core.sign_in, token)
            self.ids.token.text = ""

    def demo(self) -> None:
        app = App.get_running_app()
        app.core.submit(app.core.sign_in_demo)

    def sign_out(self) -> None:
        App.get_running_app().core.sign_out()

    def on_pre_enter(self, *_: Any) -> None:
        app = App.get_running_app()
        if app.ui.app_config is None:
            app.core.submit(app.core.load_app_config)

    def offline_map_text(
        self, config: dict[str, Any] | None, saved: str | None, note: str | None
    ) -> str:
        if note:
            return note
        offline = (config or {}).get("offline_map")
        if saved:
            return "Offline map saved on this phone: the map works with no signal."
        if offline:
            return f"Streets of the borough for use with no signal ({offline['size_bytes'] / 1e6:.1f} MB)."
        return "This area has no offline map to download."

    def download_offline_map(self) -> None:
        app = App.get_running_app()
        app.core.submit(app.core.download_offline_map)

    def export(self) -> None:
        app = App.get_running_app()
        app.core.submit(app.core.export_data)

    def delete_account(self, *_: Any) -> None:
        app = App.get_running_app()
        app.core.submit(app.core.delete_account)
