"""``safehaven venues ...``: import safe places from GeoJSON."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from backend.errors import ValidationError


@click.group("venues")
def venues() -> None:
    """Safe places: import and maintenance."""


@venues.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_command(file: Path) -> None:
    """Import FILE.geojson (Point features) as candidate venues; re-running updates, never duplicates."""
    from backend.venues import service
    from backend.venues.seed import progress_bar

    try:
        summary = service.import_geojson(file, progress=progress_bar(file.name))
    except ValidationError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(summary.line("venues"))
