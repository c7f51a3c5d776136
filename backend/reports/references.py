"""Report references such as ``WGN-7K3QX``: short enough to read out on the phone, random so
that a reference tells nobody how many reports exist or which came before."""

from __future__ import annotations

import secrets

PREFIX = "WGN-"
# 32 characters that cannot be misread (no 0/O, no 1/I): 5 of them give 33 million, so a
# fresh reference meets an existing one about once in 3,000 draws at 10,000 reports (the
# insert then draws again).
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
LENGTH = 5


def new_reference() -> str:
    """A random reference (uniqueness is the database's to enforce)."""
    return PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise(text: str) -> str:
    """``wgn 7k3qx`` or ``7K3QX`` -> ``WGN-7K3QX``; anything else comes back upper-cased."""
    cleaned = "".join(ch for ch in (text or "").upper() if ch.isalnum())
    if cleaned.startswith(PREFIX[:-1]):
        cleaned = cleaned[len(PREFIX) - 1 :]
    return PREFIX + cleaned[:12]


def distinct_references(n: int) -> list[str]:
    """``n`` different random references, for bulk inserts (seed data)."""
    found: set[str] = set()
    while len(found) < n:
        found.add(new_reference())
    return list(found)
