"""What the server does for the task pane without a browser: the pane's page and its security
headers, the preview's routes (only with dev auth) and its sample messages, and a source check
that no pane script parses markup."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from addin.web import CSP, STATIC, msal_authority
from storage.addressbook import AddressBook
from storage.db import Database
from storage.mailboxes import ensure_mailbox
from sync.engine import ingest
from sync.items import Folder, MailItem
from sync.normalize.domains import FirmDomains
from tests.factories import INBOX, ListSource, email

FIRM = FirmDomains(["harbourlaw.example"])
ALICE = "alice@harbourlaw.example"
BOB = "bob@harbourlaw.example"
CLIENT = "jane@acme.co.uk"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OTHER_TENANT = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"

PANE_SCRIPTS = sorted(STATIC.glob("**/*.js"))
# Ways a script could turn text into markup; the pane builds DOM with js/dom.js instead.
MARKUP_SINKS = re.compile(
    r"\.(innerHTML|outerHTML)\s*\+?=|insertAdjacentHTML|document\.write|createContextualFragment"
    r"|\beval\(|new Function\("
)


def test_the_pane_page_is_served_with_a_strict_script_policy(client: FlaskClient) -> None:
    page = client.get("/addin/taskpane.html")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<script src="https://appsforoffice.microsoft.com/lib/1/hosted/office.js">' in html
    assert page.headers["Content-Security-Policy"] == CSP
    assert "script-src 'self' https://appsforoffice.microsoft.com;" in CSP
    assert "'unsafe-inline'" not in CSP.split("script-src", 1)[1].split(";", 1)[0]
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    # The configuration is public and JSON-escaped inside its script element.
    config = re.search(r'id="pane-config">(.*?)</script>', html)
    assert config and '"scope": "api://' in config.group(1) and "access_as_user" in config.group(1)


@pytest.mark.parametrize(
    ("tenants", "authority"),
    [
        ("", "https://login.microsoftonline.com/organizations"),
        (TENANT, f"https://login.microsoftonline.com/{TENANT}"),
        (f"{TENANT},{OTHER_TENANT}", "https://login.microsoftonline.com/organizations"),
    ],
)
def test_the_pane_signs_in_against_the_allowed_tenant(tenants: str, authority: str) -> None:
    config = {
        "RAPPORT_AUTHORITY": "https://login.microsoftonline.com/",
        "RAPPORT_ALLOWED_TENANTS": tenants,
    }
    assert msal_authority(config) == authority


def test_page_templates_are_never_served_raw(client: FlaskClient) -> None:
    for name in ("taskpane.html", "signin.html", "preview/preview.html"):
        assert client.get(f"/addin/static/{name}").status_code == 404
    with client.get("/addin/static/js/main.js") as script:
        assert script.status_code == 200
        assert script.mimetype in {"text/javascript", "application/javascript"}
    assert client.get("/addin/signin.html").status_code == 200


def test_no_pane_script_turns_text_into_markup() -> None:
    assert len(PANE_SCRIPTS) >= 10
    offenders = [
        f"{path.relative_to(STATIC)}:{number}: {line.strip()}"
        for path in PANE_SCRIPTS
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if MARKUP_SINKS.search(line)
    ]
    assert offenders == []


def test_the_preview_exists_only_with_dev_auth(app_config: dict[str, str]) -> None:
    from app import create_app

    application = create_app({**app_config, "RAPPORT_DEV_AUTH": "0"})
    try:
        client = application.test_client()
        for path in (
            "/addin/preview",
            "/addin/preview/session.json",
            "/addin/preview/taskpane.html",
        ):
            assert client.get(path).status_code == 404, path
        assert client.get("/addin/taskpane.html").status_code == 200
    finally:
        application.extensions["rapport.db"].dispose()


def test_the_preview_pane_loads_the_stand_in_office(client: FlaskClient) -> None:
    page = client.get("/addin/preview/taskpane.html").get_data(as_text=True)
    assert '<script src="/addin/static/preview/office-stub.js">' in page
    assert "appsforoffice" not in page
    assert client.get("/addin/preview").status_code == 200


def _ingest(db: Database, owner: str, folder: Folder, items: list[MailItem]) -> None:
    with db.transaction() as session:
        box = ensure_mailbox(session, AddressBook(FIRM), owner, "files").id
    ingest(db, box, ListSource({folder: items}), FIRM)


def test_preview_session_lists_a_colleagues_own_client_mail(
    client: FlaskClient, db: Database
) -> None:
    names = {CLIENT: "Jane <i>Roe</i>"}
    _ingest(
        db,
        ALICE,
        INBOX,
        [
            email(CLIENT, [ALICE], [BOB], subject="Fees <b>draft</b>", names=names),
            email(BOB, [ALICE], subject="Lunch"),  # internal: never a client interaction
        ],
    )
    _ingest(db, BOB, INBOX, [email("cfo@other.example", [BOB], subject="Bob's client")])
    session = client.get(f"/addin/preview/session.json?as={ALICE}")
    assert session.status_code == 200
    body: dict[str, Any] = session.get_json()
    assert body["user"]["email"] == ALICE
    assert [c["email"] for c in body["colleagues"]] == [ALICE, BOB]
    assert [m["subject"] for m in body["messages"]] == ["Fees <b>draft</b>"]
    message = body["messages"][0]
    assert message["from"] == {"name": "Jane <i>Roe</i>", "email": CLIENT}
    assert [p["email"] for p in message["to"]] == [ALICE]
    assert [p["email"] for p in message["cc"]] == [BOB]
    assert message["internetMessageId"].startswith("<") and message["mode"] == "read"
    # The token it hands out is a dev token for that colleague, which the API accepts.
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.get_json()["email"] == ALICE
    assert client.get(f"/addin/preview/session.json?as={CLIENT}").status_code == 400


@pytest.mark.parametrize("query", ["", "?as=not-an-address"])
def test_preview_session_errors_are_json(client: FlaskClient, db: Database, query: str) -> None:
    if query:
        _ingest(db, ALICE, INBOX, [email(CLIENT, [ALICE])])
    answer = client.get(f"/addin/preview/session.json{query}")
    assert answer.status_code == 400
    assert answer.get_json()["error"] == "bad_request"
