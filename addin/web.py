"""Serves the add-in's manifest and icons; both are public (Outlook fetches them without a token).

``init_app`` renders and checks the manifest once: a configuration that would produce a manifest
Office rejects (or one carrying markup in a URL) stops the app at start-up with ConfigError.
"""

from __future__ import annotations

import os

from flask import Blueprint, Flask, Response, current_app, send_from_directory

from addin.manifest import CONFIG_DEFAULTS, HERE, render, settings_from_config, validate
from config import ConfigError

EXTENSION = "rapport.addin.manifest"

blueprint = Blueprint("addin", __name__, url_prefix="/addin")


def init_app(app: Flask) -> None:
    # Defaults, then the environment, then an explicit override, as config.load_config does for
    # the names it knows.
    for name, default in CONFIG_DEFAULTS.items():
        app.config.setdefault(name, os.environ.get(name, default))
    settings = settings_from_config(app.config)
    manifest = render(settings)
    if problems := validate(manifest, dev=settings.dev):
        raise ConfigError("the add-in manifest fails its check: " + "; ".join(problems))
    app.extensions[EXTENSION] = manifest
    app.register_blueprint(blueprint)


@blueprint.get("/manifest.xml")
def manifest() -> Response:
    return Response(current_app.extensions[EXTENSION], mimetype="application/xml")


@blueprint.get("/static/<path:filename>")
def static(filename: str) -> Response:
    response = send_from_directory(HERE / "static", filename)
    # Office caches add-in icons itself and shows a generic icon when the response carries
    # Cache-Control (learn.microsoft.com/javascript/api/manifest/resources).
    del response.headers["Cache-Control"]
    return response
