"""How long a watcher that vanishes without closing (a phone losing signal: no FIN, no RST,
its packets simply stop) keeps its stream slot, on the production shape.

Needs root (network namespaces, veth pairs; nothing on the host's own interfaces or settings
is changed). Three namespaces' worth of network: the host runs the API pool and the stream
server; nginx, the load balancer, runs in a namespace of its own (``lb``) so that its kernel
settings can be set without touching the host's; the watcher runs in a third (``phone``),
reaching the load balancer over a veth pair, and the stream server directly through ``lb``
(forwarded). Each case: the resident's cap is one stream; the phone opens it and reads its
first event; then the phone's link goes down (its packets are lost from then on, as with a
phone out of signal) and the host asks for a new stream every half second until one opens:
the time from the link going down to that open is how long the slot stayed held.

Cases: ``direct`` (the phone talks to the stream server itself: its sockets have keepalives
and ``--user-timeout``), ``nginx`` (through the load balancer, its kernel's defaults) and
``nginx-retries2-N`` (``net.ipv4.tcp_retries2=N`` in the load balancer's namespace, the
setting docs/OPERATIONS.md gives for its host).

    sudo .venv/bin/python bench/stream_vanish.py
    sudo .venv/bin/python bench/stream_vanish.py --cases direct --user-timeout 10

Writes ``bench/results/stream_vanish<tag>.json``."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend.realtime.sse import HEARTBEAT_S  # noqa: E402
from bench.location_relay import SECRET, add_walking_resident, make_app  # noqa: E402
from tests.support import databases  # noqa: E402
from tests.support.servers import gunicorn, load_balancer, stream_server  # noqa: E402

# The phone: opens the stream, says so once its first event is in, then holds the socket.
PHONE = r"""
import socket, sys, time
host, port, path, token = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
sock = socket.create_connection((host, port), timeout=30)
sock.sendall(
    f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
    "Accept: text/event-stream\r\n\r\n".encode()
)
seen = b""
while b"event: state" not in seen:
    chunk = sock.recv(65536)
    if not chunk:
        sys.exit("closed before the first event: " + seen.decode(errors="replace")[:300])
    seen += chunk
print("open", flush=True)
time.sleep(3600)
"""


def ip(*args: str, ns: str | None = None) -> None:
    command = ["ip", *args] if ns is None else ["ip", "netns", "exec", ns, "ip", *args]
    subprocess.run(command, check=True)


def in_ns(ns: str, *command: str) -> list[str]:
    return ["ip", "netns", "exec", ns, *command]


@contextlib.contextmanager
def network(tag: str, octet: int) -> Iterator[dict[str, str]]:
    """host <-veth-> lb <-veth-> phone; lb forwards between them. Yields the addresses."""
    lb, phone = f"{tag}lb", f"{tag}ph"
    names = {"host": f"{tag}h", "lb_up": f"{tag}u", "lb_down": f"{tag}d", "phone": f"{tag}p"}
    up_net, down_net = f"10.{octet}.1", f"10.{octet}.2"
    addresses = {
        "host": f"{up_net}.1",
        "lb_up": f"{up_net}.2",
        "lb": f"{down_net}.1",
        "phone": f"{down_net}.2",
        "lb_ns": lb,
        "phone_ns": phone,
        "phone_if": names["phone"],
    }
    try:
        ip("netns", "add", lb)
        ip("netns", "add", phone)
        ip("link", "add", names["host"], "type", "veth", "peer", "name", names["lb_up"])
        ip("link", "set", names["lb_up"], "netns", lb)
        ip("link", "add", names["lb_down"], "type", "veth", "peer", "name", names["phone"])
        ip("link", "set", names["lb_down"], "netns", lb)
        ip("link", "set", names["phone"], "netns", phone)
        ip("addr", "add", f"{addresses['host']}/24", "dev", names["host"])
        ip("link", "set", names["host"], "up")
        ip("route", "add", f"{down_net}.0/24", "via", addresses["lb_up"])
        ip("addr", "add", f"{addresses['lb_up']}/24", "dev", names["lb_up"], ns=lb)
        ip("addr", "add", f"{addresses['lb']}/24", "dev", names["lb_down"], ns=lb)
        for name in (names["lb_up"], names["lb_down"], "lo"):
            ip("link", "set", name, "up", ns=lb)
        subprocess.run(in_ns(lb, "sysctl", "-qw", "net.ipv4.ip_forward=1"), check=True)
        ip("addr", "add", f"{addresses['phone']}/24", "dev", names["phone"], ns=phone)
        ip("link", "set", names["phone"], "up", ns=phone)
        ip("link", "set", "lo", "up", ns=phone)
        ip("route", "add", "default", "via", addresses["lb"], ns=phone)
        # The phone's address stays resolved (as a mobile network's router stays reachable
        # when a phone loses signal): its packets are then lost in silence, never answered by
        # "host unreachable" errors that a failed neighbour look-up would send back.
        shown = subprocess.run(
            in_ns(phone, "ip", "-o", "link", "show", "dev", names["phone"]),
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        mac = shown.split("link/ether ", 1)[1].split()[0]
        ip(
            "neigh",
            "replace",
            addresses["phone"],
            "lladdr",
            mac,
            "dev",
            names["lb_down"],
            "nud",
            "permanent",
            ns=lb,
        )
        yield addresses
    finally:
        for ns in (phone, lb):
            subprocess.run(["ip", "netns", "del", ns], check=False)
        subprocess.run(["ip", "link", "del", names["host"]], check=False, stderr=subprocess.DEVNULL)


def opens(url: str, token: str) -> bool:
    """Whether a stream opens now (200; closed at once), False on 429."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - our own server
            return answer.status == 200
    except urllib.error.HTTPError as exc:
        if exc.code == 429:
            return False
        raise


