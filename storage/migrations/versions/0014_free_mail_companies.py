"""Companies made from free and consumer mail domains go: since the free-mail list is HubSpot's
(4,778 domains, `sync.normalize.domains.free_mail_domains`) instead of 76 of our own, domains
such as ``rr.com`` and ``mindspring.com`` say nothing about an employer. The Enron import had
made 48 such companies ("Rr" with 124 people, each a Road Runner subscriber).

Each free-mail domain leaves its company; a person leaves a company that way unless a
colleague set their company (provenance ``user``) or one of their addresses is at a domain the
company keeps; a company left with no domain and no person is deleted. Nothing to undo: a
downgrade keeps the store as it is.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from alembic import op

from storage.migrations.companies import drop_free_mail

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    drop_free_mail(op.get_bind())


def downgrade() -> None:
    pass
