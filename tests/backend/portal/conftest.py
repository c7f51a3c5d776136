"""Portal browser fixtures: one loopback server and one headless Chromium per session."""

from __future__ import annotations

import pytest

from tests.support import databases
from tests.support.browser import Browser, LiveServer, missing_browser


@pytest.fixture(scope="session")
def live_server(app):  # type: ignore[no-untyped-def]
    server = LiveServer(app).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _chromium(live_server):  # type: ignore[no-untyped-def]
    reason = missing_browser()
    if reason:
        if databases.IN_CI:
            pytest.fail(f"CI=true and the browser tests cannot run: {reason}")
        pytest.skip(reason)
    browser = Browser(live_server.url)
    yield browser
    browser.close()


@pytest.fixture
def browser(_chromium):  # type: ignore[no-untyped-def]
    """The session's Chromium, signed out."""
    _chromium.driver.delete_all_cookies()
    return _chromium