def held_after_vanishing(
    net: dict[str, str], base: str, path: str, token: str, max_wait: float
) -> dict[str, object]:
    host, port = base.removeprefix("http://").split(":")
    phone = subprocess.Popen(
        in_ns(net["phone_ns"], sys.executable, "-c", PHONE, host, port, path, token),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = phone.stdout.readline() if phone.stdout else ""
        if line.strip() != "open":
            raise RuntimeError(f"the phone did not open its stream: {line!r}")
        if opens(base + path, token):
            raise RuntimeError("the cap is not one stream: a second one opened")
        time.sleep(2)  # the first event and its acknowledgement are through
        ip("link", "set", net["phone_if"], "down", ns=net["phone_ns"])
        gone = time.monotonic()
        tries = 0
        while time.monotonic() - gone < max_wait:
            tries += 1
            if opens(base + path, token):
                return {"slot_held_s": round(time.monotonic() - gone, 1), "asked": tries}
            time.sleep(0.5)
        return {"slot_held_s": None, "gave_up_after_s": max_wait, "asked": tries}
    finally:
        phone.kill()
        phone.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="direct,nginx,nginx-retries2-8")
    parser.add_argument("--user-timeout", type=int, default=30, help="stream server, seconds")
    parser.add_argument("--max-wait", type=float, default=1200.0, help="seconds per case")
    parser.add_argument(
        "--redis", default=os.environ.get("SAFEHAVEN_BENCH_REDIS", "redis://127.0.0.1:6379/11")
    )
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root: network namespaces")
    octet = 200 + os.getpid() % 50
    tag = f"sv{os.getpid() % 10000}"
    name = f"safehaven_bench_vanish_{os.getpid()}"
    url = databases.fresh_pg_database(name)
    results: dict[str, object] = {}
    try:
        app = make_app(url)
        from backend.auth.service import mint_dev_token
        from backend.extensions import db

        with app.app_context():
            db.create_all()
            owner, _, journey = add_walking_resident(db.session, "vanish", 1, datetime.now(UTC))
            token, path = mint_dev_token(SECRET, owner.uid), f"/api/v1/journeys/{journey.id}/stream"
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
        env = {
            "SAFEHAVEN_ENV": "testing",
            "SAFEHAVEN_AUTH": "dev",
            "SECRET_KEY": SECRET,
            "DATABASE_URL": url,
            "REDIS_URL": args.redis,
            "SAFEHAVEN_REDIS_PREFIX": f"vanish-{uuid.uuid4().hex[:6]}:",
            "SAFEHAVEN_RATELIMIT": "false",
            "SAFEHAVEN_STREAMS_PER_PERSON": "1",
        }
        for case in args.cases.split(","):
            with contextlib.ExitStack() as stack:
                net = stack.enter_context(network(tag, octet))
                api = stack.enter_context(
                    gunicorn({**env, "SAFEHAVEN_INLINE_STREAMS": "false"}, threads=4)
                )
                streams = stack.enter_context(
                    stream_server(
                        env,
                        host=net["host"],
                        extra_args=["--user-timeout", str(args.user_timeout)],
                    )
                )
                if case == "direct":
                    base = streams
                else:
                    retries2 = int(case.rsplit("-", 1)[1]) if "retries2" in case else None
                    if retries2 is not None:
                        subprocess.run(
                            in_ns(
                                net["lb_ns"], "sysctl", "-qw", f"net.ipv4.tcp_retries2={retries2}"
                            ),
                            check=True,
                        )
                    base = stack.enter_context(
                        load_balancer(api, streams, host=net["lb"], prefix=in_ns(net["lb_ns"]))
                    )
                print(f"{case}: the phone opens its stream through {base}", flush=True)
                results[case] = held_after_vanishing(net, base, path, token, args.max_wait)
                print(f"{case}: {results[case]}", flush=True)
    finally:
        databases.drop_pg_database(name)
    out = ROOT / "bench" / "results" / f"stream_vanish{args.tag}.json"
    out.write_text(
        json.dumps(
            {
                "cases": results,
                "args": vars(args),
                "heartbeat_s": HEARTBEAT_S,
                "load_avg": list(os.getloadavg()),
                "when": datetime.now(UTC).isoformat(),
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
