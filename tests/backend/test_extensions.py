"""Flask's session still works as Flask's own (the lazy interface only skips work for
requests without the cookie)."""

from __future__ import annotations

from flask import session

from tests.support.apps import make_test_app


def test_the_flask_session_round_trips_and_an_untouched_one_sets_no_cookie(database_url):
    app = make_test_app(database_url)

    @app.get("/_session/count")
    def count():  # type: ignore[no-untyped-def]
        session["n"] = session.get("n", 0) + 1
        return {"n": session["n"]}

    @app.get("/_session/peek")
    def peek():  # type: ignore[no-untyped-def]
        return {"n": session.get("n")}

    @app.get("/_session/none")
    def untouched():  # type: ignore[no-untyped-def]
        return {}

    client = app.test_client()
    fresh = client.get("/_session/none")
    assert "Set-Cookie" not in fresh.headers and "Cookie" not in fresh.headers.get("Vary", "")
    looked = client.get("/_session/peek")
    assert looked.get_json() == {"n": None} and "Cookie" in looked.headers["Vary"]
    assert "Set-Cookie" not in looked.headers
    assert client.get("/_session/count").get_json() == {"n": 1}
    assert client.get("/_session/count").get_json() == {"n": 2}
    assert client.get("/_session/peek").get_json() == {"n": 2}
    client.set_cookie("session", "forged.value.sig")
    assert client.get("/_session/peek").get_json() == {"n": None}
