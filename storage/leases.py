"""One sync pass per mailbox at a time, across every process: a lease on the mailbox row.

Data functions: they take a session first and never commit. A pass takes the lease when it
starts (``acquire``), renews it with every page it writes (``renew``, in the page's own
transaction) and gives it back when it ends (``release``). A lease lapses ``LEASE`` after its
last renewal, so a process that died (power cut, SIGKILL) blocks its mailbox for at most that
long; one that died on this host is recognised at once by its pid, so a restarted import
resumes without waiting. The owner is ``host:pid:token``: two passes in one process differ
by their token.
"""

from __future__ import annotations

import os
import secrets
import socket
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.models import Mailbox

# Longer than any page takes, throttling retries included (a page is one transaction).
LEASE = timedelta(minutes=15)


def new_owner() -> str:
    """An owner name for one pass of this process."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def acquire(session: Session, mailbox_id: int, owner: str, now: datetime) -> str | None:
    """Take the lease, or return who holds it. A lapsed lease, or one held by a process of
    this host that no longer runs, is taken over (compare-and-set on the previous owner, so
    two processes cannot both take it)."""
    held = session.execute(
        select(Mailbox.lease_owner, Mailbox.lease_until).where(Mailbox.id == mailbox_id)
    ).one()
    holder: str | None = held[0]
    until: datetime | None = held[1]
    if holder and holder != owner and until is not None and until > now and _alive(holder):
        return holder
    taken = session.scalar(
        update(Mailbox)
        .where(Mailbox.id == mailbox_id, Mailbox.lease_owner.is_not_distinct_from(holder))
        .values(lease_owner=owner, lease_until=now + LEASE)
        .returning(Mailbox.id)
    )
    if taken is None:  # another process took it between the two statements
        return str(session.scalar(select(Mailbox.lease_owner).where(Mailbox.id == mailbox_id)))
    return None


def renew(session: Session, mailbox_id: int, owner: str, now: datetime) -> bool:
    """Extend the lease; False when this owner no longer holds it."""
    renewed = session.scalar(
        update(Mailbox)
        .where(Mailbox.id == mailbox_id, Mailbox.lease_owner == owner)
        .values(lease_until=now + LEASE)
        .returning(Mailbox.id)
    )
    return renewed is not None


def release(session: Session, mailbox_id: int, owner: str) -> None:
    session.execute(
        update(Mailbox)
        .where(Mailbox.id == mailbox_id, Mailbox.lease_owner == owner)
        .values(lease_owner=None, lease_until=None)
    )


def _alive(owner: str) -> bool:
    """False only for a process of this host that does not run any more."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine's process: only the lapse tells
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
