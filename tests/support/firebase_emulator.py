"""Runs the real Firebase Auth emulator (npm firebase-tools) for a test session."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import requests

from tests.support.servers import free_port

PROJECT_ID = "demo-safehaven"


class AuthEmulator:
    """``firebase emulators:start --only auth`` on free ports, with REST helpers."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = workdir / "emulator.log"

    def start(self, timeout: float = 90.0) -> None:
        binary = shutil.which("firebase")
        if binary is None:
            raise FileNotFoundError("firebase CLI not installed (npm install -g firebase-tools)")
        config = {
            "emulators": {
                "auth": {"host": "127.0.0.1", "port": self.port},
                "hub": {"host": "127.0.0.1", "port": free_port()},
                "logging": {"host": "127.0.0.1", "port": free_port()},
                "ui": {"enabled": False},
            }
        }
        (self.workdir / "firebase.json").write_text(json.dumps(config))
        env = {**os.environ, "NO_UPDATE_NOTIFIER": "1", "CI": "true"}
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 - fixed argv
                [binary, "emulators:start", "--only", "auth", "--project", PROJECT_ID],
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Auth emulator exited: {self.log.read_text()[-2000:]}")
            try:
                with requests.get(f"http://{self.host}/", timeout=1) as response:
                    if response.status_code == 200:
                        return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        self.stop()
        raise TimeoutError(
            f"Auth emulator did not start in {timeout}s: {self.log.read_text()[-2000:]}"
        )

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)

    def reset(self) -> None:
        with requests.delete(
            f"http://{self.host}/emulator/v1/projects/{PROJECT_ID}/accounts", timeout=5
        ) as r:
            r.raise_for_status()

    def _identity(self, action: str, body: dict) -> dict:
        url = f"http://{self.host}/identitytoolkit.googleapis.com/v1/accounts:{action}?key=fake-api-key"
        with requests.post(url, json={**body, "returnSecureToken": True}, timeout=10) as response:
            response.raise_for_status()
            return response.json()

    def sign_up(self, email: str, password: str = "correct-horse-battery") -> dict:
        """A new account; returns ``idToken`` and ``localId`` (the uid)."""
        return self._identity("signUp", {"email": email, "password": password})

    def sign_in(self, email: str, password: str = "correct-horse-battery") -> dict:
        return self._identity("signInWithPassword", {"email": email, "password": password})
