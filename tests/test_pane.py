"""The task pane in real headless Chromium (Playwright, Debian's /usr/bin/chromium) against the
real Flask app serving the demo firm on 127.0.0.1.

Office.js cannot run outside Office, so the request for Microsoft's CDN copy is answered with the
project's stand-in (``addin/static/preview/office-stub.js``, the preview's own) configured with
the message, the user and a dev token. Screenshots go to var/screenshots/ for people to look at.
Without Chromium or the playwright package the tests skip, except under RAPPORT_CI=1.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, func, select, update
from werkzeug.serving import make_server

from addin.preview import sample_messages
from api.tokens import issue_dev_token
from config import ROOT, load_config
from demo.run import prepare_demo
from storage.db import Database
from storage.models import (
    Colleague,
    EmailAddress,
    Exclusion,
    FollowUp,
    Interaction,
    Mailbox,
    Note,
    Person,
    PrivateThread,
    Relationship,
    Sighting,
)
from tests.conftest import SECRET, clear

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
OFFICE_CDN = "https://appsforoffice.microsoft.com/**"
STUB = ROOT / "addin" / "static" / "preview" / "office-stub.js"
SHOTS = ROOT / "var" / "screenshots"
HOSTILE = "<img src=x onerror=alert(1)>"
SCALE = 0.05
WAIT_MS = 15000


def _browser_missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing: pip install -r requirements-dev.txt"
    if not CHROMIUM.exists():
        return "Debian's chromium is missing at /usr/bin/chromium: make installs it (apt-get)"
    return None


@dataclass
class Demo:
    url: str
    app: Flask
    db: Database

    def token(self, email: str, ttl: timedelta = timedelta(hours=1)) -> str:
        return issue_dev_token(self.app.config, email, ttl=ttl)

    def colleague(self, email: str) -> int:
        with self.db.transaction() as s:
            return s.scalars(select(Colleague.id).where(Colleague.email == email)).one()

    def messages(self, email: str) -> list[dict[str, Any]]:
        with self.db.transaction() as s:
            return sample_messages(s, self.colleague(email), 1000)


@pytest.fixture(scope="module")
def demo(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    if reason := _browser_missing():
        if os.environ.get("RAPPORT_CI"):
            pytest.fail(reason + " (RAPPORT_CI is set: the pane tests must run)")
        pytest.skip(reason)
    from app import create_app

    clear(database)
    base = load_config({"DATABASE_URL": database.url, "RAPPORT_SECRET_KEY": SECRET})
    out = tmp_path_factory.mktemp("demo")
    environment = prepare_demo(base, scale=SCALE, echo=lambda _line: None, out_dir=out)
    app = create_app({**environment.config, "RAPPORT_SCHEDULER": "0"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Demo(f"http://127.0.0.1:{server.server_port}", app, database)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        app.extensions["rapport.db"].dispose()


@pytest.fixture(scope="module")
def browser(demo: Demo) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@dataclass
class Events:
    """What the page did that a test must see: dialogs (an alert() would be one), script
    errors, console errors and failed API calls."""

    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)

    def watch(self, page: Any) -> None:
        page.on("dialog", self._dialog)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", self._console)
        page.on("response", self._response)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _console(self, message: Any) -> None:
        # An API 404 (an unknown address) is an answer, not an error: Chrome's own "Failed to
        # load resource" lines are left out; the pane's own console errors are kept.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(message.text)

    def _response(self, response: Any) -> None:
        if response.status >= 500:
            self.server_errors.append(f"{response.status} {response.url}")


@dataclass
class Pane:
    page: Any
    events: Events

    def card(self, email: str) -> Any:
        return self.page.locator(f'article.card[data-email="{email}"]')

    def shot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"pane-{name}.png"), full_page=True)


@pytest.fixture
def open_pane(browser: Any, demo: Demo) -> Iterator[Callable[..., Pane]]:
    contexts: list[Any] = []

    def opener(
        user: str,
        message: dict[str, Any] | None,
        *,
        signed_in: bool = True,
        sign_in_token: bool = False,
        theme: str | None = None,
        color_scheme: str = "light",
        sets: dict[str, str] | None = None,
        init: str = "",
        token_ttl: timedelta = timedelta(hours=1),
    ) -> Pane:
        context = browser.new_context(
            viewport={"width": 320, "height": 900}, color_scheme=color_scheme
        )
        contexts.append(context)
        stub = STUB.read_text(encoding="utf-8")
        context.route(
            OFFICE_CDN, lambda route: route.fulfill(body=stub, content_type="text/javascript")
        )
        settings = {
            "token": demo.token(user, token_ttl) if signed_in else None,
            "signInToken": demo.token(user) if sign_in_token else None,
            "user": {"email": user, "name": user},
            "message": message,
            "theme": theme,
            "sets": sets or {},
        }
        context.add_init_script(f"window.RAPPORT_OFFICE_STUB = {json.dumps(settings)};{init}")
        page = context.new_page()
        events = Events()
        events.watch(page)
        page.goto(f"{demo.url}/addin/taskpane.html")
        return Pane(page, events)

    yield opener
    for context in contexts:
        context.close()


def external(message: dict[str, Any]) -> list[dict[str, str]]:
    people = [message["from"], *message["to"], *message["cc"]]
    return [p for p in people if not p["email"].endswith("@harbourlaw.example")]


def admin_email(demo: Demo) -> str:
    with demo.db.transaction() as s:
        return s.scalars(select(Colleague.email).where(Colleague.is_admin)).one()


def test_cards_render_for_the_people_on_a_message(
    demo: Demo, open_pane: Callable[..., Pane]
) -> None:
    user = admin_email(demo)
    message = next(m for m in demo.messages(user) if len(external(m)) >= 1 and m["cc"])
    pane = open_pane(user, message)
    for person in external(message):
        card = pane.card(person["email"])
        card.wait_for(timeout=WAIT_MS)
        assert person["name"] in card.locator(".who-name").inner_text()
    first = pane.card(external(message)[0]["email"])
    # Opened: my tie, who knows them best (with the explanation), their company's coverage.
    first.locator(".tier:not(.tier-unknown)").first.wait_for(timeout=WAIT_MS)
    first.get_by_text("Who knows").wait_for(timeout=WAIT_MS)
    rows = first.locator(".section", has_text="Who knows").locator("li")
    rows.first.wait_for(timeout=WAIT_MS)
    assert "wrote to" in rows.first.inner_text()
    assert first.get_by_text("coverage").count() == 1
    assert pane.page.locator(".message-subject").inner_text() == message["subject"]
    pane.page.locator(".badge", has_text="Logged in Rapport").wait_for(timeout=WAIT_MS)
    # Colleagues on the message get no card.
    for person in (*message["to"], *message["cc"]):
        if person["email"].endswith("@harbourlaw.example"):
            assert pane.card(person["email"]).count() == 0
    pane.shot("cards")
    assert not pane.events.errors and not pane.events.server_errors and not pane.events.dialogs


def test_a_hostile_display_name_shows_as_text_and_runs_nothing(
    demo: Demo, open_pane: Callable[..., Pane]
) -> None:
    user, message = _hostile_message(demo)
    hostile = next(p for p in external(message) if HOSTILE in p["name"])
    pane = open_pane(user, message)
    card = pane.card(hostile["email"])
    card.wait_for(timeout=WAIT_MS)
    assert card.locator(".who-name").inner_text() == HOSTILE
    assert "<script>" in pane.page.locator(".message-subject").inner_text()
    card.get_by_text("Your recent emails").wait_for(timeout=WAIT_MS)
    card.locator(".section", has_text="Your recent emails").locator("li").first.wait_for(
        timeout=WAIT_MS
    )
    # No element was made from the name: the only images are the pane's own logo.
    images = pane.page.eval_on_selector_all("img", "els => els.map(e => e.getAttribute('src'))")
    assert all(src.endswith("icon-32.png") for src in images), images
    assert pane.page.locator("script:not([src]):not([type='application/json'])").count() == 0
    pane.page.wait_for_timeout(300)
    pane.shot("hostile-name")
    assert pane.events.dialogs == []
    assert not pane.events.errors and not pane.events.server_errors


def test_the_pinned_pane_follows_the_selected_message(
    demo: Demo, open_pane: Callable[..., Pane]
) -> None:
    user = admin_email(demo)
    messages = demo.messages(user)
    first = messages[0]
    other = next(
        m
        for m in messages
        if {p["email"] for p in external(m)} - {p["email"] for p in external(first)}
    )
    pane = open_pane(user, first)
    pane.card(external(first)[0]["email"]).wait_for(timeout=WAIT_MS)
    pane.page.evaluate("message => OfficeStub.select(message)", other)
    new_email = next(
        p["email"]
        for p in external(other)
        if p["email"] not in {q["email"] for q in external(first)}
    )
    pane.card(new_email).wait_for(timeout=WAIT_MS)
    assert pane.page.locator(".message-subject").inner_text() == (
        other["subject"] or "(no subject)"
    )
    pane.page.evaluate("OfficeStub.select(null)")
    pane.page.get_by_text("No message selected").wait_for(timeout=WAIT_MS)


def test_signed_out_state_and_sign_in(demo: Demo, open_pane: Callable[..., Pane]) -> None:
    user = admin_email(demo)
    message = demo.messages(user)[0]
    pane = open_pane(user, message, signed_in=False, sign_in_token=True)
    pane.page.get_by_role("heading", name="You are signed out").wait_for(timeout=WAIT_MS)
    pane.shot("signed-out")
    pane.page.get_by_role("button", name="Sign in").click()
    pane.card(external(message)[0]["email"]).wait_for(timeout=WAIT_MS)
    calls = pane.page.evaluate("OfficeStub.calls.filter(c => c.method === 'getAccessToken')")
    assert calls[0]["options"]["allowSignInPrompt"] is False
    assert calls[-1]["options"]["allowSignInPrompt"] is True


def test_dark_theme_from_office_and_from_the_system(
    demo: Demo, open_pane: Callable[..., Pane]
) -> None:
    user = admin_email(demo)
    message = demo.messages(user)[0]
    background = "getComputedStyle(document.body).backgroundColor"
    office = open_pane(user, message, theme="dark", color_scheme="light")
    office.card(external(message)[0]["email"]).wait_for(timeout=WAIT_MS)
    assert office.page.evaluate(background) == "rgb(31, 31, 31)"
    office.shot("dark")
    system = open_pane(user, message, color_scheme="dark")
    system.card(external(message)[0]["email"]).wait_for(timeout=WAIT_MS)
    assert system.page.evaluate(background) == "rgb(31, 31, 31)"
    light = open_pane(user, message, theme="light", color_scheme="dark")
    light.card(external(message)[0]["email"]).wait_for(timeout=WAIT_MS)
    assert light.page.evaluate(background) == "rgb(245, 245, 245)"


def test_everything_is_reachable_by_keyboard(demo: Demo, open_pane: Callable[..., Pane]) -> None:
    user = admin_email(demo)
    message = next(m for m in demo.messages(user) if len(external(m)) >= 2)
    pane = open_pane(user, message)
    second = pane.card(external(message)[1]["email"])
    second.wait_for(timeout=WAIT_MS)
    settled(pane)
    focusable = "button:not([disabled]), input, textarea, select, a[href]"
    expected = pane.page.locator(focusable).evaluate_all(
        "els => els.filter(e => e.offsetParent !== null && !e.closest('[hidden]')).length"
    )
    reached: dict[str, dict[str, Any]] = {}
    for _ in range(expected * 4):  # a date field takes a Tab per part
        pane.page.keyboard.press("Tab")
        focused = pane.page.evaluate(FOCUSED)
        if focused["tag"] != "BODY":
            reached.setdefault(focused["key"], focused)
    assert len(reached) == expected
    unmarked = [r for r in reached.values() if r["outline"] == "none"]
    assert not unmarked, unmarked
    # The second card's head is a button: Enter opens it.
    head = second.locator(".card-head")
    head.focus()
    assert head.get_attribute("aria-expanded") == "false"
    pane.page.keyboard.press("Enter")
    assert head.get_attribute("aria-expanded") == "true"
    second.locator(".section").first.wait_for(timeout=WAIT_MS)
    pane.shot("keyboard")


def settled(pane: Pane) -> None:
    """Wait until no part of the pane is loading."""
    pane.page.wait_for_function(
        "() => document.querySelector('.card') && !document.querySelector('[aria-busy=true]')",
        timeout=WAIT_MS,
    )


# The focused element (numbered on first visit) and whether it shows a focus outline.
FOCUSED = """() => {
  const e = document.activeElement;
  e.dataset.visit ||= String(document.querySelectorAll('[data-visit]').length + 1);
  const s = getComputedStyle(e);
  return {key: e.dataset.visit, tag: e.tagName, outline: s.outlineStyle,
          text: (e.getAttribute('aria-label') || e.textContent || e.name || '').trim()};
}"""


def _mailbox_owners(demo: Demo) -> list[str]:
    with demo.db.transaction() as s:
        return list(s.scalars(select(Colleague.email).order_by(Colleague.id)))


# --- actions: each one changes the store, checked through the database ------------------------


def test_add_an_unknown_person(demo: Demo, open_pane: Callable[..., Pane]) -> None:
    user = admin_email(demo)
    stranger = {"name": "Dana Whitmore", "email": "dana.whitmore@fabrikam-legal.com"}
    message = dict(demo.messages(user)[0])
    message["cc"] = [*message["cc"], stranger]
    pane = open_pane(user, message)
    card = pane.card(stranger["email"])
    card.wait_for(timeout=WAIT_MS)
    assert card.locator(".tier").inner_text() == "New"
    card.locator(".card-head").click()
    card.get_by_role("button", name="Add to Rapport").click()
    assert card.get_by_label("Name", exact=True).input_value() == stranger["name"]
    card.get_by_label("Title").fill("General Counsel")
    card.get_by_role("button", name="Add person").click()
    card.locator(".facts").get_by_text("General Counsel").wait_for(timeout=WAIT_MS)
    with demo.db.transaction() as s:
        person = s.scalars(
            select(Person)
            .join(EmailAddress, EmailAddress.person_id == Person.id)
            .where(EmailAddress.address == stranger["email"])
        ).one()
        assert (person.display_name, person.title) == (stranger["name"], "General Counsel")
        assert person.provenance["title"]["source"] == "user"
    pane.shot("added-person")
    assert not pane.events.errors and not pane.events.server_errors


def test_correct_a_field(demo: Demo, open_pane: Callable[..., Pane]) -> None:
    user = admin_email(demo)
    message = demo.messages(user)[0]
    contact = external(message)[0]
    pane = open_pane(user, message)
    card = pane.card(contact["email"])
    card.get_by_role("button", name="Correct details").click()
    card.get_by_label("Title").fill("Chief Legal Officer")
    card.get_by_role("button", name="Save").click()
    card.locator(".facts").get_by_text("Chief Legal Officer").wait_for(timeout=WAIT_MS)
    assert "(corrected)" in card.locator(".facts").inner_text()
    with demo.db.transaction() as s:
        person = s.scalars(
            select(Person)
            .join(EmailAddress, EmailAddress.person_id == Person.id)
            .where(EmailAddress.address == contact["email"])
        ).one()
        assert person.title == "Chief Legal Officer"
        assert person.provenance["title"]["source"] == "user"
    assert not pane.events.errors and not pane.events.server_errors


def test_note_and_follow_up(demo: Demo, open_pane: Callable[..., Pane]) -> None:
    user = admin_email(demo)
    message = demo.messages(user)[0]
    contact = external(message)[0]
    text = "Prefers calls <b>before</b> 9 & never on Fridays\nAssistant: Sam"
    pane = open_pane(user, message)
    card = pane.card(contact["email"])
    notes = card.locator(".section", has_text="Notes")
    notes.get_by_label("New note").fill(text)
    notes.get_by_role("button", name="Add note").click()
    notes.locator(".note-text").first.wait_for(timeout=WAIT_MS)
    assert notes.locator(".note-text").first.text_content() == text
    follow = card.locator(".section", has_text="Follow-up")
    follow.get_by_label("Date", exact=True).fill("2027-01-15")
    follow.get_by_label("What to do (optional)").fill("Send the draft SPA")
    follow.get_by_role("button", name="Set follow-up").click()
    follow.get_by_role("button", name="Change follow-up").wait_for(timeout=WAIT_MS)
    colleague = demo.colleague(user)
    with demo.db.transaction() as s:
        note = s.scalars(select(Note).where(Note.author_id == colleague)).one()
        assert (note.text, note.shared) == (text, False)
        due = s.scalars(select(FollowUp).where(FollowUp.colleague_id == colleague)).one()
        assert (due.due.isoformat(), due.text) == ("2027-01-15", "Send the draft SPA")
    pane.shot("note-follow-up")
    assert not pane.events.errors and not pane.events.server_errors


def test_ask_for_an_introduction_drafts_an_email(
    demo: Demo, open_pane: Callable[..., Pane]
) -> None:
    user, message = _hostile_message(demo)
    hostile = next(p for p in external(message) if HOSTILE in p["name"])
    pane = open_pane(user, message)
    card = pane.card(hostile["email"])
    settled(pane)
    ask = card.get_by_role("button", name="Ask for an introduction").first
    colleague = ask.get_attribute("aria-label").split(", via ")[1].split(", to ")[0]
    draft = _drafted(pane, ask)
    with demo.db.transaction() as s:
        address = s.scalars(
            select(Colleague.email)
            .join(Person, Person.id == Colleague.person_id)
            .where(Person.display_name == colleague)
        ).one()
    assert draft["toRecipients"] == [address]
    assert draft["subject"] == f"Introduction to {HOSTILE}"
    assert "&lt;img src=x onerror=alert(1)&gt;" in draft["htmlBody"]
    assert "<img" not in draft["htmlBody"]
    assert pane.events.dialogs == []


def _drafted(pane: Pane, ask: Any) -> dict[str, Any]:
    """Click "Ask for an introduction" and return the draft Outlook was asked to open."""
    ask.click()
    pane.page.wait_for_function(
        # A function, not an expression: Playwright polls expressions with eval(), which the
        # pane's Content-Security-Policy refuses.
        "() => OfficeStub.calls.some(c => c.method === 'displayNewMessageForm')",
        timeout=WAIT_MS,
    )
    draft: dict[str, Any] = pane.page.evaluate(
        "OfficeStub.calls.find(c => c.method === 'displayNewMessageForm').parameters"
    )
    return draft


def test_no_introduction_through_a_colleague_who_only_received_their_mail(
    demo: Demo, open_pane: Callable[..., Pane]
) -> None:
    """Enron: "The New York Times Direct" wrote to 19 colleagues and no one wrote back, and the
    pane offered "Ask for an introduction" through each. A connector who never wrote to the
    person nor met them says so, with no button; the others keep theirs."""
    user = admin_email(demo)
    message, contact, person_id = _contact_with_a_connector(demo, user)
    with demo.app.test_client() as client:
        listed = client.get(
            f"/api/v1/people/{person_id}/connectors?limit=4", headers=_bearer(demo, user)
        ).get_json()["connectors"]  # as many as the pane shows
    me = demo.colleague(user)
    other = next(c for c in listed if c["colleague"]["id"] != me)
    colleague = other["colleague"]["person_id"]
    key = (min(colleague, person_id), max(colleague, person_id))
    side = "email_ab" if key[0] == colleague else "email_ba"
    with demo.db.transaction() as s:
        row = s.get_one(Relationship, key)
        saved = {side: getattr(row, side), "meetings": row.meetings}
        s.execute(
            update(Relationship)
            .where(Relationship.a_id == key[0], Relationship.b_id == key[1])
            .values({side: 0, "meetings": 0})
        )
    try:
        pane = open_pane(user, message)
        card = pane.card(contact)
        settled(pane)
        name = other["colleague"]["name"]
        row = card.locator(".section", has_text="best").locator("li", has_text=name)
        assert "has never written to or met them" in row.inner_text()
        asks = card.get_by_role("button", name="Ask for an introduction")
        labels = [asks.nth(i).get_attribute("aria-label") or "" for i in range(asks.count())]
        assert not any(f", via {name}, " in label for label in labels)
        assert asks.count() == sum(1 for c in listed if c["colleague"]["id"] != me) - 1
    finally:
        with demo.db.transaction() as s:
            s.execute(
                update(Relationship)
                .where(Relationship.a_id == key[0], Relationship.b_id == key[1])
                .values(saved)
            )


def test_a_person_without_a_name_is_named_by_their_address(
    demo: Demo, open_pane: Callable[..., Pane]
) -> None:
    """Half of the contacts in real mail have no display name: the card's sections and the
    drafted introduction name them by their address, never "them" or an empty string."""
    user = admin_email(demo)
    message, contact, person_id = _contact_with_a_connector(demo, user)
    with demo.db.transaction() as s:
        name = s.get_one(Person, person_id).display_name
        s.execute(update(Person).where(Person.id == person_id).values(display_name=""))
    try:
        pane = open_pane(user, message)
        card = pane.card(contact)
        settled(pane)
        assert card.locator(".section-title", has_text=f"You and {contact}").count() == 1
        ask = card.get_by_role("button", name="Ask for an introduction").first
        assert ask.get_attribute("aria-label").endswith(f", to {contact}")
        assert _drafted(pane, ask)["subject"] == f"Introduction to {contact}"
    finally:
        with demo.db.transaction() as s:
            s.execute(update(Person).where(Person.id == person_id).values(display_name=name))


@pytest.mark.parametrize(
    ("name", "called"),
    [
        ("Jane Q. Roe", "Jane"),
        ("The New York Times Direct", "The New York Times Direct"),  # Enron: "Who knows The"
        ("Mail: Natural Resources", "Mail: Natural Resources"),
        ("J. R. Smith", "J. R. Smith"),
        ("Tessaract", "Tessaract"),
    ],
)
def test_sections_call_a_person_by_first_name_and_anyone_else_in_full(
    demo: Demo, open_pane: Callable[..., Pane], name: str, called: str
) -> None:
    user = admin_email(demo)
    message, contact, person_id = _contact_with_a_connector(demo, user)
    with demo.db.transaction() as s:
        before = s.get_one(Person, person_id).display_name
        s.execute(update(Person).where(Person.id == person_id).values(display_name=name))
    try:
        pane = open_pane(user, message)
        card = pane.card(contact)
        settled(pane)
        titles = card.locator(".section-title").all_inner_texts()
        assert f"You and {called}" in titles and f"Who knows {called} best" in titles
    finally:
        with demo.db.transaction() as s:
            s.execute(update(Person).where(Person.id == person_id).values(display_name=before))


def test_no_tie_says_what_counts_toward_one(demo: Demo, open_pane: Callable[..., Pane]) -> None:
    """Enron: Mark Haedicke's pane said "You have no email or meeting with them" above two
    emails from John Sherriff, each to the whole management committee (too many addressees
    to count toward a tie). With no pair row the pane says what counts, and the emails stay."""
    user = admin_email(demo)
    message, contact, _, pair = _my_pair_with_a_contact(demo, user)
    with demo.db.transaction() as s:
        row = s.get(Relationship, pair)
        saved = (
            {c.key: getattr(row, c.key) for c in Relationship.__table__.columns} if row else None
        )
        s.execute(
            delete(Relationship).where(Relationship.a_id == pair[0], Relationship.b_id == pair[1])
        )
    try:
        pane = open_pane(user, message)
        card = pane.card(contact)
        settled(pane)
        mine = card.locator(".section", has_text="You and ")
        assert "No tie yet: only emails to 20 people or fewer" in mine.inner_text()
        recent = card.locator(".section", has_text="Your recent emails")
        assert recent.locator(".rows > li").count() >= 1
    finally:
        if saved is not None:
            with demo.db.transaction() as s:
                s.add(Relationship(**saved))


def test_newer_mail_that_does_not_count_is_said_so(
    demo: Demo, open_pane: Callable[..., Pane]
) -> None:
    """Enron: Mark Haedicke's card said "last contact 22 September 2000" above five press
    reports from December 2001, each to more than 20 people. When the newest mail listed is
    newer than the tie's last contact, the card says that mail does not count; otherwise not."""
    user = admin_email(demo)
    message, contact, person_id, key = _my_pair_with_a_contact(demo, user)
    with demo.db.transaction() as s:
        row = s.get(Relationship, key)
        assert row is not None, "the admin has a tie with the contact"
        last_at = row.last_at
    note = "does not count toward the tie"
    with demo.app.test_client() as client:
        newest = client.get(
            f"/api/v1/people/{person_id}/interactions?limit=1", headers=_bearer(demo, user)
        ).get_json()["items"][0]["occurred_at"]
    pane = open_pane(user, message)
    card = pane.card(contact)
    settled(pane)
    mine = card.locator(".section", has_text="You and ")
    newer = datetime.fromisoformat(newest).replace(tzinfo=None) - last_at.replace(tzinfo=None)
    assert (note in mine.inner_text()) is (newer > timedelta(minutes=1))
    with demo.db.transaction() as s:  # as if everything since a year back went to crowds
        s.execute(
            update(Relationship)
            .where(Relationship.a_id == key[0], Relationship.b_id == key[1])
            .values(last_at=last_at - timedelta(days=365))
        )
    try:
        pane = open_pane(user, message)
        card = pane.card(contact)
        settled(pane)
        assert note in card.locator(".section", has_text="You and ").inner_text()
    finally:
        with demo.db.transaction() as s:
            s.execute(
                update(Relationship)
                .where(Relationship.a_id == key[0], Relationship.b_id == key[1])
                .values(last_at=last_at)
            )


