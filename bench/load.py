"""Load: simulated residents against gunicorn + PostgreSQL/PostGIS + Redis on loopback.

Each resident is a coroutine with its own keep-alive connection (a phone's), on the lean
asyncio client of ``bench/support/rawhttp.py`` (a general client library costs more CPU per
request than the server's cheap routes, and would be what gets measured on 2 cores). It
browses what exists in the API: nearest safe places, reports near them, their own reports,
sending a report, answering a survey, and, 20% of residents at any moment, a live journey
posting one location fix per second. Tasks for domains not in ``/openapi.json`` are skipped
and listed. Residents arrive evenly over ``--ramp`` seconds (5: a sign-up burst of 100 a
second on freshly started workers, which warm up first: ``backend.wsgi``). The reference measured in the same run is ``GET /healthz`` (one database and
one Redis round trip). CPU per party (server, PostgreSQL, Redis, client) comes from /proc.

    .venv/bin/python bench/load.py                       # 500 residents, 120 s
    .venv/bin/python bench/load.py --users 100 --duration 30

Writes bench/results/load.json: per endpoint requests, errors, error rate, p50 and p99 (ms)
after the warm-up, the warm-up's p99, and the p99 of the whole run.
A scratch database ``safehaven_bench_load`` is created (migrations + Wigan seed) and dropped.
Rate limits are switched off (SAFEHAVEN_RATELIMIT=0): every simulated resident comes from
127.0.0.1, so per-address limits would measure the limiter, not the service."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support.cpuacct import CpuMeter, children, pids_named  # noqa: E402
from bench.support.rawhttp import Connection  # noqa: E402

PG_SERVER = os.environ.get("SAFEHAVEN_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
PG_DB = "safehaven_bench_load"
REDIS_URL = os.environ.get("SAFEHAVEN_BENCH_REDIS", "redis://127.0.0.1:6379/9")
SECRET = secrets.token_urlsafe(32)  # this run only
# Town centres of Wigan borough: residents wander within ~500 m of one.
TOWNS = [
    (53.5450, -2.6320),  # Wigan
    (53.4970, -2.5190),  # Leigh
    (53.5350, -2.5750),  # Hindley
    (53.5860, -2.6610),  # Standish
    (53.4870, -2.6400),  # Ashton-in-Makerfield
    (53.5230, -2.4930),  # Atherton
]
JOURNEY_SHARE = 0.2  # share of residents on a live journey at any time
THINK_S = (2.0, 6.0)
JOURNEY_S = (30.0, 90.0)  # how long a walk home lasts here (one fix per second)


def journey_chance(share: float = JOURNEY_SHARE) -> float:
    """The chance that a resident's next activity is a journey, so that ``share`` of them
    are walking at any time: a journey lasts ``mean(JOURNEY_S)``, anything else one request
    and ``mean(THINK_S)`` of thought; in the long run the time on journeys is
    ``p J / (p J + (1 - p) B)``, solved for ``p``."""
    walk, browse = sum(JOURNEY_S) / 2, sum(THINK_S) / 2
    return share * browse / (share * browse + (1 - share) * walk)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def psql(sql: str, db: str = "postgres") -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/{db}", autocommit=True) as conn:
        conn.execute(sql)


def prepare_database(env: dict[str, str]) -> None:
    psql(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
    psql(f"CREATE DATABASE {PG_DB}")
    psql("CREATE EXTENSION IF NOT EXISTS postgis", PG_DB)
    safehaven = str(ROOT / ".venv" / "bin" / "safehaven")
    for args in (["db", "upgrade"], ["seed", "wigan"]):
        subprocess.run([safehaven, *args], env=env, check=True, cwd=ROOT, capture_output=True)


def start_gunicorn(env: dict[str, str], port: int, workers: int, threads: int):  # type: ignore[no-untyped-def]
    gunicorn = str(ROOT / ".venv" / "bin" / "gunicorn")
    process = subprocess.Popen(
        [
            gunicorn,
            "--workers",
            str(workers),
            "--worker-class",
            "gthread",
            "--threads",
            str(threads),
            "--bind",
            f"127.0.0.1:{port}",
            "--keep-alive",
            "75",
            "--log-level",
            "warning",
            "backend.wsgi:app",  # each worker warms before it takes traffic
        ],
        env=env,
        cwd=ROOT,
    )
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as reply:
                if reply.status == 200:
                    return process
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    process.terminate()
    raise RuntimeError("gunicorn did not start")


class Stats:
    """Per endpoint: every status and error of the whole run; latencies of the requests
    started after the warm-up (the ramp-up, while the residents arrive and sign in, is
    reported apart, not hidden: its errors count)."""

    def __init__(self, warmup_s: float = 0.0) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.warmup_latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.statuses: dict[str, dict[int | str, int]] = defaultdict(lambda: defaultdict(int))
        self.measure_from = time.perf_counter() + warmup_s

    async def call(self, client, name: str, method: str, url: str, **kwargs):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        try:
            response = await client.request(
                method,
                url,
                params=kwargs.get("params"),
                json_body=kwargs.get("json"),
                headers=kwargs.get("headers"),
            )
            status = response.status_code
        except Exception as exc:  # timeouts, refused connections: errors, counted by kind
            response, status = None, type(exc).__name__
        latency = (time.perf_counter() - start) * 1000
        (self.latencies if start >= self.measure_from else self.warmup_latencies)[name].append(
            latency
        )
        self.statuses[name][status] += 1
        if isinstance(status, str) or status >= 400:
            self.errors[name] += 1
        return response

    def requests(self) -> int:
        return sum(sum(by_status.values()) for by_status in self.statuses.values())


async def progress(stats: Stats, until: float) -> None:
    """A line every ten seconds: requests so far, errors so far."""
    started = time.monotonic()
    while time.monotonic() < until:
        await asyncio.sleep(10)
        print(
            f"  {time.monotonic() - started:5.0f} s: {stats.requests()} requests, "
            f"{sum(stats.errors.values())} errors",
            flush=True,
        )


def answers_for(questions: list[dict], rng: random.Random) -> dict:
    """A plausible answer to every unconditional question of a survey."""
    answers: dict = {}
    for q in questions:
        if q.get("show_if"):
            continue
        kind = q["type"]
        values = [c["value"] for c in q.get("choices") or []]
        if kind == "single_choice" and values:
            answers[q["name"]] = rng.choice(values)
        elif kind == "multiple_choice" and values:
            answers[q["name"]] = [rng.choice(values)]
        elif kind == "scale5":
            answers[q["name"]] = rng.randint(1, 5)
        elif kind == "yes_no":
            answers[q["name"]] = rng.choice(["yes", "no"])
        elif kind == "integer":
            low = q.get("min_value") if q.get("min_value") is not None else 0
            high = q.get("max_value") if q.get("max_value") is not None else low + 10
            answers[q["name"]] = rng.randint(low, high)
        elif kind == "text":
            answers[q["name"]] = "fine"
    return answers


def random_point(rng: random.Random) -> tuple[float, float]:
    lat, lon = rng.choice(TOWNS)
    return lat + rng.uniform(-0.004, 0.004), lon + rng.uniform(-0.006, 0.006)


class Scenario:
    """What a resident can do, given the operations the server documents."""

    def __init__(self, paths: set[str]) -> None:
        self.paths = paths
        self.has_venues = "/api/v1/venues/nearest" in paths
        self.has_journeys = "/api/v1/journeys" in paths
        self.has_surveys = "/api/v1/surveys" in paths
        self.wards: list[str] = []
        self.skipped = [
            name
            for name, present in (
                ("nearest safe places (venues)", self.has_venues),
                ("journeys with fixes", self.has_journeys),
                ("survey answers", self.has_surveys),
            )
            if not present
        ]

    async def browse(self, stats: Stats, client, headers, rng: random.Random) -> None:  # type: ignore[no-untyped-def]
        lat, lon = random_point(rng)
        roll = rng.random()
        if self.has_venues and roll < 0.35:
            await stats.call(
                client,
                "GET /api/v1/venues/nearest",
                "GET",
                "/api/v1/venues/nearest",
                params={"lat": lat, "lon": lon, "limit": 5},
                headers=headers,
            )
        elif roll < 0.60:
            await stats.call(
                client,
                "GET /api/v1/reports/nearby",
                "GET",
                "/api/v1/reports/nearby",
                params={"lat": lat, "lon": lon},
                headers=headers,
            )
        elif roll < 0.70:
            await stats.call(
                client,
                "GET /api/v1/areas/locate",
                "GET",
                "/api/v1/areas/locate",
                params={"lat": lat, "lon": lon},
                headers=headers,
            )
        elif roll < 0.80:
            await stats.call(client, "GET /api/v1/me", "GET", "/api/v1/me", headers=headers)
        elif roll < 0.87:
            await stats.call(
                client,
                "GET /api/v1/reports/mine",
                "GET",
                "/api/v1/reports/mine",
                headers=headers,
            )
        elif roll < 0.93 or not self.has_surveys:
            await stats.call(
                client,
                "POST /api/v1/reports",
                "POST",
                "/api/v1/reports",
                json={
                    "category": rng.choice(["asb", "street_drinking", "feeling_unsafe"]),
                    "description": "load test: group gathering by the shops",
                    "lat": lat,
                    "lon": lon,
                    "anonymous": rng.random() < 0.5,
                },
                headers=headers,
            )
        else:
            await self.answer_survey(stats, client, headers, rng)
        await stats.call(client, "GET /healthz (reference)", "GET", "/healthz")

    async def answer_survey(self, stats: Stats, client, headers, rng) -> None:  # type: ignore[no-untyped-def]
        response = await stats.call(
            client, "GET /api/v1/surveys", "GET", "/api/v1/surveys", headers=headers
        )
        if response is None or response.status_code != 200:
            return
        surveys = response.json()
        if isinstance(surveys, dict):
            surveys = surveys.get("items") or surveys.get("surveys") or []
        if not surveys:
            return
        survey = rng.choice(surveys)
        response = await stats.call(
            client,
            "GET /api/v1/surveys/{id}",
            "GET",
            f"/api/v1/surveys/{survey['id']}",
            headers=headers,
        )
        if response is None or response.status_code != 200:
            return
        answers = answers_for(response.json().get("questions") or [], rng)
        await stats.call(
            client,
            "POST /api/v1/surveys/{id}/responses",
            "POST",
            f"/api/v1/surveys/{survey['id']}/responses",
            json={"answers": answers},
            headers=headers,
        )

    async def journey(self, stats, client, headers, rng, until: float) -> None:  # type: ignore[no-untyped-def]
        lat, lon = random_point(rng)
        arrive = datetime.now(UTC) + timedelta(minutes=30)
        response = await stats.call(
            client,
            "POST /api/v1/journeys",
            "POST",
            "/api/v1/journeys",
            json={
                "destination": {"lat": lat + 0.01, "lon": lon + 0.01},
                "expected_arrival_at": arrive.isoformat(),
                "watch_link": True,  # a journey shared with no one is refused (422)
            },
            headers=headers,
        )
        if response is None or response.status_code >= 300:
            return
        journey_id = response.json()["id"]
        end = min(until, time.monotonic() + rng.uniform(*JOURNEY_S))
        while time.monotonic() < end:
            lat += rng.uniform(-0.0001, 0.0002)
            lon += rng.uniform(-0.0001, 0.0002)
            await stats.call(
                client,
                "POST /api/v1/journeys/{id}/locations",
                "POST",
                f"/api/v1/journeys/{journey_id}/locations",
                json={
                    "fixes": [
                        {
                            "lat": lat,
                            "lon": lon,
                            "accuracy_m": 8.0,
                            "battery": 80.0,
                            "recorded_at": datetime.now(UTC).isoformat(),
                        }
                    ]
                },
                headers=headers,
            )
            await asyncio.sleep(1.0)
        await stats.call(
            client,
            "POST /api/v1/journeys/{id}/arrived",
            "POST",
            f"/api/v1/journeys/{journey_id}/arrived",
            headers=headers,
        )


async def resident(
    n: int, scenario: Scenario, stats: Stats, base_url: str, until: float, ramp: float
) -> None:
    client = Connection(base_url)
    try:
        await _resident(n, scenario, stats, client, until, ramp)
    finally:
        client.close()


async def _resident(
    n: int, scenario: Scenario, stats: Stats, client, until: float, ramp: float
) -> None:  # type: ignore[no-untyped-def]
    from backend.auth.service import mint_dev_token

    rng = random.Random(n)
    chance = journey_chance()
    headers = {
        "Authorization": f"Bearer {mint_dev_token(SECRET, f'load-resident-{n}', 'resident')}"
    }
    await asyncio.sleep(rng.uniform(0, ramp))  # residents arrive evenly over the ramp
    if scenario.has_surveys:  # a home ward, so ward-targeted surveys reach them
        await stats.call(
            client,
            "PATCH /api/v1/me",
            "PATCH",
            "/api/v1/me",
            json={"ward_code": rng.choice(scenario.wards)},
            headers=headers,
        )
    while time.monotonic() < until:
        if scenario.has_journeys and rng.random() < chance:
            await scenario.journey(stats, client, headers, rng, until)
        else:
            await scenario.browse(stats, client, headers, rng)
            await asyncio.sleep(rng.uniform(*THINK_S))


async def run_load(
    base_url: str, users: int, duration: float, warmup: float, ramp: float
) -> tuple[Stats, Scenario, float, float]:
    """Run the residents; returns the stats, the scenario, the wall seconds and this
    client process's CPU seconds (so a saturated client would show)."""
    setup = Connection(base_url)
    spec = (await setup.request("GET", "/openapi.json")).json()
    scenario = Scenario(set(spec["paths"]))
    wards = (await setup.request("GET", "/api/v1/areas/wards")).json()
    setup.close()
    scenario.wards = [w["code"] for w in (wards if isinstance(wards, list) else [])]
    stats = Stats(warmup)
    started, cpu = time.monotonic(), time.process_time()
    until = started + duration
    await asyncio.gather(
        progress(stats, until),
        *(resident(n, scenario, stats, base_url, until, ramp) for n in range(users)),
    )
    return stats, scenario, time.monotonic() - started, time.process_time() - cpu


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--duration", type=float, default=120.0, help="seconds")
    parser.add_argument(
        "--warmup",
        type=float,
        default=15.0,
        help="seconds (the ramp and a little more) reported apart from p50/p99",
    )
    parser.add_argument(
        "--ramp",
        type=float,
        default=5.0,
        help="seconds over which the residents arrive (each registers and sets a ward): "
        "5 is a sign-up burst of 100 residents a second",
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "load.json"))
    args = parser.parse_args()

    env = {
        **os.environ,
        "SAFEHAVEN_ENV": "development",
        "SAFEHAVEN_AUTH": "dev",
        "SECRET_KEY": SECRET,
        "DATABASE_URL": f"{PG_SERVER.replace('postgresql://', 'postgresql+psycopg://')}/{PG_DB}",
        "REDIS_URL": REDIS_URL,
        "SAFEHAVEN_RATELIMIT": "0",
    }
    print(f"preparing {PG_DB} (migrations + Wigan seed)...", flush=True)
    prepare_database(env)
    load_before = [round(x, 2) for x in os.getloadavg()]
    port = free_port()
    server = start_gunicorn(env, port, args.workers, args.threads)
    try:
        print(f"{args.users} residents for {args.duration:.0f} s against gunicorn "
              f"({args.workers} workers x {args.threads} threads) on :{port}", flush=True)  # fmt: skip
        meter = CpuMeter(
            {
                "server": [server.pid, *children(server.pid)],
                "postgres": pids_named("postgres"),
                "redis": pids_named("redis-server"),
            }
        )
        meter.start()
        stats, scenario, elapsed, client_cpu = asyncio.run(
            run_load(f"http://127.0.0.1:{port}", args.users, args.duration, args.warmup, args.ramp)
        )
        meter.stop(refresh={"postgres": pids_named("postgres")})
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        psql(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")

    rows = []
    for name in sorted(stats.statuses):
        values = stats.latencies[name]  # empty when every request fell in the warm-up
        warm = stats.warmup_latencies[name]
        requests = sum(stats.statuses[name].values())
        rows.append(
            {
                "endpoint": name,
                "requests": requests,
                "errors": stats.errors[name],
                "error_rate": stats.errors[name] / requests,
                "p50_ms": round(statistics.median(values), 2) if values else None,
                "p99_ms": round(percentile(values, 0.99), 2) if values else None,
                "warmup_requests": len(warm),
                "warmup_p99_ms": round(percentile(warm, 0.99), 2) if warm else None,
                # the whole run, ramp-up included, for whoever prefers that figure
                "p99_with_warmup_ms": round(percentile(values + warm, 0.99), 2),
                "statuses": {str(k): v for k, v in sorted(stats.statuses[name].items(), key=str)},
            }
        )
    total = sum(r["requests"] for r in rows)
    errors = sum(r["errors"] for r in rows)
    print(
        f"\n{'endpoint':45} {'requests':>9} {'errors':>7} {'p50 ms':>8} {'p99 ms':>8}"
        f" {'warm-up p99':>12} {'p99 with warm-up':>17}"
    )

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}"

    for r in rows:
        print(
            f"{r['endpoint']:45} {r['requests']:>9} {r['errors']:>7} "
            f"{ms(r['p50_ms']):>8} {ms(r['p99_ms']):>8} {ms(r['warmup_p99_ms']):>12}"
            f" {ms(r['p99_with_warmup_ms']):>17}"
        )
    print(f"total {total} requests in {elapsed:.0f} s ({total / elapsed:.0f}/s), "
          f"error rate {errors / max(total, 1):.4%}")  # fmt: skip
    cores = {
        name: round(meter.result[name] / elapsed, 2) for name in ("server", "postgres", "redis")
    }
    cores["client"] = round(client_cpu / elapsed, 2)
    machine = round(meter.result["machine_busy"] / meter.result["machine_total"], 3)
    print(
        "CPU in cores (of {}): {}; the machine was {:.0%} busy".format(
            os.cpu_count(), ", ".join(f"{k} {v}" for k, v in cores.items()), machine
        )
    )
    if scenario.skipped:
        print("not in this server's API, so not simulated: " + ", ".join(scenario.skipped))
    result = {
        "benchmark": "load",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_before": load_before,
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "cpu_cores_used": cores,
            "machine_busy_share": machine,
        },
        "setup": {
            "users": args.users,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "ramp_s": args.ramp,
            "gunicorn": f"{args.workers} gthread workers x {args.threads} threads",
            "database": "PostgreSQL 15 + PostGIS (scratch database, Wigan seed)",
            "redis": REDIS_URL.rsplit("/", 1)[0],
            "journey_share": JOURNEY_SHARE if scenario.has_journeys else 0,
            "journey_s": JOURNEY_S,
            "journey_chance_per_activity": round(journey_chance(), 4),
            "think_time_s": THINK_S,
            "rate_limits": "off (all residents share 127.0.0.1)",
            "not_simulated": scenario.skipped,
        },
        "reference": "GET /healthz (reference): HTTP + gunicorn, no database",
        "total_requests": total,
        "throughput_rps": round(total / elapsed, 1),
        "error_rate": errors / max(total, 1),
        "endpoints": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
