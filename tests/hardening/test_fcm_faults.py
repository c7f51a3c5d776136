"""FCM faults and killed workers: FCM answers 500, 429 (with Retry-After) or stalls past the
client timeout for 30% of sends, deterministically seeded, and real ``safehaven worker``
processes are SIGKILLed in the middle of a batch, then restarted, against the real database.

Afterwards every contact device has shown every alert meant for it exactly once. At Google's
boundary (a loopback stand-in for fcm.googleapis.com, the only thing intercepted) the exact
v1 request bodies are checked, and the sends FCM accepted twice are counted: only messages in
flight at the moment of a kill may be repeated (the worker records each answer right after
it arrives), and the phone ignores those repeats by alert id."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from backend.alerts import service as alerts
from backend.alerts.fcm import STAND_IN_ACCESS_TOKEN
from backend.alerts.models import AlertDelivery, OutboxAlert
from backend.extensions import db
from tests.support.apps import TEST_SECRET
from tests.support.fcm import FCMStandIn, seeded_faults
from tests.support.journeys import befriend, start_journey

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "demo-safehaven"
SEED = 20261122
FAULT_RATE = 0.3
TIMEOUT_S = 2.0  # the worker's FCM timeout; a stall lasts until the worker hangs up
BACKOFF_S = 0.2  # the worker's first retry delay
RETRY_AFTER_S = 1.0  # what the stand-in's 429 asks for
KILL_AT = (20, 60)  # the n-th request at the boundary kills the worker that sent it
WALKERS, WATCHERS = 8, 10


def watchers_of(walker: int) -> list[int]:
    return sorted({walker % WATCHERS, (walker + 1) % WATCHERS, (walker + 3) % WATCHERS})


def devices_of(watcher: int) -> list[str]:
    """Every third watcher has a phone and a tablet."""
    names = [f"watcher{watcher}-phone"] + ([f"watcher{watcher}-tablet"] if watcher % 3 == 0 else [])
    return [f"{name}-fcm-token-" + "x" * 40 for name in names]


@dataclass
class Kill:
    seq: int
    pid: int
    claim: str
    in_flight: set[tuple[str, str]] = field(default_factory=set)
    recorded_in_claim: int = 0


class Workers:
    """Real ``safehaven worker`` processes on the test database, pointed at the stand-in."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.processes: dict[int, subprocess.Popen] = {}
        self.logs: dict[int, Any] = {}
        self.started = 0

    def start(self) -> int:
        log = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed in stop()
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("safehaven")), "worker", "--interval", "0.2"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes[process.pid] = process
        self.logs[process.pid] = log
        self.started += 1
        return process.pid

    def output(self, pid: int) -> str:
        log = self.logs[pid]
        log.flush()
        log.seek(0)
        return log.read()[-3000:]

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in self.logs.values():
            log.close()


def expected_body(token: str, alert: OutboxAlert) -> dict[str, Any]:
    key = str(alert.id)
    return {
        "message": {
            "token": token,
            "notification": {"title": alert.title, "body": alert.body},
            "data": {**json.loads(alert.data), "alert_id": key, "kind": alert.kind},
            "android": {"priority": "high", "notification": {"tag": key}},
            "apns": {"headers": {"apns-priority": "10", "apns-collapse-id": key}},
        }
    }


