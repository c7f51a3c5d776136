"""The phone shows each alert once: a push FCM delivers twice (the server repeated a send
after a crash) is ignored by its alert id, also after the app restarts."""

from __future__ import annotations

import json

import pytest

from mobile_client.core.alerts import SeenAlerts, parse_alert_id
from mobile_client.core.controller import Core


@pytest.fixture
def phone(tmp_path):  # type: ignore[no-untyped-def]
    made: list[Core] = []

    def make() -> Core:
        core = Core(tmp_path / "phone", server_url="http://127.0.0.1:9")
        made.append(core)
        return core

    yield make
    for core in made:
        core.close()


def drop(core: Core, *payloads: dict[str, str]) -> int:
    """Hand push payloads to the app the way the notification bridge does."""
    inbox = core.data_dir / "push"
    inbox.mkdir(exist_ok=True)
    start = len(list(inbox.iterdir()))
    for n, payload in enumerate(payloads, start):
        (inbox / f"{n:06d}.json").write_text(json.dumps(payload), encoding="utf-8")
    return core.poll_push_inbox()


def sos(alert_id: str, journey: str = "7") -> dict[str, str]:
    return {"journey_id": journey, "kind": "sos", "alert_id": alert_id, "battery": "40"}


def test_a_push_delivered_twice_is_shown_once(phone):
    core = phone()
    assert drop(core, sos("11"), sos("11")) == 2
    assert [{k: v for k, v in a.items() if k != "received_at"} for a in core.state.alerts] == [
        {"kind": "sos", "journey_id": 7, "battery": "40", "alert_id": 11}
    ]
    assert core.state.alerts[0]["received_at"]  # when this phone got it, for the screen


def test_a_repeat_after_the_app_restarts_is_still_ignored(phone):
    first = phone()
    drop(first, sos("12"))
    first.close()
    again = phone()  # same data folder: the phone was restarted
    drop(again, sos("12"), sos("13", journey="8"))
    assert [a["alert_id"] for a in again.state.alerts] == [13]


def test_two_different_alerts_of_one_kind_both_show(phone):
    core = phone()
    stopped = {"journey_id": "7", "kind": "stationary"}
    drop(core, {**stopped, "alert_id": "21"}, {**stopped, "alert_id": "22"})
    drop(core, {**stopped, "alert_id": "21"})
    assert [a["alert_id"] for a in core.state.alerts] == [21, 22]


def test_an_alert_seen_first_on_a_refresh_is_not_shown_again_by_its_push(phone):
    core = phone()
    core._apply_watched({"id": 7, "state": "sos", "sos": True, "last_fix": None})
    drop(core, sos("31"))
    core.on_stream_event({"event": "alert", "data": {"alert_id": 31, "kind": "sos"}})
    assert [(a["kind"], a.get("alert_id")) for a in core.state.alerts] == [("sos", None)]
    drop(core, sos("32"))  # a later, different SOS alert of the journey still shows
    assert [a.get("alert_id") for a in core.state.alerts] == [None, 32]


def test_the_stream_and_a_push_of_one_alert_show_it_once(phone):
    core = phone()
    core.state.update(watching={"id": 7})
    core.on_stream_event(
        {"event": "alert", "data": {"alert_id": 41, "kind": "arrival", "title": "Arrived"}}
    )
    drop(core, {"journey_id": "7", "kind": "arrival", "alert_id": "41"})
    assert [a["alert_id"] for a in core.state.alerts] == [41]


def test_alert_ids_are_parsed_strictly():
    assert parse_alert_id("42") == 42
    assert parse_alert_id(42) == 42
    for bad in ("", "0", "-1", "4.2", "²", "1" * 40, None, True, 0, [], "abc"):
        assert parse_alert_id(bad) is None, bad


def test_seen_alerts_keep_the_newest_and_survive_a_corrupt_file(tmp_path):
    seen = SeenAlerts(tmp_path / "seen.json", keep=3)
    assert [seen.first_time(n) for n in (1, 2, 1, 3, 4)] == [True, True, False, True, True]
    reloaded = SeenAlerts(tmp_path / "seen.json", keep=3)
    assert reloaded.first_time(1) is True  # forgotten: only the newest three are kept
    assert reloaded.first_time(4) is False
    (tmp_path / "seen.json").write_text("{not json", encoding="utf-8")
    assert SeenAlerts(tmp_path / "seen.json").first_time(4) is True
