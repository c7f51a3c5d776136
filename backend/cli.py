"""The ``safehaven`` command: Flask CLI with serve, db (Flask-Migrate), seed and dev-token."""

from __future__ import annotations

import importlib
import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from backend.config import ConfigError

# Seeders run by ``safehaven seed wigan``, in order: "module:function(echo)".
SEEDERS = [
    "backend.areas.seed:seed_wigan",
    "backend.auth.seed:seed_wigan",
    "backend.reports.seed:seed_wigan",
    "backend.venues.seed:seed_wigan",
    "backend.surveys.seed:seed_wigan",
    "backend.contacts.seed:seed_wigan",
]


def _create_app():  # type: ignore[no-untyped-def]
    from backend import create_app

    try:
        return create_app()
    except ConfigError as exc:
        click.echo(f"safehaven: {exc}", err=True)
        sys.exit(2)


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False)
def cli() -> None:
    """SafeHaven: the resident-safety service."""


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def serve(host: str, port: int) -> None:
    """Run the development server (use gunicorn in production)."""
    from backend.auth.service import mint_dev_token
    from backend.extensions import app_object

    app = app_object()
    settings = app.config["SAFEHAVEN_SETTINGS"]
    base = f"http://{host}:{port}"
    click.echo(
        f"SafeHaven on {base}  (env={settings.env}, auth={settings.auth_mode}, db={app.extensions['sqlalchemy'].engine.dialect.name})"
    )
    click.echo(f"  health   {base}/healthz")
    click.echo(f"  API docs {base}/docs")
    click.echo(f"  OpenAPI  {base}/openapi.json")
    if settings.auth_mode == "dev":
        click.echo(
            f"  demo resident token: {mint_dev_token(settings.secret_key, 'demo-resident', 'resident')}"
        )
        click.echo(f"  try: curl -H 'Authorization: Bearer <token>' {base}/api/v1/me")
    if settings.env != "testing":  # the embedded default delivers alerts from a thread
        from backend.alerts.worker import start_embedded_worker

        start_embedded_worker(app)
    # app.run() refuses to start inside the flask CLI; run werkzeug's server directly.
    from werkzeug.serving import run_simple

    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)


@click.command("stream-server")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8001, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="processes (one per core)")
@click.option("--user-timeout", default=30, show_default=True, type=int, help="seconds")
def stream_server(host: str, port: int, workers: int, user_timeout: int) -> None:
    """Serve the live stream routes (and /healthz) on uvicorn: the production stream server
    (backend.realtime.gateway) that a load balancer sends the stream paths to."""
    from backend.config import Settings
    from backend.realtime.server import run_stream_server

    try:
        settings = Settings.from_env()
        settings.check()
    except ConfigError as exc:  # as the commands that build the app say it
        click.echo(f"safehaven: {exc}", err=True)
        sys.exit(2)
    if not settings.redis_url:
        # The in-process broker reaches only its own process: fixes posted to the API pool
        # would never reach these streams.
        raise click.ClickException(
            "the stream server needs REDIS_URL (fixes reach it from the API pool through Redis)"
        )
    run_stream_server(host, port, workers, user_timeout)


# On the group itself, not only on the app's commands: found there, it runs without the
# group building an app first (this process only supervises; each worker builds its own).
# That build cost the master ~2 s of CPU and ~150 MB at every start.
cli.add_command(stream_server)


@click.group("seed")
def seed() -> None:
    """Load demo and reference data."""


@seed.command("wigan")
@with_appcontext
def seed_wigan() -> None:
    """Wigan wards, postcodes, demo users and each domain's demo data (idempotent)."""
    for spec in SEEDERS:
        module_name, func_name = spec.split(":")
        getattr(importlib.import_module(module_name), func_name)(click.echo)
    click.echo("seed wigan: done")


@click.command("dev-token")
@click.argument("uid")
@click.option(
    "--role",
    type=click.Choice(["resident", "venue_staff", "admin"]),
    default=None,
    help="Set the user's role. Without it an existing user keeps theirs; a new user is a resident.",
)
@with_appcontext
def dev_token(uid: str, role: str | None) -> None:
    """Print a signed dev token for UID (accepted only with SAFEHAVEN_AUTH=dev). The token
    goes to standard output alone; the role it carries is said on standard error."""
    from backend.auth.service import ensure_user, mint_dev_token

    settings = current_app.config["SAFEHAVEN_SETTINGS"]
    if settings.auth_mode != "dev":
        raise click.ClickException("dev tokens are only accepted with SAFEHAVEN_AUTH=dev")
    user = ensure_user(uid, role)
    click.echo(f"dev token for {uid}, role {user.role}", err=True)
    click.echo(mint_dev_token(settings.secret_key, uid, user.role))


def register_commands(app) -> None:  # type: ignore[no-untyped-def]
    """Attach SafeHaven's commands to ``app.cli`` (the ``safehaven`` script lists them)."""
    from backend.alerts.cli import worker
    from backend.venues.commands import venues

    for command in (serve, stream_server, seed, dev_token, venues, worker):
        app.cli.add_command(command)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="safehaven")
