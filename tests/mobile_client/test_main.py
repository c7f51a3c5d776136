"""The command line: ``python -m mobile_client --demo`` signs in through the server's CLI."""

from __future__ import annotations

from mobile_client.__main__ import parse_args
from mobile_client.core.controller import Core
from tests.support.apps import TEST_SECRET


def test_arguments_have_safe_defaults():
    args = parse_args(["--server", "http://127.0.0.1:5000", "--demo"])
    assert args.demo and args.server == "http://127.0.0.1:5000" and args.speedup == 1.0


def test_demo_sign_in_uses_a_dev_token_from_the_local_cli(
    tmp_path, live_server, database_url, monkeypatch
):
    # The CLI must see the same database and secret as the server (as `make run` and
    # `make app` do from the same folder).
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("SAFEHAVEN_AUTH", "dev")
    monkeypatch.setenv("SAFEHAVEN_ENV", "testing")
    core = Core(tmp_path / "app", server_url=live_server.url)
    try:
        me = core.sign_in_demo()
        assert me["uid"] == "demo-resident" and core.state.signed_in
        assert core.store.load().token.startswith("dev.")
    finally:
        core.close()
