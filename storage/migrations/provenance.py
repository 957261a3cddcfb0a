"""What migrations need to know of a person's ``provenance`` column (``storage.corrections``
writes it: ``{"name": {"source": "user", "by": ..., "at": ...}, ...}``)."""

from __future__ import annotations

import json
from typing import Any


def set_by_user(provenance: Any, field: str) -> bool:
    """Whether a colleague set ``field`` by hand: a migration never overwrites that."""
    if isinstance(provenance, str):  # SQLite hands JSON back as text
        try:
            provenance = json.loads(provenance)
        except ValueError:
            return False
    value = provenance.get(field) if isinstance(provenance, dict) else None
    return isinstance(value, dict) and value.get("source") == "user"
