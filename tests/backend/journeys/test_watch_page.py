"""The watch page in headless Chromium: live position, battery, state; no inline scripts."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.support.apps import TEST_SECRET
from tests.support.browser import ARTIFACTS
from tests.support.journeys import PARK, fix, iso
from tests.support.production import production_shape
from tests.support.servers import gunicorn

pytestmark = pytest.mark.slow

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture
def browser():  # type: ignore[no-untyped-def]
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.skip("headless Chromium (apt chromium, chromium-driver) is not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def text_becomes(driver, element_id: str, expected: str, timeout: float = 10) -> str:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(
        lambda d: expected in d.find_element(By.ID, element_id).text
    )
    return driver.find_element(By.ID, element_id).text


@contextlib.contextmanager
def served(shape: str, database_url: str, request) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The site's base URL: one gunicorn streaming itself (as one process does), or the
    production shape (the load balancer in front of the API pool and the stream server)."""
    if shape == "production":
        with production_shape(database_url, request.getfixturevalue("redis_url")) as site:
            yield site.url
        return
    env = {
        "SAFEHAVEN_ENV": "testing",
        "SAFEHAVEN_AUTH": "dev",
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": database_url,
        "SAFEHAVEN_RATELIMIT": "false",
    }
    with gunicorn(env) as server:
        yield server


@pytest.mark.parametrize("shape", ["one process", "production"])
def test_the_watch_page_updates_live_in_chromium(
    app, database_url, browser, resident, shape, request
):
    from selenium.webdriver.common.by import By

    with served(shape, database_url, request) as server, requests.Session() as http:
        http.headers.update(resident.headers)
        http.patch(f"{server}/api/v1/me", json={"display_name": "Alice Ashton"})
        journey = http.post(
            f"{server}/api/v1/journeys",
            json={
                "destination": {"lat": PARK[0], "lon": PARK[1], "label": "Mesnes Park"},
                "expected_arrival_at": iso(datetime.now(UTC) + timedelta(minutes=25)),
                "watch_link": True,
            },
        ).json()
        page = requests.get(journey["watch_url"], timeout=5)
        assert page.status_code == 200
        assert "<script>" not in page.text and 'src="/watch/static/watch.js"' in page.text
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]

        browser.get(journey["watch_url"])
        assert text_becomes(browser, "owner", "Alice Ashton")
        assert text_becomes(browser, "state", "On the way")
        assert browser.find_element(By.ID, "destination").text == "Mesnes Park"
        assert browser.find_element(By.ID, "position").text == "no fix yet"

        url = f"{server}/api/v1/journeys/{journey['id']}/locations"
        at = datetime.now(UTC) - timedelta(seconds=1)
        http.post(url, json={"fixes": [fix(53.54321, -2.63987, at, battery=58, accuracy_m=7)]})
        assert text_becomes(browser, "position", "53.54321, -2.63987 (±7 m)")
        assert browser.find_element(By.ID, "battery").text == "58%"
        assert text_becomes(browser, "since", "s ago")
        assert browser.find_elements(By.CSS_SELECTOR, "#plot circle")

        http.post(f"{server}/api/v1/journeys/{journey['id']}/sos")
        assert text_becomes(browser, "state", "SOS raised")
        ARTIFACTS.mkdir(exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / f"watch_page_sos_{shape.replace(' ', '_')}.png"))
        http.post(f"{server}/api/v1/journeys/{journey['id']}/arrived")
        assert text_becomes(browser, "state", "Arrived safely")

        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == [], errors
        # the link expired with the journey
        browser.get(journey["watch_url"])
        assert "journey has ended" in browser.find_element(By.ID, "gone").text
