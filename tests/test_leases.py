"""One sync pass per mailbox at a time, across processes (`storage.leases`, `sync.engine`).

An import, ``python app.py sync`` and the sync worker may reach for the same mailbox at once.
The second pass must refuse before it records anything, a lease left by a dead process must
not block the mailbox for long, and a pass whose lease another pass took must stop.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from storage.db import Database
from storage.leases import LEASE
from storage.models import ImportRun, Mailbox, MailboxStatus, RunStatus, Sighting
from storage.types import utcnow
from sync.errors import LeaseLost, MailboxBusy
from sync.items import Folder, MailItem, Page
from tests.data_paths import ROOT
from tests.factories import INBOX, T0, email
from tests.mailfiles import OWNER, write_mailbox
from tests.test_engine import ALICE, mailbox, run

CLIENT = "cfo@acme.example"
FIRM = "harbourlaw.example"
HOST = socket.gethostname()


def mail(n: int) -> dict[Folder, list[MailItem]]:
    return {INBOX: [email(CLIENT, [ALICE], at=T0 + timedelta(hours=h)) for h in range(n)]}


def lease_of(db: Database, mailbox_id: int) -> tuple[str | None, object]:
    with db.transaction() as session:
        row = session.execute(
            select(Mailbox.lease_owner, Mailbox.lease_until).where(Mailbox.id == mailbox_id)
        ).one()
        return row[0], row[1]


def hold(db: Database, mailbox_id: int, owner: str, until: timedelta = LEASE) -> None:
    with db.transaction() as session:
        session.execute(
            update(Mailbox)
            .where(Mailbox.id == mailbox_id)
            .values(lease_owner=owner, lease_until=utcnow() + until)
        )


def count(db: Database, model: type) -> int:
    with db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def dead_pid() -> int:
    """The pid of a process of this host that has exited."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_mailbox_another_live_pass_holds_is_busy_and_nothing_is_recorded(
    db: Database,
) -> None:
    box = mailbox(db, ALICE)
    other = f"{HOST}:{os.getpid()}:0ther"  # this very process, another pass: alive
    hold(db, box, other)

    with pytest.raises(MailboxBusy, match="being synced by another pass"):
        run(db, box, mail(3))

    assert count(db, ImportRun) == 0 and count(db, Sighting) == 0
    assert lease_of(db, box)[0] == other


def test_a_lease_left_by_a_dead_process_of_this_host_is_taken_over_at_once(
    db: Database,
) -> None:
    box = mailbox(db, ALICE)
    with db.transaction() as session:  # the dead process's run, never finished
        session.add(ImportRun(mailbox_id=box, source="test", counts={}))
    hold(db, box, f"{HOST}:{dead_pid()}:dead")

    stats = run(db, box, mail(3))

    assert stats.read == 3
    with db.transaction() as session:
        statuses = sorted(session.scalars(select(ImportRun.status)))
    assert statuses == [RunStatus.DONE, RunStatus.INTERRUPTED]
    assert lease_of(db, box) == (None, None)  # given back at the end


def test_another_hosts_lease_blocks_until_it_lapses(db: Database) -> None:
    box = mailbox(db, ALICE)
    hold(db, box, "other-host:4242:abcd")
    with pytest.raises(MailboxBusy):
        run(db, box, mail(1))

    hold(db, box, "other-host:4242:abcd", until=-timedelta(seconds=1))  # it lapsed
    assert run(db, box, mail(1)).read == 1


def test_the_lease_is_renewed_with_every_page_and_given_back(db: Database) -> None:
    box = mailbox(db, ALICE)
    seen: list[tuple[str | None, object]] = []

    def on_page(_folder: Folder, _page: Page) -> None:
        seen.append(lease_of(db, box))

    run(db, box, mail(6), on_page=on_page)  # three pages of two

    owners = {owner for owner, _ in seen}
    assert len(seen) == 3 and len(owners) == 1
    (owner,) = owners
    assert owner is not None and owner.startswith(f"{HOST}:{os.getpid()}:")
    untils = [until for _, until in seen]
    assert all(isinstance(u, datetime) for u in untils)
    assert untils == sorted(u for u in untils if isinstance(u, datetime))
    assert lease_of(db, box) == (None, None)


def test_a_pass_whose_lease_another_pass_took_stops_and_leaves_the_mailbox_to_it(
    db: Database,
) -> None:
    box = mailbox(db, ALICE)
    thief = "other-host:1:thief"

    def on_page(_folder: Folder, _page: Page) -> None:
        hold(db, box, thief)  # our lease lapsed; another pass took the mailbox

    with pytest.raises(LeaseLost):
        run(db, box, mail(6), on_page=on_page)

    assert count(db, Sighting) == 2  # the first page only: the second rolled back
    with db.transaction() as session:
        (status,) = session.scalars(select(ImportRun.status))
        mailbox_row = session.get_one(Mailbox, box)
    assert status == RunStatus.INTERRUPTED
    assert mailbox_row.lease_owner == thief and mailbox_row.status != MailboxStatus.ERROR
    assert mailbox_row.failure_count == 0


def cli(db: Database, *arguments: str) -> subprocess.CompletedProcess[str]:
    """``python app.py ARGUMENTS`` on the store, in a real process."""
    environment = {**os.environ, "DATABASE_URL": db.url, "RAPPORT_FIRM_DOMAINS": FIRM}
    return subprocess.run(
        [sys.executable, "app.py", *arguments],
        check=False,
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
    )


def test_an_import_while_another_process_holds_the_mailbox(db: Database, tmp_path: Path) -> None:
    """`python app.py import` in a real process: refused with a clear message while another
    live process holds the mailbox, and run at once when that process has died."""
    path = write_mailbox(tmp_path / "alice", 20)
    command = ["import", "--quiet", "--mailbox", OWNER, str(path)]

    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        box = mailbox(db, OWNER)
        hold(db, box, f"{HOST}:{holder.pid}:sync")

        refused = cli(db, *command)

        assert refused.returncode == 1, refused.stderr
        assert f"is being synced by another pass ({HOST}:{holder.pid}:sync)" in refused.stderr
        assert count(db, ImportRun) == 0
    finally:
        holder.kill()
        holder.wait()
    done = cli(db, *command)
    assert done.returncode == 0, done.stderr
    assert count(db, Sighting) > 0 and lease_of(db, box) == (None, None)


def test_import_each_skips_a_busy_mailbox_imports_the_rest_and_fails(
    db: Database, tmp_path: Path
) -> None:
    """`import --each` over several mailboxes: one held by another live process is skipped
    and named, the others are imported, and the exit status says not everything was."""
    bob = "bob@harbourlaw.example"
    held = write_mailbox(tmp_path / "alice", 20)
    free = write_mailbox(tmp_path / "bob", 20, seed=2, owner=bob)
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        hold(db, mailbox(db, OWNER), f"{HOST}:{holder.pid}:sync")

        done = cli(db, "import", "--quiet", "--each", str(held), str(free))
    finally:
        holder.kill()
        holder.wait()

    assert done.returncode == 1, done.stderr
    assert "1 of 2 mailboxes not imported" in done.stderr
    assert f"{OWNER}: skipped, {OWNER} is being synced by another pass" in done.stderr
    assert done.stdout.startswith(f"{bob}: read 22 in ")  # 20 and 2 archived copies
    with db.transaction() as session:
        runs = session.execute(select(Mailbox.address).join(ImportRun)).scalars().all()
    assert runs == [bob]