def _my_pair_with_a_contact(
    demo: Demo, user: str
) -> tuple[dict[str, Any], str, int, tuple[int, int]]:
    """`_contact_with_a_connector`, and the key of ``user``'s own pair with the contact."""
    message, contact, person_id = _contact_with_a_connector(demo, user)
    with demo.db.transaction() as s:
        me = s.scalars(select(Colleague.person_id).where(Colleague.email == user)).one()
    return message, contact, person_id, (min(me, person_id), max(me, person_id))


def _contact_with_a_connector(demo: Demo, user: str) -> tuple[dict[str, Any], str, int]:
    """A message of ``user``'s and an external person on it whom a colleague knows."""
    with demo.app.test_client() as client:
        for message in demo.messages(user):
            for entry in external(message):
                person = client.get(
                    f"/api/v1/people?email={entry['email']}", headers=_bearer(demo, user)
                ).get_json()
                if not person or "id" not in person:
                    continue
                listed = client.get(
                    f"/api/v1/people/{person['id']}/connectors", headers=_bearer(demo, user)
                ).get_json()
                if listed.get("total"):
                    return message, entry["email"], int(person["id"])
    raise AssertionError("the demo firm has no contact a colleague knows")


def test_introduction_paths_match_the_api(demo: Demo, open_pane: Callable[..., Pane]) -> None:
    user = admin_email(demo)
    message = demo.messages(user)[0]
    contact = external(message)[0]
    pane = open_pane(user, message)
    card = pane.card(contact["email"])
    card.get_by_role("button", name="Find introduction paths").click()
    paths = card.locator(".section", has_text="Paths to")
    paths.locator("[aria-busy=false]").wait_for(timeout=WAIT_MS)
    with demo.app.test_client() as client:
        person = client.get(
            f"/api/v1/people?email={contact['email']}", headers=_bearer(demo, user)
        ).get_json()
        expected = client.get(f"/api/v1/paths?to={person['id']}", headers=_bearer(demo, user))
    found = expected.get_json()["paths"]
    assert paths.locator(".rows > li").count() == len(found)
    labels = [
        paths.locator(".rows > li").nth(i).locator(".row-head .muted").inner_text()
        for i in range(len(found))
    ]
    # As the pane rounds (Math.round); a path of dormant ties says so instead of "score 0".
    assert labels == [
        f"score {math.floor(p['score'] + 0.5)}" if p["score"] >= 1 else "score below 1"
        for p in found
    ]
    if not found:
        assert paths.get_by_text("No warm path").count() == 1


