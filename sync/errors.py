"""What a source raises, so the engine can decide: retry later, stop the mailbox, or resync.

See the state machine in ``sync.engine``'s docstring.
"""

from __future__ import annotations


class SyncError(Exception):
    """A source failed; the engine records it on the mailbox and retries with back-off."""


class TransientError(SyncError):
    """A network fault or server error that is worth retrying."""


class Throttled(TransientError):
    """The provider asked us to slow down; ``retry_after`` seconds when it said how long."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AuthFailed(SyncError):
    """Credentials rejected or consent revoked: the mailbox stops until an admin acts."""


class CursorExpired(SyncError):
    """The stored cursor is no longer valid (HTTP 410, a changed file): read the folder again."""


class MailboxBusy(Exception):
    """Another pass holds the mailbox's lease (``storage.leases``): nothing was read or
    recorded; try again later. Not a ``SyncError``: the mailbox itself is fine."""


class LeaseLost(MailboxBusy):
    """This pass's lease lapsed and another pass took the mailbox: it stops at once, its last
    page rolled back; the run is recorded as interrupted and the mailbox left to the other."""
