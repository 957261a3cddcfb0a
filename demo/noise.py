"""Mail the logging rules must skip: bounces, out-of-office replies, newsletters, signing-service
notifications from no-reply addresses, and private mail (docs/logging-rules.md).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.message import EmailMessage

from demo.mail import Ids, Mail, build, domain_of
from demo.people import Member, Party
from demo.population import ANCHOR, SPAN

BOUNCE_SHARE = 0.004  # of outbound client mail
AUTO_REPLY_SHARE = 0.008
ISSUES_AT_1 = 24  # monthly newsletter issues over the two years
NOTICES_AT_1 = 40  # e-signature notifications
NEWSLETTERS = [
    Party("Legal Business Weekly", "newsletter@legalbusinessweekly.com"),
    Party("Asia Law Briefing", "briefing@asialawbriefing.com.sg"),
    Party("Gazette Digest", "digest@gazette-digest.co.uk"),
]
SIGNING_SERVICE = Party("SignFlow", "noreply@signflow.com")


@dataclass(frozen=True, slots=True)
class Posted:
    """A message ready for the mailboxes, with what routing needs."""

    message: EmailMessage
    sent_at: datetime
    sender: str
    recipients: tuple[str, ...]


def bounce(ids: Ids, original: Mail, recipient: str) -> Posted:
    """An RFC 3464 delivery status notification for ``original`` to ``recipient``."""
    domain = recipient.rsplit("@", 1)[1]
    daemon = Party("Mail Delivery System", f"MAILER-DAEMON@mail.{domain}")
    notice = Mail(
        sent_at=original.sent_at + timedelta(minutes=2),
        sender=daemon,
        to=(original.sender,),
        subject=f"Undeliverable: {original.subject}",
        message_id=ids.message_id(f"mail.{domain}"),
        body=f"Your message to {recipient} could not be delivered.\n"
        "The address is unknown at the destination (550 5.1.1 user unknown).\n",
    )
    message = build(notice)
    message.make_mixed()
    message.set_type("multipart/report")
    message.set_param("report-type", "delivery-status")
    message.set_boundary(f"=_report_{notice.message_id.strip('<>').split('@')[0]}")
    message.attach(_delivery_status(domain, recipient))
    headers = EmailMessage()
    headers.set_content(_header_block(original), subtype="rfc822-headers")
    message.attach(headers)
    return Posted(message, notice.sent_at, daemon.email, (original.sender.email,))


def _delivery_status(domain: str, recipient: str) -> EmailMessage:
    per_message = EmailMessage()
    per_message["Reporting-MTA"] = f"dns; mail.{domain}"
    per_recipient = EmailMessage()
    per_recipient["Final-Recipient"] = f"rfc822; {recipient}"
    per_recipient["Action"] = "failed"
    per_recipient["Status"] = "5.1.1"
    per_recipient["Diagnostic-Code"] = "smtp; 550 5.1.1 user unknown"
    status = EmailMessage()
    status["Content-Type"] = "message/delivery-status"
    status.set_payload([per_message, per_recipient])
    return status


def _header_block(original: Mail) -> str:
    message = build(original)
    return "".join(f"{k}: {v}\n" for k, v in message.items() if k != "Content-Type")


def auto_reply(ids: Ids, original: Mail, member: Member, *, left: bool) -> Posted:
    """An Exchange-style out-of-office reply (RFC 3834 ``Auto-Submitted``) from ``member``."""
    text = (
        f"{member.addressed.name} has left {member.organisation}. Please contact the main office."
        if left
        else "I am out of the office with limited access to email until next week."
    )
    mail = Mail(
        sent_at=original.sent_at + timedelta(minutes=1),
        sender=member.party,
        to=(original.sender,),
        subject=f"Automatic reply: {original.subject}",
        message_id=ids.message_id(domain_of(member.party)),
        body=text + "\n",
        in_reply_to=original.message_id,
        references=(original.message_id,),
        headers=(("Auto-Submitted", "auto-replied"), ("X-Auto-Response-Suppress", "All")),
    )
    return Posted(build(mail), mail.sent_at, mail.sender.email, (original.sender.email,))


def newsletters(
    rng: random.Random, ids: Ids, staff: Sequence[Member], scale: float
) -> Iterator[Mail]:
    """Monthly issues, one copy per subscriber (each with its own Message-ID, as list servers
    send them)."""
    issues = max(2, round(ISSUES_AT_1 * scale))
    for sender in NEWSLETTERS:
        readers = [m for m in staff if rng.random() < 0.35] or list(staff[:1])
        list_id = f"{sender.name} <{sender.email.replace('@', '.')}>"
        for issue in range(issues):
            at = ANCHOR - SPAN + SPAN * (issue + rng.random()) / issues
            for reader in readers:
                yield Mail(
                    sent_at=at.replace(microsecond=0),
                    sender=sender,
                    to=(reader.addressed,),
                    subject=f"{sender.name}: issue {issue + 1}",
                    message_id=ids.message_id(domain_of(sender)),
                    body="This week's deals, cases and moves.\n",
                    headers=(
                        ("List-Id", list_id),
                        ("List-Unsubscribe", f"<mailto:unsubscribe@{domain_of(sender)}>"),
                        ("Precedence", "bulk"),
                    ),
                )


def notices(rng: random.Random, ids: Ids, staff: Sequence[Member], scale: float) -> Iterator[Mail]:
    """E-signature notifications: a role sender (``noreply@``), not a person."""
    for number in range(max(1, round(NOTICES_AT_1 * scale))):
        reader = rng.choice(staff)
        yield Mail(
            sent_at=(ANCHOR - timedelta(days=rng.uniform(1, 700))).replace(microsecond=0),
            sender=SIGNING_SERVICE,
            to=(reader.addressed,),
            subject=f"Envelope {number + 1000} completed",
            message_id=ids.message_id(domain_of(SIGNING_SERVICE)),
            body="All parties have signed.\n",
        )


def private(thread: Sequence[Mail]) -> list[Mail]:
    """``thread`` marked ``Sensitivity: Private`` (Outlook's personal flag)."""
    return [replace(m, headers=(*m.headers, ("Sensitivity", "Private"))) for m in thread]
