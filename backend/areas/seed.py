"""Seed Wigan's wards and postcodes."""

from __future__ import annotations

from collections.abc import Callable

import click

from backend.areas import service


def _bar(label: str) -> Callable[[int, int], None]:
    state: dict[str, int] = {"last": 0}

    def progress(done: int, total: int) -> None:
        width = 30
        filled = int(width * done / max(total, 1))
        if done == total or done - state["last"] >= max(1, total // 20):
            state["last"] = done
            click.echo(
                f"\r  {label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}",
                nl=done == total,
            )

    return progress


def seed_wigan(echo: Callable[[str], None]) -> None:
    """Load the 25 wards and the postcode list shipped in ``backend/areas/data``."""
    echo(service.load_wards(progress=_bar("wards")).line("wards"))
    echo(service.load_postcodes(progress=_bar("postcodes")).line("postcodes"))
