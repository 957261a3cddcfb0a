"""Streaming mbox reader: messages with their byte offsets, in bounded memory.

A message starts at a line beginning with ``From `` (what the standard library's ``mailbox.mbox``
takes as the separator too). The file is read in ``CHUNK`` blocks searched for ``\\nFrom ``, and
only the first ``MAX_KEPT`` bytes of a message are kept: the header block and the start of the
body are all the parser reads, so a message carrying a 200 MB attachment, or a file without a
line break, costs no more memory than a short message.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

CHUNK = 1 << 20
MAX_KEPT = 1 << 20
SEPARATOR = b"\nFrom "


@dataclass(frozen=True, slots=True)
class RawMessage:
    offset: int  # where the message's "From " line starts
    end: int  # where the next message starts: the cursor once this one is stored
    data: bytes  # at most MAX_KEPT bytes of the message


@dataclass(slots=True)
class _Current:
    offset: int
    parts: list[bytes] = field(default_factory=list)
    kept: int = 0

    def add(self, data: bytes) -> None:
        if self.kept < MAX_KEPT and data:
            self.parts.append(data[: MAX_KEPT - self.kept])
            self.kept += len(self.parts[-1])

    def message(self, end: int) -> RawMessage | None:
        data = b"".join(self.parts)
        return RawMessage(self.offset, end, data) if data.strip() else None


def read_mbox(path: Path, start: int = 0) -> Iterator[RawMessage]:
    """Messages of ``path`` that start at or after byte ``start`` (a message boundary)."""
    with path.open("rb") as file:
        file.seek(start)
        at = start  # file offset of buffer[0]
        buffer = b""
        current = _Current(start)
        while chunk := file.read(CHUNK):
            buffer += chunk
            position = 0
            while (found := buffer.find(SEPARATOR, position)) != -1:
                current.add(buffer[position : found + 1])
                if (message := current.message(at + found + 1)) is not None:
                    yield message
                current = _Current(at + found + 1)
                position = found + 1
            # The last bytes may hold the start of a separator: keep them for the next chunk.
            safe = max(position, len(buffer) - len(SEPARATOR) + 1)
            current.add(buffer[position:safe])
            at, buffer = at + safe, buffer[safe:]
        current.add(buffer)
        if (message := current.message(at + len(buffer))) is not None:
            yield message
