"""File sources: mbox, Maildir, .eml and .ics, read the way the importer reads them."""

from __future__ import annotations

import base64
import mailbox
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest

from sync.errors import CursorExpired
from sync.files import mbox as mbox_module
from sync.files.message import parse_message
from sync.files.source import FileSource, discover
from sync.items import FolderKind, ItemKind, MailItem, Response, Role, Unreadable

SENT_AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def message(
    sender: str = "Jane Roe <jane@acme.co.uk>",
    to: str = "alice@harbourlaw.example",
    subject: str = "Terms",
    **headers: str,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Date"] = format_datetime(SENT_AT)
    msg["Message-ID"] = f"<{abs(hash((sender, to, subject)))}@acme.co.uk>"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("Hello")
    return msg


def write_mbox(path: Path, messages: list[EmailMessage]) -> Path:
    box = mailbox.mbox(path)
    for msg in messages:
        box.add(msg)
    box.close()
    return path


def items(source: FileSource) -> list[MailItem | Unreadable]:
    return [i for f in source.folders() for page in source.pages(f, None) for i in page.items]


def test_mbox_folder_kinds_and_sent_first(tmp_path: Path) -> None:
    root = tmp_path / "alice"
    root.mkdir()
    write_mbox(root / "inbox.mbox", [message()])
    write_mbox(root / "sent_items.mbox", [message("alice@harbourlaw.example", "jane@acme.co.uk")])
    write_mbox(root / "calendar.mbox", [message(subject="Closing meeting")])
    source = FileSource([root])
    assert [(f.key, f.kind) for f in source.folders()] == [
        ("alice/sent_items.mbox", FolderKind.SENT),
        ("alice/inbox.mbox", FolderKind.INBOX),
        ("alice/calendar.mbox", FolderKind.CALENDAR),
    ]
    meeting = items(source)[-1]
    assert isinstance(meeting, MailItem) and meeting.kind == ItemKind.MEETING
    assert [(p.address.email, p.role) for p in meeting.participants] == [
        ("jane@acme.co.uk", Role.ORGANIZER),
        ("alice@harbourlaw.example", Role.ATTENDEE),
    ]


def test_huge_message_is_read_in_bounded_memory(tmp_path: Path) -> None:
    big = message(subject="Big attachment")
    big.add_attachment(b"x" * (3 << 20), maintype="application", subtype="octet-stream")
    path = write_mbox(tmp_path / "inbox.mbox", [message(), big, message(subject="After")])
    raw = list(mbox_module.read_mbox(path))
    assert len(raw) == 3
    assert len(raw[1].data) == mbox_module.MAX_KEPT < raw[1].end - raw[1].offset
    parsed = [parse_message(r.data, "x", FolderKind.INBOX) for r in raw]
    assert [p.subject for p in parsed if isinstance(p, MailItem)] == [
        "Terms",
        "Big attachment",
        "After",
    ]


def test_mbox_cursor_resumes_and_a_changed_file_expires_it(tmp_path: Path) -> None:
    path = write_mbox(tmp_path / "inbox.mbox", [message(subject=f"m{i}") for i in range(5)])
    source = FileSource([path])
    folder = source.folders()[0]
    (page,) = list(source.pages(folder, None))
    write_mbox(path, [message(subject="m5")])  # mbox appends
    resumed = [
        i.subject
        for p in source.pages(folder, page.cursor)
        for i in p.items
        if isinstance(i, MailItem)
    ]
    assert resumed == ["m5"]
    path.write_bytes(b"From x\nSubject: rewritten\n\n")
    with pytest.raises(CursorExpired):
        list(source.pages(folder, page.cursor))


def test_maildir_and_eml_folders(tmp_path: Path) -> None:
    box = mailbox.Maildir(tmp_path / "Sent", create=True)
    box.add(message("alice@harbourlaw.example", "jane@acme.co.uk"))
    box.add(message("alice@harbourlaw.example", "bob@acme.co.uk"))
    emls = tmp_path / "exports"
    emls.mkdir()
    (emls / "one.eml").write_bytes(message(subject="From an .eml").as_bytes())
    source = FileSource([tmp_path])
    kinds = {f.key: f.kind for f in source.folders()}
    assert kinds == {
        f"{tmp_path.name}/Sent": FolderKind.SENT,
        f"{tmp_path.name}/exports": FolderKind.OTHER,
    }
    folder = next(f for f in source.folders() if f.kind == FolderKind.SENT)
    first = next(source.pages(folder, None))
    assert len(first.items) == 2
    assert list(source.pages(folder, first.cursor)) == []
    single = FileSource([emls / "one.eml"])
    assert [i.subject for i in items(single) if isinstance(i, MailItem)] == ["From an .eml"]


def test_paths_without_mail_are_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match=r"no \.eml, Maildir, mbox or \.ics"):
        discover(tmp_path)