def test_my_mail_without_a_subject_reads_no_subject(
    demo: Demo, open_pane: Callable[..., Pane]
) -> None:
    """Enron: a message of Susan Scott's own with an empty subject showed as a blank row."""
    user = admin_email(demo)
    message = demo.messages(user)[2]
    with demo.db.transaction() as s:
        s.execute(
            update(Interaction)
            .where(Interaction.message_id == message["internetMessageId"].strip("<>"))
            .values(subject="")
        )
    pane = open_pane(user, message)
    card = pane.card(external(message)[0]["email"])
    recent = card.locator(".section", has_text="Your recent emails")
    recent.locator(".rows > li").first.wait_for(timeout=WAIT_MS)
    titles = recent.locator(".rows > li .row-title").all_inner_texts()
    assert "(no subject)" in titles and "" not in titles


def test_mark_a_thread_private(demo: Demo, open_pane: Callable[..., Pane]) -> None:
    user = admin_email(demo)
    message = dict(demo.messages(user)[1])
    # Outlook's conversation ids are base64 with "/", "+" and "=": they must survive the URL.
    conversation = "AAQkADAwATM0MDAAMS1hYjE2/LWFlZC0wMAItMDAKABAA+x7y1vA=="
    with demo.db.transaction() as s:
        interaction = s.scalars(
            select(Interaction.id).where(
                Interaction.message_id == message["internetMessageId"].strip("<>")
            )
        ).one()
        s.execute(
            update(Interaction)
            .where(Interaction.id == interaction)
            .values(conversation_id=conversation)
        )
    message["conversationId"] = conversation
    pane = open_pane(user, message)
    pane.page.locator(".badge", has_text="Logged in Rapport").wait_for(timeout=WAIT_MS)
    pane.page.get_by_role("button", name="Mark thread private").click()
    pane.page.locator(".badge", has_text="Private thread").wait_for(timeout=WAIT_MS)
    colleague = demo.colleague(user)
    with demo.db.transaction() as s:
        marked = s.scalars(
            select(PrivateThread.conversation_id).where(PrivateThread.colleague_id == colleague)
        ).all()
        mine = s.scalar(
            select(func.count())
            .select_from(Sighting)
            .join(Mailbox, Mailbox.id == Sighting.mailbox_id)
            .where(Sighting.interaction_id == interaction, Mailbox.colleague_id == colleague)
        )
    assert marked == [conversation] and mine == 0
    pane.shot("private-thread")
    pane.page.get_by_role("button", name="Make thread visible again").click()
    pane.page.get_by_role("button", name="Mark thread private").wait_for(timeout=WAIT_MS)
    with demo.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(PrivateThread)) == 0
    assert not pane.events.errors and not pane.events.server_errors


