"""Benchmark: the 7-day ward hotspot aggregation at 1M reports, on PostGIS and on SQLite,
through the service (``backend.insights.service.hotspots``) beside the same aggregation in
raw SQL on the driver, in the same run. Target: under 1 s on PostGIS at 1M reports.

    .venv/bin/python bench/hotspots.py                 # 1M rows, both engines
    .venv/bin/python bench/hotspots.py --rows 100000 --engines sqlite

Writes bench/results/hotspots.json. PostgreSQL from SAFEHAVEN_TEST_PG (default
postgresql://postgres@127.0.0.1:5432); a scratch database is created and dropped."""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

END = datetime(2026, 3, 9, tzinfo=UTC)
DAYS = 365
PG_SERVER = os.environ.get("SAFEHAVEN_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
PG_DB = "safehaven_bench_hotspots"
CATEGORIES = [
    "knife_weapon", "firearm", "drug_dealing", "asb", "youth_asb", "dangerous_dog",
    "sexual_harassment", "exploitation", "street_drinking", "feeling_unsafe", "environment", "other",
]  # fmt: skip
COLUMNS = (
    "category", "description", "lat", "lon", "ward_code", "observed_at", "created_at",
    "updated_at", "status", "anonymous", "consent_to_contact", "source", "reference",
)  # fmt: skip
RAW_SQL = """
SELECT ward_code, category,
       SUM(CASE WHEN observed_at >= {p}start THEN 1 ELSE 0 END) AS current,
       SUM(CASE WHEN observed_at < {p}start THEN 1 ELSE 0 END) AS previous
FROM reports
WHERE observed_at >= {p}prev AND observed_at < {p}end AND ward_code IS NOT NULL
GROUP BY ward_code, category
"""


def make_app(url: str):  # type: ignore[no-untyped-def]
    from backend import create_app
    from backend.config import Settings

    env = {"SAFEHAVEN_ENV": "development", "DATABASE_URL": url, "SAFEHAVEN_RATELIMIT": "0"}
    return create_app(settings=Settings.from_env(env))


def prepare_schema(app) -> list[tuple[str, float, float]]:  # type: ignore[no-untyped-def]
    from backend.areas import service as areas
    from backend.extensions import db

    with app.app_context():
        db.drop_all()
        db.create_all()
        areas.load_wards()
        wards = [(w.code, w.centroid_lat, w.centroid_lon) for w in areas.list_wards()]
        db.session.remove()
    return wards


def rows(n: int, wards: list[tuple[str, float, float]]):  # type: ignore[no-untyped-def]
    """``n`` synthetic reports over the year before END, a few wards much busier."""
    rng = random.Random(42)  # noqa: S311
    weights = [rng.choice([1, 1, 2, 3, 8]) for _ in wards]
    picks = rng.choices(range(len(wards)), weights=weights, k=n)
    span = DAYS * 86400
    for i in range(n):
        code, lat, lon = wards[picks[i]]
        observed = END - timedelta(seconds=rng.randrange(span))
        yield (
            CATEGORIES[rng.randrange(len(CATEGORIES))],
            "bench",
            lat,
            lon,
            code,
            observed,
            observed,
            observed,
            "received",
            True,
            False,
            "bench",
            f"B{i:011d}",  # unique; real references are random and ~1M, fewer than bench rows
        )


def sqlite_time(value: datetime) -> str:
    """How SQLAlchemy stores a UTC timestamp in SQLite (naive, microseconds)."""
    return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def load_sqlite(path: str, n: int, wards) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        marks = ",".join("?" * len(COLUMNS))
        batch: list[tuple] = []
        for row in rows(n, wards):
            row = (
                *row[:5],
                sqlite_time(row[5]),
                sqlite_time(row[6]),
                sqlite_time(row[7]),
                *row[8:],
            )
            batch.append(row)
            if len(batch) == 50_000:
                conn.executemany(
                    f"INSERT INTO reports ({','.join(COLUMNS)}) VALUES ({marks})", batch
                )
                batch.clear()
        if batch:
            conn.executemany(f"INSERT INTO reports ({','.join(COLUMNS)}) VALUES ({marks})", batch)
        conn.commit()
        conn.execute("ANALYZE")
        conn.commit()
    finally:
        conn.close()
    return time.perf_counter() - started


def load_postgis(dsn: str, n: int, wards) -> float:  # type: ignore[no-untyped-def]
    import psycopg

    started = time.perf_counter()
    with psycopg.connect(dsn) as conn:
        with (
            conn.cursor() as cur,
            cur.copy(f"COPY reports ({','.join(COLUMNS)}) FROM STDIN") as copy,
        ):
            for row in rows(n, wards):
                copy.write_row(row)
        conn.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE reports")
    return time.perf_counter() - started


def timed(fn, repeat: int) -> tuple[float, float, float, object]:  # type: ignore[no-untyped-def]
    """(first run, median, best) in milliseconds of ``fn()``, and its last result."""
    times, result = [], None
    for _ in range(repeat + 1):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    return times[0], statistics.median(times[1:]), min(times[1:]), result


def measure(engine: str, app, raw_query, repeat: int, windows: list[int]) -> list[dict]:  # type: ignore[no-untyped-def]
    from backend.auth.models import User
    from backend.extensions import db
    from backend.insights import service

    results = []
    with app.app_context():
        admin = User(uid="bench-admin", role="admin")
        for days in windows:
            start = END - timedelta(days=days)
            prev = start - timedelta(days=days)

            def through_service(start=start):  # type: ignore[no-untyped-def]
                db.session.rollback()
                result = service.hotspots(admin, start, END, now=END)
                return {
                    (c["ward_code"], c["category"]): (c["count"], c["previous"])
                    for c in result.cells
                }

            def raw(prev=prev, start=start):  # type: ignore[no-untyped-def]
                return {(w, c): (int(a), int(b)) for w, c, a, b in raw_query(prev, start, END)}

            s_first, s_med, s_best, s_result = timed(through_service, repeat)
            r_first, r_med, r_best, r_result = timed(raw, repeat)
            assert s_result == r_result, "service and raw SQL disagree"
            in_window = sum(a + b for a, b in r_result.values())  # type: ignore[union-attr]
            results.append(
                {
                    "engine": engine,
                    "window_days": days,
                    "rows_scanned": in_window,
                    "cells": len(r_result),  # type: ignore[arg-type]
                    "service_ms": {"first": s_first, "median": s_med, "best": s_best},
                    "raw_sql_ms": {"first": r_first, "median": r_med, "best": r_best},
                }
            )
        db.session.remove()
    return results


def run_sqlite(n: int, repeat: int, windows: list[int]) -> tuple[list[dict], float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.sqlite3")
        app = make_app(f"sqlite:///{path}")
        wards = prepare_schema(app)
        load_s = load_sqlite(path, n, wards)
        conn = sqlite3.connect(path)
        try:

            def raw_query(prev, start, end):  # type: ignore[no-untyped-def]
                sql = RAW_SQL.format(p=":")
                params = {
                    "prev": sqlite_time(prev),
                    "start": sqlite_time(start),
                    "end": sqlite_time(end),
                }
                return conn.execute(sql, params).fetchall()

            results = measure("sqlite", app, raw_query, repeat, windows)
        finally:
            conn.close()
            from backend.extensions import db

            with app.app_context():
                db.engine.dispose()
    return results, load_s


def run_postgis(n: int, repeat: int, windows: list[int]) -> tuple[list[dict], float]:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{PG_DB}"')
    dsn = f"{PG_SERVER}/{PG_DB}"
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        app = make_app(dsn)
        wards = prepare_schema(app)
        load_s = load_postgis(dsn, n, wards)
        with psycopg.connect(dsn, autocommit=True) as conn:

            def raw_query(prev, start, end):  # type: ignore[no-untyped-def]
                sql = (
                    RAW_SQL.format(p="%(")
                    .replace("%(start", "%(start)s")
                    .replace("%(prev", "%(prev)s")
                    .replace("%(end", "%(end)s")
                )
                return conn.execute(sql, {"prev": prev, "start": start, "end": end}).fetchall()

            results = measure("postgis", app, raw_query, repeat, windows)
            start = END - timedelta(days=windows[0])
            plan_sql = "EXPLAIN " + RAW_SQL.format(p="%(").replace("%(start", "%(start)s")
            plan_sql = plan_sql.replace("%(prev", "%(prev)s").replace("%(end", "%(end)s")
            plan = conn.execute(
                plan_sql, {"prev": start - (END - start), "start": start, "end": END}
            ).fetchall()
            results[0]["plan"] = [line for (line,) in plan]
        from backend.extensions import db

        with app.app_context():
            db.engine.dispose()
    finally:
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
    return results, load_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--engines", default="postgis,sqlite")
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--windows", default="7,28", help="period lengths in days")
    args = parser.parse_args()
    windows = [int(w) for w in args.windows.split(",")]
    everything, loads = [], {}
    for engine in args.engines.split(","):
        runner = {"sqlite": run_sqlite, "postgis": run_postgis}[engine]
        print(f"== {engine}: loading {args.rows:,} reports ...", flush=True)
        results, load_s = runner(args.rows, args.repeat, windows)
        loads[engine] = load_s
        print(f"   loaded in {load_s:.1f} s", flush=True)
        everything.extend(results)
    print()
    print(
        f"Hotspot aggregation, {args.rows:,} reports over {DAYS} days; ms (first run / median / best of {args.repeat})"
    )
    header = f"{'engine':8} {'window':>6} {'rows':>7} {'cells':>5}  {'service (first/med/best)':>26}  {'raw SQL (first/med/best)':>26}"
    print(header)
    print("-" * len(header))
    for r in everything:
        s, q = r["service_ms"], r["raw_sql_ms"]
        print(
            f"{r['engine']:8} {str(r['window_days']) + ' d':>6} {r['rows_scanned']:>7} {r['cells']:>5}  "
            f"{s['first']:8.1f} /{s['median']:7.1f} /{s['best']:7.1f}  "
            f"{q['first']:8.1f} /{q['median']:7.1f} /{q['best']:7.1f}"
        )
    for r in everything:
        if "plan" in r:
            print(f"\nPostGIS plan ({r['window_days']} d):")
            print("\n".join("  " + line for line in r["plan"]))
    target = [r for r in everything if r["engine"] == "postgis" and r["window_days"] == 7]
    if target:
        ok = target[0]["service_ms"]["median"] < 1000
        print(
            f"\ntarget (PostGIS, 7 days, through the service, median < 1000 ms): {'met' if ok else 'NOT met'}"
        )
    out = ROOT / "bench" / "results" / "hotspots.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "benchmark": "hotspots",
                "rows": args.rows,
                "repeat": args.repeat,
                "load_seconds": loads,
                "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
                "results": everything,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
