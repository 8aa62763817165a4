"""Serve Swagger UI's files from the pinned swagger-ui-bundle package, so /api/v1/docs
works without reaching a CDN."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, send_from_directory
from swagger_ui_bundle import swagger_ui_path

ASSETS_PREFIX = "/api/v1/docs-assets"


def register_docs_assets(app: Flask) -> None:
    bp = Blueprint("docs_assets", __name__)

    @bp.get(f"{ASSETS_PREFIX}/<path:filename>")
    def asset(filename: str) -> Response:
        return send_from_directory(swagger_ui_path, filename, max_age=86400)

    app.register_blueprint(bp)
