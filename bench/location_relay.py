"""Location relay benchmark: two gunicorn processes sharing Redis and PostgreSQL.

N residents each post one fix per second to one process; M watchers per journey hold SSE
streams, half on each process. Reports accepted fixes/s and post-to-watcher latency
(p50/p99) beside a raw Redis publish/subscribe round trip measured in the same run, then the
overdue sweep's time with ``--journeys`` active journeys of which 1 % are due, beside a
reference query that scans every active journey without the due-time index.

    .venv/bin/python bench/location_relay.py --residents 300 --watchers 2 --seconds 20

Writes ``bench/results/location_relay.json``."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psycopg  # noqa: E402
import redis  # noqa: E402

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


def prepare_relay(app, residents: int, watchers: int) -> list[dict]:  # type: ignore[no-untyped-def]
    """Users, consent links and one active journey per resident; returns tokens and ids."""
    from backend.auth.models import User
    from backend.auth.service import mint_dev_token
    from backend.contacts.models import Contact
    from backend.extensions import db
    from backend.journeys.models import Journey, JourneyContact

    now = datetime.now(UTC)
    plan = []
    with app.app_context():
        for r in range(residents):
            owner = User(uid=f"bench-r{r}", role="resident", display_name=f"Resident {r}")
            db.session.add(owner)
            watcher_users = [User(uid=f"bench-r{r}-w{w}", role="resident") for w in range(watchers)]
            db.session.add_all(watcher_users)
            db.session.flush()
            for w in watcher_users:
                db.session.add(Contact(owner_id=owner.id, contact_user_id=w.id))
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
            db.session.add(journey)
            db.session.flush()
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


def _watch_process(servers: list[str], plan: list[dict], ready, stop, out) -> None:  # type: ignore[no-untyped-def]
    """Hold every watcher's SSE stream; report ``(journey, recorded_at, monotonic)`` per fix."""
    received: list[tuple[int, str, float]] = []
    total = sum(len(p["watchers"]) for p in plan)

    async def main() -> None:
        opened = 0
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
        timeout = httpx.Timeout(30.0, read=None)

        async def watch(client: httpx.AsyncClient, base: str, journey: int, token: str) -> None:
            nonlocal opened
            url = f"{base}/api/v1/journeys/{journey}/stream"
            headers = {"Authorization": f"Bearer {token}"}
            async with client.stream("GET", url, headers=headers) as resp:
                resp.raise_for_status()
                buffer = ""
                async for chunk in resp.aiter_text():
                    buffer += chunk
                    while "\n\n" in buffer:
                        block, buffer = buffer.split("\n\n", 1)
                        if block.startswith("event: state"):
                            opened += 1
                            if opened == total:
                                ready.set()
                        elif block.startswith("event: fix"):
                            data = json.loads(block.split("data: ", 1)[1])
                            received.append((journey, data["recorded_at"], time.monotonic()))

        async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
            tasks = [
                asyncio.create_task(
                    watch(client, servers[(n + w) % len(servers)], item["journey"], token)
                )
                for n, item in enumerate(plan)
                for w, token in enumerate(item["watchers"])
            ]
            while not stop.is_set():
                await asyncio.sleep(0.2)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(main())
    out.put(received)


