"""Concern reports from the app core against the live server: online, offline and back,
refused and throttled."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mobile_client.core.api import ApiError

SEEN = datetime(2026, 11, 20, 22, 15, tzinfo=UTC)
WIGAN = (53.5456, -2.6318)


def test_categories_come_with_guidance_and_team(core_factory, resident):
    core = core_factory(resident)
    cats = core.load_categories()
    assert len(cats) >= 10 and core.state.categories == cats
    assert all(c["guidance"] and c["team"] for c in cats)
    assert any("999" in c["guidance"] for c in cats)


def test_a_named_report_is_sent_and_listed_as_mine(core_factory, resident):
    core = core_factory(resident)
    core.set_position(*WIGAN)
    result = core.submit_report(
        "other",
        "Broken street light by the canal",
        anonymous=False,
        observed_at=SEEN,
        contact_ok=True,
    )
    assert (result.sent, result.pending, result.failed) == (1, 0, 0)
    assert core.state.notice["text"].startswith("Thank you")  # stays until dismissed
    mine = core.load_my_reports()
    assert [r["description"] for r in mine] == ["Broken street light by the canal"]
    assert mine[0]["ward_code"] == "E05015000" or mine[0]["ward_code"].startswith("E05")
    assert mine[0]["consent_to_contact"] is True


def test_reports_made_offline_arrive_in_order_when_back(core_factory, live_server, resident):
    core = core_factory(resident)
    core.set_position(*WIGAN)
    live_server.stop()
    for i in range(3):
        result = core.submit_report("other", f"concern {i}", anonymous=False, observed_at=SEEN)
        assert result.offline
    anon = core.submit_report(
        "environment", "anonymous one", anonymous=True, postcode="WN1 1AA", observed_at=SEEN
    )
    assert anon.offline and core.state.outbox_pending == 4
    assert "saved on this phone" in core.state.notice["text"]
    live_server.start()
    result = core.flush(force=True)
    assert (result.sent, result.pending, result.failed) == (4, 0, 0)
    assert [r["anonymous"] for r in result.responses] == [False, False, False, True]
    ids = [r["id"] for r in result.responses]
    assert ids == sorted(ids)  # the server received them in the order they were made
    listed = core.load_my_reports()
    mine = sorted((r for r in listed if not r["anonymous"]), key=lambda r: r["id"])
    assert [r["description"] for r in mine] == ["concern 0", "concern 1", "concern 2"]
    # The anonymous report is not linked to the resident: this phone follows it by its
    # receipt, and sees its progress but not its text.
    anonymous = [r for r in listed if r["anonymous"]]
    assert [r["category"] for r in anonymous] == ["environment"]
    assert "description" not in anonymous[0]


def test_a_report_the_server_refuses_is_set_aside_naming_the_field(core_factory, resident):
    core = core_factory(resident)
    core.set_position(*WIGAN)
    result = core.submit_report("no-such-category", "x", anonymous=False, observed_at=SEEN)
    assert (result.sent, result.failed) == (0, 1)
    assert "category" in core.outbox.failed()[0].last_error
    assert "refused" in core.state.message and core.state.outbox_failed == 1
    ok = core.submit_report(
        "other", "still sent after a refused one", anonymous=False, observed_at=SEEN
    )
    assert ok.sent == 1


def test_an_invalid_report_is_not_even_queued(core_factory, resident):
    core = core_factory(resident)  # no position and no postcode
    with pytest.raises(ApiError) as err:
        core.submit_report("environment", "where?", anonymous=True, observed_at=SEEN)
    assert err.value.local and "lat" in err.value.errors
    core.load_categories()
    core.set_position(*WIGAN)
    with pytest.raises(ApiError) as err:
        core.submit_report("other", "x", anonymous=True, observed_at=SEEN)
    assert err.value.local and "anonymous" in err.value.errors
    assert core.outbox.pending_count() == 0


def test_an_anonymous_report_is_sent_without_the_sign_in_token(core_factory, live_server, resident):
    from backend.extensions import db
    from backend.reports.models import Report

    core = core_factory(resident)
    core.set_position(*WIGAN)
    core.client.token = "dev.garbage"  # were it sent, the server would refuse it with 401
    result = core.submit_report("environment", "dark alley", anonymous=True, observed_at=SEEN)
    assert result.sent == 1
    stored = db.session.get(Report, result.responses[0]["id"])
    assert stored.user_id is None and stored.anonymous


def test_throttled_reports_wait_for_retry_after_and_are_not_lost(core_factory, resident):
    core = core_factory(resident)
    core.set_position(*WIGAN)
    sent = 0
    for i in range(7):
        result = core.submit_report("other", f"report {i}", anonymous=False, observed_at=SEEN)
        sent += result.sent
    assert sent == 5  # 5 a minute per resident
    assert core.outbox.pending_count() == 2
    head = core.outbox.items()[0]
    assert head.body["description"] == "report 5" and head.last_error.startswith("429")
    assert head.next_attempt_at - core.clock() >= 1