def test_never_log_an_address(demo: Demo, open_pane: Callable[..., Pane]) -> None:
    user = admin_email(demo)
    message = demo.messages(user)[-1]
    contact = external(message)[-1]
    pane = open_pane(user, message)
    card = pane.card(contact["email"])
    card.wait_for(timeout=WAIT_MS)
    if card.locator(".card-head").get_attribute("aria-expanded") == "false":
        card.locator(".card-head").click()
    card.get_by_role("button", name="Never log this address").click()
    card.locator(".badge", has_text="Never logged").wait_for(timeout=WAIT_MS)
    colleague = demo.colleague(user)
    with demo.db.transaction() as s:
        rows = s.execute(select(Exclusion.pattern, Exclusion.colleague_id)).all()
    assert [tuple(r) for r in rows] == [(contact["email"], colleague)]
    card.get_by_role("button", name="Undo").click()
    card.get_by_role("button", name="Never log this address").wait_for(timeout=WAIT_MS)
    with demo.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Exclusion)) == 0
    assert not pane.events.errors and not pane.events.server_errors


def _bearer(demo: Demo, email: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {demo.token(email)}"}


def _hostile_message(demo: Demo) -> tuple[str, dict[str, Any]]:
    """A colleague and a message whose sender's display name and subject are both markup."""
    return next(
        (email, m)
        for email in _mailbox_owners(demo)
        for m in demo.messages(email)
        if "<script>" in m["subject"] and any(HOSTILE in p["name"] for p in external(m))
    )


def test_compose_mode_shows_the_recipients_being_written_to(
    demo: Demo, open_pane: Callable[..., Pane]
) -> None:
    user = admin_email(demo)
    contact = external(demo.messages(user)[0])[0]
    draft = {"mode": "compose", "subject": "", "to": [contact], "cc": []}
    pane = open_pane(user, draft)
    pane.card(contact["email"]).wait_for(timeout=WAIT_MS)
    assert pane.page.locator(".message-subject").inner_text() == "New message"
    assert pane.page.locator(".badge").inner_text() == "Being written"
    newcomer = {"name": "Lee Chen", "email": "lee.chen@contoso-partners.com"}
    pane.page.evaluate(
        "message => OfficeStub.select(message)", {**draft, "to": [contact, newcomer]}
    )
    pane.card(newcomer["email"]).wait_for(timeout=WAIT_MS)


def test_the_preview_page_feeds_sample_messages_to_the_pane(demo: Demo, browser: Any) -> None:
    user, message = _hostile_message(demo)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        # The preview needs nothing from outside: any request off 127.0.0.1 fails the test.
        outside: list[str] = []

        def refuse(route: Any) -> None:
            outside.append(route.request.url)
            route.abort()

        context.route(lambda url: not url.startswith(demo.url), refuse)
        page = context.new_page()
        events = Events()
        events.watch(page)
        page.goto(f"{demo.url}/addin/preview?as={user}")
        pane = page.frame_locator("#pane")
        pane.locator("article.card").first.wait_for(timeout=WAIT_MS)
        page.locator("#messages button", has_text=message["subject"]).first.click()
        hostile = next(p for p in external(message) if HOSTILE in p["name"])
        card = pane.locator(f'article.card[data-email="{hostile["email"]}"]')
        card.wait_for(timeout=WAIT_MS)
        assert card.locator(".who-name").inner_text() == HOSTILE
        page.get_by_label("Dark").check()
        pane.locator("html[data-theme=dark]").wait_for(timeout=WAIT_MS)
        card.locator("button", has_text="Ask for an introduction").first.click()
        page.locator("#drafts li").first.wait_for(timeout=WAIT_MS)
        assert f"Subject: Introduction to {HOSTILE}" in page.locator("#drafts li").inner_text()
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "preview.png"), full_page=True)
        assert outside == [] and events.dialogs == []
        assert not events.errors and not events.server_errors
    finally:
        context.close()


