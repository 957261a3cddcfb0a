"""The demo firm: deterministic, well-formed mail files, and what the importer makes of them."""

from __future__ import annotations

import mailbox
from collections import Counter
from collections.abc import Iterator
from email.header import decode_header, make_header
from email.message import Message
from pathlib import Path

import icalendar
import pytest
from sqlalchemy import func, select

from config import load_config
from demo.generate import DemoFirm, generate
from demo.meetings import ROOMS
from demo.run import prepare_demo
from storage.db import Database
from storage.models import AuditEvent, Colleague, EmailAddress, Interaction, Sighting
from sync.importer import ImportResult, import_paths

SCALE = 0.05


@pytest.fixture(scope="module")
def firm(tmp_path_factory: pytest.TempPathFactory) -> DemoFirm:
    return generate(tmp_path_factory.mktemp("demo"), scale=SCALE)


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def messages(firm: DemoFirm) -> Iterator[tuple[str, str, Message]]:
    """(owner, folder, message) for every message in every mbox."""
    for owner, directory in firm.mailbox_dirs.items():
        for folder in ("inbox", "sent"):
            box = mailbox.mbox(directory / f"{folder}.mbox", create=False)
            try:
                for message in box:
                    yield owner, folder, message
            finally:
                box.close()


def attendee_list(event: icalendar.Event) -> list[icalendar.vCalAddress]:
    found = event.get("ATTENDEE", [])
    return found if isinstance(found, list) else [found]


def decoded(value: str) -> str:
    return str(make_header(decode_header(value)))


def test_generation_is_deterministic(tmp_path: Path, firm: DemoFirm) -> None:
    again = generate(tmp_path / "again", scale=SCALE)
    first_root = next(iter(firm.mailbox_dirs.values())).parent
    assert files(tmp_path / "again") == files(first_root)
    assert again.message_count == firm.message_count


def test_size_follows_scale(tmp_path: Path, firm: DemoFirm) -> None:
    bigger = generate(tmp_path, scale=SCALE * 3)
    assert len(bigger.colleagues) >= len(firm.colleagues) >= 6
    assert 2 * firm.message_count < bigger.message_count < 4 * firm.message_count
    assert set(bigger.mailbox_dirs) == {email for _, email, _ in bigger.colleagues}


def test_every_mbox_parses_and_counts_match(firm: DemoFirm) -> None:
    seen = list(messages(firm))
    assert len(seen) == firm.message_count
    for _, _, message in seen:
        assert message["Message-ID"] and message["Date"] and message["From"]
    assert {title for _, _, title in firm.colleagues} >= {"Partner", "Associate", "Paralegal"}


def test_every_calendar_parses(firm: DemoFirm) -> None:
    events = []
    for directory in firm.mailbox_dirs.values():
        calendar = icalendar.Calendar.from_ical((directory / "calendar.ics").read_bytes())
        events.extend(calendar.walk("VEVENT"))
    assert len(events) == firm.event_count > 0
    for event in events:
        assert event["UID"] and str(event["ORGANIZER"]).startswith("mailto:")
        assert event.decoded("DTSTART").utcoffset().total_seconds() == 0
    assert any("RRULE" in e for e in events)
    assert any(str(e.get("STATUS")) == "CANCELLED" for e in events)
    attendees = [a for e in events for a in attendee_list(e)]  # type: ignore[arg-type]
    assert {"ACCEPTED", "DECLINED"} <= {a.params["PARTSTAT"] for a in attendees}
    rooms = {str(a) for a in attendees if a.params.get("CUTYPE") == "ROOM"}
    assert rooms == {f"mailto:{r.email}" for r in ROOMS}


def test_noise_the_logging_rules_must_skip_is_there(firm: DemoFirm) -> None:
    kinds: Counter[str] = Counter()
    for _, _, message in messages(firm):
        if message.get_content_type() == "multipart/report":
            assert message.get_param("report-type") == "delivery-status"
            status = next(p for p in message.walk() if p.get_content_type().endswith("status"))
            assert "Final-Recipient: rfc822;" in status.as_string()
            kinds["bounce"] += 1
        if message.get("Auto-Submitted") == "auto-replied":
            assert message["Subject"].startswith("Automatic reply: ")
            kinds["auto-reply"] += 1
        if message.get("List-Unsubscribe") and message.get("Precedence") == "bulk":
            kinds["bulk"] += 1
        if message.get("Sensitivity") == "Private":
            kinds["private"] += 1
    assert set(kinds) == {"bounce", "auto-reply", "bulk", "private"}