def test_fcm_faults_and_killed_workers_leave_every_alert_shown_once_per_device(
    app, client, make_person, database_url, engine_name, tmp_path
):
    from mobile_client.core.controller import Core

    # --- the world: walkers share journeys with watchers, who have one or two devices ---
    walkers = [make_person(f"fault-walker-{n}") for n in range(WALKERS)]
    watchers = [make_person(f"fault-watcher-{n}") for n in range(WATCHERS)]
    for n, person in enumerate(walkers):
        client.patch("/api/v1/me", json={"display_name": f"Walker {n}"}, headers=person.headers)
    for n, person in enumerate(watchers):
        for token in devices_of(n):
            registered = client.post(
                "/api/v1/me/devices", json={"token": token}, headers=person.headers
            )
            assert registered.status_code == 201, registered.get_json()
    journeys = {}
    for n, walker in enumerate(walkers):
        chosen = [watchers[w] for w in watchers_of(n)]
        for watcher in chosen:
            befriend(client, walker, watcher)
        journey = start_journey(client, walker, chosen)["id"]
        journeys[journey] = n
        for action in ("sos", "arrived"):
            done = client.post(f"/api/v1/journeys/{journey}/{action}", headers=walker.headers)
            assert done.status_code == 200, done.get_json()
    outbox = {a.id: a for a in db.session.scalars(select(OutboxAlert))}
    expected: dict[str, set[int]] = defaultdict(set)  # device token -> alert ids
    for alert in outbox.values():
        for watcher in watchers_of(journeys[alert.journey_id]):
            for token in devices_of(watcher):
                expected[token].add(alert.id)
    assert len(outbox) == 2 * WALKERS
    db.session.remove()

    # --- the phones: the app's GUI-free core per device, fed what FCM accepted ---
    phones = {
        token: Core(tmp_path / "devices" / token[:20], server_url="http://127.0.0.1:9")
        for n in range(WATCHERS)
        for token in devices_of(n)
    }
    handed = itertools.count(1)
    hand_lock = threading.Lock()

    def deliver_to_phone(exchange) -> None:  # type: ignore[no-untyped-def]
        message = exchange.body["message"]
        inbox = phones[message["token"]].data_dir / "push"
        inbox.mkdir(parents=True, exist_ok=True)
        with hand_lock:
            name = f"{next(handed):06d}.json"
        (inbox / name).write_text(json.dumps(message["data"]), encoding="utf-8")

    # --- the boundary: faults by seed, and kills at fixed request numbers ---
    engine = db.engine
    kills: list[Kill] = []

    def kill_the_sender(exchange) -> str | None:  # type: ignore[no-untyped-def]
        if exchange.seq not in KILL_AT:
            return None
        token, alert_id = exchange.pair
        with engine.connect() as conn:
            claim = conn.scalar(
                select(AlertDelivery.claimed_by).where(
                    AlertDelivery.alert_id == int(alert_id), AlertDelivery.token == token
                )
            )
        pid = int(claim.rsplit(":", 2)[1])
        os.kill(pid, signal.SIGKILL)
        kills.append(Kill(exchange.seq, pid, claim))
        return "ok"  # FCM accepts this one, and the worker dies before it can record it

    stand_in = FCMStandIn(PROJECT, seeded_faults(SEED, FAULT_RATE), retry_after_s=RETRY_AFTER_S)
    stand_in.on_request = kill_the_sender
    stand_in.on_accept = deliver_to_phone
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"FIREBASE_AUTH_EMULATOR_HOST", "GOOGLE_APPLICATION_CREDENTIALS", "REDIS_URL"}
    }
    n_workers = 2 if engine_name == "postgis" else 1  # SQLite: one process (single writer)
    deliveries_total = sum(len(ids) for ids in expected.values())
    stand_in.start()
    env.update(
        SAFEHAVEN_ENV="testing",
        SAFEHAVEN_AUTH="dev",
        DATABASE_URL=database_url,
        SECRET_KEY=TEST_SECRET,
        FIREBASE_PROJECT_ID=PROJECT,
        SAFEHAVEN_FCM_ENDPOINT=stand_in.url,
        SAFEHAVEN_FCM_TIMEOUT_S=str(TIMEOUT_S),
        SAFEHAVEN_FCM_BACKOFF_S=str(BACKOFF_S),
    )
    workers = Workers(env)
    seen_dead: set[int] = set()
    try:
        for _ in range(n_workers):
            workers.start()
        deadline = time.monotonic() + 300
        while True:
            for pid, process in list(workers.processes.items()):
                if pid in seen_dead or process.poll() is None:
                    continue
                seen_dead.add(pid)
                kill = next((k for k in kills if k.pid == pid), None)
                assert kill is not None, f"worker {pid} exited by itself:\n{workers.output(pid)}"
                assert process.returncode == -signal.SIGKILL
                with engine.connect() as conn:
                    rows = conn.execute(
                        select(
                            AlertDelivery.token, AlertDelivery.alert_id, AlertDelivery.status
                        ).where(AlertDelivery.claimed_by == kill.claim)
                    ).all()
                kill.in_flight = {(t, str(a)) for t, a, status in rows if status == "pending"}
                kill.recorded_in_claim = sum(1 for *_ta, status in rows if status == "sent")
                workers.start()  # the supervisor restarts it
            with engine.connect() as conn:
                sent = conn.scalar(select(func.count()).where(AlertDelivery.status == "sent"))
                total = conn.scalar(select(func.count()).select_from(AlertDelivery))
            if total == deliveries_total and sent == total:
                break
            assert time.monotonic() < deadline, (
                f"{sent}/{total} delivered; workers said:\n"
                + "\n".join(workers.output(pid) for pid in workers.processes)
            )
            time.sleep(0.2)
    finally:
        workers.stop()
        stand_in.stop()

    # --- every device showed every alert meant for it, exactly once ---
    try:
        for token, phone in phones.items():
            phone.poll_push_inbox()
            shown = [a["alert_id"] for a in phone.state.alerts]
            assert sorted(shown) == sorted(expected[token]), token
            assert len(shown) == len(set(shown)) == len(expected[token])
    finally:
        for phone in phones.values():
            phone.close()

    # --- the boundary: exact bodies, faults injected, backoff and Retry-After honoured ---
    exchanges = stand_in.exchanges
    assert {e.path for e in exchanges} == {f"/v1/projects/{PROJECT}/messages:send"}
    assert {e.authorization for e in exchanges} == {f"Bearer {STAND_IN_ACCESS_TOKEN}"}
    for exchange in exchanges:
        token, alert_id = exchange.pair
        assert int(alert_id) in expected[token], exchange.pair
        assert exchange.body == expected_body(token, outbox[int(alert_id)])
    faults = Counter(e.fault for e in exchanges if e.fault)
    assert set(faults) == {"500", "429", "timeout"}, faults
    stalls = stand_in.settled([e for e in exchanges if e.fault == "timeout"])
    assert all(e.abandoned for e in stalls), "a stalled send was never given up (no timeout)"
    by_pair: dict[tuple[str, str], list] = defaultdict(list)
    for exchange in exchanges:
        by_pair[exchange.pair].append(exchange)
    for tries in by_pair.values():
        for before, after in zip(tries, tries[1:], strict=False):
            if before.fault == "429":
                assert after.received_at >= before.answered_at + RETRY_AFTER_S, "Retry-After"
            elif before.fault == "500":
                assert after.received_at >= before.answered_at + BACKOFF_S, "no backoff"
            elif before.fault == "timeout":
                assert after.received_at >= before.received_at + TIMEOUT_S, "timeout cut short"

    # --- kills happened mid-batch; only what was in flight then was sent twice ---
    assert [k.seq for k in kills] == list(KILL_AT)
    assert len(seen_dead) == len(KILL_AT)
    for kill in kills:
        token_alert = next(e.pair for e in exchanges if e.seq == kill.seq)
        assert token_alert in kill.in_flight  # accepted by FCM, never recorded
    accepted = Counter(e.pair for e in stand_in.accepted())
    assert set(accepted) == {(t, str(a)) for t, ids in expected.items() for a in ids}
    repeats = {pair: n - 1 for pair, n in accepted.items() if n > 1}
    in_flight_at_kills = set().union(*(k.in_flight for k in kills))
    assert set(repeats) <= in_flight_at_kills, "a send was repeated that no kill interrupted"
    assert sum(repeats.values()) <= sum(len(k.in_flight) for k in kills)
    assert all(len(k.in_flight) <= alerts.DEFAULT_CONCURRENCY for k in kills)
    assert len(repeats) >= len(KILL_AT)  # each kill-trigger send is repeated: counted, not hidden

    with engine.connect() as conn:
        attempts = conn.scalar(select(func.max(AlertDelivery.attempts)))
    assert attempts <= alerts.MAX_ATTEMPTS
    per_device = Counter(len(ids) for ids in expected.values())
    print(
        f"\nFCM faults ({engine_name}, {n_workers} worker(s), seed {SEED}): "
        f"{len(outbox)} alerts, {len(phones)} devices, {deliveries_total} deliveries; "
        f"{len(exchanges)} sends at the boundary, {sum(faults.values())} faults injected "
        f"(500: {faults['500']}, 429: {faults['429']}, timeout: {faults['timeout']}); "
        f"{len(kills)} kills at sends {list(KILL_AT)}, in flight then: "
        f"{[len(k.in_flight) for k in kills]} (recorded before the kill in that claim: "
        f"{[k.recorded_in_claim for k in kills]}); repeats accepted twice: "
        f"{sum(repeats.values())}; alerts shown per device {dict(sorted(per_device.items()))} "
        f"(count of devices by alerts), each once; max attempts {attempts}; "
        f"worker processes started {workers.started}"
    )