def test_markers_bounce_auto_reply_bulk_private() -> None:
    bounce = (
        b"From: MAILER-DAEMON@mx.acme.co.uk\nTo: alice@harbourlaw.example\n"
        b"Date: Mon, 2 Mar 2026 09:30:00 +0000\nSubject: Undelivered Mail Returned to Sender\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n"
        b"--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\n"
        b"Final-Recipient: rfc822; Gone@Acme.co.uk\nAction: failed\n--b--\n"
    )
    item = parse_message(bounce, "b", FolderKind.INBOX)
    assert isinstance(item, MailItem) and item.markers.bounce
    assert item.markers.failed_recipients == ("gone@acme.co.uk",)
    cases = {
        "auto": message(Auto_Submitted="auto-replied", subject="Re: Terms"),
        "ooo": message(subject="Out of Office AutoReply: Terms"),
        "bulk": message(List_Unsubscribe="<mailto:u@news.example>"),
        "private": message(Sensitivity="Private"),
        "plain": message(subject="Re: Out of office party"),
    }
    parsed = {k: parse_message(v.as_bytes(), k, FolderKind.INBOX) for k, v in cases.items()}
    markers = {k: v.markers for k, v in parsed.items() if isinstance(v, MailItem)}
    assert markers["auto"].auto_reply and markers["ooo"].auto_reply
    assert markers["bulk"].bulk and markers["private"].sensitivity == "private"
    assert markers["plain"] == type(markers["plain"])()


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"From: a@b.com\nSubject: no date\n\nbody", "no-date"),
        (b"Date: Mon, 2 Mar 2026 09:30:00 +0000\nFrom: nobody\n\n", "no-sender"),
        (b"Date: not a date\nFrom: a@b.com\n\n", "no-date"),
        (b"\xff\xfe garbage without headers", "no-date"),
    ],
)
def test_unreadable_messages_become_counted_skips(raw: bytes, reason: str) -> None:
    item = parse_message(raw, "id", FolderKind.INBOX)
    assert isinstance(item, Unreadable) and item.reason == reason


def test_eight_bit_and_encoded_headers() -> None:
    raw = (
        "From: =?utf-8?q?Zo=C3=AB_M=C3=BCller?= <zoe@bücher.de>\nTo: a@harbourlaw.example\n"
        "Date: Mon, 2 Mar 2026 09:30:00 +0000\nSubject: Grüße =?utf-8?q?aus_K=C3=B6ln?=\n\n"
    ).encode()
    item = parse_message(raw, "id", FolderKind.INBOX)
    assert isinstance(item, MailItem)
    assert item.sender is not None and item.sender.name == "Zoë Müller"
    assert item.sender.email == "zoe@xn--bcher-kva.de"
    assert item.subject == "Grüße aus Köln"


CALENDAR_HEAD = "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n"
ICS = (
    CALENDAR_HEAD
    + """BEGIN:VEVENT
UID:weekly-1
DTSTART:20260302T090000Z
DTEND:20260302T093000Z
RRULE:FREQ=WEEKLY;COUNT=3
SUMMARY:Weekly check-in
ORGANIZER;CN="Roe, Jane":mailto:jane@acme.co.uk
ATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@harbourlaw.example
ATTENDEE;PARTSTAT=DECLINED:mailto:bob@harbourlaw.example
END:VEVENT
BEGIN:VEVENT
UID:cancelled-1
DTSTART:20260310T150000Z
STATUS:CANCELLED
SUMMARY:Cancelled call
ORGANIZER:mailto:alice@harbourlaw.example
ATTENDEE:mailto:jane@acme.co.uk
END:VEVENT
BEGIN:VEVENT
UID:broken
SUMMARY:No start
ORGANIZER:mailto:alice@harbourlaw.example
END:VEVENT
END:VCALENDAR
"""
)


