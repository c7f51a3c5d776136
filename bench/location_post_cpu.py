"""CPU per location fix on the server, independent of machine load.

Posts one fix per request (the live case) to ``POST /api/v1/journeys/{id}/locations`` (or,
with ``--route``, to ``/owntracks`` as the OwnTracks Android app posts it, to ``/osmand`` as
Traccar Client does, or to a trivial JSON POST endpoint) through the Flask test client on
PostgreSQL (or SQLite) with a Redis broker, round-robin over ``--journeys`` active journeys
(each with a location-client credential), and reports the process CPU time per request
(``time.process_time``, which other processes' load does not inflate), SQL statements per
request, and optionally a cProfile of the hot path.

    .venv/bin/python bench/location_post_cpu.py --requests 2000
    .venv/bin/python bench/location_post_cpu.py --profile 25
    .venv/bin/python bench/location_post_cpu.py --route owntracks --profile 25
    .venv/bin/python bench/location_post_cpu.py --budget-compare --tag budget

``--budget-compare`` measures the per-person fix budget in the same run: rounds of blocks with
the budget off, on (each person below the local share, as every real phone is) and on with
every fix counted in the limiter's storage (a flooding person's case), rate limiting on
throughout (the fix route stays exempt from flask-limiter's own limits).

Writes ``bench/results/location_post_cpu.json``."""

from __future__ import annotations

import argparse
import base64
import cProfile
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import databases  # noqa: E402
from tests.support.journeys import owntracks_location  # noqa: E402

TRIVIAL_PATH = "/bench/trivial"

SECRET = "bench-secret-key-that-is-long-enough-0123456789"  # noqa: S105 - dev tokens only


