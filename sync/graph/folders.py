"""Every mail folder of a mailbox, for mailboxes synced with ``all_folders``.

Folders that hold no correspondence are left out: Drafts (never sent), Deleted Items, Junk
Email, Outbox, Conversation History (Teams), and Graph's hidden folders. Inbox and Sent Items
keep their well-known names as keys (the same cursors as the default Inbox + Sent Items sync);
other folders are keyed by their (stable) id.
"""

from __future__ import annotations

import urllib.parse

from sync.errors import AuthFailed, SyncError, TransientError
from sync.graph.client import GraphClient
from sync.items import Folder, FolderKind

SKIPPED = ("drafts", "deleteditems", "junkemail", "outbox", "conversationhistory")
KEYED = {"sentitems": ("SentItems", FolderKind.SENT), "inbox": ("Inbox", FolderKind.INBOX)}
MAX_FOLDERS = 5_000  # a bound on the walk; mailboxes have at most a few thousand folders
PAGE = "100"


def list_folders(client: GraphClient) -> list[Folder]:
    """Sent Items first (it tells the owner's aliases), then Inbox, then the rest by id."""
    known = {name: _well_known_id(client, name) for name in (*SKIPPED, *KEYED)}
    skipped = {known[name] for name in SKIPPED if known[name]}
    keyed = {known[name]: KEYED[name] for name in KEYED if known[name]}
    found: dict[str, Folder] = {}
    pending = [client.user_url("/mailFolders")]
    while pending and len(found) < MAX_FOLDERS:
        url: str | None = pending.pop()
        params: dict[str, str] | None = {"$top": PAGE, "$select": "id,childFolderCount"}
        while url:
            body = client.get(url, params)
            for folder in body.get("value") or []:
                folder_id = str(folder.get("id") or "")
                if not folder_id or folder_id in skipped:
                    continue
                key, kind = keyed.get(folder_id, (folder_id, FolderKind.OTHER))
                found[key] = Folder(key, kind)
                if int(folder.get("childFolderCount") or 0) > 0:
                    segment = urllib.parse.quote(folder_id, safe="")
                    pending.append(client.user_url(f"/mailFolders/{segment}/childFolders"))
            following = body.get("@odata.nextLink")
            url, params = (following if isinstance(following, str) else None), None
    order = {FolderKind.SENT: 0, FolderKind.INBOX: 1}
    return sorted(found.values(), key=lambda f: (order.get(f.kind, 2), f.key))


def _well_known_id(client: GraphClient, name: str) -> str | None:
    try:
        return str(client.get(client.user_url(f"/mailFolders/{name}"), {"$select": "id"})["id"])
    except (AuthFailed, TransientError):
        raise
    except (SyncError, KeyError):
        return None  # a mailbox may lack a well-known folder (no Conversation History)