def test_ics_meetings_recurrences_responses_and_cancellations(tmp_path: Path) -> None:
    path = tmp_path / "calendar.ics"
    path.write_text(ICS.replace("\n", "\r\n"))
    source = FileSource([path], horizon=datetime(2027, 1, 1, tzinfo=UTC))
    found = items(source)
    meetings = [i for i in found if isinstance(i, MailItem)]
    assert [m.sent_at.day for m in meetings] == [2, 9, 16, 10]
    assert len({m.ical_uid for m in meetings}) == 4  # one key per occurrence
    weekly = meetings[0]
    assert weekly.sender is not None and weekly.sender.name == "Jane Roe"
    assert [(p.address.email, p.response) for p in weekly.participants] == [
        ("jane@acme.co.uk", Response.ORGANIZER),
        ("alice@harbourlaw.example", Response.ACCEPTED),
        ("bob@harbourlaw.example", Response.DECLINED),
    ]
    assert meetings[3].markers.cancelled
    assert [i.reason for i in found if isinstance(i, Unreadable)] == ["no-date"]
    # The cursor is a byte offset: reading after the first page yields nothing new.
    folder = source.folders()[0]
    last = list(source.pages(folder, None))[-1]
    assert list(source.pages(folder, last.cursor)) == []


def test_garbled_sender_falls_back_to_the_exchange_name() -> None:
    raw = (
        b"From: houston <.ward@enron.com>\nTo: a@enron.com\nDate: Thu, 6 Dec 2001 10:59:26 -0800\n"
        b"X-From: Ward, Kim S (Houston) </O=ENRON/OU=NA/CN=RECIPIENTS/CN=KWARD>\nX-To: a\n\n"
    )
    item = parse_message(raw, "id", FolderKind.INBOX)
    assert isinstance(item, MailItem) and item.sender is not None
    assert item.sender.email == "/O=ENRON/OU=NA/CN=RECIPIENTS/CN=KWARD"
    assert item.sender.name == "Kim S Ward"


def thread_message(thread_index: str) -> bytes:
    return (
        "From: jane@acme.co.uk\nTo: a@harbourlaw.example\nDate: Mon, 2 Mar 2026 09:30:00 +0000\n"
        f"Subject: Terms\nThread-Index: {thread_index}\n\n"
    ).encode()


def conversation(thread_index: str) -> str | None:
    item = parse_message(thread_message(thread_index), "id", FolderKind.INBOX)
    assert isinstance(item, MailItem)
    return item.conversation_id


def test_replies_share_the_conversation_id_of_their_thread_index() -> None:
    # [MS-OXOMSG] 2.2.1.3: a reserved 0x01 byte, 5 bytes of FILETIME and a 16-byte GUID, then
    # 5 bytes per reply (a time delta and a random number).
    header = b"\x01" + bytes.fromhex("d2c4a91f3b") + uuid.UUID(int=7).bytes
    first = base64.b64encode(header).decode()
    reply = base64.b64encode(header + bytes.fromhex("0000a1b2c3")).decode()
    reply_to_reply = base64.b64encode(header + bytes.fromhex("0000a1b2c3" + "00017d8e9f")).decode()
    other = base64.b64encode(header[:-1] + b"\x08").decode()
    assert conversation(first) == conversation(reply) == conversation(reply_to_reply) == first
    assert conversation(other) not in (None, first)
    # Outlook's own values, from the Enron corpus: a reply (27 bytes) and a first message.
    assert (
        conversation("AcE3q/nDAN5f+NkSSXib/dq+a8ORqAAAP1vQ") == "AcE3q/nDAN5f+NkSSXib/dq+a8ORqA=="
    )
    assert conversation("AcE7jl435kZ2pMDlRPOLgwsGV0SSJA==") == "AcE7jl435kZ2pMDlRPOLgwsGV0SSJA=="
    assert conversation("not base64!") == "not base64!"  # another shape is kept as it is


def test_exchange_conversation_id_without_a_thread_index() -> None:
    raw = thread_message("x").replace(b"Thread-Index: x", b"X-MS-Exchange-Conversation-Id: c1")
    item = parse_message(raw, "id", FolderKind.INBOX)
    assert isinstance(item, MailItem) and item.conversation_id == "c1"


def test_unreadable_items_hold_storable_text() -> None:
    raw = b"Date: Mon, 2 Mar 2026 09:30:00 +0000\nFrom: a\x00b\n\n"
    item = parse_message(raw, "id", FolderKind.INBOX)
    assert isinstance(item, Unreadable) and item.reason == "no-sender" and item.detail == "ab"
    assert Unreadable("ics:\x00", "no-date", "\ud800").detail == "\ufffd"
