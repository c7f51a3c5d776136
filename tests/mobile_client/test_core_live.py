"""The app core against a live SafeHaven server on loopback (the test app in a thread)."""

from __future__ import annotations

import pytest

from mobile_client.core.api import ApiClient, ApiError
from mobile_client.core.controller import Core


def test_sign_in_keeps_a_verified_token_and_restores_it(tmp_path, live_server, resident):
    core = Core(tmp_path / "a", server_url=live_server.url)
    try:
        me = core.sign_in(resident.token)
        assert me["uid"] == resident.uid
        assert core.state.signed_in and core.state.uid == resident.uid
    finally:
        core.close()
    again = Core(tmp_path / "a")  # a new run of the app: server and token come from the file
    try:
        assert again.state.server_url == live_server.url
        assert again.restore_session()["uid"] == resident.uid
    finally:
        again.close()


def test_a_bad_token_is_refused_and_not_kept(tmp_path, live_server):
    core = Core(tmp_path / "a", server_url=live_server.url)
    try:
        with pytest.raises(ApiError) as err:
            core.sign_in("dev.not-a-real-token")
        assert err.value.status == 401
        assert not core.state.signed_in and core.store.load().token is None
    finally:
        core.close()


def test_destination_from_a_postcode_and_a_bad_postcode(core_factory, resident):
    core = core_factory(resident)
    dest = core.destination_from_postcode("wn1 1aa")
    assert dest["postcode"] == "WN1 1AA" and 53.4 < dest["lat"] < 53.7
    assert core.state.destination == dest
    with pytest.raises(ApiError) as err:
        core.destination_from_postcode("ZZ99 9ZZ")
    assert err.value.status in (404, 422) and err.value.field_message().startswith("postcode")


def test_outbox_sends_in_order_after_the_server_comes_back(core_factory, live_server, resident):
    core = core_factory(resident)
    live_server.stop()  # the network goes away
    for i in range(5):
        core.outbox.enqueue("profile", "PATCH", "/api/v1/me", {"display_name": f"name {i}"})
    result = core.flush(force=True)
    assert result.offline and result.pending == 5 and core.state.online is False
    live_server.start()  # back, on the same address
    result = core.flush(force=True)
    assert (result.sent, result.pending, result.failed) == (5, 0, 0)
    assert core.state.online is True and core.state.outbox_pending == 0
    # Applied in the order queued: the last change wins.
    assert core.client.me()["display_name"] == "name 4"


def test_outbox_sets_aside_a_refused_item_and_sends_the_rest(core_factory, resident):
    core = core_factory(resident)
    core.outbox.enqueue("profile", "PATCH", "/api/v1/me", {"ward_code": "not-a-ward"})
    core.outbox.enqueue("profile", "PATCH", "/api/v1/me", {"display_name": "after"})
    result = core.flush(force=True)
    assert (result.sent, result.failed, result.pending) == (1, 1, 0)
    failed = core.outbox.failed()
    assert len(failed) == 1 and "ward_code" in failed[0].last_error
    assert core.client.me()["display_name"] == "after"


def test_the_client_refuses_to_send_a_body_the_contract_rejects(live_server, resident):
    with ApiClient(live_server.url, resident.token) as client, pytest.raises(ApiError) as err:
        client.update_me({"ward_code": "nope"})
    assert err.value.local and "ward_code" in err.value.errors