def _post_process(
    servers: list[str], plan: list[dict], window: tuple[float, float], threads: int, out
) -> None:  # type: ignore[no-untyped-def]
    """Each resident posts one fix per second until the window ends; reports send times and
    the fixes accepted inside the window."""
    import requests

    start, end = window
    sent: dict[tuple[int, str], float] = {}
    accepted = [0] * threads
    errors = [0] * threads

    def run(k: int) -> None:
        mine = plan[k::threads]
        with requests.Session() as http:
            tick = 0
            while True:
                tick_at = start - 10 + tick  # residents are spread over each second
                if tick_at > end:
                    return
                for n, item in enumerate(mine):
                    due = tick_at + ((k + n * threads) % 100) / 100
                    delay = due - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    if time.monotonic() > end:
                        return
                    at = datetime.now(UTC).isoformat()
                    body = {
                        "fixes": [
                            {
                                "lat": 53.5425 + tick * 1e-5,
                                "lon": -2.6405,
                                "recorded_at": at,
                                "battery": 80,
                            }
                        ]
                    }
                    base = servers[(k + n) % len(servers)]
                    url = f"{base}/api/v1/journeys/{item['journey']}/locations"
                    posted = time.monotonic()
                    sent[(item["journey"], at)] = posted
                    try:
                        resp = http.post(
                            url, json=body, headers={"Authorization": f"Bearer {item['owner']}"}
                        )
                        ok = resp.status_code == 200
                    except requests.RequestException:
                        ok = False
                    if start <= posted <= end:
                        if ok:
                            accepted[k] += 1
                        else:
                            errors[k] += 1
                tick += 1

    workers = [threading.Thread(target=run, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    out.put((sent, sum(accepted), sum(errors)))


def run_relay(
    servers: list[str], plan: list[dict], seconds: float, warmup: float, client_threads: int
) -> dict:
    """Watchers in one process (asyncio), posters in another (threads), joined on the
    system-wide monotonic clock."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    ready, stop = ctx.Event(), ctx.Event()
    watch_out, post_out = ctx.Queue(), ctx.Queue()
    watcher = ctx.Process(target=_watch_process, args=(servers, plan, ready, stop, watch_out))
    watcher.start()
    if sum(len(p["watchers"]) for p in plan) and not ready.wait(180):
        raise RuntimeError("watchers did not connect")
    start = time.monotonic() + 10 + warmup  # posting starts 10 s from now, then warm-up
    window = (start, start + seconds)
    poster = ctx.Process(
        target=_post_process, args=(servers, plan, window, client_threads, post_out)
    )
    poster.start()
    sent, accepted, errors = post_out.get(timeout=seconds + warmup + 120)
    poster.join()
    time.sleep(2.0)  # let the last deliveries arrive
    stop.set()
    received = watch_out.get(timeout=60)
    watcher.join()
    latencies = [
        t - sent[(j, at)]
        for j, at, t in received
        if (j, at) in sent and window[0] <= sent[(j, at)] <= window[1]
    ]
    return {
        "accepted_fixes": accepted,
        "seconds": seconds,
        "fixes_per_s": round(accepted / seconds, 1),
        "post_errors": errors,
        "deliveries": len(latencies),
        "p50_ms": round(pct(latencies, 50) * 1000, 2),
        "p99_ms": round(pct(latencies, 99) * 1000, 2),
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
    parser.add_argument("--client-threads", type=int, default=48, help="poster threads")
    parser.add_argument("--tag", default="", help="suffix of the results file name")
    parser.add_argument("--warmup", type=float, default=8, help="seconds before measuring")
    parser.add_argument("--threads", type=int, default=0, help="gunicorn threads per process")
    parser.add_argument("--journeys", type=int, default=100_000, help="sweep: active journeys")
    parser.add_argument(
        "--redis", default=os.environ.get("SAFEHAVEN_BENCH_REDIS", "redis://127.0.0.1:6379/11")
    )
    args = parser.parse_args()

    name = "safehaven_bench_location_relay"
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
        threads = args.threads or max(32, args.residents * args.watchers // 2 + 32)
        env = {
            "SAFEHAVEN_ENV": "testing",
            "SAFEHAVEN_AUTH": "dev",
            "SECRET_KEY": SECRET,
            "DATABASE_URL": url,
            "REDIS_URL": args.redis,
            "SAFEHAVEN_REDIS_PREFIX": f"bench-{uuid.uuid4().hex[:6]}:",
            "SAFEHAVEN_RATELIMIT": "false",
        }
        print(
            f"relay: {args.residents} residents x 1 fix/s, {args.watchers} watchers each, "
            f"{args.seconds:.0f} s, 2 gunicorn processes x {threads} threads",
            flush=True,
        )
        with gunicorn(env, threads=threads) as a, gunicorn(env, threads=threads) as b:
            relay = run_relay([a, b], plan, args.seconds, args.warmup, args.client_threads)
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
    print(f"\n{'measure'.ljust(width)}  {'value':>10}  note")
    for label, value, note in rows:
        print(f"{label.ljust(width)}  {value:>10}  {note}")
    result = {
        "args": vars(args),
        "relay": relay,
        "redis_reference": reference,
        "sweep": sweep,
        "machine": {"cpus": os.cpu_count(), "load_avg_at_end": os.getloadavg()},
        "when": datetime.now(UTC).isoformat(),
    }
    out = ROOT / "bench" / "results" / f"location_relay{'_' + args.tag if args.tag else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {out.relative_to(ROOT)}")
    if relay["deliveries"] == 0:
        raise SystemExit("no fix reached a watcher")


if __name__ == "__main__":
    main()
