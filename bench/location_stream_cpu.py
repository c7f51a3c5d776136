"""CPU per delivered live event on the server, independent of machine load.

Starts one gunicorn process (one gthread worker, Redis broker, PostgreSQL) holding
``--journeys`` x ``--watchers`` open ``GET /api/v1/journeys/{id}/stream`` connections from a
client process, then publishes ``--fixes`` fix messages straight to Redis (as the fix path
publishes them, round-robin over the journeys) and reads the gunicorn processes' CPU seconds
(user and system, from /proc) until every watcher has received every fix. An idle period of
the same length (open streams, nothing published) is measured first and subtracted, so the
figure is what one delivery costs: the Redis listener, the fan-out to the stream threads,
the event formatting and the socket writes.

    .venv/bin/python bench/location_stream_cpu.py --journeys 200 --fixes 4000

Writes ``bench/results/location_stream_cpu.json``."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from bench.location_relay import _watch_process, make_app, prepare_relay  # noqa: E402
from bench.support.cpuacct import proc_cpu  # noqa: E402
from tests.support import databases  # noqa: E402
from tests.support.servers import gunicorn  # noqa: E402

SECRET = "bench-secret-key-that-is-long-enough-0123456789"  # noqa: S105 - dev tokens only


def _cpu(pids: list[int]) -> tuple[float, float]:
    """(user + system, system) CPU seconds of ``pids``."""
    return sum(proc_cpu(p) for p in pids), sum(proc_cpu(p, True) for p in pids)


def _py_spy(pids: list[int], phase: str) -> subprocess.Popen:
    """``SAFEHAVEN_PY_SPY=1``: sample the gunicorn worker (py-spy, if installed) until
    interrupted, into bench/results/py-spy-stream-<phase>.txt (collapsed stacks)."""
    worker = max(pids)
    return subprocess.Popen(
        [
            str(Path(sys.executable).with_name("py-spy")),
            "record",
            "-p",
            str(worker),
            "-r",
            "500",
            "--gil",
            "--format",
            "raw",
            "-o",
            str(ROOT / "bench" / "results" / f"py-spy-stream-{phase}.txt"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _post_process(base: str, plan: list[dict], posts: int, connections: int, out) -> None:  # type: ignore[no-untyped-def]
    """Post ``posts`` single-fix batches round-robin over the journeys, ``connections`` at a
    time over keep-alive connections; reports (accepted, errors)."""
    import asyncio

    from bench.support.rawhttp import read_response, split_url

    counts = {"ok": 0, "errors": 0}
    # within the 10 minutes before the journeys started that a fix may be recorded
    at0 = datetime.now(UTC) - timedelta(minutes=5)

    async def main() -> None:
        host, port = split_url(base)
        numbers = iter(range(posts))

        async def connection() -> None:
            reader, writer = await asyncio.open_connection(host, port)
            for n in numbers:
                item = plan[n % len(plan)]
                at = (at0 + timedelta(milliseconds=n)).isoformat()
                body = (
                    f'{{"fixes":[{{"lat":{53.5425 + n * 1e-6:.7f},"lon":-2.6405,'
                    f'"recorded_at":"{at}","battery":80}}]}}'
                ).encode()
                writer.write(
                    (
                        f"POST /api/v1/journeys/{item['journey']}/locations HTTP/1.1\r\n"
                        f"Host: {host}\r\nAuthorization: Bearer {item['owner']}\r\n"
                        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                    ).encode()
                    + body
                )
                status, keep, _ = await read_response(reader, want_body=False)
                counts["ok" if status == 200 else "errors"] += 1
                if not keep:
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
            writer.close()

        await asyncio.gather(*(connection() for _ in range(connections)))

    asyncio.run(main())
    out.put((counts["ok"], counts["errors"]))


def main() -> None:
    import multiprocessing as mp

    from backend.realtime.broker import dumps
    from bench.location_relay import _db_backend_pids, _server_pids

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journeys", type=int, default=200)
    parser.add_argument("--watchers", type=int, default=2, help="watchers per journey")
    parser.add_argument("--fixes", type=int, default=4000)
    parser.add_argument("--rate", type=float, default=400.0, help="fixes published per second")
    parser.add_argument(
        "--redis", default=os.environ.get("SAFEHAVEN_BENCH_REDIS", "redis://127.0.0.1:6379/11")
    )
    parser.add_argument(
        "--posts", type=int, default=3000, help="then POST this many fixes (0: skip)"
    )
    parser.add_argument("--connections", type=int, default=4, help="posting connections")
    parser.add_argument("--tag", default="")
    args = parser.parse_args()

    name = f"safehaven_bench_stream_cpu_{os.getpid()}"
    url = databases.fresh_pg_database(name)
    prefix = f"stream-cpu-{uuid.uuid4().hex[:6]}:"
    try:
        app = make_app(url)
        from backend.extensions import db

        with app.app_context():
            db.create_all()
            db.session.remove()
        plan = prepare_relay(app, args.journeys, args.watchers)
        with app.app_context():
            db.engine.dispose()
        streams = args.journeys * args.watchers
        threads = streams + 32
        env = {
            "SAFEHAVEN_ENV": "testing",
            "SAFEHAVEN_AUTH": "dev",
            "SECRET_KEY": SECRET,
            "DATABASE_URL": url,
            "REDIS_URL": args.redis,
            "SAFEHAVEN_REDIS_PREFIX": prefix,
            "SAFEHAVEN_RATELIMIT": "false",
            "SAFEHAVEN_DB_POOL_SIZE": "4",
        }
        pidfile = Path(tempfile.gettempdir()) / f"bench-stream-cpu-{os.getpid()}.pid"
        extra = ["--worker-connections", str(threads + 64), "--pid", str(pidfile)]
        publisher = redis.Redis.from_url(args.redis)
        ctx = mp.get_context("spawn")
        with gunicorn(env, threads=threads, workers=1, extra_args=extra) as base:
            ready, stop = ctx.Event(), ctx.Event()
            out = ctx.Queue()
            window = ctx.Array("d", [0.0, 0.0])
            watcher = ctx.Process(
                target=_watch_process, args=([base], plan, window, ready, stop, out), daemon=True
            )
            watcher.start()
            if not ready.wait(120):
                stop.set()
                raise RuntimeError("watchers did not connect")
            time.sleep(1.0)
            pids = _server_pids(pidfile)
            seconds = args.fixes / args.rate
            idle0 = _cpu(pids)
            time.sleep(seconds)
            idle1 = _cpu(pids)
            at0 = datetime.now(UTC) - timedelta(hours=1)
            spy = _py_spy(pids, "fanout") if os.environ.get("SAFEHAVEN_PY_SPY") else None
            busy0 = _cpu(pids)
            started = time.monotonic()
            published = set()
            for n in range(args.fixes):
                item = plan[n % len(plan)]
                message = {
                    "type": "fix",
                    "journey_id": item["journey"],
                    "lat": 53.5425 + n * 1e-6,
                    "lon": -2.6405,
                    "recorded_at": (at0 + timedelta(milliseconds=n)).isoformat(),
                    "accuracy_m": None,
                    "battery": 80,
                    "jump": False,
                }
                published.add(message["recorded_at"])
                publisher.publish(f"{prefix}journey:{item['journey']}", dumps(message))
                delay = started + (n + 1) / args.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            elapsed = time.monotonic() - started
            time.sleep(1.0)  # the last deliveries
            busy1 = _cpu(pids)
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(timeout=60)
            posted = None
            if args.posts:
                # warm the posting path, then measure: the server's CPU per accepted fix,
                # its deliveries to the open streams included
                post_out = ctx.Queue()
                for count in (min(300, args.posts), args.posts):
                    poster = ctx.Process(
                        target=_post_process,
                        args=(base, plan, count, args.connections, post_out),
                        daemon=True,
                    )
                    spy = None
                    if count == args.posts and os.environ.get("SAFEHAVEN_PY_SPY"):
                        spy = _py_spy(pids, "post")
                    before = _cpu(pids)
                    db_pids = _db_backend_pids(url)
                    db_before = _cpu(db_pids)
                    poster.start()
                    ok, errors = post_out.get(timeout=600)
                    poster.join()
                    db_after = _cpu(db_pids)
                    if spy is not None:
                        spy.send_signal(signal.SIGINT)
                        spy.wait(timeout=60)
                    time.sleep(1.0)
                    after = _cpu(pids)
                posted = {
                    "posts": args.posts,
                    "accepted": ok,
                    "errors": errors,
                    "server_cpu_s": round(after[0] - before[0], 3),
                    "server_system_cpu_s": round(after[1] - before[1], 3),
                    "cpu_ms_per_fix": round((after[0] - before[0]) / max(ok, 1) * 1000, 4),
                    "system_ms_per_fix": round((after[1] - before[1]) / max(ok, 1) * 1000, 4),
                    # the pooled backends that existed when posting began (after the warm-up)
                    "database_cpu_ms_per_fix": round(
                        (db_after[0] - db_before[0]) / max(ok, 1) * 1000, 4
                    ),
                }
            stop.set()
            received, _cpu_client, failed = out.get(timeout=60)
            watcher.join()
        publisher.close()
    finally:
        databases.drop_pg_database(name)

    deliveries = sum(1 for _journey, at, _t in received if at in published)
    expected = args.fixes * args.watchers
    idle = (idle1[0] - idle0[0]) * (elapsed + 1.0) / seconds
    idle_sys = (idle1[1] - idle0[1]) * (elapsed + 1.0) / seconds
    busy, busy_sys = busy1[0] - busy0[0], busy1[1] - busy0[1]
    result = {
        "journeys": args.journeys,
        "watchers_per_journey": args.watchers,
        "streams": streams,
        "fixes_published": args.fixes,
        "deliveries": deliveries,
        "deliveries_expected": expected,
        "failed_streams": failed,
        "server_cpu_s": round(busy, 3),
        "server_system_cpu_s": round(busy_sys, 3),
        "idle_cpu_s_same_length": round(idle, 3),
        "cpu_ms_per_delivery": round((busy - idle) / max(deliveries, 1) * 1000, 4),
        "system_ms_per_delivery": round((busy_sys - idle_sys) / max(deliveries, 1) * 1000, 4),
        "cpu_ms_per_fix_fanout": round((busy - idle) / max(args.fixes, 1) * 1000, 4),
        "posting": posted,
        "load_avg": os.getloadavg(),
        "when": datetime.now(UTC).isoformat(),
    }
    print(json.dumps(result, indent=2))
    out_path = (
        ROOT / "bench" / "results" / f"location_stream_cpu{'_' + args.tag if args.tag else ''}.json"
    )
    out_path.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
