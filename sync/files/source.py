"""``FileSource``: mail and calendar files as a ``sync.source.Source``.

Paths may be single ``.eml`` files, folders of them, Maildir folders (``cur``/``new``), mbox
files, and iCalendar ``.ics`` files; folders are searched recursively. Each mbox, ``.ics``,
Maildir and folder of ``.eml`` files is one ``Folder`` with its own cursor:

- mbox and ``.ics``: ``{"offset": next byte, "fingerprint": hash of the file's first KiB}``; a
  file whose start changed, or that shrank below the offset, raises ``CursorExpired`` and is
  read again from the start (the engine's upserts make that harmless).
- Maildir and ``.eml`` folders: ``{"after": last file name read}`` in sorted order.

A folder's kind comes from its name: ``sent``, ``sent_items``, ``_sent_mail``, ``Sent Items`` are
Sent folders (read first: they tell the mailbox owner's aliases), ``calendar`` and ``.ics`` files
are calendars, ``inbox`` is the Inbox.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from storage.types import utcnow
from sync.errors import CursorExpired
from sync.files.ics import HORIZON, parse_group, read_event_groups
from sync.files.mbox import MAX_KEPT, read_mbox
from sync.files.message import parse_message
from sync.items import Folder, FolderKind, MailItem, Page, Unreadable

# Items per page, one transaction each (Graph's largest page too): larger pages commit less
# often; each still holds SQLite's write lock well under a second.
PAGE_SIZE = 1000
FINGERPRINT_BYTES = 1024
SENT_NAMES = re.compile(r"^[._]*(sent|sent[ _-]?items|sent[ _-]?mail|gesendet.*|envoy.*)$", re.I)
KIND_BY_NAME = {"inbox": FolderKind.INBOX, "calendar": FolderKind.CALENDAR}


class Format(enum.StrEnum):
    MBOX = "mbox"
    ICS = "ics"
    FILES = "files"  # a Maildir or a folder of .eml files


# (offset where the next item starts, the items parsed, bytes consumed) for one message or
# one group of calendar events.
Parsed = tuple[int, list[MailItem | Unreadable], int]


@dataclass(frozen=True, slots=True)
class FileFolder:
    folder: Folder
    format: Format
    path: Path


class FileSource:
    name = "files"

    def __init__(self, paths: Iterable[Path], *, horizon: datetime | None = None) -> None:
        found = [f for path in paths for f in discover(Path(path))]
        self._folders = {f.folder.key: f for f in found}
        # Items parsed by ``sample``, by folder key, with the file's (size, mtime) then.
        self._sampled: dict[str, tuple[tuple[int, int], list[Parsed]]] = {}
        self.horizon = horizon or utcnow() + HORIZON

    def folders(self) -> Sequence[Folder]:
        order = {
            FolderKind.SENT: 0,
            FolderKind.INBOX: 1,
            FolderKind.OTHER: 2,
            FolderKind.CALENDAR: 3,
        }
        return sorted(
            (f.folder for f in self._folders.values()), key=lambda f: (order[f.kind], f.key)
        )

    def total_size(self, folder: Folder) -> int:
        entry = self._folders[folder.key]
        if entry.format == Format.FILES:
            return sum(p.stat().st_size for p in _message_files(entry.path))
        return entry.path.stat().st_size

    def sample(self, folder: Folder, limit: int) -> list[MailItem | Unreadable]:
        """The first ``limit`` items of ``folder``, parsed lazily (for owner inference).

        For mbox and ``.ics`` files the parsed items are kept until the folder is read, which
        starts with them instead of parsing them again (unless the file changed meanwhile).
        """
        entry = self._folders[folder.key]
        if entry.format == Format.FILES:
            paths = _message_files(entry.path)[:limit]
            return [parse_message(_head(p), p.name, folder.kind) for p in paths]
        stamp = _stamp(entry.path)
        head: list[Parsed] = []
        count = 0
        for parsed in self._stream(entry, 0):
            head.append(parsed)
            count += len(parsed[1])
            if count >= limit:
                break
        self._sampled[folder.key] = (stamp, head)
        return [item for _, items, _ in head for item in items][:limit]

    def pages(self, folder: Folder, cursor: str | None) -> Iterator[Page]:
        entry = self._folders[folder.key]
        if entry.format == Format.FILES:
            return self._file_pages(entry, cursor)
        return self._stream_pages(entry, cursor)

    def _stream_pages(self, entry: FileFolder, cursor: str | None) -> Iterator[Page]:
        fingerprint = _fingerprint(entry.path)
        start = _offset(entry.path, cursor, fingerprint)
        items: list[MailItem | Unreadable] = []
        consumed = 0
        for end, parsed, size in self._stream(entry, start):
            items.extend(parsed)
            consumed += size
            if len(items) >= PAGE_SIZE:
                yield Page(tuple(items), _cursor(end, fingerprint), consumed)
                items, consumed = [], 0
        if items or consumed:
            yield Page(
                tuple(items), _cursor(start + consumed if not items else end, fingerprint), consumed
            )

    def _stream(self, entry: FileFolder, start: int) -> Iterator[Parsed]:
        sampled = self._sampled.pop(entry.folder.key, None)
        if start == 0 and sampled is not None and sampled[0] == _stamp(entry.path) and sampled[1]:
            yield from sampled[1]
            start = sampled[1][-1][0]
        if entry.format == Format.MBOX:
            for raw in read_mbox(entry.path, start):
                yield (
                    raw.end,
                    [parse_message(raw.data, f"mbox@{raw.offset}", entry.folder.kind)],
                    (raw.end - raw.offset),
                )
            return
        for group, timezones in read_event_groups(entry.path, start):
            yield group.end, parse_group(group, timezones, self.horizon), group.end - group.offset

    def _file_pages(self, entry: FileFolder, cursor: str | None) -> Iterator[Page]:
        after = json.loads(cursor)["after"] if cursor else ""
        root = entry.path
        items: list[MailItem | Unreadable] = []
        consumed = 0
        for path in _message_files(root):
            name = path.relative_to(root).as_posix()
            if name <= after:
                continue
            items.append(parse_message(_head(path), name, entry.folder.kind))
            consumed += path.stat().st_size
            if len(items) >= PAGE_SIZE:
                yield Page(tuple(items), json.dumps({"after": name}), consumed)
                items, consumed = [], 0
        if items:
            yield Page(tuple(items), json.dumps({"after": name}), consumed)


def discover(path: Path) -> list[FileFolder]:
    """Every readable folder under ``path``; raises ValueError for a path that holds none."""
    if path.is_file():
        found = [_file_folder(path, path.name)] if _format_of(path) else []
        if path.suffix.lower() == ".eml":
            found = [FileFolder(Folder(path.name, _kind(path.stem)), Format.FILES, path)]
    else:
        found = list(_walk(path, path))
    if not found:
        raise ValueError(f"{path}: no .eml, Maildir, mbox or .ics mail found")
    return found


def _walk(root: Path, directory: Path) -> Iterator[FileFolder]:
    key = directory.relative_to(root.parent).as_posix()
    if (directory / "cur").is_dir() and (directory / "new").is_dir():
        yield FileFolder(Folder(key, _kind(directory.name)), Format.FILES, directory)
        return
    children = sorted(directory.iterdir())
    if any(c.suffix.lower() == ".eml" and c.is_file() for c in children):
        yield FileFolder(Folder(key, _kind(directory.name)), Format.FILES, directory)
    for child in children:
        if child.is_dir():
            yield from _walk(root, child)
        elif _format_of(child):
            yield _file_folder(child, child.relative_to(root.parent).as_posix())


def _file_folder(path: Path, key: str) -> FileFolder:
    file_format = _format_of(path)
    assert file_format is not None
    kind = FolderKind.CALENDAR if file_format == Format.ICS else _kind(path.stem)
    return FileFolder(Folder(key, kind), file_format, path)


def _format_of(path: Path) -> Format | None:
    suffix = path.suffix.lower()
    if suffix == ".ics":
        return Format.ICS
    if suffix in (".mbox", ".mbx"):
        return Format.MBOX
    if suffix == "" and path.is_file():
        with path.open("rb") as file:
            return Format.MBOX if file.read(5) == b"From " else None
    return None


def _kind(name: str) -> FolderKind:
    name = name.strip().lower()
    if SENT_NAMES.match(name):
        return FolderKind.SENT
    return KIND_BY_NAME.get(name.lstrip("._"), FolderKind.OTHER)


def _message_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    if (root / "cur").is_dir():
        return sorted(p for sub in ("cur", "new") for p in (root / sub).iterdir() if p.is_file())
    return sorted(p for p in root.iterdir() if p.suffix.lower() == ".eml" and p.is_file())


def _head(path: Path) -> bytes:
    with path.open("rb") as file:
        return file.read(MAX_KEPT)


def _stamp(path: Path) -> tuple[int, int]:
    status = path.stat()
    return status.st_size, status.st_mtime_ns


def _fingerprint(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.sha1(file.read(FINGERPRINT_BYTES), usedforsecurity=False).hexdigest()


def _cursor(offset: int, fingerprint: str) -> str:
    return json.dumps({"offset": offset, "fingerprint": fingerprint})


def _offset(path: Path, cursor: str | None, fingerprint: str) -> int:
    if not cursor:
        return 0
    try:
        saved = json.loads(cursor)
        offset, saved_fingerprint = int(saved["offset"]), str(saved["fingerprint"])
    except (ValueError, KeyError, TypeError) as error:
        raise CursorExpired(f"{path}: unreadable cursor") from error
    if saved_fingerprint != fingerprint or offset > path.stat().st_size:
        raise CursorExpired(f"{path}: the file changed since it was last read")
    return offset
