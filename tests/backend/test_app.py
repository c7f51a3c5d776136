"""The application class: Flask, with ``ensure_sync``'s answer for plain functions kept."""

from __future__ import annotations

from backend.app import SafeHavenFlask


def test_plain_functions_are_run_as_they_are_and_remembered():
    app = SafeHavenFlask(__name__)

    def view() -> str:
        return "ok"

    assert app.ensure_sync(view) is view
    assert view in app._plain_functions
    assert app.ensure_sync(view) is view


def test_async_functions_still_go_through_flask_every_time(monkeypatch):
    app = SafeHavenFlask(__name__)
    wrapped = []

    def async_to_sync(func):  # type: ignore[no-untyped-def]  # Flask's needs asgiref
        wrapped.append(func)
        return lambda *args, **kwargs: "ran"

    monkeypatch.setattr(app, "async_to_sync", async_to_sync)

    async def view() -> str:
        return "ok"

    assert app.ensure_sync(view)() == "ran"
    assert app.ensure_sync(view)() == "ran"
    assert wrapped == [view, view]
    assert view not in app._plain_functions


def test_the_functions_kept_are_bounded():
    app = SafeHavenFlask(__name__)
    app.PLAIN_FUNCTIONS_KEPT = 2  # type: ignore[misc]
    made = [lambda n=n: n for n in range(5)]
    for func in made:
        assert app.ensure_sync(func) is func
    assert len(app._plain_functions) == 2
