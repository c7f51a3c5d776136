"""Values built on first use and kept: the ward index, the gazetteer, the venue index of an
engine, an app's broker and stream slots. One rule for all of them: look without a lock, and build under one lock only
when the value is missing, checking again first, so concurrent first requests build it once."""

from __future__ import annotations

import threading
from collections.abc import Callable, MutableMapping
from typing import Any, TypeVar

T = TypeVar("T")

# Re-entrant: building one value may need another (the gazetteer reads the ward index).
_lock = threading.RLock()


def built_once(store: MutableMapping[Any, Any], key: Any, build: Callable[[], T]) -> T:
    """``store[key]``, made by ``build()`` the first time it is asked for."""
    value = store.get(key)
    if value is None:
        with _lock:
            value = store.get(key)
            if value is None:
                value = build()
                store[key] = value
    return value  # type: ignore[no-any-return]


def forget(store: MutableMapping[Any, Any], key: Any = None) -> Any:
    """Drop ``store[key]`` (and return it), or every value when ``key`` is None."""
    with _lock:
        if key is None:
            store.clear()
            return None
        return store.pop(key, None)