def make_app(url: str, redis_url: str | None, ratelimit: bool = False):  # type: ignore[no-untyped-def]
    from flask import jsonify

    from backend import create_app
    from backend.config import Settings

    env = {
        "SAFEHAVEN_ENV": "testing",
        "SAFEHAVEN_AUTH": "dev",
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET,
        "SAFEHAVEN_RATELIMIT": "true" if ratelimit else "false",
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
        env["SAFEHAVEN_REDIS_PREFIX"] = f"cpu-{uuid.uuid4().hex[:6]}:"
    app = create_app(settings=Settings.from_env(env))

    @app.post(TRIVIAL_PATH)
    def trivial():  # type: ignore[no-untyped-def]
        return jsonify(ok=True)

    return app


ROUTES = ("app", "owntracks", "osmand", "trivial")


def prepare(app, journeys: int) -> list[tuple[int, str, str, str]]:  # type: ignore[no-untyped-def]
    """One active journey (with two chosen contacts) per resident, and a location-client
    credential each; returns (journey id, token, OwnTracks Basic auth header, device id)."""
    from backend.auth.service import mint_dev_token
    from backend.contacts.service import hash_secret
    from backend.extensions import db
    from backend.journeys.models import LocationClient
    from bench.location_relay import add_walking_resident

    now = datetime.now(UTC)
    plan = []
    with app.app_context():
        db.create_all()
        for r in range(journeys):
            owner, _watchers, journey = add_walking_resident(db.session, f"cpu-r{r}", 2, now)
            secret = f"cpu-secret-{r:04d}-0123456789abcdef0123456789"
            username = f"sh-cpu{r:04d}"
            db.session.add(
                LocationClient(
                    user_id=owner.id,
                    username=username,
                    secret_hash=hash_secret(secret),
                    label="bench",
                )
            )
            basic = "Basic " + base64.b64encode(f"{username}:{secret}".encode()).decode()
            plan.append((journey.id, mint_dev_token(SECRET, owner.uid), basic, secret))
        db.session.commit()
        db.session.remove()
    return plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["postgis", "sqlite"], default="postgis")
    parser.add_argument("--route", choices=ROUTES, default="app", help="what each request posts")
    parser.add_argument(
        "--cold",
        action="store_true",
        help="trackers: forget every kept credential and reply before each post (a process "
        "seeing each device for the first time, as with Traccar's 5-minute default interval)",
    )
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--journeys", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--profile", type=int, default=0, help="print the top N of a cProfile")
    parser.add_argument(
        "--redis", default=os.environ.get("SAFEHAVEN_BENCH_REDIS", "redis://127.0.0.1:6379/11")
    )
    parser.add_argument("--no-redis", action="store_true", help="in-process broker")
    parser.add_argument("--tag", default="")
    parser.add_argument(
        "--budget-compare", action="store_true", help="budget off / on / on via storage"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of --budget-compare")
    args = parser.parse_args()

    name = f"safehaven_bench_post_cpu_{os.getpid()}"  # per run: concurrent runs do not collide
    if args.engine == "postgis":
        url = databases.fresh_pg_database(name)
    else:
        path = Path(tempfile.gettempdir()) / f"{name}_{os.getpid()}.sqlite3"
        url = f"sqlite:///{path}"
    from sqlalchemy import event

    from backend.extensions import db
    from backend.journeys.service import forget_client_credentials

    app = make_app(url, None if args.no_redis else args.redis, ratelimit=args.budget_compare)
    statements: list[str] = []
    try:
        plan = prepare(app, args.journeys)
        client = app.test_client()
        # from the journeys' start on (a fix before it, less a tolerance, is refused), 2 ms
        # apart: the run stays well short of two minutes ahead of the clock
        base = datetime.now(UTC)
        if args.route != "app":  # a second apart per resident: start 5 minutes back
            base -= timedelta(minutes=5)
        counter = 0

        def post_one() -> int:
            nonlocal counter
            journey_id, token, basic, device = plan[counter % len(plan)]
            # OwnTracks and Traccar send whole seconds: one second apart per resident
            at = base + (
                timedelta(milliseconds=2 * counter)
                if args.route == "app"
                else timedelta(seconds=counter // len(plan))
            )
            counter += 1
            lat = 53.5425 + counter * 1e-6
            if args.cold:
                forget_client_credentials()
            if args.route == "owntracks":
                response = client.post(
                    "/owntracks",
                    json=owntracks_location(int(at.timestamp()), lat=lat),
                    headers={"Authorization": basic},
                )
            elif args.route == "osmand":
                response = client.post(
                    "/osmand",
                    query_string={
                        "id": device,
                        "timestamp": int(at.timestamp()),
                        "lat": f"{lat:.6f}",
                        "lon": "-2.640500",
                        "speed": "2.5",
                        "bearing": "90",
                        "altitude": "52",
                        "accuracy": "12",
                        "batt": "80",
                    },
                )
            elif args.route == "trivial":
                response = client.post(TRIVIAL_PATH, json={"lat": lat})
            else:
                body = {
                    "fixes": [
                        {"lat": lat, "lon": -2.6405, "recorded_at": at.isoformat(), "battery": 80}
                    ]
                }
                response = client.post(
                    f"/api/v1/journeys/{journey_id}/locations",
                    json=body,
                    headers={"Authorization": f"Bearer {token}"},
                )
            status = response.status_code
            response.close()
            return status

        for _ in range(args.warmup):
            assert post_one() == 200
        with app.app_context():
            engine = db.engine
        if args.budget_compare:
            compare_budget(app, post_one, args)
        else:

            def count(*_args, **_kwargs) -> None:  # type: ignore[no-untyped-def]
                statements.append(str(_args[2]).split(None, 1)[0].upper())

            if os.environ.get("SAFEHAVEN_CALLGRIND"):  # under valgrind --instr-atstart=no
                subprocess.run(["callgrind_control", "-i", "on", str(os.getpid())], check=True)
            wall0, cpu0 = time.perf_counter(), time.process_time()
            for _ in range(args.requests):
                assert post_one() == 200
            cpu = time.process_time() - cpu0
            wall = time.perf_counter() - wall0
            if os.environ.get("SAFEHAVEN_CALLGRIND"):
                subprocess.run(["callgrind_control", "-i", "off", str(os.getpid())], check=True)
            # Statements are counted in a pass of their own: a cursor listener on the engine sends
            # statements that would run on the DBAPI cursor through Connection.execute instead.
            event.listen(engine, "before_cursor_execute", count)
            for _ in range(min(args.requests, 200)):
                assert post_one() == 200
            event.remove(engine, "before_cursor_execute", count)
            counted = min(args.requests, 200)
            kinds: dict[str, int] = {}
            for s in statements:
                kinds[s] = kinds.get(s, 0) + 1
            if args.profile:
                profiler = cProfile.Profile(time.process_time)
                profiler.enable()
                for _ in range(min(args.requests, 2000)):
                    post_one()
                profiler.disable()
                if os.environ.get("SAFEHAVEN_PROFILE_OUT"):
                    profiler.dump_stats(os.environ["SAFEHAVEN_PROFILE_OUT"])
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.profile)
                pstats.Stats(profiler).sort_stats("tottime").print_stats(args.profile)
        with app.app_context():
            from backend.realtime.broker import close_broker

            close_broker(app)
            db.session.remove()
            db.engine.dispose()
    finally:
        if args.engine == "postgis":
            databases.drop_pg_database(name)
        else:
            Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)

    if args.budget_compare:
        return
    result = {
        "engine": args.engine,
        "route": args.route,
        "cold": args.cold,
        "broker": "in-process" if args.no_redis else "redis",
        "requests": args.requests,
        "cpu_ms_per_fix": round(cpu / args.requests * 1000, 3),
        "wall_ms_per_fix": round(wall / args.requests * 1000, 3),
        "statements_per_fix": round(len(statements) / counted, 2),
        "statement_kinds": {k: round(v / counted, 2) for k, v in sorted(kinds.items())},
        "load_avg": os.getloadavg(),
        "when": datetime.now(UTC).isoformat(),
    }
    print(json.dumps(result, indent=2))
    out = ROOT / "bench" / "results" / f"location_post_cpu{'_' + args.tag if args.tag else ''}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")


