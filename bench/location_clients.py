"""Third-party trackers against a trivial POST, in the same run: posts per second accepted
for ``POST /owntracks`` (the real OwnTracks Android location payload, HTTP Basic), ``POST
/osmand`` (Traccar Client: its query string), the app's own fix route and a trivial JSON POST
endpoint, on one gunicorn process (2 workers x 8 threads, Redis broker as in production) on
loopback, from 16 keep-alive connections over 1,500 residents walking on active journeys
shared with a contact. Each post is a new whole second for its resident (OwnTracks'
resolution), so every post is a fix to store; after the run the fixes stored by source are
printed beside the 2xx answers.

Two modes, each route beside the trivial POST of the same round:
- ``capacity``: closed loop, each connection posts again as soon as it is answered;
- ``offered``: ``--rate`` posts a second (1,000 by default) on a schedule, as phones post, the
  way bench/location_relay.py measures the app's fix route (a post counts when it was sent
  inside the window: a server that falls behind leaves posts queued).

CPU seconds of the server, PostgreSQL backends, Redis and the client are read from /proc over
each window (per request in the results), with the load average: the machine is shared.
A warm-up posts ``--warmup-passes`` times for every resident on every route first (a phone
posts every few seconds for a whole journey: its credential and OwnTracks reply are kept by
then, on each worker it reaches). ``SAFEHAVEN_PY_SPY=1`` samples the workers in round 1.

    .venv/bin/python bench/location_clients.py --engine postgis
    .venv/bin/python bench/location_clients.py --engine sqlite --rate 0 --rounds 5

Writes ``bench/results/location_clients_<engine><tag>.json``."""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.location_relay import (  # noqa: E402
    SECRET,
    TRIVIAL_PATH,
    _db_backend_pids,
    _start_py_spy,
    add_walking_resident,
    make_app,
)
from bench.support.cpuacct import CpuMeter, children, pids_named  # noqa: E402
from bench.support.rawhttp import Connection  # noqa: E402
from tests.support import databases  # noqa: E402
from tests.support.journeys import owntracks_location  # noqa: E402
from tests.support.servers import gunicorn  # noqa: E402

ROUTES = ("trivial", "owntracks", "osmand", "app")  # app: the app's own fix route


def prepare(app, residents: int) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    """Residents walking on active journeys (one contact each), each with a location-client
    credential; returns their usernames and secrets."""
    from backend.auth.service import mint_dev_token
    from backend.contacts.service import hash_secret
    from backend.extensions import db
    from backend.journeys.models import LocationClient

    now = datetime.now(UTC)
    people = []
    with app.app_context():
        for n in range(residents):
            owner, _, journey = add_walking_resident(db.session, f"tracker-{n}", 1, now)
            secret = f"bench-secret-{n:04d}-0123456789abcdef0123456789"
            client = LocationClient(
                user_id=owner.id,
                username=f"sh-bench{n:04d}",
                secret_hash=hash_secret(secret),
                label="bench",
            )
            db.session.add(client)
            people.append(
                {
                    "username": client.username,
                    "secret": secret,
                    "journey": journey.id,
                    "token": mint_dev_token(SECRET, owner.uid),
                    "basic": "Basic "
                    + base64.b64encode(f"{client.username}:{secret}".encode()).decode(),
                }
            )
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return people


def _request_for(route: str, person: dict[str, object], n: int, clocks: list[int]):  # type: ignore[no-untyped-def]
    """(method, path, keyword arguments) of one post as ``person`` (resident ``n``)."""
    # A new whole second per resident (OwnTracks' resolution), never ahead of the clock by
    # more than a few seconds (later ones are refused, as are ones from before the journey
    # started): there are enough residents for that.
    tst = clocks[n] = max(clocks[n] + 1, int(time.time()) - 30)
    lat, lon = 53.5425 + (tst % 600) / 100000, -2.6405 + n / 10000
    if route == "trivial":
        return "POST", TRIVIAL_PATH, {"json_body": {"lat": lat}}
    if route == "owntracks":
        return (
            "POST",
            "/owntracks",
            {
                "json_body": owntracks_location(
                    tst, lat=lat, lon=lon, conn="m", topic="owntracks/resident/phone"
                ),
                "headers": {"Authorization": person["basic"]},
            },
        )
    if route == "app":
        at = datetime.fromtimestamp(tst, UTC).isoformat()
        return (
            "POST",
            f"/api/v1/journeys/{person['journey']}/locations",
            {
                "json_body": {"fixes": [{"lat": lat, "lon": lon, "recorded_at": at}]},
                "headers": {"Authorization": f"Bearer {person['token']}"},
            },
        )
    return (
        "POST",
        "/osmand",
        {
            "params": {
                "id": person["secret"],
                "timestamp": tst,
                "lat": f"{lat:.6f}",
                "lon": f"{lon:.6f}",
                "speed": "2.5",
                "bearing": "90",
                "altitude": "52",
                "accuracy": "12",
                "batt": "80",
            }
        },
    )


