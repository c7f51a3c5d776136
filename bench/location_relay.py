"""Location relay benchmark: the API pool and the stream server sharing Redis and PostgreSQL.

By default (``--streams-engine gateway``) the production shape: one gunicorn API pool (stream
routes refused) takes the fixes, ``safehaven stream-server`` holds every watcher's stream,
10,000 in all (``--residents`` x ``--watchers`` on posting journeys, ``--idle-watchers`` on
journeys nobody posts to). It reports the memory per open stream, the stream server's CPU,
and ``/api/v1/venues/nearest`` p99 with all streams open beside the same with none open.
``--streams-engine inline`` is the former shape described next.

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

    .venv/bin/python bench/location_relay.py --journeys 0 --tag streams_10k   # 10,000 streams
    .venv/bin/python bench/location_relay.py --streams-engine inline --residents 300 --idle-watchers 0

Writes ``bench/results/location_relay.json``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
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
from tests.support.servers import gunicorn, stream_server  # noqa: E402

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


def prepare_relay(  # type: ignore[no-untyped-def]
    app, residents: int, watchers: int, idle_journeys: int = 0, idle_watchers: int = 4
) -> list[dict]:
    """Users, consent links and one active journey per resident; returns tokens and ids.
    ``idle_journeys`` more journeys, ``idle_watchers`` watchers each, are marked ``idle``:
    watched, never posted to."""
    from backend.auth.service import mint_dev_token
    from backend.extensions import db

    now = datetime.now(UTC)
    plan = []
    with app.app_context():
        for r in range(residents + idle_journeys):
            idle = r >= residents
            owner, watcher_users, journey = add_walking_resident(
                db.session, f"bench-r{r}", idle_watchers if idle else watchers, now
            )
            plan.append(
                {
                    "journey": journey.id,
                    "owner": mint_dev_token(SECRET, owner.uid),
                    "watchers": [mint_dev_token(SECRET, w.uid) for w in watcher_users],
                    "idle": idle,
                }
            )
            if r % 500 == 499:
                db.session.commit()
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
                if opened + failed == total:
                    ready.set()
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
                        # (a chunked answer puts chunk sizes between events: look inside)
                        block, buffer = buffer.split(b"\n\n", 1)
                        if b"event: fix" in block:
                            data = loads(block.split(b"data: ", 1)[1])
                            received.append((journey, data["recorded_at"], now()))
                        elif b"event: state" in block:
                            opened += 1
                            if opened + failed == total:
                                gc.collect()  # the client's own pauses must not be measured
                                gc.freeze()
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


def _start_py_spy(pids: list[int], seconds: float, name: str = "py-spy") -> list[subprocess.Popen]:
    """Sample the gunicorn workers (not the masters) with py-spy, if installed, for the
    window: collapsed stacks of GIL-holding threads in bench/results/<name>-<pid>.txt."""
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
                str(out / f"{name}-{pid}.txt"),
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
    stream_servers: list[str] | None = None,
    stream_pids=None,  # type: ignore[no-untyped-def]
    while_open=None,  # type: ignore[no-untyped-def]
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
    rss_before = _rss_mb(stream_pids()) if stream_pids else None
    watcher = ctx.Process(
        target=_watch_process,
        args=(stream_servers or servers, plan, window, ready, stop, watch_out),
        daemon=True,
    )  # daemonic: if the bench fails, exiting ends its clients instead of waiting on them
    watcher.start()
    opening_started = time.monotonic()
    deadline = time.monotonic() + 600
    while total_watchers and not ready.wait(1):
        if not watcher.is_alive() or time.monotonic() > deadline:
            stop.set()
            raise RuntimeError("watchers did not connect")
    opening_s = time.monotonic() - opening_started
    time.sleep(3)  # settle: the last opens' database work is done
    rss_after = _rss_mb(stream_pids()) if stream_pids else None
    during = while_open() if while_open else None
    posting = [p for p in plan if not p.get("idle")]
    start = time.monotonic() + 10 + warmup
    window[0], window[1] = start, start + seconds
    poster = ctx.Process(
        target=_post_process,
        args=(servers, posting, (start, start + seconds), connections, post_out, path),
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
    per_journey = sum(len(p["watchers"]) for p in posting) / max(len(posting), 1)
    # the slowest delivery of each second of the window: a pause shows as a run of them
    worst: dict[int, float] = {}
    for j, at, t in received:
        sent_at = sent.get((j, at))
        if sent_at is not None and start <= sent_at <= start + seconds:
            second = int(sent_at - start)
            worst[second] = max(worst.get(second, 0.0), t - sent_at)
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
        "p999_ms": round(pct(latencies, 99.9) * 1000, 2),
        "worst_delivery_ms_per_second": [
            round(worst.get(n, 0.0) * 1000) for n in range(int(seconds))
        ],
        "post_response_p50_ms": round(pct(responses, 50) * 1000, 2),
        "post_response_p99_ms": round(pct(responses, 99) * 1000, 2),
        "client_late_max_ms": round(late_max * 1000, 1),
        "db_connections_opened": sessions_opened,
        "cpu_seconds": {k: round(v, 2) for k, v in cpu.items() if k != "machine_total"},
        "cpu_ms_per_fix": {
            "streams": round(cpu.get("streams", 0.0) / fixes * 1000, 3),
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
        "open_streams": total_watchers,
        "streams_on_active_journeys": sum(len(p["watchers"]) for p in posting),
        "seconds_to_open_all_streams": round(opening_s, 1),
        "stream_server_rss_mb": {"before": rss_before, "all_open": rss_after},
        "kb_per_open_stream": (
            round((rss_after - rss_before) * 1024 / total_watchers, 1)
            if rss_before is not None and rss_after is not None and total_watchers
            else None
        ),
        "while_open": during,
    }


def _rss_mb(pids: list[int]) -> float:
    """Resident memory of ``pids`` together (MB)."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return round(total / 1024, 1)


