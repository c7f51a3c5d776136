"""SafeHaven backend: a Flask application built by :func:`create_app`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from backend.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    """``create_app`` is imported at its first use, not with the package: a process that
    builds no app (the stream server's supervising process) imports none of it."""
    if name == "create_app":
        from backend.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
