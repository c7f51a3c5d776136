"""SafeHaven backend: a Flask application built by :func:`create_app`."""

from backend.app import create_app

__all__ = ["create_app"]
