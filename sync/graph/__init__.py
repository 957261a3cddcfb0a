"""Microsoft Graph sync: app-only access, mail and calendar delta, one pass per mailbox.

Public entry points (what the CLI, the scheduler and change notifications call):

- ``run_mailbox(db, config, mailbox_id) -> GraphRun``: one delta pass over one enabled Graph
  mailbox (Inbox, Sent Items and the calendar by default). It never raises for a Graph or
  network failure: the failure is recorded on the mailbox (status, reason, next retry) and
  returned in ``GraphRun.status``. Safe to call from any thread; a second call for a mailbox
  whose pass is already running in this process returns at once with status ``"busy"``.
- ``run_due(db, config) -> list[GraphRun]``: one pass over every enabled Graph mailbox that is
  due (not stopped for credentials, and past its next retry time); one failing mailbox never
  stops the others. ``python app.py sync`` and the scheduler's periodic job call it.
- ``connect(db, config)``: a context manager yielding an authenticated O365 ``Account`` for the
  configured tenant (app-only, client credentials through msal), for other Graph calls such as
  subscriptions. Raises ``sync.errors.AuthFailed`` when the tenant is not configured or the
  identity platform refuses the credentials.

Package layout (client -> wire types -> pure parsing -> source, docs/graph.md):
``settings`` reads the configuration; ``tenant`` stores the app registration (credential
encrypted) and the mailboxes' options; ``auth`` builds msal and O365 objects (``connect``);
``transport`` holds the retry policy and the per-mailbox request limit; ``client`` makes
requests and maps errors; ``wire``, ``messages`` and ``events`` parse Graph JSON into
``sync.items``; ``folders`` lists a mailbox's folders; ``prefetch`` reads a page ahead;
``source`` is the ``sync.source.Source``; ``runner`` runs passes; ``cli`` backs the commands.
"""

from __future__ import annotations

__all__ = ["GraphRun", "connect", "run_due", "run_mailbox"]

from sync.graph.auth import connect
from sync.graph.runner import GraphRun, run_due, run_mailbox
