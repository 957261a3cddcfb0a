"""What migrations that clean stored names share (0016, 0019)."""

from __future__ import annotations

import sqlalchemy as sa

from storage.migrations.provenance import set_by_user
from sync.normalize.addresses import normalize_name


def clean_names(bind: sa.Connection, candidates: sa.TextClause) -> int:
    """Normalise again each name ``candidates`` selects (``id, display_name, provenance``),
    unless a colleague set it by hand or the cleaned name would be empty; returns how many
    changed."""
    changed = []
    for pid, name, provenance in bind.execute(candidates):
        cleaned = normalize_name(str(name))
        if cleaned and cleaned != name and not set_by_user(provenance, "name"):
            changed.append({"id": int(pid), "name": cleaned})
    if changed:
        bind.execute(sa.text("UPDATE people SET display_name = :name WHERE id = :id"), changed)
    return len(changed)
