"""Owner inference parses the start of the Sent folders; reading them afterwards reuses those
items instead of parsing them twice, unless the file changed in between."""

from __future__ import annotations

import mailbox
import os
from pathlib import Path

from sync.files.source import FileSource
from sync.items import Folder, MailItem, Page
from tests.mailfiles import OWNER, write_mailbox


def _pages(source: FileSource, folder: Folder) -> list[Page]:
    return list(source.pages(folder, None))


def _sent(source: FileSource) -> Folder:
    return next(f for f in source.folders() if f.key.endswith("sent.mbox"))


def test_pages_after_a_sample_equal_pages_without_one(tmp_path: Path) -> None:
    root = write_mailbox(tmp_path / "alice", 600)
    plain = FileSource([root])
    expected = _pages(plain, _sent(plain))

    sampled = FileSource([root])
    head = sampled.sample(_sent(sampled), 100)
    assert len(head) == 100 and all(isinstance(i, MailItem) for i in head)
    assert [i.source_id for i in head] == [i.source_id for i in expected[0].items[:100]]
    assert _pages(sampled, _sent(sampled)) == expected
    # The kept sample serves one reading only: a second reading parses the file again.
    assert _pages(sampled, _sent(sampled)) == expected


def test_a_file_changed_after_the_sample_is_read_afresh(tmp_path: Path) -> None:
    root = write_mailbox(tmp_path / "alice", 300)
    source = FileSource([root])
    folder = _sent(source)
    before = source.sample(folder, 20)
    path = root / "sent.mbox"
    box = mailbox.mbox(path)
    first_key = next(iter(box.keys()))
    message = box[first_key]
    message.replace_header("Subject", "Rewritten after the sample")
    box[first_key] = message
    box.close()
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))

    items = [i for page in source.pages(folder, None) for i in page.items]
    assert isinstance(before[0], MailItem) and before[0].subject != "Rewritten after the sample"
    assert isinstance(items[0], MailItem) and items[0].subject == "Rewritten after the sample"
    assert all(i.sender is not None for i in items if isinstance(i, MailItem))
    assert OWNER in {i.sender.email for i in items if isinstance(i, MailItem) and i.sender}
