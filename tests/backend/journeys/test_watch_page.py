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
        assert browser.find_element(By.ID, "position").text == "No position yet"
        assert not browser.find_element(By.ID, "maps").is_displayed()

        url = f"{server}/api/v1/journeys/{journey['id']}/locations"
        at = datetime.now(UTC) - timedelta(seconds=1)
        http.post(url, json={"fixes": [fix(53.54321, -2.63987, at, battery=58, accuracy_m=7)]})
        # a new fix has no place label yet: its coordinates, labelled as such
        assert text_becomes(browser, "position", "53.5432, -2.6399 (within 7 m)")
        assert browser.find_element(By.ID, "position-label").text == "Position (coordinates)"
        assert browser.find_element(By.ID, "battery").text == "58%"
        assert text_becomes(browser, "since", "just now")
        maps = browser.find_element(By.ID, "maps")
        assert maps.is_displayed() and "mlat=53.54321&mlon=-2.63987" in maps.get_attribute("href")

        http.post(f"{server}/api/v1/journeys/{journey['id']}/sos")
        assert text_becomes(browser, "state", "Alice Ashton needs help now")
        # the SOS state carries the server's place for the last fix
        assert browser.find_element(By.ID, "position-label").text == "Near"
        assert browser.find_element(By.ID, "position").text.startswith("WN")
        ARTIFACTS.mkdir(exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / f"watch_page_sos_{shape.replace(' ', '_')}.png"))
        http.post(f"{server}/api/v1/journeys/{journey['id']}/arrived")
        assert text_becomes(browser, "state", "Alice Ashton arrived safely")

        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == [], errors
        # the link expired with the journey
        browser.get(journey["watch_url"])
        assert "journey has ended" in browser.find_element(By.ID, "gone").text


PHONE = (412, 915)  # a common Android phone in CSS pixels


def visible_text_is_for_people(text: str) -> None:
    """No raw value reaches the page: no None/null/undefined, no ISO time, no UTC, no NaN."""
    import re

    for raw in ("None", "null", "undefined", "NaN", "UTC", "[object"):
        assert raw not in text, (raw, text)
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", text), text


def test_an_sos_arriving_live_is_shown_first_in_red_and_announced(
    app, client, database_url, redis_url, browser, resident, other_resident
):
    """A link viewer's page, on a phone: an SOS raised with POST /api/v1/sos appears at the top
    in red with its UK time, the alert lands in the live region, names not ids."""
    import uuid

    from selenium.webdriver.common.by import By

    from backend.alerts.worker import run_once
    from backend.realtime.broker import close_broker
    from shared_schemas.uktime import clock
    from tests.support.apps import make_test_app
    from tests.support.browser import ARTIFACTS
    from tests.support.journeys import PIER, befriend

    prefix = f"watch-{uuid.uuid4().hex[:8]}:"
    env = {
        "SAFEHAVEN_ENV": "testing",
        "SAFEHAVEN_AUTH": "dev",
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": database_url,
        "SAFEHAVEN_RATELIMIT": "false",
        "REDIS_URL": redis_url,
        "SAFEHAVEN_REDIS_PREFIX": prefix,
    }
    worker = make_test_app(
        database_url, env={"REDIS_URL": redis_url}, SAFEHAVEN_REDIS_PREFIX=prefix
    )
    client.patch("/api/v1/me", json={"display_name": "Alice Ashton"}, headers=resident.headers)
    client.patch("/api/v1/me", json={"display_name": "Bob"}, headers=other_resident.headers)
    befriend(client, resident, other_resident)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        with gunicorn(env) as server, requests.Session() as http:
            http.headers.update(resident.headers)
            journey = http.post(
                f"{server}/api/v1/journeys",
                json={
                    "destination": {"lat": PARK[0], "lon": PARK[1], "label": "Mesnes Park"},
                    "expected_arrival_at": iso(datetime.now(UTC) + timedelta(minutes=25)),
                    "contact_ids": [other_resident.id],
                    "watch_link": True,
                },
            ).json()
            at = datetime.now(UTC) - timedelta(minutes=2, seconds=5)
            http.post(
                f"{server}/api/v1/journeys/{journey['id']}/locations",
                json={"fixes": [fix(PIER[0], PIER[1], at, battery=41, accuracy_m=12)]},
            )
            browser.set_window_size(*PHONE)
            browser.get(journey["watch_url"])
            assert text_becomes(browser, "state", "On the way")
            live = browser.find_element(By.ID, "live")
            assert live.get_attribute("aria-live") == "assertive"
            assert live.find_element(By.ID, "state") and live.find_element(By.ID, "alerts")
            assert browser.find_element(By.ID, "position-label").text == "Near"
            assert browser.find_element(By.ID, "position").text.startswith("WN")
            assert text_becomes(browser, "since", f"2 min ago ({clock(at)})")
            assert browser.find_element(By.ID, "distance").text.endswith("km")
            browser.save_screenshot(str(ARTIFACTS / "watch_page_on_the_way.png"))

            sos = http.post(
                f"{server}/api/v1/sos",
                json={
                    "client_id": str(uuid.uuid4()),
                    "lat": PIER[0],
                    "lon": PIER[1],
                    "battery": 40,
                    "recorded_at": iso(datetime.now(UTC)),
                },
            ).json()
            raised = clock(datetime.fromisoformat(sos["raised_at"]))
            banner = text_becomes(browser, "sos", f"Alice Ashton pressed SOS at {raised}")
            assert banner.startswith("SOS: ")
            assert (
                browser.find_element(By.ID, "sos").value_of_css_property("background-color")
                == "rgba(176, 0, 32, 1)"
            )
            assert live.find_element(By.ID, "sos").is_displayed()  # inside the live region
            assert text_becomes(browser, "state", "Alice Ashton needs help now")
            assert browser.find_element(By.ID, "battery").text == "40%"

            run_once(worker)  # the worker fans the alert out to the streams
            alert = text_becomes(browser, "alerts", "SOS from Alice Ashton")
            assert "Alice Ashton pressed SOS. Near WN" in alert
            # what matters is on screen without scrolling on a phone
            bottom = browser.execute_script(
                "var r = document.getElementById('maps').getBoundingClientRect();"
                "return r.bottom <= window.innerHeight && r.top >= 0;"
            )
            assert bottom is True
            visible_text_is_for_people(browser.find_element(By.TAG_NAME, "body").text)
            browser.save_screenshot(str(ARTIFACTS / "watch_page_sos.png"))
            errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
            assert errors == [], errors
    finally:
        close_broker(worker)