def test_threads_reply_both_ways(firm: DemoFirm) -> None:
    by_id = {m["Message-ID"]: m for _, _, m in messages(firm)}
    replies = [m for m in by_id.values() if m["In-Reply-To"] in by_id]
    assert replies and all(m["Subject"].startswith(("Re: ", "Automatic reply: ")) for m in replies)
    for reply in replies:
        assert reply["References"].split()[-1] == reply["In-Reply-To"]
    inside = [firm.domain in by_id[m["In-Reply-To"]]["From"] for m in replies]
    assert True in inside and False in inside


def test_one_message_sits_in_several_mailboxes(firm: DemoFirm) -> None:
    where: dict[str, list[tuple[str, str]]] = {}
    for owner, folder, message in messages(firm):
        where.setdefault(message["Message-ID"], []).append((owner, folder))
    shared = [places for places in where.values() if len({o for o, _ in places}) > 1]
    assert any(("sent" in {f for _, f in places}) for places in shared)


def test_names_are_encoded_as_mail_clients_do(firm: DemoFirm) -> None:
    froms: list[bytes] = []
    for directory in firm.mailbox_dirs.values():
        for folder in ("inbox.mbox", "sent.mbox"):
            for block in (directory / folder).read_bytes().split(b"\nFrom "):
                head = block.split(b"\n\n", 1)[0]
                assert head.isascii()
                froms.extend(line for line in head.split(b"\n") if line.startswith(b"From: "))
    names = {decoded(line[6:].decode()) for line in froms}
    assert any("=?utf-8?" in line.decode() for line in froms)
    assert any("Nguyễn Văn An" in name for name in names)
    assert any("Zoë Müller" in name for name in names)
    assert any(name.startswith('"Bennett, Olivia"') for name in names)
    assert any("<img src=x onerror=alert(1)>" in name for name in names)


def test_import_skips_noise_and_stores_shared_mail_once(db: Database, firm: DemoFirm) -> None:
    config = load_config({"DATABASE_URL": db.url, "RAPPORT_FIRM_DOMAINS": firm.domain})
    results = [
        import_paths(db, config, [[directory]], mailbox=email)[0]
        for email, directory in firm.mailbox_dirs.items()
    ]
    total = ImportResult.total(results).stats
    for reason in ("bounce", "auto-reply", "bulk", "private"):
        assert total.skipped[reason] > 0, reason
    assert total.stored > 0 and total.internal > 0 and total.duplicate > 0
    with db.transaction() as session:  # rooms are no one: never stored, never a colleague
        known = select(EmailAddress.address).where(EmailAddress.address.in_(r.email for r in ROOMS))
        assert session.scalars(known).all() == []
    with db.transaction() as session:
        shared = select(Sighting.interaction_id).group_by(Sighting.interaction_id)
        shared = shared.having(func.count(func.distinct(Sighting.mailbox_id)) > 1)
        interaction_id = session.scalars(shared.limit(1)).one()
        message_id = session.get_one(Interaction, interaction_id).message_id
        same = select(func.count()).where(Interaction.message_id == message_id)
        copies = session.scalar(same.select_from(Interaction))
    assert message_id and copies == 1


def test_prepare_demo_imports_and_signs_in_an_admin(db: Database, tmp_path: Path) -> None:
    lines: list[str] = []
    config = load_config({"DATABASE_URL": db.url, "RAPPORT_SECRET_KEY": "k" * 40})
    before = dict(config)
    demo = prepare_demo(config, scale=SCALE, echo=lines.append, out_dir=tmp_path)
    assert demo.config["RAPPORT_FIRM_DOMAINS"] == "harbourlaw.example"
    assert demo.config["RAPPORT_DEV_AUTH"] == "1" and config == before
    assert demo.sample_url(5000).endswith(f"/api/v1/people?email={demo.sample_email}")
    assert demo.token and any("new client interactions" in line for line in lines)
    with db.transaction() as session:
        admins = session.scalars(select(Colleague.email).where(Colleague.is_admin)).all()
    assert admins == ["eleanor.whitfield@harbourlaw.example"]
    with db.transaction() as session:  # Zoë Müller writes from home too: the one duplicate
        merges = session.scalars(select(AuditEvent).where(AuditEvent.actor == "dedupe")).all()
    assert [(m.details["reason"], m.details["addresses"]) for m in merges] == [
        ("Zoë Müller: zoe.mueller at two domains", ["zoe.mueller@gmx.de"])
    ]
    assert any("duplicate people merged 1" in line for line in lines)
    stamp = (tmp_path / "eleanor.whitfield" / "inbox.mbox").stat().st_mtime_ns
    prepare_demo(config, scale=SCALE, echo=lines.append, out_dir=tmp_path)
    assert (tmp_path / "eleanor.whitfield" / "inbox.mbox").stat().st_mtime_ns == stamp
