"""Benchmark: nearest open safe place at 1k / 100k / 1M venues on SQLite and PostGIS.

For each engine and size it loads synthetic venues spread over Greater Manchester, then
measures in one run:
  * kdtree   - in-process reference: scipy cKDTree on 3D unit vectors (the floor)
  * raw      - the raw spatial query: SQLite R*Tree via sqlite3 / PostGIS KNN via psycopg
  * service  - backend.venues.service.nearest (ORM, filters, open-now, item building)
  * http     - GET /api/v1/venues/nearest under gunicorn with concurrent clients, next to a
               trivial JSON endpoint on the same server
and prints a table and writes bench/results/venues_nearest.json.

    .venv/bin/python bench/venues_nearest.py                      # 1k, 100k, 1M, both engines
    .venv/bin/python bench/venues_nearest.py --sizes 1000,100000 --engines sqlite
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import multiprocessing
import os
import platform
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "results" / "venues_nearest.json"
PG_SERVER = os.environ.get("SAFEHAVEN_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
PG_DB = "safehaven_bench_venues"
SECRET = "bench-secret-key-that-is-long-enough-0123456789"  # noqa: S105 - dev auth, loopback
# Greater Manchester, roughly; town centres that venues cluster around.
GM_BOX = (53.33, 53.69, -2.73, -1.91)  # min_lat, max_lat, min_lon, max_lon
TOWNS = [
    (53.4808, -2.2426),  # Manchester
    (53.5448, -2.6318),  # Wigan
    (53.4975, -2.5190),  # Leigh
    (53.5785, -2.4299),  # Bolton
    (53.5933, -2.2966),  # Bury
    (53.6097, -2.1561),  # Rochdale
    (53.5409, -2.1114),  # Oldham
    (53.4106, -2.1575),  # Stockport
    (53.4875, -2.2901),  # Salford
    (53.4258, -2.3465),  # Trafford
    (53.4808, -2.0810),  # Ashton-under-Lyne
]
HOURS = [
    "24/7",
    "Mo-Sa 09:00-18:00",
    "Mo-Su 07:00-23:00",
    "Fr-Sa 17:00-02:00",
    "Mo-Fr 09:00-17:30; PH off",
]
CATEGORIES = ["pharmacy", "pub_or_bar", "restaurant", "hotel", "shop", "supermarket"]
# Saturday 14:00 UK time: most, not all, venues are open.
AT = datetime(2026, 11, 21, 14, 0, tzinfo=UTC)
K = 5
ROUNDS = 5  # HTTP rounds per endpoint (odd: a median round)


# --- data -------------------------------------------------------------------------------


def synthetic_rows(n: int, seed: int = 7):
    """(id, lat, lon, status, category, hours): 70% clustered round town centres, 30% spread."""
    rng = random.Random(seed)
    min_lat, max_lat, min_lon, max_lon = GM_BOX
    for i in range(1, n + 1):
        if rng.random() < 0.7:
            lat0, lon0 = rng.choice(TOWNS)
            lat = min(max(rng.gauss(lat0, 0.015), min_lat), max_lat)
            lon = min(max(rng.gauss(lon0, 0.025), min_lon), max_lon)
        else:
            lat, lon = rng.uniform(min_lat, max_lat), rng.uniform(min_lon, max_lon)
        r = rng.random()
        status = "verified" if r < 0.6 else "candidate" if r < 0.9 else "pending"
        yield i, lat, lon, status, rng.choice(CATEGORIES), rng.choice(HOURS)


def query_points(n: int, seed: int = 11) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    points = []
    for _ in range(n):
        if rng.random() < 0.7:
            lat0, lon0 = rng.choice(TOWNS)
            points.append((rng.gauss(lat0, 0.02), rng.gauss(lon0, 0.03)))
        else:
            points.append((rng.uniform(GM_BOX[0], GM_BOX[1]), rng.uniform(GM_BOX[2], GM_BOX[3])))
    return points


def database_url(engine: str, workdir: Path) -> str:
    if engine == "sqlite":
        return f"sqlite:///{workdir / 'bench_venues.sqlite3'}"
    return f"{PG_SERVER.replace('postgresql://', 'postgresql+psycopg://')}/{PG_DB}"


def fresh_database(engine: str, workdir: Path) -> str:
    url = database_url(engine, workdir)
    if engine == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{workdir / 'bench_venues.sqlite3'}{suffix}").unlink(missing_ok=True)
    else:
        import psycopg

        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{PG_DB}"')
        with psycopg.connect(f"{PG_SERVER}/{PG_DB}", autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    app = make_app(url)
    from backend.extensions import db

    with app.app_context():
        db.create_all()
        db.session.remove()
        db.engine.dispose()
    return url


def make_app(url: str):  # type: ignore[no-untyped-def]
    from backend import create_app
    from backend.config import Settings

    settings = Settings.from_env(
        {
            "SAFEHAVEN_ENV": "development",
            "SAFEHAVEN_AUTH": "dev",
            "DATABASE_URL": url,
            "SECRET_KEY": SECRET,
            "SAFEHAVEN_RATELIMIT": "false",
        }
    )
    return create_app(settings=settings)


def load(engine: str, url: str, n: int) -> float:
    """Bulk-load n venues; returns seconds."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    if engine == "sqlite":
        path = url.removeprefix("sqlite:///")
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA synchronous=OFF")
        stamp = now.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        # Fill the R*Tree in one pass after the rows instead of row by row via the trigger.
        conn.execute("DROP TRIGGER venues_rtree_ai")
        conn.executemany(
            "INSERT INTO venues (id, name, category, status, opening_hours, schemes, is_demo,"
            " created_at, updated_at, lat, lon) VALUES (?, ?, ?, ?, ?, '[]', 0, ?, ?, ?, ?)",
            (
                (i, f"Venue {i}", cat, status, hours, stamp, stamp, lat, lon)
                for i, lat, lon, status, cat, hours in synthetic_rows(n)
            ),
        )
        conn.execute("INSERT INTO venues_rtree SELECT id, lat, lat, lon, lon FROM venues")
        from backend.spatial import point_index_ddl

        trigger = next(s for s in point_index_ddl("venues", "sqlite") if "_ai AFTER INSERT" in s)
        conn.execute(trigger)
        conn.commit()
        conn.execute("ANALYZE")
        conn.close()
    else:
        import psycopg

        with psycopg.connect(f"{PG_SERVER}/{PG_DB}") as conn:
            conn.execute("ALTER TABLE venues DISABLE TRIGGER trg_venues_geog")
            conn.execute("DROP INDEX ix_venues_geog")
            with conn.cursor() as cur:
                with cur.copy(
                    "COPY venues (id, name, category, status, opening_hours, schemes, is_demo,"
                    " created_at, updated_at, lat, lon, geog) FROM STDIN"
                ) as copy:
                    for i, lat, lon, status, cat, hours in synthetic_rows(n):
                        copy.write_row(
                            (
                                i,
                                f"Venue {i}",
                                cat,
                                status,
                                hours,
                                "[]",
                                False,
                                now,
                                now,
                                lat,
                                lon,
                                f"SRID=4326;POINT({lon!r} {lat!r})",
                            )
                        )
            conn.execute("CREATE INDEX ix_venues_geog ON venues USING gist (geog)")
            conn.execute("ALTER TABLE venues ENABLE TRIGGER trg_venues_geog")
            conn.execute("SELECT setval(pg_get_serial_sequence('venues', 'id'), %s)", (n,))
            conn.commit()
        with psycopg.connect(f"{PG_SERVER}/{PG_DB}", autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE venues")
    return time.perf_counter() - started


# --- measurements ------------------------------------------------------------------------


def summary(latencies_s: list[float]) -> dict[str, float]:
    ms = sorted(x * 1000 for x in latencies_s)
    return {
        "p50_ms": round(statistics.median(ms), 4),
        "p99_ms": round(ms[min(len(ms) - 1, math.ceil(0.99 * len(ms)) - 1)], 4),
        "n": len(ms),
    }


def timed(fn, points) -> list[float]:  # type: ignore[no-untyped-def]
    for lat, lon in points[:20]:  # warm caches and plans
        fn(lat, lon)
    out = []
    for lat, lon in points:
        t = time.perf_counter()
        fn(lat, lon)
        out.append(time.perf_counter() - t)
    return out


def verified_points(engine: str, url: str) -> list[tuple[int, float, float]]:
    if engine == "sqlite":
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        rows = conn.execute("SELECT id, lat, lon FROM venues WHERE status='verified'").fetchall()
        conn.close()
        return rows
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/{PG_DB}") as conn:
        return conn.execute("SELECT id, lat, lon FROM venues WHERE status='verified'").fetchall()


def bench_kdtree(rows, points) -> tuple[dict, list[list[int]]]:  # type: ignore[no-untyped-def]
    import numpy as np
    from scipy.spatial import cKDTree

    ids = np.array([r[0] for r in rows])
    lat = np.radians([r[1] for r in rows])
    lon = np.radians([r[2] for r in rows])
    xyz = np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    tree = cKDTree(xyz)

    def query(qlat: float, qlon: float) -> list[int]:
        a, b = math.radians(qlat), math.radians(qlon)
        _d, idx = tree.query(
            (math.cos(a) * math.cos(b), math.cos(a) * math.sin(b), math.sin(a)), k=K
        )
        return [int(ids[i]) for i in idx]

    answers = [query(lat_, lon_) for lat_, lon_ in points]
    return summary(timed(query, points)), answers


def raw_sqlite(url: str):  # type: ignore[no-untyped-def]
    """Correct k-nearest with the R*Tree alone: grow a box until it holds k verified rows,
    then re-query the box of the k-th distance and rank by haversine."""
    from backend.db import SQLITE_PRAGMAS
    from backend.spatial import bounding_boxes, haversine_m

    conn = sqlite3.connect(url.removeprefix("sqlite:///"), check_same_thread=False)
    for pragma in SQLITE_PRAGMAS:  # the connection settings the app uses
        conn.execute(pragma)
    sql = (
        "SELECT v.id, v.lat, v.lon FROM venues_rtree r JOIN venues v ON v.id = r.id "
        "WHERE r.min_lat <= ? AND r.max_lat >= ? AND r.min_lon <= ? AND r.max_lon >= ? "
        "AND v.status = 'verified'"
    )

    def box_rows(lat: float, lon: float, radius: float):  # type: ignore[no-untyped-def]
        rows = []
        for lo_lat, hi_lat, lo_lon, hi_lon in bounding_boxes(lat, lon, radius):
            rows += conn.execute(sql, (hi_lat, lo_lat, hi_lon, lo_lon)).fetchall()
        return rows

    def query(lat: float, lon: float) -> list[int]:
        radius = 100.0
        while True:
            rows = box_rows(lat, lon, radius)
            if len(rows) >= K or radius > 2e7:
                break
            radius *= 2
        ranked = sorted((haversine_m(lat, lon, r[1], r[2]), r[0]) for r in rows)
        if len(ranked) >= K and ranked[K - 1][0] > radius:
            ranked = sorted(
                (haversine_m(lat, lon, r[1], r[2]), r[0])
                for r in box_rows(lat, lon, ranked[K - 1][0])
            )
        return [i for _d, i in ranked[:K]]

    return query, conn.close


def raw_postgis():  # type: ignore[no-untyped-def]
    import psycopg

    conn = psycopg.connect(f"{PG_SERVER}/{PG_DB}")
    sql = (
        "SELECT id FROM venues WHERE status = 'verified' "
        "ORDER BY geog <-> ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography LIMIT %s"
    )

    def query(lat: float, lon: float) -> list[int]:
        return [r[0] for r in conn.execute(sql, (lon, lat, K), prepare=True).fetchall()]

    return query, conn.close


def bench_service(url: str, points, open_now: bool):  # type: ignore[no-untyped-def]
    app = make_app(url)
    from backend.extensions import db
    from backend.venues import service

    with app.app_context():

        def query(lat: float, lon: float) -> list[int]:
            result = service.nearest(lat=lat, lon=lon, limit=K, at=AT, open_now=open_now)
            # Forget loaded rows (each call hydrates afresh, as a request does) but keep the
            # connection, like the raw query; pool checkout is part of the HTTP figures.
            db.session.expunge_all()
            return [item["id"] for item in result["items"]]

        answers = [query(lat, lon) for lat, lon in points] if not open_now else None
        stats = summary(timed(query, points))
        db.session.remove()
        db.engine.dispose()
    return stats, answers


# --- HTTP under gunicorn ----------------------------------------------------------------


def bench_app():  # type: ignore[no-untyped-def]
    """The gunicorn entry point: the real app plus a trivial JSON endpoint for reference."""
    from flask import jsonify

    app = make_app(os.environ["DATABASE_URL"])

    @app.get("/bench/trivial")
    def trivial():  # type: ignore[no-untyped-def]
        return jsonify(ok=True)

    pid = os.getpid()

    @app.get("/bench/worker")
    def worker():  # type: ignore[no-untyped-def]
        from backend.venues.service import nearest_index

        index = nearest_index()
        counts = {"rebuilds": index.rebuilds, "served": index.served, "fallbacks": index.fallbacks}
        return jsonify(pid=pid, index=counts)

    # As backend.wsgi does for production workers: connections, statements and the
    # in-process venue index are ready before the first measured request.
    from backend.warmup import warm

    warm(app)
    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _client(args) -> list[float]:  # type: ignore[no-untyped-def]
    port, paths, seconds = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies = []
    deadline = time.perf_counter() + seconds
    i = 0
    while time.perf_counter() < deadline:
        path = paths[i % len(paths)]
        i += 1
        t = time.perf_counter()
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{path} -> {response.status}")
        latencies.append(time.perf_counter() - t)
    conn.close()
    return latencies


def load_test(port: int, paths: list[str], clients: int, seconds: float) -> dict:
    with multiprocessing.get_context("spawn").Pool(clients) as pool:
        pool.map(_client, [(port, paths, 1.0)] * clients)  # warm-up
        started = time.perf_counter()
        parts = pool.map(_client, [(port, paths, seconds)] * clients)
        wall = time.perf_counter() - started
    latencies = [x for part in parts for x in part]
    return {**summary(latencies), "req_per_s": round(len(latencies) / wall, 1)}


def bench_http(url: str, points, workers: int, threads: int, clients: int, seconds: float) -> dict:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen(
        [
            str(gunicorn),
            "-w",
            str(workers),
            "-k",
            "gthread",
            "--threads",
            str(threads),
            "--timeout",
            "300",  # a worker's warm-up builds its index: seconds at 1M venues
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            os.environ.get("BENCH_GUNICORN_LOG", "warning"),
            "--chdir",
            str(ROOT),
            "bench.venues_nearest:bench_app()",
        ],
        env=env,
    )
    try:
        # Measure only once every worker is warm: a worker still building its in-process
        # index (seconds at 1M venues) does not accept, and one ready worker answering is not
        # enough (it was not: the first rounds at 1M then shared the cores with a build).
        started = time.perf_counter()
        seen: set[int] = set()
        while len(seen) < workers:
            if time.perf_counter() - started > 300:
                raise RuntimeError(f"gunicorn: {len(seen)} of {workers} workers ready in 300 s")
            if proc.poll() is not None:
                raise RuntimeError("gunicorn exited")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/bench/worker")
                response = conn.getresponse()
                if response.status == 200:
                    seen.add(json.loads(response.read())["pid"])
                conn.close()
            except OSError:
                time.sleep(0.1)
        ready_s = time.perf_counter() - started
        print(f"   {workers} gunicorn workers warm in {ready_s:.1f} s", flush=True)
        at = AT.strftime("%Y-%m-%dT%H:%M:%SZ")
        nearest_paths = [
            f"/api/v1/venues/nearest?lat={lat:.6f}&lon={lon:.6f}&limit={K}&at={at}"
            for lat, lon in points
        ]
        # Alternate the two endpoints over ROUNDS rounds: the ratio is the median of each
        # round's nearest over its own trivial (this VM's speed drifts by half within a
        # minute; a pair measured back to back shares the drift), and each endpoint's
        # figures are its median round.
        rounds: dict[str, list[dict]] = {"trivial": [], "nearest": []}
        for _ in range(ROUNDS):
            rounds["trivial"].append(load_test(port, ["/bench/trivial"], clients, seconds / 3))
            rounds["nearest"].append(load_test(port, nearest_paths, clients, seconds / 3))
        trivial, nearest = (
            sorted(rounds[name], key=lambda r: r["req_per_s"])[ROUNDS // 2]
            for name in ("trivial", "nearest")
        )
        ratios = sorted(
            n["req_per_s"] / t["req_per_s"]
            for t, n in zip(rounds["trivial"], rounds["nearest"], strict=True)
        )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return {
        "trivial": trivial,
        "nearest": nearest,
        "ratio_of_trivial_rps": round(ratios[ROUNDS // 2], 3),
        "round_ratios": [round(r, 3) for r in ratios],
        "rounds_req_per_s": {k: [r["req_per_s"] for r in v] for k, v in rounds.items()},
        "gunicorn": f"{workers} workers x {threads} threads (gthread)",
        "workers_ready_s": round(ready_s, 1),
        "clients": clients,
        "seconds": seconds,
    }


# --- main -------------------------------------------------------------------------------


def run(engine: str, size: int, args, workdir: Path) -> dict:  # type: ignore[no-untyped-def]
    print(f"== {engine} {size:,} venues", flush=True)
    url = fresh_database(engine, workdir)
    load_s = load(engine, url, size)
    print(f"   loaded in {load_s:.1f} s", flush=True)
    points = query_points(args.queries)
    kd_stats, kd_answers = bench_kdtree(verified_points(engine, url), points)
    query, close = raw_sqlite(url) if engine == "sqlite" else raw_postgis()
    raw_answers = [query(lat, lon) for lat, lon in points]
    raw_stats = summary(timed(query, points))
    close()
    service_stats, service_answers = bench_service(url, points, open_now=False)
    service_open_stats, _ = bench_service(url, points, open_now=True)
    agree = sum(
        a == b == c for a, b, c in zip(kd_answers, raw_answers, service_answers, strict=True)
    )
    print(f"   kdtree/raw/service agree on {agree}/{len(points)} queries", flush=True)
    result = {
        "engine": engine,
        "venues": size,
        "load_s": round(load_s, 1),
        "kdtree": kd_stats,
        "raw": raw_stats,
        "service": service_stats,
        "service_open_now": service_open_stats,
        "service_overhead_p50_ms": round(service_stats["p50_ms"] - raw_stats["p50_ms"], 4),
        "answers_agree": f"{agree}/{len(points)}",
    }
    if not args.no_http:
        result["http"] = bench_http(
            url, points, args.workers, args.threads, args.clients, args.seconds
        )
    if engine == "postgis":
        import psycopg

        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
    return result


def table(results: list[dict]) -> str:
    head = (
        f"{'engine':8} {'venues':>9} {'load s':>7} | {'kdtree p50':>10} | {'raw p50/p99 ms':>15} | "
        f"{'service p50/p99':>16} {'+ms':>6} | {'svc open_now':>13} | "
        f"{'HTTP p50/p99 ms':>16} {'req/s':>7} | {'trivial req/s':>13} {'ratio':>6} {'rounds':>9}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        h = r.get("http")
        http_cols = (
            f"{h['nearest']['p50_ms']:>7.2f}/{h['nearest']['p99_ms']:<8.2f} {h['nearest']['req_per_s']:>7.0f} | "
            f"{h['trivial']['req_per_s']:>13.0f} {h['ratio_of_trivial_rps']:>6.2f} "
            f"{min(h['round_ratios']):>4.2f}-{max(h['round_ratios']):<4.2f}"
            if h
            else f"{'-':>16} {'-':>7} | {'-':>13} {'-':>6} {'-':>9}"
        )
        lines.append(
            f"{r['engine']:8} {r['venues']:>9,} {r['load_s']:>7.1f} | {r['kdtree']['p50_ms']:>10.3f} | "
            f"{r['raw']['p50_ms']:>7.3f}/{r['raw']['p99_ms']:<7.3f} | "
            f"{r['service']['p50_ms']:>7.3f}/{r['service']['p99_ms']:<8.3f} {r['service_overhead_p50_ms']:>6.2f} | "
            f"{r['service_open_now']['p50_ms']:>6.2f}/{r['service_open_now']['p99_ms']:<6.2f} | "
            + http_cols
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,100000,1000000")
    parser.add_argument("--engines", default="sqlite,postgis")
    parser.add_argument("--queries", type=int, default=500, help="query points per measurement")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP client processes")
    parser.add_argument(
        "--seconds", type=float, default=9.0, help="HTTP seconds per round is a third of this"
    )
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the JSON")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    engines = args.engines.split(",")
    started = time.perf_counter()
    load_before = os.getloadavg()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench_venues_") as tmp:
        for size in sizes:
            for engine in engines:
                results.append(run(engine, size, args, Path(tmp)))
    info = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            # Other work on the machine skews every figure: record how busy it was.
            "load_average_1m_before_after": [
                round(load_before[0], 2),
                round(os.getloadavg()[0], 2),
            ],
        },
        "k": K,
        "at": AT.isoformat(),
        "queries": args.queries,
        "notes": (
            "raw = nearest 5 verified (sqlite3 R*Tree / psycopg prepared KNN); service = "
            "venues.service.nearest(limit=5, open_now=False) and with open_now=True at Saturday "
            "14:00; HTTP = the endpoint's default open_now=true under gunicorn; trivial = a "
            "jsonify({'ok': True}) route on the same server, measured once every worker is warm; "
            "ratio = median over the rounds of a round's nearest req/s over its own trivial "
            "round's (rounds = their range); kdtree = scipy cKDTree in process."
        ),
        "total_s": round(time.perf_counter() - started, 1),
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(info, indent=2) + "\n")
    print()
    print(table(results))
    print(f"\nwrote {args.out} in {info['total_s']} s")


if __name__ == "__main__":
    main()
