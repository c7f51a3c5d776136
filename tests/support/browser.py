"""A real server on loopback and headless Debian Chromium driven by Selenium, for portal tests.

Selenium gets chromedriver's path explicitly, so Selenium Manager never downloads anything."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from pathlib import Path

from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
# npm axe-core, installed by .ci/run (npm install --prefix tests/support/axe axe-core@4.14.1).
AXE_JS = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--lang=en-GB",
    "--window-size=1024,1366",  # a tablet in portrait
]


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            return f"{path} is not installed (apt chromium chromium-driver)"
    return None


class LiveServer:
    """The Flask app served by werkzeug in a thread on 127.0.0.1, on a free port."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


class Browser:
    """Headless Chromium with a fresh profile; ``shot(name)`` saves tests/artifacts/<name>.png."""

    def __init__(self, base_url: str) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.base_url = base_url
        self._profile = tempfile.mkdtemp(prefix="safehaven-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={self._profile}")
        self._service = Service(executable_path=CHROMEDRIVER)
        self.driver = webdriver.Chrome(service=self._service, options=options)
        self.driver.set_page_load_timeout(30)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def go(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    @property
    def path(self) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(self.driver.current_url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    @property
    def text(self) -> str:
        """The page's visible text, retried while a navigation replaces the document."""
        from selenium.common.exceptions import WebDriverException

        for _ in range(50):
            try:
                return self.driver.find_element("tag name", "body").text
            except WebDriverException:
                time.sleep(0.1)
        return self.driver.find_element("tag name", "body").text

    def find(self, css: str):  # type: ignore[no-untyped-def]
        return self.driver.find_element("css selector", css)

    def find_all(self, css: str):  # type: ignore[no-untyped-def]
        return self.driver.find_elements("css selector", css)

    def fill(self, css: str, value: str) -> None:
        element = self.find(css)
        element.clear()
        element.send_keys(value)

    def select(self, css: str, value: str) -> None:
        from selenium.webdriver.support.ui import Select

        Select(self.find(css)).select_by_value(value)

    def click(self, css: str, navigates: bool = True) -> None:
        """Click; by default wait until the next page has replaced this one."""
        self.press(self.find(css), navigates)

    def press(self, element, navigates: bool = True) -> None:  # type: ignore[no-untyped-def]
        """Click ``element``; when it navigates, wait for a new, fully loaded document.

        The old document is marked with a window property before the click: the wait ends
        when the current document lacks it. (Waiting for the old node to go stale races with
        chromedriver, which can report "node does not belong to the document" instead.)"""
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.support.ui import WebDriverWait

        if navigates:
            self.driver.execute_script("window.__safehavenOldPage = true")
        element.click()
        if not navigates:
            return

        def arrived(driver) -> bool:  # type: ignore[no-untyped-def]
            try:
                return bool(
                    driver.execute_script(
                        "return !window.__safehavenOldPage && document.readyState === 'complete'"
                    )
                )
            except WebDriverException:  # mid-navigation: ask again
                return False

        WebDriverWait(self.driver, 40).until(arrived)

    def wait_for(self, condition, timeout: float = 30.0):  # type: ignore[no-untyped-def]
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, timeout).until(lambda _d: condition())

    def shot(self, name: str) -> Path:
        """Screenshot of the whole page (the window is stretched to the page height)."""
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        self.driver.set_window_size(1024, max(800, min(int(height) + 40, 4000)))
        path = ARTIFACTS / f"{name}.png"
        self.driver.save_screenshot(str(path))
        self.driver.set_window_size(1024, 1366)
        return path

    # --- accessibility and phone width -----------------------------------------------------

    def axe_violations(self) -> list[dict]:  # type: ignore[type-arg]
        """axe-core's WCAG 2.x A/AA (and 2.2) violations on the current page, each as
        ``{id, impact, help, nodes: [target...]}`` (axe.min.js from npm, see AXE_JS)."""
        if not AXE_JS.exists():
            raise AssertionError(f"{AXE_JS} is missing: `make test` installs it (npm axe-core)")
        self.driver.execute_script(AXE_JS.read_text(encoding="utf-8"))
        result = self.driver.execute_async_script(
            "var done = arguments[arguments.length - 1];"
            "axe.run(document, {runOnly: {type: 'tag', values: "
            "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})"
            ".then(function (r) { done(r.violations.map(function (v) { return {"
            "id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(function (n) {"
            "return n.target.join(' '); })}; })); })"
            ".catch(function (e) { done([{id: 'axe-error', help: String(e), nodes: []}]); });"
        )
        return list(result)

    def phone(self, width: int = 390, height: int = 844) -> None:
        """Emulate a phone's viewport (CSS pixels) until ``desktop()``."""
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": True},
        )

    def desktop(self) -> None:
        self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

    def sideways_overflow(self) -> int:
        """How many CSS pixels the page scrolls sideways (0 when it fits)."""
        return int(
            self.driver.execute_script(
                "var e = document.documentElement;"
                "return Math.max(e.scrollWidth, document.body.scrollWidth) - e.clientWidth;"
            )
        )

    def phone_shot(self, name: str, width: int = 390) -> Path:
        """Screenshot of the whole page at phone width."""
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        self.phone(width, max(640, min(int(height) + 20, 4000)))
        path = ARTIFACTS / f"{name}.png"
        self.driver.save_screenshot(str(path))
        self.phone(width)
        return path

    def sign_in(self, uid: str) -> None:
        """Development sign-in through the page, as a person would."""
        self.driver.delete_all_cookies()
        self.go("/portal/sign-in")
        self.fill("#dev-uid", uid)
        self.click("#dev-uid + button, form.inline button.secondary")

    def close(self) -> None:
        try:
            self.driver.quit()
        finally:
            self._service.stop()
            shutil.rmtree(self._profile, ignore_errors=True)


def assert_accessible(browser, name: str) -> None:  # type: ignore[no-untyped-def]
    """0 axe-core violations, and at 390 px nothing scrolls sideways (screenshot too)."""
    violations = browser.axe_violations()
    assert violations == [], f"{name}: {violations}"
    browser.phone()
    try:
        assert browser.sideways_overflow() <= 0, f"{name} scrolls sideways at 390 px"
        browser.phone_shot(f"{name}-390px")
    finally:
        browser.desktop()