# The host's side of nested app authentication, as Outlook provides it to the page: MSAL.js
# (the vendored copy, unmodified) talks to window.nestedAppAuthBridge with JSON messages.
NAA_BRIDGE = """
window.naaRequests = [];
window.nestedAppAuthBridge = {
  listeners: [],
  addEventListener(type, listener) { this.listeners.push(listener); },
  removeEventListener() {},
  postMessage(text) {
    const request = JSON.parse(text);
    window.naaRequests.push(request);
    const b64 = (value) => btoa(JSON.stringify(value)).replace(/=+$/, "")
      .replace(/[+]/g, "-").replace(/[/]/g, "_");
    const now = Math.floor(Date.now() / 1000);
    const account = {homeAccountId: "oid-1.tid-1", environment: "login.microsoftonline.com",
      tenantId: "tid-1", localAccountId: "oid-1", username: "%(user)s", name: "NAA user"};
    const idToken = [b64({alg: "none", typ: "JWT"}), b64({aud: request.tokenParams?.clientId,
      iss: "https://login.microsoftonline.com/tid-1/v2.0", tid: "tid-1", oid: "oid-1",
      preferred_username: "%(user)s", name: "NAA user", iat: now, nbf: now, exp: now + 3600}),
      "sig"].join(".");
    const reply = request.method === "GetInitContext"
      ? {initContext: {sdkName: "outlook", sdkVersion: "1.0", capabilities: {}}}
      : {token: {access_token: "%(token)s", id_token: idToken, expires_in: 3600,
                 scope: (request.tokenParams?.scope || "")}, account};
    const envelope = {messageType: "NestedAppAuthResponse", requestId: request.requestId,
      success: true, ...reply};
    setTimeout(() => this.listeners.forEach((l) => l({data: JSON.stringify(envelope)})), 0);
  },
};
"""


