"""The store's content by natural keys, so two imports can be compared whatever their row ids.

Run records and audit rows are left out on purpose: they describe runs, not data.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import (
    Colleague,
    Company,
    EmailAddress,
    Interaction,
    InteractionKey,
    Mailbox,
    Participant,
    Person,
    Relationship,
    Sighting,
)


def snapshot(session: Session) -> dict[str, Any]:
    addresses: dict[int, list[str]] = defaultdict(list)
    for person_id, address in session.execute(select(EmailAddress.person_id, EmailAddress.address)):
        addresses[person_id].append(address)
    person = {pid: tuple(sorted(found)) for pid, found in addresses.items()}
    keys: dict[int, list[str]] = defaultdict(list)
    for iid, key in session.execute(select(InteractionKey.interaction_id, InteractionKey.key)):
        keys[iid].append(key)
    interaction = {iid: tuple(sorted(found)) for iid, found in keys.items()}
    address_of = dict(session.execute(select(EmailAddress.id, EmailAddress.address)).tuples().all())
    mailbox_of = dict(session.execute(select(Mailbox.id, Mailbox.address)).tuples().all())
    names = session.execute(select(Person.id, Person.display_name, Person.merged_into_id))
    return {
        "people": sorted(
            (person.get(pid, ()), name, merged is not None) for pid, name, merged in names
        ),
        "companies": sorted(session.scalars(select(Company.primary_domain))),
        "interactions": sorted(
            (interaction[i.id], i.kind, i.occurred_at.isoformat(), i.subject or "", i.is_internal)
            for i in session.scalars(select(Interaction))
        ),
        "participants": sorted(
            (interaction[p.interaction_id], address_of[p.address_id], p.role, p.response or "")
            for p in session.scalars(select(Participant))
        ),
        "sightings": sorted(
            (interaction[s.interaction_id], mailbox_of[s.mailbox_id], s.folder, s.direction)
            for s in session.scalars(select(Sighting))
        ),
        "relationships": sorted(
            (
                person[r.a_id],
                person[r.b_id],
                r.email_ab,
                r.email_ba,
                r.meetings,
                r.first_at.isoformat(),
                r.last_at.isoformat(),
            )
            for r in session.scalars(select(Relationship))
        ),
        # Each colleague's newest email to anyone (the quiet factor's clock).
        "clocks": sorted(
            (person.get(c.person_id, ()), c.last_sent_at.isoformat() if c.last_sent_at else "")
            for c in session.scalars(select(Colleague))
        ),
    }
