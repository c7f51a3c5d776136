"""UI tests: the real app in a real Kivy window (Xvfb, or SDL's offscreen driver), driven by
touches against a live server; a screenshot per screen under ``tests/artifacts/``.

Each app runs in its own process (``ui_driver``) so Kivy's global window and clock never
leak into the rest of the suite, and a hung window is killed at a bounded timeout. Locally
without Kivy or Xvfb these tests skip with the reason; with ``CI=true`` they fail."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.databases import IN_CI

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
SCENARIO_TIMEOUT_S = 100


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true and the UI tests cannot run: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def display(tmp_path_factory):  # type: ignore[no-untyped-def]
    """A private X display (Xvfb) for the app windows; ends with the session."""
    import importlib.util

    if importlib.util.find_spec("kivy") is None:
        _unavailable("Kivy is not installed (pip install -e '.[client]')")
    xvfb = shutil.which("Xvfb")
    if not xvfb:
        _unavailable("Xvfb is not installed (apt-get install xvfb)")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        [
            xvfb,
            "-displayfd",
            str(write_fd),
            "-screen",
            "0",
            "720x1280x24",
            "-nolisten",
            "tcp",
            "-noreset",
        ],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()
    if not number:
        proc.kill()
        proc.wait()
        _unavailable("Xvfb did not start")
    yield f":{number}"
    proc.terminate()
    proc.wait(timeout=10)


def features(app) -> list[str]:  # type: ignore[no-untyped-def]
    """Which of the app's server APIs this backend has (others are merged later)."""
    rules = {r.rule for r in app.url_map.iter_rules()}
    have = {
        "venues": "/api/v1/venues/nearest",
        "journeys": "/api/v1/journeys",
        "contacts": "/api/v1/contacts/invitations",
        "reports": "/api/v1/reports",
        "surveys": "/api/v1/surveys",
    }
    return [name for name, rule in have.items() if rule in rules]


def launch(
    display: str,
    tmp_path: Path,
    server: str,
    person,
    scenario: str,
    *,
    prefix: str = "",
    params: dict | None = None,
    feats=(),
    speedup: float = 1.0,
):  # type: ignore[no-untyped-def]
    data = tmp_path / f"app-{prefix or person.uid}"
    result = tmp_path / f"result-{prefix or person.uid}.json"
    (data / "kivy").mkdir(parents=True, exist_ok=True)
    env = os.environ | {
        "DISPLAY": display,
        "KIVY_HOME": str(data / "kivy"),
        "KIVY_NO_ARGS": "1",
        "KIVY_NO_FILELOG": "1",
        "KIVY_LOG_MODE": "PYTHON",
        "PYTHONWARNINGS": "ignore",
    }
    env.pop("SDL_VIDEODRIVER", None)
    argv = [
        sys.executable,
        "-m",
        "tests.mobile_client.ui_driver",
        "--scenario",
        scenario,
        "--server",
        server,
        "--token",
        person.token,
        "--data-dir",
        str(data),
        "--out",
        str(ARTIFACTS),
        "--result",
        str(result),
        "--prefix",
        prefix,
        "--speedup",
        str(speedup),
        "--timeout",
        str(SCENARIO_TIMEOUT_S - 10),
    ]
    for f in feats:
        argv += ["--feature", f]
    for k, v in (params or {}).items():
        argv += ["--param", f"{k}={v}"]
    log = open(tmp_path / f"log-{prefix or person.uid}.txt", "w")  # noqa: SIM115 - closed in finish()
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    return proc, result, log


def finish(proc, result: Path, log, tmp_path: Path) -> dict:  # type: ignore[no-untyped-def]
    try:
        proc.wait(timeout=SCENARIO_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    finally:
        log.close()
    output = Path(log.name).read_text(errors="replace")
    assert result.exists(), (
        f"the app process wrote no result (exit {proc.returncode}):\n{output[-4000:]}"
    )
    data = json.loads(result.read_text())
    data["log"] = output
    return data


def assert_passed(data: dict) -> None:
    failed = {k: v for k, v in data["checks"].items() if not v[0]}
    assert data["error"] is None, (
        f"{data['error']}\nchecks: {data['checks']}\nlog tail:\n{data['log'][-3000:]}"
    )
    assert not failed, failed
    assert data["checks"], "the scenario checked nothing"


@pytest.mark.slow
def test_every_screen_opens_and_the_main_flow_works_by_touch(
    display, tmp_path, app, live_server, resident, other_resident
):
    feats = features(app)
    proc, result, log = launch(
        display, tmp_path, live_server.url, resident, "tour", feats=feats, speedup=10
    )
    data = finish(proc, result, log, tmp_path)
    assert_passed(data)
    for name in (
        "01_home",
        "02_places",
        "03_journey_plan",
        "06_contacts",
        "07_watching",
        "08_report",
        "09_surveys",
        "10_settings",
        "11_quick_exit",
    ):
        shot = ARTIFACTS / f"{name}.png"
        # The quick-exit screen is meant to be (nearly) empty.
        floor = 1_000 if name == "11_quick_exit" else 5_000
        assert shot.exists() and shot.stat().st_size > floor, f"screenshot {name} missing or empty"
