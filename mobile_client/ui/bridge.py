"""The Kivy side of AppState: the same fields as Kivy properties, updated on the UI thread.

The core may change state from any thread; changes are collected and applied on the next
frame through one coalescing trigger, so a burst of GPS fixes redraws once."""

from __future__ import annotations

import threading
from dataclasses import fields

from kivy.clock import Clock
from kivy.event import EventDispatcher
from kivy.properties import ObjectProperty

from mobile_client.core.state import AppState

_FIELDS = [f.name for f in fields(AppState)]

UIStateBase = type(
    "UIStateBase",
    (EventDispatcher,),
    {name: ObjectProperty(None, allownone=True, rebind=False) for name in _FIELDS},
)


class UIState(UIStateBase):  # type: ignore[misc, valid-type]
    """Mirror of :class:`AppState` for kv bindings (``app.ui.journey`` etc.)."""

    def __init__(self, state: AppState, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._state = state
        self._pending: set[str] = set(_FIELDS)
        self._lock = threading.Lock()
        self._trigger = Clock.create_trigger(self._apply, 0)
        self._apply()
        state.subscribe(self._on_change)

    def _on_change(self, changed: set[str]) -> None:
        with self._lock:
            self._pending |= changed
        self._trigger()

    def _apply(self, *_: object) -> None:
        with self._lock:
            names, self._pending = self._pending, set()
        for name in sorted(names, key=_FIELDS.index):
            value = getattr(self._state, name)
            if isinstance(value, list):
                value = list(value)
            elif isinstance(value, dict):
                value = dict(value)
            setattr(self, name, value)
