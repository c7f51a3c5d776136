"""The quick-exit screen: nothing about SafeHaven on it; press and hold to come back."""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.uix.screenmanager import Screen

RETURN_HOLD_S = 2.0


class BlankScreen(Screen):
    """A plain, empty notes page. Journey sharing keeps running underneath."""

    def on_touch_down(self, touch: Any) -> bool:
        self._return = Clock.schedule_once(
            lambda *_: App.get_running_app().go("home"), RETURN_HOLD_S
        )
        return True

    def on_touch_up(self, touch: Any) -> bool:
        if getattr(self, "_return", None) is not None:
            self._return.cancel()
            self._return = None
        return True
