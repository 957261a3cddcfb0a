"""Serves the add-in: its manifest, the task pane page, the pane's static files and the vendored
MSAL.js. All of it is public (Outlook fetches it without a token); the pane then calls
``/api/v1`` with a bearer token.

``init_app`` renders and checks the manifest once: a configuration that would produce a manifest
Office rejects (or one carrying markup in a URL) stops the app at start-up with ConfigError.
The browser preview (``addin.preview``) is registered only when dev auth is on.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    render_template,
    send_from_directory,
)

from addin.manifest import CONFIG_DEFAULTS, HERE, render, settings_from_config, validate
from config import ROOT, ConfigError, flag

EXTENSION = "rapport.addin.manifest"
PANE_CONFIG = "rapport.addin.pane"
STATIC = HERE / "static"
# The one copy of Office.js add-ins may use: Microsoft serves it, and its licence forbids
# shipping a modified copy (docs/addin.md).
OFFICE_JS = "https://appsforoffice.microsoft.com/lib/1/hosted/office.js"
MSAL_JS = ROOT / "node_modules" / "@azure" / "msal-browser" / "lib"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com"  # config.py's RAPPORT_AUTHORITY
# Pages are Jinja templates, rendered by their routes; never served raw from /addin/static/.
TEMPLATE_SUFFIX = ".html"
# Scripts only from us and Microsoft's Office.js CDN: text that slips into the DOM as markup
# still cannot run. Office's host scripts set inline styles (OfficeDev/office-js#1687).
CSP = (
    "script-src 'self' https://appsforoffice.microsoft.com; "
    "style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; form-action 'self'"
)

blueprint = Blueprint("addin", __name__, url_prefix="/addin", template_folder=str(STATIC))


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
    # What the pane needs to ask Entra ID for a token: public values, no secret among them.
    app.extensions[PANE_CONFIG] = {
        "clientId": settings.client_id,
        "authority": msal_authority(app.config),
        "scope": f"{settings.app_id_uri}/access_as_user",
        "apiBase": "/api/v1",
    }
    app.register_blueprint(blueprint)
    if flag(app.config, "RAPPORT_DEV_AUTH"):
        from addin.preview import blueprint as preview

        app.register_blueprint(preview)


def msal_authority(config: Mapping[str, Any]) -> str:
    """The authority MSAL.js signs in against: the one allowed tenant, else any work account
    (``/organizations``); the server still accepts only RAPPORT_ALLOWED_TENANTS."""
    base = str(config.get("RAPPORT_AUTHORITY") or DEFAULT_AUTHORITY).rstrip("/")
    raw = str(config.get("RAPPORT_ALLOWED_TENANTS") or "")
    tenants = [t.strip() for t in raw.split(",") if t.strip()]
    return f"{base}/{tenants[0]}" if len(tenants) == 1 else f"{base}/organizations"


def pane_page(template: str, office_js: str, **extra: Any) -> Response:
    """A page of the pane with its configuration, under the pane's Content-Security-Policy."""
    html = render_template(
        template, office_js=office_js, pane_config=current_app.extensions[PANE_CONFIG], **extra
    )
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@blueprint.get("/manifest.xml")
def manifest() -> Response:
    return Response(current_app.extensions[EXTENSION], mimetype="application/xml")


@blueprint.get("/taskpane.html")
def taskpane() -> Response:
    return pane_page("taskpane.html", OFFICE_JS)


@blueprint.get("/signin.html")
def signin() -> Response:
    """The Office dialog page of the last sign-in fallback (docs/addin.md, "Sign-in")."""
    return pane_page("signin.html", OFFICE_JS)


@blueprint.get("/static/<path:filename>")
def static(filename: str) -> Response:
    if filename.endswith(TEMPLATE_SUFFIX):
        abort(404)
    response = send_from_directory(STATIC, filename)
    # Office caches add-in icons itself and shows a generic icon when the response carries
    # Cache-Control (learn.microsoft.com/javascript/api/manifest/resources).
    del response.headers["Cache-Control"]
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@blueprint.get("/vendor/msal-browser.min.js")
def msal_browser() -> Response:
    """MSAL.js as pinned in package-lock.json and installed by ``make`` (``npm ci``)."""
    if not (Path(MSAL_JS) / "msal-browser.min.js").is_file():
        abort(404)
    return send_from_directory(MSAL_JS, "msal-browser.min.js")
