"""Serves Swagger UI's static files from the ``swagger-ui-bundle`` package, so ``/docs`` works offline."""

from __future__ import annotations

from flask import Blueprint
from swagger_ui_bundle import swagger_ui_path

bp = Blueprint(
    "docs_static", __name__, static_folder=swagger_ui_path, static_url_path="/docs/static"
)