def test_nested_app_authentication_through_msal_js(
    demo: Demo, open_pane: Callable[..., Pane], browser: Any
) -> None:
    user = admin_email(demo)
    message = demo.messages(user)[0]
    token = demo.token(user)
    pane = open_pane(
        user,
        message,
        signed_in=False,
        sets={"NestedAppAuth": "1.1"},
        init=NAA_BRIDGE % {"user": user, "token": token},
    )
    pane.card(external(message)[0]["email"]).wait_for(timeout=WAIT_MS)
    requests = pane.page.evaluate("window.naaRequests")
    token_requests = [r for r in requests if r["method"] == "GetToken"]
    assert token_requests, [r["method"] for r in requests]
    scope = token_requests[0]["tokenParams"]["scope"]
    assert scope.split()[0].endswith("/access_as_user")
    assert token_requests[0]["tokenParams"]["clientId"] == demo.app.config["RAPPORT_CLIENT_ID"]
    # Office SSO was never needed.
    assert pane.page.evaluate("OfficeStub.calls.filter(c => c.method === 'getAccessToken')") == []


def test_error_state_offers_a_retry(demo: Demo, open_pane: Callable[..., Pane]) -> None:
    user = admin_email(demo)
    message = demo.messages(user)[0]
    pane = open_pane(user, None)
    failures = {"left": 1}

    def once_down(route: Any) -> None:
        if failures["left"]:
            failures["left"] -= 1
            body = {"error": "unavailable", "message": "the database is unreachable"}
            route.fulfill(status=503, json=body)
        else:
            route.continue_()

    pane.page.route("**/api/v1/people?email=*", once_down)
    pane.page.evaluate("message => OfficeStub.select(message)", message)
    alert = pane.page.get_by_role("alert")
    alert.wait_for(timeout=WAIT_MS)
    assert "the database is unreachable" in alert.inner_text()
    pane.shot("error")
    pane.page.get_by_role("button", name="Try again").click()
    pane.card(external(message)[0]["email"]).wait_for(timeout=WAIT_MS)