def compare_budget(app, post_one, args) -> None:  # type: ignore[no-untyped-def]
    """CPU per fix with the budget off, on, and on through the storage, in interleaved blocks
    of ``--requests`` (``--rounds`` rounds), so that machine drift hits all three alike."""
    from backend.journeys import limits

    modes = {
        "budget_off": (0, limits.LOCAL_SHARE),
        "budget_on": (1200, limits.LOCAL_SHARE),
        "budget_on_storage_every_fix": (10**6, 0.0),
    }
    cpu: dict[str, list[float]] = {name: [] for name in modes}
    try:
        for _round in range(args.rounds):
            for name, (budget, share) in modes.items():
                app.config["FIX_BUDGET_PER_MINUTE"] = budget
                limits.LOCAL_SHARE = share
                cpu0 = time.process_time()
                for _ in range(args.requests):
                    assert post_one() == 200
                cpu[name].append((time.process_time() - cpu0) / args.requests * 1000)
    finally:
        limits.LOCAL_SHARE = modes["budget_off"][1]
    result = {
        "engine": args.engine,
        "broker_and_limiter_storage": "in-process" if args.no_redis else "redis",
        "requests_per_block": args.requests,
        "rounds": args.rounds,
        "cpu_ms_per_fix": {n: [round(v, 3) for v in values] for n, values in cpu.items()},
        "cpu_ms_per_fix_median": {n: round(sorted(v)[len(v) // 2], 3) for n, v in cpu.items()},
        "load_avg": os.getloadavg(),
        "when": datetime.now(UTC).isoformat(),
    }
    print(json.dumps(result, indent=2))
    name = f"location_post_cpu{'_' + args.tag if args.tag else ''}.json"
    (ROOT / "bench" / "results" / name).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
