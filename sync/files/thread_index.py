"""A message's conversation id from Outlook's ``Thread-Index`` header.

``Thread-Index`` is the base64 of ``PidTagConversationIndex`` ([MS-OXOMSG] 2.2.1.3): a 22-byte
header (a reserved byte, 5 bytes of FILETIME, a 16-byte GUID) that the first message of a
thread creates, followed by one 5-byte block per reply. Replies copy the header and append a
block, so the header alone is what every message of the thread shares: the conversation id is
the base64 of those 22 bytes. A value of another shape is kept as it is (made storable).
Exchange's own ``X-MS-Exchange-Conversation-Id`` is used when there is no ``Thread-Index``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from sync.items import MAX_CONVERSATION_ID
from sync.normalize.text import identifier

HEADER_BYTES = 22
REPLY_BYTES = 5


def conversation_id(headers: Mapping[str, str]) -> str | None:
    thread_index = headers.get("thread-index")
    if thread_index:
        return identifier(thread_header(thread_index), MAX_CONVERSATION_ID)
    return identifier(headers.get("x-ms-exchange-conversation-id"), MAX_CONVERSATION_ID)


def thread_header(thread_index: str) -> str:
    """The base64 of the thread's 22-byte header, or ``thread_index`` when it has another shape."""
    compact = "".join(thread_index.split())
    try:
        raw = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return thread_index
    if len(raw) < HEADER_BYTES or (len(raw) - HEADER_BYTES) % REPLY_BYTES:
        return thread_index
    return base64.b64encode(raw[:HEADER_BYTES]).decode("ascii")