def test_a_message_among_colleagues_has_its_own_empty_state(
    demo: Demo, open_pane: Callable[..., Pane]
) -> None:
    user = admin_email(demo)
    colleague = next(e for e in _mailbox_owners(demo) if e != user)
    internal = {
        "mode": "read",
        "subject": "Team lunch",
        "internetMessageId": "<lunch.1@harbourlaw.example>",
        "conversationId": None,
        "from": {"name": "", "email": colleague},
        "to": [{"name": "", "email": user}],
        "cc": [],
    }
    pane = open_pane(user, internal)
    pane.page.get_by_role("heading", name="Only colleagues here").wait_for(timeout=WAIT_MS)
    assert pane.page.locator("article.card").count() == 0
    assert pane.page.locator(".badge").inner_text() == "Not logged yet"


def test_an_expired_token_leads_to_the_signed_out_state(
    demo: Demo, open_pane: Callable[..., Pane]
) -> None:
    user = admin_email(demo)
    pane = open_pane(user, demo.messages(user)[0], token_ttl=timedelta(minutes=-5))
    pane.page.get_by_role("heading", name="You are signed out").wait_for(timeout=WAIT_MS)
    assert "expired" in pane.page.locator(".state-signed-out").inner_text()
    calls = pane.page.evaluate("OfficeStub.calls.filter(c => c.method === 'getAccessToken')")
    assert len(calls) == 2  # one fresh token was asked for before giving up
