"""backend.built_once: the one rule for values built on first use (ward index, gazetteer, an
app's broker and stream slots)."""

from __future__ import annotations

import threading
import time

from backend.built_once import built_once, forget


def test_concurrent_first_uses_build_the_value_once_and_all_get_it():
    store: dict[str, object] = {}
    builds: list[object] = []
    start = threading.Barrier(8)

    def build() -> object:
        time.sleep(0.05)  # long enough for every thread to arrive while it is being built
        value = object()
        builds.append(value)
        return value

    seen: list[object] = []

    def use() -> None:
        start.wait()
        seen.append(built_once(store, "key", build))

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(builds) == 1
    assert seen == [builds[0]] * 8


def test_a_build_may_need_another_built_value():
    store: dict[str, int] = {}
    outer = built_once(store, "outer", lambda: built_once(store, "inner", lambda: 2) + 1)
    assert (outer, store) == (3, {"inner": 2, "outer": 3})


def test_forget_one_key_returns_it_and_forget_all_empties_the_store():
    store = {"a": 1, "b": 2}
    assert forget(store, "a") == 1
    assert forget(store, "missing") is None
    assert store == {"b": 2}
    forget(store)
    assert store == {}
    assert built_once(store, "b", lambda: 5) == 5
