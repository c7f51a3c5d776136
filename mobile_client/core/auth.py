"""Sign-in: where the token and server address are kept, and the demo sign-in for local servers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess  # noqa: S404 - runs our own `safehaven` CLI, never user input as a shell
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlparse

DEMO_UID = "demo-resident"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


@dataclass
class Credentials:
    """What the app remembers between runs."""

    server_url: str = "http://127.0.0.1:5000"
    token: str | None = None
    uid: str | None = None


class TokenStore:
    """A small JSON file readable only by the app's user (mode 0600 on POSIX).

    On Android the app's private files directory is already private to the app."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def load(self) -> Credentials:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return Credentials()
        known = {k: data.get(k) for k in ("server_url", "token", "uid") if k in data}
        return Credentials(**known)

    def save(self, creds: Credentials) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(asdict(creds), fh)
        os.replace(tmp, self.path)

    def clear_token(self) -> Credentials:
        creds = self.load()
        creds.token, creds.uid = None, None
        self.save(creds)
        return creds


class DemoSignInError(RuntimeError):
    """The demo token could not be obtained (not a local server, or no CLI)."""


def demo_token(server_url: str, uid: str = DEMO_UID, cwd: Path | None = None) -> str:
    """A dev token for ``uid`` from the local server's own CLI (``safehaven dev-token``).

    Only for a server on this machine: the CLI signs with the same SECRET_KEY and database
    as ``make run``, and the server accepts dev tokens only in dev auth mode."""
    host = urlparse(server_url).hostname or ""
    if host not in LOCAL_HOSTS:
        raise DemoSignInError(f"--demo signs in only against a local server, not {host!r}")
    exe = shutil.which("safehaven") or str(Path(sys.executable).with_name("safehaven"))
    if not Path(exe).exists():
        raise DemoSignInError("the `safehaven` command is not installed; run `make install`")
    try:
        done = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [exe, "dev-token", uid],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=cwd,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DemoSignInError(f"safehaven dev-token failed: {exc}") from exc
    token = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    if done.returncode != 0 or not token.startswith("dev."):
        raise DemoSignInError(f"safehaven dev-token failed: {done.stderr.strip() or done.stdout}")
    return token
