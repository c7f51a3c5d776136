"""The broker's fan-out inside one process: one shared message per publish, bounded queues,
and server-sent events formatted once, byte for byte as each watcher formatted them before."""

from __future__ import annotations

from datetime import UTC, datetime

from backend.realtime.broker import QUEUE_SIZE, LocalBroker, Message, dumps
from backend.realtime.sse import LiveStream, format_event, sse_response


def test_two_watchers_on_one_process_get_every_message_as_one_shared_parse():
    broker = LocalBroker()
    with broker.subscribe("journey:1") as one, broker.subscribe("journey:1") as two:
        for n in range(3):
            broker.publish("journey:1", {"type": "fix", "n": n})
        for n in range(3):
            first, second = one.next_message(timeout=1), two.next_message(timeout=1)
            assert first is second  # parsed and formatted once for both
            assert first is not None and first.data == {"type": "fix", "n": n}
        assert one.next_message(timeout=0) is None and two.next_message(timeout=0) is None


def test_a_watcher_leaving_does_not_affect_the_other():
    broker = LocalBroker()
    stays = broker.subscribe("journey:1")
    leaves = broker.subscribe("journey:1")
    broker.publish("journey:1", {"type": "fix", "n": 1})
    leaves.close()
    broker.publish("journey:1", {"type": "fix", "n": 2})
    assert [stays.get(timeout=1), stays.get(timeout=1)] == [
        {"type": "fix", "n": 1},
        {"type": "fix", "n": 2},
    ]
    assert broker.subscriber_count() == 1
    stays.close()
    assert broker.subscriber_count() == 0


def test_get_gives_each_caller_a_dict_of_its_own():
    broker = LocalBroker()
    with broker.subscribe("c") as one, broker.subscribe("c") as two:
        broker.publish("c", {"type": "fix", "lat": 1.5})
        first, second = one.get(timeout=1), two.get(timeout=1)
        assert first == second == {"type": "fix", "lat": 1.5}
        first["lat"] = 0  # type: ignore[index]
        assert second == {"type": "fix", "lat": 1.5}


def test_a_stalled_reader_loses_the_oldest_messages_not_the_newest():
    broker = LocalBroker()
    with broker.subscribe("c") as sub:
        for n in range(QUEUE_SIZE + 5):
            broker.publish("c", {"n": n})
        got = []
        while (message := sub.get(timeout=0)) is not None:
            got.append(message["n"])
        assert got == list(range(5, QUEUE_SIZE + 5))


def test_the_shared_event_is_the_bytes_each_watcher_formatted_before():
    for message in (
        {"type": "fix", "lat": 53.5425001, "lon": -2.6405, "battery": None, "jump": False},
        {"type": "state", "journey": {"owner_name": "Zoë “Z” Ødegård", "contact_ids": [3, 1]}},
        {"type": "alert", "at": datetime(2026, 11, 21, 22, 0, tzinfo=UTC), "n": 10**20},
        {"no_type": 1.0e-7},
    ):
        assert Message(dumps(message)).event == format_event(message)


def test_a_stream_sends_shared_events_and_transformed_ones_and_ends_after_the_last():
    broker = LocalBroker()
    sub = broker.subscribe("c")
    response = sse_response(
        LiveStream(
            sub,
            [{"type": "state", "n": 0}],
            lambda m: m.get("type") == "end",
            lambda m: None if m.get("hide") else ({**m, "x": 1} if "x" in m else m),
            None,
        )
    )
    for message in (
        {"type": "fix", "n": 1},
        {"type": "fix", "n": 2, "hide": True},
        {"type": "fix", "n": 3, "x": 0},
        {"type": "end", "n": 4},
        {"type": "fix", "n": 5},
    ):
        broker.publish("c", message)
    body = b"".join(response.response)  # type: ignore[arg-type]
    assert body == b"".join(
        [
            b"retry: 3000\n\n",
            format_event({"type": "state", "n": 0}),
            format_event({"type": "fix", "n": 1}),
            format_event({"type": "fix", "n": 3, "x": 1}),
            format_event({"type": "end", "n": 4}),
        ]
    )
    assert sub.closed and broker.subscriber_count() == 0
