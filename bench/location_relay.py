"""Location relay benchmark: two gunicorn processes sharing Redis and PostgreSQL.

N residents each post one fix per second to one process; M watchers per journey hold SSE
streams, half on each process. Reports accepted fixes/s and post-to-watcher latency
(p50/p99) beside a raw Redis publish/subscribe round trip measured in the same run and the
same servers, streams, client and offered load posting to a trivial endpoint (what this
machine gives a POST that does nothing: the ceiling for the fix path), then the
overdue sweep's time with ``--journeys`` active journeys of which 1 % are due, beside a
reference query that scans every active journey without the due-time index.

The client must not be what is measured: posters and watchers are two asyncio processes
speaking raw HTTP/1.x over keep-alive sockets (no HTTP library), and the CPU seconds of the
server processes, the bench database's PostgreSQL backends, redis-server, the client
processes and the whole machine are read from /proc over the measuring window, so the
figures say who spent the two cores. ``SAFEHAVEN_PY_SPY=1`` samples the gunicorn workers
with py-spy (if installed) into ``bench/results/py-spy-<pid>.txt``.

    .venv/bin/python bench/location_relay.py --residents 300 --watchers 2 --seconds 20

Writes ``bench/results/location_relay.json``."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
import redis  # noqa: E402

from bench.support.cpuacct import CpuMeter, children, pids_named  # noqa: E402
from bench.support.rawhttp import read_response, split_url  # noqa: E402
from tests.support import databases  # noqa: E402
from tests.support.servers import gunicorn  # noqa: E402

SECRET = "bench-secret-key-that-is-long-enough-0123456789"  # noqa: S105 - dev tokens only


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def make_app(url: str):  # type: ignore[no-untyped-def]
    from backend import create_app
    from backend.config import Settings

    return create_app(
        settings=Settings.from_env(
            {
                "SAFEHAVEN_ENV": "testing",
                "SAFEHAVEN_AUTH": "dev",
                "DATABASE_URL": url,
                "SECRET_KEY": SECRET,
            }
        )
    )


def bench_app():  # type: ignore[no-untyped-def]
    """The gunicorn entry point: the real app (settings from the environment, as
    ``backend:create_app()``) plus a trivial JSON POST endpoint, the ceiling reference: what
    these servers, this client and this offered load give for a request that does nothing."""
    from flask import jsonify

    from backend import create_app

    app = create_app()

    @app.post("/bench/trivial")
    def trivial():  # type: ignore[no-untyped-def]
        return jsonify(ok=True)

    return app


FIX_PATH = "/api/v1/journeys/{journey}/locations"
TRIVIAL_PATH = "/bench/trivial"


def add_walking_resident(session, uid: str, watchers: int, now: datetime):  # type: ignore[no-untyped-def]
    """A resident ``uid`` with ``watchers`` consenting contacts (``uid-w0``...) and one active
    journey shared with them (due in two hours); flushed, not committed. Returns
    ``(owner, watcher_users, journey)``."""
    from backend.auth.models import User
    from backend.contacts.models import Contact
    from backend.journeys.models import Journey, JourneyContact

    owner = User(uid=uid, role="resident", display_name=f"Resident {uid}")
    watcher_users = [User(uid=f"{uid}-w{w}", role="resident") for w in range(watchers)]
    session.add_all([owner, *watcher_users])
    session.flush()
    for w in watcher_users:
        session.add(Contact(owner_id=owner.id, contact_user_id=w.id))
    journey = Journey(
        owner_id=owner.id,
        active_owner_id=owner.id,
        dest_lat=53.5519,
        dest_lon=-2.6353,
        started_at=now,
        expected_arrival_at=now + timedelta(hours=2),
        next_check_at=now + timedelta(hours=2, minutes=10),
    )
    journey.contacts = [JourneyContact(contact_user_id=w.id) for w in watcher_users]
    session.add(journey)
    session.flush()
    return owner, watcher_users, journey


def prepare_relay(app, residents: int, watchers: int) -> list[dict]:  # type: ignore[no-untyped-def]
    """Users, consent links and one active journey per resident; returns tokens and ids."""
    from backend.auth.service import mint_dev_token
    from backend.extensions import db

    now = datetime.now(UTC)
    plan = []
    with app.app_context():
        for r in range(residents):
            owner, watcher_users, journey = add_walking_resident(
                db.session, f"bench-r{r}", watchers, now
            )
            plan.append(
                {
                    "journey": journey.id,
                    "owner": mint_dev_token(SECRET, owner.uid),
                    "watchers": [mint_dev_token(SECRET, w.uid) for w in watcher_users],
                }
            )
        db.session.commit()
        db.session.remove()
    return plan


# --- the client: raw HTTP/1.x over asyncio (bench/support/rawhttp.py), so the client is not what
# gets measured ------------------------------------------------------------------------------


def _cpu_seconds() -> float:
    return time.process_time()


def _watch_process(servers: list[str], plan: list[dict], window, ready, stop, out) -> None:  # type: ignore[no-untyped-def]
    """Hold every watcher's SSE stream (HTTP/1.0: the body is the raw event stream); report
    ``(journey, recorded_at, monotonic)`` per fix received, and this process's CPU seconds
    inside the measuring window."""
    received: list[tuple[int, str, float]] = []
    total = sum(len(p["watchers"]) for p in plan)
    cpu: dict[str, float] = {}

    async def main() -> None:
        opened = 0
        failed = 0

        async def watch(base: str, journey: int, token: str) -> None:
            nonlocal opened, failed
            host, port = split_url(base)
            request = (
                f"GET /api/v1/journeys/{journey}/stream HTTP/1.0\r\nHost: {host}\r\n"
                f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
            ).encode()
            for attempt in range(30):  # a busy server may refuse (503) while streams open
                if attempt:
                    await asyncio.sleep(0.2 * attempt)
                try:
                    reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
                except OSError:
                    continue
                writer.write(request)
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (OSError, asyncio.IncompleteReadError):
                    writer.close()
                    continue
                if b" 200 " in head.split(b"\r\n", 1)[0]:
                    break
                writer.close()
            else:
                failed += 1
                return
            try:
                buffer = b""
                loads = json.loads
                now = time.monotonic
                while True:
                    chunk = await reader.read(65536)
                    if not chunk:
                        return
                    buffer += chunk
                    while b"\n\n" in buffer:
                        block, buffer = buffer.split(b"\n\n", 1)
                        if block.startswith(b"event: fix"):
                            data = loads(block.split(b"data: ", 1)[1])
                            received.append((journey, data["recorded_at"], now()))
                        elif block.startswith(b"event: state"):
                            opened += 1
                            if opened == total:
                                ready.set()
            finally:
                writer.close()

        tasks = []
        for n, item in enumerate(plan):
            for w, token in enumerate(item["watchers"]):
                tasks.append(
                    asyncio.create_task(
                        watch(servers[(n + w) % len(servers)], item["journey"], token)
                    )
                )
                if len(tasks) % 50 == 0:
                    await asyncio.sleep(0.05)  # do not flood the listen backlog
        while not stop.is_set():
            now = time.monotonic()
            if window[0] <= now and "start" not in cpu:
                cpu["start"] = _cpu_seconds()
            if window[1] <= now and "end" not in cpu:
                cpu["end"] = _cpu_seconds()
            await asyncio.sleep(0.05)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        cpu["failed"] = failed

    asyncio.run(main())
    out.put((received, cpu.get("end", 0.0) - cpu.get("start", 0.0), cpu.get("failed", 0)))


def _post_process(
    servers: list[str],
    plan: list[dict],
    window: tuple[float, float],
    connections: int,
    out,  # type: ignore[no-untyped-def]
    path: str = FIX_PATH,
) -> None:
    """Each resident posts one fix per second (residents spread evenly over the second) over
    ``connections`` keep-alive connections per server, until the window ends, to ``path``
    (the resident's journey's fix path, or the trivial reference). Reports send times, the
    fixes accepted and refused inside the window, POST response times, how late the client
    sent against the schedule, and this process's CPU seconds in the window."""
    start, end = window
    sent: dict[tuple[int, str], float] = {}
    counts = {"accepted": 0, "errors": 0, "late_max": 0.0}
    responses: list[float] = []
    cpu: dict[str, float] = {}

    async def main() -> None:
        queues = [asyncio.Queue() for _ in servers]  # type: ignore[var-annotated]

        async def connection(index: int) -> None:
            host, port = split_url(servers[index])
            queue = queues[index]
            reader = writer = None
            while True:
                item = await queue.get()
                if item is None:
                    break
                journey, token, body_at = item
                at = datetime.now(UTC).isoformat()
                lat = 53.5425 + body_at * 1e-6
                body = (
                    f'{{"fixes":[{{"lat":{lat:.7f},"lon":-2.6405,'
                    f'"recorded_at":"{at}","battery":80}}]}}'
                ).encode()
                request = (
                    f"POST {path.format(journey=journey)} HTTP/1.1\r\nHost: {host}\r\n"
                    f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n"
                ).encode() + body
                posted = time.monotonic()
                sent[(journey, at)] = posted
                ok = False
                for _attempt in range(2):
                    try:
                        if writer is None:
                            reader, writer = await asyncio.open_connection(host, port)
                        writer.write(request)
                        status, keep, _ = await read_response(reader, want_body=False)  # type: ignore[arg-type]
                        ok = status == 200
                        if not keep:
                            writer.close()
                            reader = writer = None
                        break
                    except (OSError, asyncio.IncompleteReadError):
                        if writer is not None:
                            writer.close()
                        reader = writer = None
                if start <= posted <= end:
                    responses.append(time.monotonic() - posted)
                    counts["accepted" if ok else "errors"] += 1
            if writer is not None:
                writer.close()

        workers = [
            asyncio.create_task(connection(i))
            for i in range(len(servers))
            for _ in range(connections)
        ]
        schedule = [(n / len(plan), n) for n in range(len(plan))]
        tick = 0
        first = start - 10  # warm-up before the window
        while True:
            tick_at = first + tick
            if tick_at > end:
                break
            for offset, n in schedule:
                due = tick_at + offset
                delay = due - time.monotonic()
                if delay > 0.001:
                    await asyncio.sleep(delay)
                now = time.monotonic()
                if now > end:
                    break
                if start <= now and "start" not in cpu:
                    cpu["start"] = _cpu_seconds()
                if start <= due <= end:
                    counts["late_max"] = max(counts["late_max"], now - due)
                item = plan[n]
                queues[n % len(servers)].put_nowait((item["journey"], item["owner"], tick))
            tick += 1
        cpu["end"] = _cpu_seconds()
        for q in queues:
            for _ in range(connections):
                q.put_nowait(None)
        await asyncio.gather(*workers)

    asyncio.run(main())
    out.put(
        (
            sent,
            counts["accepted"],
            counts["errors"],
            responses,
            counts["late_max"],
            cpu.get("end", 0.0) - cpu.get("start", 0.0),
        )
    )


