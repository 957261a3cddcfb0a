"""Companies as ``sync.normalize.domains`` now makes them: consumer ISPs are free mail, an
umbrella domain's agencies are companies of their own, names guess acronyms.

Found on the Enron import: "Home" (home.com, Excite@Home's subscribers) with 48 people, "Pdq",
"Ev1", "Flash" and 35 more Texas and US ISPs of 2001 that HubSpot's list lacks; "Ca" (ca.gov)
holding the CPUC, the Energy Commission and the Department of Water Resources; "Fed" (fed.us)
holding FERC and the Forest Service; "Bp", "Gs" and "Aep" for BP, GS and AEP.

- The free-mail domains now listed leave their companies as in migration 0014
  (`storage.migrations.companies.drop_free_mail`, run again with the longer list).
- A company keyed by an umbrella domain (``ca.gov``, ``state.tx.us``, ``fed.us``,
  ``europa.eu``) gives each person at an agency under it to that agency's company
  (``cpuc.ca.gov``, "CPUC (ca.gov)"), found or created, and is deleted once empty.
- A company still named as the first rule guessed from its domain takes today's guess.

People whose company a colleague set are left where they are. Nothing to undo: a downgrade
keeps the store as it is.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

from alembic import op

from storage.migrations.companies import drop_free_mail, rename_guesses, split_umbrellas

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    drop_free_mail(bind)
    split_umbrellas(bind)
    rename_guesses(bind)


def downgrade() -> None:
    pass
