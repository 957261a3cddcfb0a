"""Rapport's Flask application factory and command-line entry point.

``create_app(config)`` loads the documented defaults, then the environment, then ``config``;
each package registers itself through its ``init_app``. Nothing happens at import time.
Run ``python app.py --help`` for the commands.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

import logsafe
from config import load_config


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    logsafe.install()  # no secret in any log record, whoever configures the handlers
    app = Flask(__name__, static_folder=None)
    app.config.update(load_config(config))
    app.config["SECRET_KEY"] = app.config["RAPPORT_SECRET_KEY"] or None

    import addin.web
    import api.errors
    import api.routes
    import api.webhooks
    import storage.web

    storage.web.init_app(app)
    try:
        api.errors.init_app(app)
        api.routes.init_app(app)
        api.webhooks.init_app(app)
        addin.web.init_app(app)
    except BaseException:
        app.extensions[storage.web.EXTENSION].dispose()  # a refused start leaks no connection
        raise
    return app


if __name__ == "__main__":
    from cli import main

    main()
