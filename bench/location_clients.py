"""Third-party trackers against a trivial POST, in the same run: posts per second accepted
for ``POST /owntracks`` (the real OwnTracks Android location payload, HTTP Basic), ``POST
/osmand`` (Traccar Client: its query string), the app's own fix route and a trivial JSON POST
endpoint, on one gunicorn process (2 workers x 8 threads) on loopback, from a closed-loop
client of 16 keep-alive connections over 1,500 residents walking on active journeys shared
with a contact. Each post is a new whole second for its resident (OwnTracks' resolution), so
every post is a fix to store; after the run the fixes stored by source are printed beside the
2xx answers. A warm-up posts once for every resident on every route first (a phone posts every
few seconds for a whole journey: its credential and OwnTracks reply are kept by then). Rounds
alternate the routes; each round's figure is set beside the trivial POST of the same round.

    .venv/bin/python bench/location_clients.py --engine sqlite
    .venv/bin/python bench/location_clients.py --engine postgis --rounds 5

Writes ``bench/results/location_clients_<engine>.json``."""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.location_relay import SECRET, TRIVIAL_PATH, add_walking_resident, make_app  # noqa: E402
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
                }
            )
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return people


async def run_round(
    base: str,
    route: str,
    people: list[dict[str, object]],
    clocks: list[int],
    seconds: float,
    connections: int,
    once_each: bool = False,
) -> dict[str, float]:
    """Closed loop for ``seconds``: each connection posts as the next resident in turn."""
    deadline = time.monotonic() + seconds
    counts = {"ok": 0, "other": 0}
    statuses: dict[int, int] = {}

    async def poster(c: int) -> None:
        conn = Connection(base)
        turn = c
        try:
            while time.monotonic() < deadline:
                if once_each and turn >= len(people):
                    break
                n = turn % len(people)
                turn += connections
                # A new whole second per resident (OwnTracks' resolution), never ahead of the
                # clock by more than a few seconds (later ones are refused, as are ones from
                # before the journey started): there are enough residents for that.
                tst = clocks[n] = max(clocks[n] + 1, int(time.time()) - 30)
                lat, lon = 53.5425 + (tst % 600) / 100000, -2.6405 + n / 10000
                person = people[n]
                if route == "trivial":
                    r = await conn.request("POST", TRIVIAL_PATH, json_body={"lat": lat})
                elif route == "owntracks":
                    raw = f"{person['username']}:{person['secret']}".encode()
                    auth = {"Authorization": "Basic " + base64.b64encode(raw).decode()}
                    r = await conn.request(
                        "POST",
                        "/owntracks",
                        json_body=owntracks_location(
                            tst, lat=lat, lon=lon, conn="m", topic="owntracks/resident/phone"
                        ),
                        headers=auth,
                    )
                elif route == "app":
                    at = datetime.fromtimestamp(tst, UTC).isoformat()
                    r = await conn.request(
                        "POST",
                        f"/api/v1/journeys/{person['journey']}/locations",
                        json_body={"fixes": [{"lat": lat, "lon": lon, "recorded_at": at}]},
                        headers={"Authorization": f"Bearer {person['token']}"},
                    )
                else:
                    r = await conn.request(
                        "POST",
                        "/osmand",
                        params={
                            "id": person["secret"],
                            "timestamp": tst,
                            "lat": f"{lat:.6f}",
                            "lon": f"{lon:.6f}",
                            "speed": "2.5",
                            "bearing": "90",
                            "altitude": "52",
                            "accuracy": "12",
                            "batt": "80",
                        },
                    )
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                counts["ok" if 200 <= r.status_code < 300 else "other"] += 1
        finally:
            conn.close()

    started = time.monotonic()
    await asyncio.gather(*(poster(c) for c in range(connections)))
    elapsed = time.monotonic() - started
    return {
        "per_s": round(counts["ok"] / elapsed, 1),
        "not_2xx": counts["other"],
        "statuses": statuses,
    }  # type: ignore[dict-item]


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
    parser.add_argument("--tag", default="", help="suffix of the results file name")
    args = parser.parse_args()

    name = f"safehaven_bench_location_clients_{os.getpid()}"
    tmp = Path(tempfile.mkdtemp(prefix="bench-clients-"))
    if args.engine == "postgis":
        url = databases.fresh_pg_database(name)
    else:
        url = f"sqlite:///{tmp / 'bench.sqlite3'}"
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
        }
        clocks = [int(time.time()) - 60] * len(people)
        rounds: list[dict[str, dict[str, float]]] = []
        with gunicorn(env, threads=8, workers=2, app="bench.location_relay:bench_app()") as base:
            for route in ROUTES:  # warm-up: every worker's imports, caches and pool
                asyncio.run(
                    run_round(base, route, people, clocks, 120.0, args.connections, once_each=True)
                )
            for r in range(args.rounds):
                figures = {
                    route: asyncio.run(
                        run_round(base, route, people, clocks, args.seconds, args.connections)
                    )
                    for route in ROUTES
                }
                rounds.append(figures)
                print(
                    f"round {r + 1}: "
                    + ", ".join(f"{k} {v['per_s']}/s" for k, v in figures.items())
                    + " | of trivial: "
                    + ", ".join(
                        f"{k} {figures[k]['per_s'] / figures['trivial']['per_s']:.2f}"
                        for k in ROUTES[1:]
                    ),
                    flush=True,
                )
        stored = stored_by_source(app)
        answered = {
            route: sum(f[route]["statuses"].get(200, 0) for f in rounds) for route in ROUTES[1:]
        }
        print(f"stored by source: {stored}; 2xx in the measured rounds: {answered}", flush=True)
    finally:
        if args.engine == "postgis":
            databases.drop_pg_database(name)
    summary = {}
    for route in ROUTES[1:]:
        ratios = [f[route]["per_s"] / f["trivial"]["per_s"] for f in rounds]
        summary[route] = {
            "per_s_median": statistics.median(f[route]["per_s"] for f in rounds),
            "ratio_to_trivial_median": round(statistics.median(ratios), 2),
            "ratio_range": [round(min(ratios), 2), round(max(ratios), 2)],
        }
    summary["trivial"] = {"per_s_median": statistics.median(f["trivial"]["per_s"] for f in rounds)}
    print(json.dumps(summary, indent=2))
    out = ROOT / "bench" / "results" / f"location_clients_{args.engine}{args.tag}.json"
    out.write_text(
        json.dumps(
            {"engine": args.engine, "args": vars(args), "rounds": rounds, "summary": summary},
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