def _tree(pid: int) -> list[int]:
    return [pid, *[p for c in children(pid) for p in _tree(c)]]


def nearest_latencies(server: str, seconds: float, connections: int = 8) -> dict:
    """``GET /api/v1/venues/nearest`` from ``connections`` keep-alive connections for
    ``seconds`` (one request at a time each): p50/p99 and requests/s."""
    from bench.support.rawhttp import Connection

    latencies: list[float] = []
    failures = 0

    async def one(n: int) -> None:
        nonlocal failures
        conn = Connection(server)
        end = time.monotonic() + seconds
        i = n
        while time.monotonic() < end:
            i += connections
            lat, lon = 53.50 + (i % 97) * 0.001, -2.70 + (i % 89) * 0.002
            t = time.monotonic()
            answer = await conn.request(
                "GET", "/api/v1/venues/nearest", params={"lat": f"{lat:.5f}", "lon": f"{lon:.5f}"}
            )
            if answer.status_code == 200:
                latencies.append(time.monotonic() - t)
            else:
                failures += 1
        conn.close()

    async def main() -> None:
        await asyncio.gather(*(one(n) for n in range(connections)))

    asyncio.run(main())
    return {
        "requests": len(latencies),
        "failures": failures,
        "req_per_s": round(len(latencies) / seconds, 1),
        "p50_ms": round(pct(latencies, 50) * 1000, 2),
        "p99_ms": round(pct(latencies, 99) * 1000, 2),
    }