def test_an_emergency_share_page_has_no_trip_rows_and_says_who_revoked_the_link(
    app, client, database_url, browser, resident, other_resident
):
    import uuid

    from selenium.webdriver.common.by import By

    from shared_schemas.uktime import clock
    from tests.support.browser import ARTIFACTS
    from tests.support.journeys import PIER, befriend

    env = {
        "SAFEHAVEN_ENV": "testing",
        "SAFEHAVEN_AUTH": "dev",
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": database_url,
        "SAFEHAVEN_RATELIMIT": "false",
    }
    client.patch("/api/v1/me", json={"display_name": "Alice Ashton"}, headers=resident.headers)
    befriend(client, resident, other_resident)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with gunicorn(env) as server, requests.Session() as http:
        http.headers.update(resident.headers)
        sos = http.post(
            f"{server}/api/v1/sos",
            json={
                "client_id": str(uuid.uuid4()),
                "lat": PIER[0],
                "lon": PIER[1],
                "accuracy_m": 15,
                "battery": 9,
                "recorded_at": iso(datetime.now(UTC)),
            },
        ).json()
        link = http.post(f"{server}/api/v1/journeys/{sos['journey_id']}/watch-links").json()
        browser.set_window_size(*PHONE)
        browser.get(link["url"])
        assert text_becomes(browser, "title", "Emergency share from Alice Ashton")
        raised = clock(datetime.fromisoformat(sos["raised_at"]))
        assert text_becomes(browser, "sos", f"pressed SOS at {raised}")
        assert browser.find_element(By.ID, "battery").text == "9%"
        assert browser.find_element(By.ID, "position").text.startswith("WN")
        assert not browser.find_element(By.ID, "destination").is_displayed()
        assert not browser.find_element(By.ID, "distance").is_displayed()
        visible_text_is_for_people(browser.find_element(By.TAG_NAME, "body").text)
        browser.save_screenshot(str(ARTIFACTS / "watch_page_emergency_share.png"))

        gone = http.delete(f"{server}/api/v1/journeys/{sos['journey_id']}/watch-links/{link['id']}")
        assert gone.status_code == 204
        revoked = text_becomes(browser, "state", "Alice Ashton stopped sharing this link at ")
        assert revoked.rsplit(" ", 1)[-1] == clock(datetime.now(UTC))
        assert not browser.find_element(By.ID, "sos").is_displayed()
        # consent withdrawn: the position shown before is taken away
        assert not browser.find_element(By.ID, "position").is_displayed()
        assert not browser.find_element(By.ID, "maps").is_displayed()
        assert "no longer updates" in browser.find_element(By.ID, "note").text
        visible_text_is_for_people(browser.find_element(By.TAG_NAME, "body").text)
        browser.save_screenshot(str(ARTIFACTS / "watch_page_link_revoked.png"))