async def run_round(
    base: str,
    route: str,
    people: list[dict[str, object]],
    clocks: list[int],
    seconds: float,
    connections: int,
    once_each: bool = False,
    rate: float = 0.0,
    meter: CpuMeter | None = None,
    spy: str = "",
) -> dict[str, object]:
    """Posts to ``route`` as the next resident in turn from ``connections`` keep-alive
    connections. Closed loop (``rate`` 0, at capacity): each connection posts again as soon
    as it is answered, for ``seconds``. Open loop (``rate`` posts a second offered, on a
    schedule as phones post): posts are queued at the rate for a 2 s warm-up and then
    ``seconds``, and a post counts when it was sent inside the window (a server that falls
    behind leaves them queued, unsent). ``meter`` measures CPU over the window; with
    ``spy`` (a file name) py-spy samples the server's workers over it."""
    counts = {"ok": 0, "other": 0}
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    turn = itertools.count()
    window = [0.0, 0.0]

    async def post(conn: Connection, n: int, queued_at: float) -> None:
        method, path, kwargs = _request_for(route, people[n], n, clocks)
        sent = time.monotonic()
        r = await conn.request(method, path, **kwargs)
        if window[0] <= sent <= window[1]:
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            counts["ok" if 200 <= r.status_code < 300 else "other"] += 1
            latencies.append(time.monotonic() - queued_at)

    async def closed(c: int) -> None:
        conn = Connection(base)
        try:
            while time.monotonic() < window[1]:
                k = next(turn)
                if once_each and k >= len(people):
                    break
                await post(conn, k % len(people), time.monotonic())
        finally:
            conn.close()

    async def consumer(queue: asyncio.Queue) -> None:  # type: ignore[type-arg]
        conn = Connection(base)
        try:
            while (item := await queue.get()) is not None:
                if time.monotonic() <= window[1]:  # (left queued past the window: not sent)
                    await post(conn, *item)
        finally:
            conn.close()

    if rate:
        warmup = 2.0
        window[:] = [time.monotonic() + warmup, time.monotonic() + warmup + seconds]
    else:
        window[:] = [time.monotonic(), time.monotonic() + seconds]
        if meter is not None:
            meter.start()
    spies = []
    if spy and meter is not None:
        spies = _start_py_spy(meter.groups["server"], seconds + (2.0 if rate else 0.0), spy)
    if not rate:
        started = time.monotonic()
        await asyncio.gather(*(closed(c) for c in range(connections)))
        elapsed = time.monotonic() - started
        if meter is not None:
            meter.stop()
    else:
        queue: asyncio.Queue = asyncio.Queue()  # type: ignore[type-arg]
        consumers = [asyncio.create_task(consumer(queue)) for _ in range(connections)]
        first = window[0] - warmup
        metering = False
        i = 0
        while True:
            due = first + i / rate
            if due > window[1]:
                break
            delay = due - time.monotonic()
            if delay > 0.001:
                await asyncio.sleep(delay)
            if meter is not None and not metering and time.monotonic() >= window[0]:
                meter.start()
                metering = True
            queue.put_nowait((next(turn) % len(people), due))
            i += 1
        if meter is not None:
            meter.stop()
        for _ in consumers:
            queue.put_nowait(None)
        await asyncio.gather(*consumers)
        elapsed = seconds
    for process in spies:
        process.wait(timeout=60)
    answered = counts["ok"] + counts["other"]
    result: dict[str, object] = {
        "per_s": round(counts["ok"] / elapsed, 1),
        "not_2xx": counts["other"],
        "statuses": statuses,
        "latency_p50_ms": round(_pct(latencies, 50) * 1000, 1),
        "latency_p99_ms": round(_pct(latencies, 99) * 1000, 1),
    }
    if rate:
        result["offered_per_s"] = rate
    if meter is not None and answered:
        result["cpu_ms_per_request"] = {
            k: round(v / answered * 1000, 3)
            for k, v in meter.result.items()
            if k not in ("machine_total", "server_system")
        }
        result["machine_cores_busy"] = round(meter.result["machine_busy"] / elapsed, 2)
    return result


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def stored_by_source(app) -> dict[str, int]:  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from backend.extensions import db
    from backend.journeys.models import LocationFix

    with app.app_context():
        rows = db.session.execute(
            select(LocationFix.source, func.count()).group_by(LocationFix.source)
        ).all()
        db.session.remove()
        db.engine.dispose()
    return {source: count for source, count in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("sqlite", "postgis"), default="sqlite")
    parser.add_argument("--residents", type=int, default=1500)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=6.0, help="per route per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--rate", type=float, default=1000.0, help="posts a second offered (0: capacity only)"
    )
    parser.add_argument("--no-capacity", action="store_true", help="only the offered rate")
    parser.add_argument("--warmup-passes", type=int, default=3, help="posts per resident first")
    parser.add_argument(
        "--revocation-check-s",
        type=int,
        default=900,
        help="how long a process keeps a looked-up credential (and a reply)",
    )
    parser.add_argument(
        "--redis",
        default=os.environ.get("SAFEHAVEN_BENCH_REDIS", "redis://127.0.0.1:6379/11"),
        help="the broker (as in production); 'none': the in-process broker",
    )
    parser.add_argument(
        "--routes", default=",".join(ROUTES[1:]), help="beside the trivial POST, comma-separated"
    )
    parser.add_argument("--tag", default="", help="suffix of the results file name")
    args = parser.parse_args()
    routes = ("trivial", *[r for r in args.routes.split(",") if r in ROUTES[1:]])
    modes = ([] if args.no_capacity else ["capacity"]) + (["offered"] if args.rate else [])

    name = f"safehaven_bench_location_clients_{os.getpid()}"
    tmp = Path(tempfile.mkdtemp(prefix="bench-clients-"))
    if args.engine == "postgis":
        url = databases.fresh_pg_database(name)
    else:
        url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    load_before = os.getloadavg()
    try:
        app = make_app(url)
        from backend.extensions import db

        with app.app_context():
            db.create_all()
            db.session.remove()
        people = prepare(app, args.residents)
        env = {
            "SAFEHAVEN_ENV": "testing",
            "SAFEHAVEN_AUTH": "dev",
            "SECRET_KEY": SECRET,
            "DATABASE_URL": url,
            "SAFEHAVEN_RATELIMIT": "false",
            "SAFEHAVEN_DB_POOL_SIZE": "10",
            # Rounds take the routes in turn, so a resident posts on one route for a few
            # seconds a minute: with the default 60 s bound her kept credential would expire
            # between them, which a phone posting every few seconds never sees. The cost of
            # a process seeing a device first: bench/location_post_cpu.py --cold.
            "SAFEHAVEN_FIREBASE_REVOCATION_CHECK_S": str(args.revocation_check_s),
        }
        if args.redis != "none":
            env["REDIS_URL"] = args.redis
            env["SAFEHAVEN_REDIS_PREFIX"] = f"bench-{uuid.uuid4().hex[:6]}:"
        clocks = [int(time.time()) - 60] * len(people)
        rounds: list[dict[str, dict[str, dict[str, object]]]] = []
        pidfile = tmp / "gunicorn.pid"
        with gunicorn(
            env,
            threads=8,
            workers=2,
            extra_args=["--pid", str(pidfile)],
            app="bench.location_relay:bench_app()",
        ) as base:
            master = int(pidfile.read_text().strip())

            def meter() -> CpuMeter:
                groups = {
                    "server": [master, *children(master)],
                    "client": [os.getpid()],
                    "redis": pids_named("redis-server") if args.redis != "none" else [],
                    "database": _db_backend_pids(url) if args.engine == "postgis" else [],
                }
                return CpuMeter(groups)

            # Warm-up: every worker's imports, caches and pool, as phones posting every few
            # seconds keep them. Passes on new connections (a connection stays with the worker
            # that took it), so that each worker has seen most residents.
            for _pass in range(args.warmup_passes):
                for route in routes:
                    asyncio.run(
                        run_round(
                            base, route, people, clocks, 120.0, args.connections, once_each=True
                        )
                    )
            for r in range(args.rounds):
                figures: dict[str, dict[str, dict[str, object]]] = {}
                for mode in modes:
                    rate = args.rate if mode == "offered" else 0.0
                    figures[mode] = {
                        route: asyncio.run(
                            run_round(
                                base,
                                route,
                                people,
                                clocks,
                                args.seconds,
                                args.connections,
                                rate=rate,
                                meter=meter(),
                                spy=(
                                    f"py-spy-clients-{mode}-{route}"
                                    if os.environ.get("SAFEHAVEN_PY_SPY") and r == 0
                                    else ""
                                ),
                            )
                        )
                        for route in routes
                    }
                    got = figures[mode]
                    print(
                        f"round {r + 1} {mode}: "
                        + ", ".join(f"{k} {v['per_s']}/s" for k, v in got.items())
                        + " | of trivial: "
                        + ", ".join(f"{k} {_ratio(got, k):.2f}" for k in routes[1:])
                        + f" | load {os.getloadavg()[0]:.1f}",
                        flush=True,
                    )
                figures["load_avg"] = list(os.getloadavg())  # type: ignore[assignment]
                rounds.append(figures)
        stored = stored_by_source(app)
        answered = {
            route: sum(
                int(f[m][route]["statuses"].get(200, 0))  # type: ignore[attr-defined]
                for f in rounds
                for m in modes
            )
            for route in routes[1:]
        }
        print(f"stored by source: {stored}; 2xx in the measured rounds: {answered}", flush=True)
    finally:
        if args.engine == "postgis":
            databases.drop_pg_database(name)
    summary: dict[str, object] = {}
    for mode in modes:
        part: dict[str, object] = {}
        for route in routes[1:]:
            ratios = [_ratio(f[mode], route) for f in rounds]
            part[route] = {
                "per_s_median": statistics.median(float(f[mode][route]["per_s"]) for f in rounds),  # type: ignore[arg-type]
                "ratio_to_trivial_median": round(statistics.median(ratios), 2),
                "ratio_range": [round(min(ratios), 2), round(max(ratios), 2)],
                "server_cpu_ms_median": _median_cpu(rounds, mode, route, "server"),
                "database_cpu_ms_median": _median_cpu(rounds, mode, route, "database"),
            }
        part["trivial"] = {
            "per_s_median": statistics.median(float(f[mode]["trivial"]["per_s"]) for f in rounds),  # type: ignore[arg-type]
            "server_cpu_ms_median": _median_cpu(rounds, mode, "trivial", "server"),
        }
        summary[mode] = part
    print(json.dumps(summary, indent=2))
    out = ROOT / "bench" / "results" / f"location_clients_{args.engine}{args.tag}.json"
    out.write_text(
        json.dumps(
            {
                "engine": args.engine,
                "args": vars(args),
                "shape": "gunicorn 2 gthread workers x 8 threads, "
                + ("Redis broker" if args.redis != "none" else "in-process broker"),
                "machine": {"cpus": os.cpu_count(), "load_avg_before": list(load_before)},
                "rounds": rounds,
                "stored_by_source": stored,
                "answered_2xx": answered,
                "summary": summary,
                "when": datetime.now(UTC).isoformat(),
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out.relative_to(ROOT)}")


def _ratio(figures: dict[str, dict[str, object]], route: str) -> float:
    return float(figures[route]["per_s"]) / max(float(figures["trivial"]["per_s"]), 0.1)  # type: ignore[arg-type]


def _median_cpu(rounds: list, mode: str, route: str, group: str) -> float | None:  # type: ignore[type-arg]
    values = [
        f[mode][route]["cpu_ms_per_request"][group]
        for f in rounds
        if "cpu_ms_per_request" in f[mode][route]
    ]
    return round(statistics.median(values), 3) if values else None


if __name__ == "__main__":
    main()
