"""SOS from the app core against the live server: the phone saves first and says only what
the server confirmed; the outbox sends an SOS before older fixes and resends it with the
same client id until answered; the server ends up with exactly one SOS."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from mobile_client.core.location import DEMO_ROUTE, Fix
from mobile_client.core.sms import RecordedSms
from tests.mobile_client.conftest import LiveServer

pytestmark = pytest.mark.usefixtures("sos_api")

# a claim of delivery; "Not sent yet" / "not delivered yet" are not claims
LIES = re.compile(r"(?<!not )\b(sent|delivered|alerted|told)\b", re.IGNORECASE)


@pytest.fixture
def sos_api(app):  # type: ignore[no-untyped-def]
    rules = {r.rule for r in app.url_map.iter_rules()}
    if "/api/v1/sos" not in rules:
        pytest.skip("POST /api/v1/sos (branch i19-server) is not merged into this branch yet")


class FakeClock:
    def __init__(self) -> None:
        import time

        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def _named(person, name: str):  # type: ignore[no-untyped-def]
    from backend.auth.models import User
    from backend.extensions import db

    db.session.get(User, person.id).display_name = name
    db.session.commit()
    return person


def _trust(owner_core, watcher_core) -> None:  # type: ignore[no-untyped-def]
    watcher_core.accept_invitation(owner_core.create_invitation()["code"])


def _sos_rows(person) -> list:  # type: ignore[no-untyped-def]
    from backend.extensions import db
    from backend.sos.models import SosEvent

    rows = list(db.session.scalars(select(SosEvent).where(SosEvent.user_id == person.id)))
    db.session.remove()
    return rows


def _alert_recipients(alert_id: int) -> list[int]:
    import json

    from backend.alerts.models import OutboxAlert
    from backend.extensions import db

    alert = db.session.get(OutboxAlert, alert_id)
    recipients = json.loads(alert.recipients)
    db.session.remove()
    return recipients


def _screen_text(core) -> str:  # type: ignore[no-untyped-def]
    view = core.state.sos or {}
    return "\n".join([view.get("headline", ""), *view.get("lines", [])])


@pytest.fixture
def people(core_factory, make_person):  # type: ignore[no-untyped-def]
    """Alice (in trouble) trusts Sam and Jo, each with the app."""
    alice = _named(make_person("alice"), "Alice")
    sam = _named(make_person("sam"), "Sam")
    jo = _named(make_person("jo"), "Jo")
    a, s, j = core_factory(alice), core_factory(sam), core_factory(jo)
    _trust(a, s)
    _trust(a, j)
    a.load_contacts()
    a.set_position(*DEMO_ROUTE[0])
    return {"alice": (alice, a), "sam": (sam, s), "jo": (jo, j)}


def test_offline_sos_with_no_journey_is_saved_then_sent_once_with_its_recipients(
    people, live_server, tmp_path
):
    from mobile_client.core.controller import Core

    alice, a = people["alice"]
    sam, _ = people["sam"]
    jo, _ = people["jo"]
    live_server.stop()  # no signal
    view = a.sos()
    assert view is not None and view["phase"] == "not_sent"
    assert view["headline"] == (
        "Not sent yet: no signal. Keep holding to retry, call 999, or text your contacts"
    )
    assert not LIES.search(_screen_text(a)), _screen_text(a)
    items = a.outbox.items()
    assert [i.kind for i in items] == ["sos"]
    body = items[0].body
    assert body["lat"] == pytest.approx(DEMO_ROUTE[0][0]) and body["journey_id"] is None
    assert re.fullmatch(r"[0-9a-f-]{36}", body["client_id"])
    assert datetime.fromisoformat(body["recorded_at"]).utcoffset() is not None
    a.close()

    # The phone restarts: the SOS is still on screen, still unsent, still queued.
    again = Core(a.data_dir, server_url=live_server.url)
    try:
        assert again.state.sos["headline"].startswith("Not sent yet")
        assert again.state.sos["client_id"] == body["client_id"]
        live_server.start()  # the network returns; the pump's next try (<= 5 s) is now
        again.flush(force=True)
        view = again.state.sos
        assert view["phase"] == "answered"
        assert view["headline"] == "SafeHaven has your SOS. Alerting Sam and Jo"
        assert view["lines"][:2] == ["Sam: not delivered yet", "Jo: not delivered yet"]
        assert again.outbox.pending_count() == 0
        again.flush(force=True)  # nothing more is sent
    finally:
        again.close()
    rows = _sos_rows(alice)
    assert len(rows) == 1 and rows[0].client_id == body["client_id"]
    assert sorted(_alert_recipients(rows[0].alert_id)) == sorted([sam.id, jo.id])


def test_sos_with_no_contacts_says_so_and_the_server_keeps_nothing(core_factory, make_person):
    loner = _named(make_person("loner"), "Lee")
    core = core_factory(loner)
    core.set_position(*DEMO_ROUTE[0])
    view = core.sos()
    assert view["phase"] == "no_contacts"
    assert view["headline"] == "No one to alert: you have no trusted contacts. Call 999."
    assert not LIES.search(_screen_text(core))
    assert core.outbox.items(status=None) == []  # taken out of the outbox: nothing to resend
    assert _sos_rows(loner) == []


def test_a_resent_sos_after_a_lost_answer_is_one_sos(people, app, live_server):
    """The first send reaches the server, which stores it, but the answer is lost (a proxy
    answers 502): the outbox sends the same client id again and gets the same SOS."""
    alice, a = people["alice"]
    lost = {"count": 0}

    def lose_first_answer(environ, start_response):  # type: ignore[no-untyped-def]
        if environ["PATH_INFO"] == "/api/v1/sos" and lost["count"] == 0:
            lost["count"] += 1
            inner = app(environ, lambda *args, **kwargs: None)
            b"".join(inner)  # the server did the work
            start_response("502 Bad Gateway", [("Content-Type", "text/plain")])
            return [b"upstream answer lost"]
        return app(environ, start_response)

    live_server.stop()
    proxy = LiveServer(lose_first_answer)
    proxy.port = live_server.port
    proxy.start()
    try:
        view = a.sos()
        assert lost["count"] == 1 and view["phase"] == "not_sent"
        assert view["headline"].startswith("Not sent yet: the server is not answering")
        assert len(_sos_rows(alice)) == 1  # stored once already
        a.flush(force=True)
        assert a.state.sos["headline"] == "SafeHaven has your SOS. Alerting Sam and Jo"
        assert len(_sos_rows(alice)) == 1
        assert a.state.sos["server_id"] == _sos_rows(alice)[0].id
    finally:
        proxy.stop()
        live_server.start()


def test_the_sos_goes_before_fixes_queued_earlier(people, live_server):
    _alice, a = people["alice"]
    journey = a.start_journey(
        [c["user_id"] for c in a.state.contacts],
        destination={"lat": DEMO_ROUTE[-1][0], "lon": DEMO_ROUTE[-1][1], "label": "Pier"},
    )
    live_server.stop()
    t0 = datetime.now(UTC) - timedelta(minutes=2)
    for i, (lat, lon) in enumerate(DEMO_ROUTE[:5]):
        a.on_fix(Fix(lat, lon, t0 + timedelta(seconds=10 * i), 8.0, 60))
    a.sos()
    assert [i.kind for i in a.outbox.items()] == ["fix"] * 5 + ["sos"]
    live_server.start()
    result = a.flush(force=True)
    assert [item.kind for item, _ in result.answered] == ["sos", "fix"]
    assert result.answered[0][1]["journey_id"] == journey["id"]
    assert a.state.sos["headline"] == "SafeHaven has your SOS. Alerting Sam and Jo"
    sent = a.outbox.items(status=None)
    assert sent == []
    body = result.answered[0][0].body
    assert body["battery"] == 60 and body["accuracy_m"] == 8.0


def test_delivery_shows_per_recipient_only_from_their_phone(people):
    alice, a = people["alice"]
    _sam, s = people["sam"]
    a.sos()
    assert a.state.sos["lines"][:2] == ["Sam: not delivered yet", "Jo: not delivered yet"]
    alert_id = _sos_rows(alice)[0].alert_id
    journey_id = _sos_rows(alice)[0].journey_id
    s.on_push({"journey_id": str(journey_id), "kind": "sos", "alert_id": str(alert_id)})
    assert [i.kind for i in s.outbox.items()] == ["ack"]  # Sam's phone says it got it
    a.emergency.refresh()
    assert a.state.sos["lines"][0] == "Sam: not delivered yet"  # the ack is not sent yet
    s.flush()
    a.emergency.refresh()
    lines = a.state.sos["lines"]
    assert re.fullmatch(r"Sam: delivered to phone at \d\d:\d\d", lines[0]), lines
    assert lines[1] == "Jo: not delivered yet"
    # "Delivered" names only the phone that said so.
    assert a.state.sos["headline"] == "Delivered to Sam"


def test_unanswered_for_30_s_texts_the_numbers_kept_on_the_phone(
    core_factory, make_person, live_server, tmp_path
):
    clock = FakeClock()
    alice = _named(make_person("alice"), "Alice")
    sam = _named(make_person("sam"), "Sam")
    from mobile_client.core.controller import Core

    a = Core(tmp_path / "alice-clocked", server_url=live_server.url, clock=clock)
    try:
        a.sign_in(alice.token)
        s = core_factory(sam)
        _trust(a, s)
        a.load_contacts()
        a.set_contact_phone(a.state.contacts[0]["user_id"], "07700 900123")
        a.set_position(53.5450, -2.6310)
        live_server.stop()
        a.sos()
        a.emergency.tick()
        assert not RecordedSms(a.data_dir / "sms_sent.jsonl").sent()  # not yet
        clock.now += 31
        a.emergency.tick()
        texts = RecordedSms(a.data_dir / "sms_sent.jsonl").sent()
        assert [t["to"] for t in texts] == ["07700900123"]
        assert (
            "https://www.openstreetmap.org/?mlat=53.54500&mlon=-2.63100#map=17/53.54500/-2.63100"
            in texts[0]["text"]
        )
        assert "Alice" in texts[0]["text"]
        assert any(line.startswith("Texted Sam at ") for line in a.state.sos["lines"])
        clock.now += 60
        a.emergency.tick()
        assert len(RecordedSms(a.data_dir / "sms_sent.jsonl").sent()) == 1  # once
    finally:
        live_server.start()
        a.flush(force=True)
        a.close()
    # the number stayed on the phone: no table on the server holds it
    from backend.extensions import db

    for table in db.metadata.sorted_tables:
        for row in db.session.execute(select(table)).all():
            assert "900123" not in " ".join(str(v) for v in row), table.name
    db.session.remove()


def test_a_number_shared_with_a_watcher_gives_them_call_and_texts_use_it(people):
    """Alice shares her number with Sam only: Sam's app has it (his watcher screen offers
    "Call"), Jo's does not."""
    _alice, a = people["alice"]
    _sam, s = people["sam"]
    _jo, j = people["jo"]
    a.set_my_phone("07911 123456")
    link_to_sam = next(c for c in a.load_contacts() if c["name"] == "Sam")
    a.share_my_phone(link_to_sam["link_id"], True)
    assert next(c for c in a.state.contacts if c["name"] == "Sam")["share_phone"] is True
    sam_sees = next(c for c in s.load_contacts() if c["name"] == "Alice")
    jo_sees = next(c for c in j.load_contacts() if c["name"] == "Alice")
    assert sam_sees["phone"] and sam_sees["phone"].endswith("7911123456")
    assert jo_sees["phone"] is None


def test_answered_but_delivered_to_no_phone_for_60_s_offers_the_text(
    core_factory, make_person, live_server, tmp_path
):
    from mobile_client.core.controller import Core

    clock = FakeClock()
    alice = _named(make_person("alice"), "Alice")
    sam = _named(make_person("sam"), "Sam")
    a = Core(tmp_path / "alice-clocked", server_url=live_server.url, clock=clock)
    try:
        a.sign_in(alice.token)
        _trust(a, core_factory(sam))
        a.set_position(*DEMO_ROUTE[0])
        view = a.sos()
        assert view["headline"] == "SafeHaven has your SOS. Alerting Sam" and not view["offer_text"]
        clock.now += 61
        a.emergency.tick()
        assert a.state.sos["offer_text"]
        assert (
            a.state.sos["lines"][-1] == "No phone has shown it yet. Text your contacts or call 999."
        )
        assert not RecordedSms(a.data_dir / "sms_sent.jsonl").sent()  # offered, not sent
        a.text_contacts()
        assert a.state.sos["lines"][-1] == (
            "No phone numbers saved for your contacts: add them in Contacts."
        )
    finally:
        a.close()