def _start_py_spy(pids: list[int], seconds: float) -> list[subprocess.Popen]:
    """Sample the gunicorn workers (not the masters) with py-spy, if installed, for the
    window: collapsed stacks of GIL-holding threads in bench/results/py-spy-<pid>.txt."""
    spy = Path(sys.executable).with_name("py-spy")
    if not spy.exists():
        print("SAFEHAVEN_PY_SPY set but py-spy is not installed", flush=True)
        return []
    workers = [p for p in pids if children(p) == []]
    out = ROOT / "bench" / "results"
    return [
        subprocess.Popen(
            [
                str(spy),
                "record",
                "-p",
                str(pid),
                "-d",
                str(int(seconds) - 1),
                "-r",
                "200",
                "--gil",
                "--format",
                "raw",
                "-o",
                str(out / f"py-spy-{pid}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid in workers
    ]


def _server_pids(pidfile: Path) -> list[int]:
    master = int(pidfile.read_text().strip())
    return [master, *children(master)]


def _db_backend_pids(url: str) -> list[int]:
    raw = url.replace("postgresql+psycopg://", "postgresql://")
    name = raw.rsplit("/", 1)[1]
    with psycopg.connect(raw) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        ).fetchall()
    return [r[0] for r in rows]


def _db_sessions(url: str) -> int:
    """Connections ever opened to the bench database (PostgreSQL 14+ counts them)."""
    raw = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(raw) as conn:
        row = conn.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    return int(row[0]) if row else 0


def run_relay(
    url: str,
    servers: list[str],
    plan: list[dict],
    seconds: float,
    warmup: float,
    connections: int,
    meter_groups,  # type: ignore[no-untyped-def]
    path: str = FIX_PATH,
) -> dict:
    """Watchers in one process, posters (to ``path``) in another (both asyncio with raw
    sockets), joined on the system-wide monotonic clock; CPU of the server, database, Redis
    and client processes is measured over the same window."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    ready, stop = ctx.Event(), ctx.Event()
    watch_out, post_out = ctx.Queue(), ctx.Queue()
    total_watchers = sum(len(p["watchers"]) for p in plan)
    # posting starts 10 s after the watchers are up, then warm-up, then the window
    start = time.monotonic() + 10 + warmup + 600  # placeholder until the watchers are up
    window = ctx.Array("d", [start, start + seconds])
    watcher = ctx.Process(
        target=_watch_process, args=(servers, plan, window, ready, stop, watch_out), daemon=True
    )  # daemonic: if the bench fails, exiting ends its clients instead of waiting on them
    watcher.start()
    deadline = time.monotonic() + 300
    while total_watchers and not ready.wait(1):
        if not watcher.is_alive() or time.monotonic() > deadline:
            stop.set()
            raise RuntimeError("watchers did not connect")
    start = time.monotonic() + 10 + warmup
    window[0], window[1] = start, start + seconds
    poster = ctx.Process(
        target=_post_process,
        args=(servers, plan, (start, start + seconds), connections, post_out, path),
        daemon=True,
    )
    poster.start()
    time.sleep(max(0.0, start - 0.5 - time.monotonic()))
    groups = meter_groups()  # database backends exist once the warm-up has run
    groups["client"] = [watcher.pid, poster.pid]
    meter = CpuMeter(groups)
    time.sleep(max(0.0, start - time.monotonic()))
    sessions_before = _db_sessions(url)
    meter.start()
    spies = _start_py_spy(groups["server"], seconds) if os.environ.get("SAFEHAVEN_PY_SPY") else []
    time.sleep(max(0.0, start + seconds - time.monotonic()))
    meter.stop(refresh={"database": meter_groups()["database"]})
    sessions_opened = _db_sessions(url) - sessions_before - 2  # less this count's own two
    for spy in spies:
        spy.wait(timeout=60)
    load = os.getloadavg()
    sent, accepted, errors, responses, late_max, post_cpu = post_out.get(timeout=seconds + 120)
    poster.join()
    time.sleep(2.0)  # let the last deliveries arrive
    stop.set()
    received, watch_cpu, failed_streams = watch_out.get(timeout=60)
    watcher.join()
    latencies = [
        t - sent[(j, at)]
        for j, at, t in received
        if (j, at) in sent and start <= sent[(j, at)] <= start + seconds
    ]
    per_journey = total_watchers / max(len(plan), 1)
    cpu = meter.result
    fixes = max(accepted, 1)
    machine_cores_busy = cpu["machine_busy"] / seconds
    ours = sum(cpu[k] for k in groups if k != "server_system")
    return {
        "accepted_fixes": accepted,
        "seconds": seconds,
        "fixes_per_s": round(accepted / seconds, 1),
        "post_errors": errors,
        "deliveries": len(latencies),
        "deliveries_expected": round(accepted * per_journey),
        "failed_streams": failed_streams,
        "p50_ms": round(pct(latencies, 50) * 1000, 2),
        "p99_ms": round(pct(latencies, 99) * 1000, 2),
        "post_response_p50_ms": round(pct(responses, 50) * 1000, 2),
        "post_response_p99_ms": round(pct(responses, 99) * 1000, 2),
        "client_late_max_ms": round(late_max * 1000, 1),
        "db_connections_opened": sessions_opened,
        "cpu_seconds": {k: round(v, 2) for k, v in cpu.items() if k != "machine_total"},
        "cpu_ms_per_fix": {
            "server": round(cpu["server"] / fixes * 1000, 3),
            "database": round(cpu["database"] / fixes * 1000, 3),
            "redis": round(cpu["redis"] / fixes * 1000, 3),
            "client": round(cpu["client"] / fixes * 1000, 3),
        },
        "client_cpu_self_reported_s": {
            "poster": round(post_cpu, 2),
            "watchers": round(watch_cpu, 2),
        },
        "machine_cores_busy": round(machine_cores_busy, 2),
        "other_work_cores": round(max(0.0, cpu["machine_busy"] - ours) / seconds, 2),
        "load_avg_at_window_end": [round(x, 2) for x in load],
    }


def redis_round_trip(url: str, messages: int = 3000) -> dict:
    """Raw Redis pub/sub: publish on one connection, receive on another, same process."""
    channel = f"bench:{uuid.uuid4().hex}"
    sub_client, pub_client = redis.Redis.from_url(url), redis.Redis.from_url(url)
    pubsub = sub_client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(channel)
    while pubsub.get_message(timeout=1) is None and not pubsub.subscribed:
        pass
    latencies: list[float] = []
    done = threading.Event()

    def listen() -> None:
        while len(latencies) < messages:
            message = pubsub.get_message(timeout=1)
            if message and message["type"] == "message":
                latencies.append(time.perf_counter() - float(message["data"]))
        done.set()

    thread = threading.Thread(target=listen)
    thread.start()
    for _ in range(messages):
        pub_client.publish(channel, repr(time.perf_counter()))
        time.sleep(0.0005)
    done.wait(30)
    thread.join(5)
    pubsub.close()
    sub_client.close()
    pub_client.close()
    return {
        "messages": len(latencies),
        "p50_ms": round(pct(latencies, 50) * 1000, 3),
        "p99_ms": round(pct(latencies, 99) * 1000, 3),
    }


def reset_relay_data(url: str) -> None:
    """Empty the relay phase's rows so the sweep sees only its own journeys."""
    raw = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(raw) as conn:
        conn.execute(
            "TRUNCATE alert_deliveries, alert_outbox, location_views, location_fixes, "
            "journey_contacts, watch_links, journeys, contacts, users RESTART IDENTITY CASCADE"
        )


def sweep_benchmark(url: str, journeys: int, due_fraction: float = 0.01) -> dict:
    """Insert ``journeys`` active journeys (1 % due, each with one contact) with COPY, then time
    one sweep pass, beside a full scan of active journeys that finds the same due ones."""
    from backend.extensions import db
    from backend.journeys import service

    raw = url.replace("postgresql+psycopg://", "postgresql://")
    now = datetime(2026, 11, 21, 23, 0, tzinfo=UTC)
    due = int(journeys * due_fraction)
    with psycopg.connect(raw) as conn:
        with conn.cursor() as cur:
            cur.execute("SELECT coalesce(max(id), 0) FROM users")
            base = cur.fetchone()[0] + 1
            with cur.copy("COPY users (id, uid, role, disabled, created_at) FROM STDIN") as copy:
                for i in range(journeys * 2):
                    copy.write_row((base + i, f"sweep-{i}", "resident", False, now))
            cur.execute("SELECT setval('users_id_seq', (SELECT max(id) FROM users))")
            with cur.copy(
                "COPY contacts (owner_id, contact_user_id, status, created_at) FROM STDIN"
            ) as copy:
                for i in range(journeys):
                    copy.write_row((base + i, base + journeys + i, "active", now))
            cols = (
                "owner_id, active_owner_id, state, overdue, sos, stationary, dest_lat, dest_lon, "
                "started_at, expected_arrival_at, next_check_at"
            )
            step = journeys // max(due, 1)
            with cur.copy(f"COPY journeys ({cols}) FROM STDIN") as copy:
                for i in range(journeys):
                    is_due = i % step == 0 and i // step < due
                    expected = now - timedelta(minutes=15) if is_due else now + timedelta(hours=1)
                    copy.write_row(
                        (
                            base + i,
                            base + i,
                            "active",
                            False,
                            False,
                            False,
                            53.55,
                            -2.63,
                            now - timedelta(minutes=30),
                            expected,
                            expected + timedelta(minutes=10),
                        )
                    )
            cur.execute(
                "INSERT INTO journey_contacts (journey_id, contact_user_id) "
                "SELECT j.id, c.contact_user_id FROM journeys j JOIN contacts c ON c.owner_id = j.owner_id "
                "WHERE j.owner_id >= %s",
                (base,),
            )
        conn.commit()
        with conn.cursor() as cur:
            cur.execute("ANALYZE")
    app = make_app(url)
    with app.app_context():
        # A worker is a long-lived process: warm its statement cache with a pass at a time
        # when nothing is due (this pass also shows the cost of an idle sweep).
        service.sweep_due(now=now - timedelta(days=1))
        # reference: what a sweep without the due-time index must do (scan every active one)
        started = time.perf_counter()
        found = db.session.execute(
            db.text(
                "SELECT count(*) FROM journeys WHERE state = 'active' AND NOT overdue "
                "AND expected_arrival_at + interval '10 minutes' <= :now"
            ),
            {"now": now},
        ).scalar()
        scan_ms = (time.perf_counter() - started) * 1000
        plan = (
            db.session.execute(
                db.text(
                    "EXPLAIN SELECT id FROM journeys WHERE next_check_at <= :now AND state = 'active' "
                    "ORDER BY next_check_at LIMIT 1000 FOR UPDATE SKIP LOCKED"
                ),
                {"now": now},
            )
            .scalars()
            .all()
        )
        db.session.rollback()
        started = time.perf_counter()
        checked = service.sweep_due(now=now, limit=max(due, 1) * 2)
        sweep_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        again = service.sweep_due(now=now)
        idle_ms = (time.perf_counter() - started) * 1000
        alerts = db.session.execute(db.text("SELECT count(*) FROM alert_outbox")).scalar()
        db.session.remove()
        db.engine.dispose()
    return {
        "active_journeys": journeys,
        "due": due,
        "checked": checked,
        "alerts_written": alerts,
        "sweep_ms": round(sweep_ms, 1),
        "second_pass_checked": again,
        "second_pass_ms": round(idle_ms, 2),
        "reference_full_scan_ms": round(scan_ms, 1),
        "reference_found": found,
        "index_used": any("ix_journeys_next_check_at" in line for line in plan),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=300)
    parser.add_argument("--watchers", type=int, default=2, help="watchers per journey")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument(
        "--connections", type=int, default=16, help="poster keep-alive connections per server"
    )
    parser.add_argument("--tag", default="", help="suffix of the results file name")
    parser.add_argument("--warmup", type=float, default=8, help="seconds before measuring")
    parser.add_argument("--threads", type=int, default=0, help="gunicorn threads per worker")
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="gunicorn workers per server process (2 x 2 on 2 cores: one worker's threads "
        "queue on its GIL behind every database wait)",
    )
    parser.add_argument("--journeys", type=int, default=100_000, help="sweep: active journeys")
    parser.add_argument(
        "--no-trivial", action="store_true", help="skip the trivial POST endpoint reference"
    )
    parser.add_argument(
        "--redis", default=os.environ.get("SAFEHAVEN_BENCH_REDIS", "redis://127.0.0.1:6379/11")
    )
    args = parser.parse_args()

    # per run: a second run at the same time (another checkout) must not drop this one's
    name = f"safehaven_bench_location_relay_{os.getpid()}"
    url = databases.fresh_pg_database(name)
    try:
        app = make_app(url)
        from backend.extensions import db

        with app.app_context():
            db.create_all()
            db.session.remove()
        plan = prepare_relay(app, args.residents, args.watchers)
        with app.app_context():
            db.engine.dispose()
        # gthread: one thread per open stream plus the posters' connections (and room)
        # (the kernel need not share a server's streams evenly between its workers; idle
        # threads are only created when needed)
        streams = args.residents * args.watchers // 2
        threads = args.threads or streams + args.connections + 32
        env = {
            "SAFEHAVEN_ENV": "testing",
            "SAFEHAVEN_AUTH": "dev",
            "SECRET_KEY": SECRET,
            "DATABASE_URL": url,
            "REDIS_URL": args.redis,
            "SAFEHAVEN_REDIS_PREFIX": f"bench-{uuid.uuid4().hex[:6]}:",
            "SAFEHAVEN_RATELIMIT": "false",
            # One pooled connection per poster connection, no overflow: overflow connections
            # are opened and closed per request, which under load costs more than the fix.
            # (capped: PostgreSQL here allows 100 connections for everyone)
            "SAFEHAVEN_DB_POOL_SIZE": str(min(12, args.connections // args.workers + 2)),
            "SAFEHAVEN_DB_MAX_OVERFLOW": "0",
        }
        print(
            f"relay: {args.residents} residents x 1 fix/s, {args.watchers} watchers each, "
            f"{args.seconds:.0f} s, 2 gunicorn processes x {args.workers} workers x "
            f"{threads} threads",
            flush=True,
        )
        pidfiles = [
            Path(tempfile.gettempdir()) / f"bench-relay-{os.getpid()}-{i}.pid" for i in (0, 1)
        ]
        extra = ["--workers", str(args.workers), "--worker-connections", str(threads + 64)]
        redis_pids = pids_named("redis-server")

        def meter_groups() -> dict[str, list[int]]:
            return {
                "server": [p for f in pidfiles for p in _server_pids(f)],
                "database": _db_backend_pids(url),
                "redis": redis_pids,
            }

        app_spec = "bench.location_relay:bench_app()"
        with (
            gunicorn(
                env, threads=threads, extra_args=[*extra, "--pid", str(pidfiles[0])], app=app_spec
            ) as a,
            gunicorn(
                env, threads=threads, extra_args=[*extra, "--pid", str(pidfiles[1])], app=app_spec
            ) as b,
        ):
            relay = run_relay(
                url, [a, b], plan, args.seconds, args.warmup, args.connections, meter_groups
            )
            trivial = None
            if not args.no_trivial:
                # The same servers, open streams, client and offered load, posting to an
                # endpoint that does nothing: the ceiling this machine gives this setup.
                print("reference: the same load on a trivial POST endpoint", flush=True)
                trivial = run_relay(
                    url,
                    [a, b],
                    plan,
                    args.seconds,
                    args.warmup,
                    args.connections,
                    meter_groups,
                    path=TRIVIAL_PATH,
                )
        reference = redis_round_trip(args.redis)
        sweep = None
        if args.journeys:
            print(f"sweep: inserting {args.journeys} active journeys", flush=True)
            reset_relay_data(url)
            sweep = sweep_benchmark(url, args.journeys)
    finally:
        databases.drop_pg_database(name)

    rows = [
        (
            "fixes accepted /s",
            f"{relay['fixes_per_s']}",
            f"target >= 1000 (offered {args.residents}/s)",
        ),
        ("post -> watcher p50 (ms)", f"{relay['p50_ms']}", f"{relay['deliveries']} deliveries"),
        ("post -> watcher p99 (ms)", f"{relay['p99_ms']}", "target < 250"),
        (
            "POST response p50 / p99 (ms)",
            f"{relay['post_response_p50_ms']} / {relay['post_response_p99_ms']}",
            f"client sent at most {relay['client_late_max_ms']} ms late",
        ),
        (
            "server CPU per fix (ms)",
            f"{relay['cpu_ms_per_fix']['server']}",
            "both gunicorn processes, deliveries included",
        ),
        (
            "database CPU per fix (ms)",
            f"{relay['cpu_ms_per_fix']['database']}",
            f"PostgreSQL backends of the bench database; {relay['db_connections_opened']} "
            "connections opened in the window",
        ),
        (
            "client CPU per fix (ms)",
            f"{relay['cpu_ms_per_fix']['client']}",
            "poster + watcher processes",
        ),
        (
            "Redis CPU per fix (ms)",
            f"{relay['cpu_ms_per_fix']['redis']}",
            "redis-server (shared with other work)",
        ),
        (
            "machine cores busy",
            f"{relay['machine_cores_busy']}",
            f"of 2; other work {relay['other_work_cores']}; "
            f"load {relay['load_avg_at_window_end'][0]}",
        ),
    ]
    if trivial:
        rows += [
            (
                "trivial POST accepted /s",
                f"{trivial['fixes_per_s']}",
                f"reference, same servers and load; fix path at "
                f"{relay['fixes_per_s'] / max(trivial['fixes_per_s'], 0.1):.2f} of it",
            ),
            (
                "trivial POST response p50 / p99 (ms)",
                f"{trivial['post_response_p50_ms']} / {trivial['post_response_p99_ms']}",
                "reference, same run",
            ),
            (
                "trivial: server CPU per POST (ms)",
                f"{trivial['cpu_ms_per_fix']['server']}",
                f"reference; client {trivial['cpu_ms_per_fix']['client']} ms",
            ),
        ]
    rows += [
        ("raw Redis pub/sub p50 (ms)", f"{reference['p50_ms']}", "reference, same run"),
        ("raw Redis pub/sub p99 (ms)", f"{reference['p99_ms']}", "reference, same run"),
    ]
    if sweep:
        rows += [
            (
                "sweep, 1% due (ms)",
                f"{sweep['sweep_ms']}",
                f"{sweep['checked']} due of {sweep['active_journeys']}; target < 1000",
            ),
            ("sweep, nothing due (ms)", f"{sweep['second_pass_ms']}", "index range scan"),
            (
                "reference full scan (ms)",
                f"{sweep['reference_full_scan_ms']}",
                "scan of all active journeys",
            ),
        ]
    width = max(len(r[0]) for r in rows)
    print(f"\n{'measure'.ljust(width)}  {'value':>14}  note")
    for label, value, note in rows:
        print(f"{label.ljust(width)}  {value:>14}  {note}")
    result = {
        "args": vars(args),
        "relay": relay,
        "trivial_post_reference": trivial,
        "redis_reference": reference,
        "sweep": sweep,
        "machine": {"cpus": os.cpu_count(), "load_avg_at_end": os.getloadavg()},
        "when": datetime.now(UTC).isoformat(),
    }
    out = ROOT / "bench" / "results" / f"location_relay{'_' + args.tag if args.tag else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {out.relative_to(ROOT)}")
    if relay["deliveries"] == 0 and args.watchers:
        raise SystemExit("no fix reached a watcher")


if __name__ == "__main__":
    main()