def load_venues(url: str, n: int = 5000) -> None:
    """``n`` verified venues open all hours round Wigan (COPY; the trigger sets ``geog``)."""
    import random

    raw = url.replace("postgresql+psycopg://", "postgresql://")
    rng = random.Random(5)
    now = datetime.now(UTC)
    with psycopg.connect(raw) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY venues (name, category, status, opening_hours, schemes, is_demo,"
            " created_at, updated_at, lat, lon) FROM STDIN"
        ) as copy:
            for i in range(n):
                copy.write_row(
                    (
                        f"Venue {i}",
                        "pub_or_bar",
                        "verified",
                        "24/7",
                        "[]",
                        False,
                        now,
                        now,
                        53.45 + rng.random() * 0.15,
                        -2.75 + rng.random() * 0.25,
                    )
                )
        conn.commit()


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
                "COPY contacts (owner_id, contact_user_id, status, created_at,"
                " owner_shares_phone, contact_shares_phone) FROM STDIN"
            ) as copy:
                for i in range(journeys):
                    copy.write_row((base + i, base + journeys + i, "active", now, False, False))
            cols = (
                "owner_id, active_owner_id, state, kind, overdue, sos, stationary, dest_lat, "
                "dest_lon, started_at, expected_arrival_at, next_check_at"
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
                            "journey",
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


def sweep_only(args: argparse.Namespace) -> None:
    """The overdue sweep alone, on a database of its own: ``--journeys`` active journeys, 1 %
    due, timed beside a full scan of active journeys (three passes, each on fresh data)."""
    passes = []
    for _ in range(3):
        name = f"safehaven_bench_sweep_{os.getpid()}"
        url = databases.fresh_pg_database(name)
        try:
            app = make_app(url)
            from backend.extensions import db

            with app.app_context():
                db.create_all()
                db.session.remove()
                db.engine.dispose()
            passes.append(sweep_benchmark(url, args.journeys))
            print(passes[-1], flush=True)
        finally:
            databases.drop_pg_database(name)
    result = {
        "args": vars(args),
        "sweep_passes": passes,
        "sweep_ms": [p["sweep_ms"] for p in passes],
        "reference_full_scan_ms": [p["reference_full_scan_ms"] for p in passes],
        "target_ms": 1000,
        "machine": {"cpus": os.cpu_count(), "load_avg_at_end": os.getloadavg()},
        "when": datetime.now(UTC).isoformat(),
    }
    tag = f"_{args.tag}" if args.tag else ""
    out = ROOT / "bench" / "results" / f"location_relay_sweep{tag}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=1000, help="posting, 1 fix/s each")
    parser.add_argument(
        "--streams-engine",
        choices=["gateway", "gevent", "inline"],
        default="gateway",
        help="who holds the streams: the stream server (safehaven stream-server, uvicorn), a "
        "gunicorn gevent pool of the same app (the candidate it was measured against; needs "
        "`pip install gevent`, not a dependency), or (inline) the two gthread API servers "
        "themselves as before",
    )
    parser.add_argument(
        "--idle-watchers",
        type=int,
        default=8000,
        help="more open streams, 4 per journey, on journeys nobody posts to (not with inline)",
    )
    parser.add_argument(
        "--stream-workers", type=int, default=2, help="stream server (or gevent) processes"
    )
    parser.add_argument("--nearest-seconds", type=float, default=15)
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
    parser.add_argument(
        "--sweep-only", action="store_true", help="only the overdue sweep (--journeys active)"
    )
    args = parser.parse_args()
    if args.sweep_only:
        sweep_only(args)
        return

    # 10,000 sockets in the watcher client and as many in the stream server (they inherit it)
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4 * (args.residents * args.watchers + args.idle_watchers) + 4096
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, wanted), hard))
    print(f"open files: {resource.getrlimit(resource.RLIMIT_NOFILE)} (soft, hard)", flush=True)
    inline = args.streams_engine == "inline"
    idle_watchers = 0 if inline else args.idle_watchers

    # per run: a second run at the same time (another checkout) must not drop this one's
    name = f"safehaven_bench_location_relay_{os.getpid()}"
    url = databases.fresh_pg_database(name)
    nearest_none = None
    try:
        app = make_app(url)
        from backend.extensions import db

        with app.app_context():
            db.create_all()
            db.session.remove()
        plan = prepare_relay(app, args.residents, args.watchers, idle_watchers // 4, 4)
        load_venues(url)
        with app.app_context():
            db.engine.dispose()
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
        # the stream side only opens streams (one authorisation each) on its connections
        stream_env = {**env, "SAFEHAVEN_DB_POOL_SIZE": "6"}
        redis_pids = pids_named("redis-server")
        pidfiles = [
            Path(tempfile.gettempdir()) / f"bench-relay-{os.getpid()}-{i}.pid" for i in (0, 1, 2)
        ]
        app_spec = "bench.location_relay:bench_app()"
        stream_master: list[int] = []
        with contextlib.ExitStack() as stack:
            if inline:
                # gthread: one thread per open stream plus the posters' connections (and room)
                streams = args.residents * args.watchers // 2
                threads = args.threads or streams + args.connections + 32
                extra = ["--workers", str(args.workers), "--worker-connections", str(threads + 64)]
                servers = [
                    stack.enter_context(
                        gunicorn(
                            env,
                            threads=threads,
                            extra_args=[*extra, "--pid", str(pidfiles[i])],
                            app=app_spec,
                        )
                    )
                    for i in (0, 1)
                ]
                stream_servers, connections = servers, args.connections
                shape = (
                    f"2 gunicorn processes x {args.workers} workers x {threads} threads, "
                    "streams on them"
                )
            else:
                connections = args.connections * 2
                threads = args.threads or connections + 8
                api = stack.enter_context(
                    gunicorn(
                        {**env, "SAFEHAVEN_INLINE_STREAMS": "false"},
                        threads=threads,
                        extra_args=[
                            "--workers",
                            str(args.workers),
                            "--pid",
                            str(pidfiles[0]),
                        ],
                        app=app_spec,
                    )
                )
                if args.streams_engine == "gateway":
                    streams_url = stack.enter_context(
                        stream_server(stream_env, workers=args.stream_workers, pids=stream_master)
                    )
                else:
                    streams_url = stack.enter_context(
                        gunicorn(
                            stream_env,
                            extra_args=[
                                "--worker-class",
                                "gevent",
                                "--workers",
                                str(args.stream_workers),
                                "--worker-connections",
                                str(args.residents * args.watchers + idle_watchers + 1000),
                                "--pid",
                                str(pidfiles[2]),
                            ],
                            app=app_spec,
                        )
                    )
                    stream_master.append(int(pidfiles[2].read_text().strip()))
                servers, stream_servers = [api], [streams_url]
                shape = (
                    f"API: gunicorn {args.workers} gthread workers x {threads} threads "
                    f"(streams refused); streams: {args.streams_engine} x {args.stream_workers}"
                )

            def meter_groups() -> dict[str, list[int]]:
                groups = {
                    "server": [p for f in pidfiles[:2] if f.exists() for p in _server_pids(f)],
                    "database": _db_backend_pids(url),
                    "redis": redis_pids,
                }
                if not inline:
                    groups["streams"] = _tree(stream_master[0])
                return groups

            def stream_pids() -> list[int]:
                return _tree(stream_master[0]) if stream_master else []

            total = sum(len(p["watchers"]) for p in plan)
            print(
                f"relay: {args.residents} residents x 1 fix/s, {args.watchers} watchers each, "
                f"{total} open streams in all, {args.seconds:.0f} s; {shape}",
                flush=True,
            )
            if not inline:
                nearest_latencies(servers[0], 3)  # warm
                nearest_none = nearest_latencies(servers[0], args.nearest_seconds)
                print(f"nearest, no streams open: {nearest_none}", flush=True)

            def while_open() -> dict | None:
                if inline:
                    return None
                found = nearest_latencies(servers[0], args.nearest_seconds)
                print(f"nearest, all streams open: {found}", flush=True)
                return {"nearest": found}

            relay = run_relay(
                url,
                servers,
                plan,
                args.seconds,
                args.warmup,
                connections,
                meter_groups,
                stream_servers=stream_servers,
                stream_pids=stream_pids if not inline else None,
                while_open=while_open,
            )
            trivial = None
            if not args.no_trivial:
                # The same servers, open streams, client and offered load, posting to an
                # endpoint that does nothing: the ceiling this machine gives this setup.
                print("reference: the same load on a trivial POST endpoint", flush=True)
                trivial = run_relay(
                    url,
                    servers,
                    plan,
                    args.seconds,
                    args.warmup,
                    connections,
                    meter_groups,
                    path=TRIVIAL_PATH,
                    stream_servers=stream_servers,
                    stream_pids=stream_pids if not inline else None,
                )
        reference = redis_round_trip(args.redis)
        sweep = None
        if args.journeys:
            print(f"sweep: inserting {args.journeys} active journeys", flush=True)
            reset_relay_data(url)
            sweep = sweep_benchmark(url, args.journeys)
    finally:
        databases.drop_pg_database(name)

    rows = []
    if not inline:
        opened = relay["while_open"]["nearest"] if relay["while_open"] else None
        rows += [
            (
                "open streams",
                f"{relay['open_streams']}",
                f"{relay['streams_on_active_journeys']} on posting journeys; opened in "
                f"{relay['seconds_to_open_all_streams']} s; {args.streams_engine} x "
                f"{args.stream_workers}",
            ),
            (
                "memory per open stream (KB)",
                f"{relay['kb_per_open_stream']}",
                f"stream server RSS {relay['stream_server_rss_mb']['before']} MB with none, "
                f"{relay['stream_server_rss_mb']['all_open']} MB with all open",
            ),
            (
                "stream server CPU per fix (ms)",
                f"{relay['cpu_ms_per_fix']['streams']}",
                f"all its processes, idle streams' heartbeats included; "
                f"{relay['cpu_seconds']['streams'] / args.seconds:.2f} cores",
            ),
        ]
        if opened and nearest_none:
            rows += [
                (
                    "nearest p99 (ms), all streams open",
                    f"{opened['p99_ms']}",
                    f"no streams (same run, server, client): {nearest_none['p99_ms']}; "
                    f"ratio {opened['p99_ms'] / max(nearest_none['p99_ms'], 0.001):.2f} "
                    "(target <= 1.5)",
                ),
                (
                    "nearest p50 (ms), all streams open",
                    f"{opened['p50_ms']}",
                    f"no streams: {nearest_none['p50_ms']}; req/s {opened['req_per_s']} vs "
                    f"{nearest_none['req_per_s']}",
                ),
            ]
    rows += [
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
                f"reference, same servers, streams and load; fix path at "
                f"{relay['fixes_per_s'] / max(trivial['fixes_per_s'], 0.1):.2f} of it "
                "(target >= 0.95)",
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
        "nearest_no_streams": nearest_none,
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
