"""Signing in to the portal through the test client, and reading CSRF tokens from pages."""

from __future__ import annotations

import re

CSRF_RE = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


def csrf_from(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def sign_in(client, uid: str):  # type: ignore[no-untyped-def]
    """Sign ``uid`` in via the development sign-in page; returns the final response."""
    page = client.get("/portal/sign-in")
    token = csrf_from(page.get_data(as_text=True))
    return client.post(
        "/portal/sign-in/dev", data={"uid": uid, "csrf_token": token}, follow_redirects=False
    )


def token_for(client, path: str = "/portal/") -> str:
    """A CSRF token for the signed-in session of ``client``."""
    return csrf_from(client.get(path).get_data(as_text=True))
