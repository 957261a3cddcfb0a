"""What one run read, stored and skipped; kept on the run's row, page by page."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RunStats:
    read: int = 0  # every item a source yielded, readable or not
    stored: int = 0  # new client interactions
    internal: int = 0  # new internal-only interactions (metadata for colleague ties)
    duplicate: int = 0  # already stored: only a sighting was added (if new)
    skipped: Counter[str] = field(default_factory=Counter)  # by reason
    bounced_addresses: int = 0
    merged_people: int = 0
    pairs: int = 0  # pair aggregate rows touched
    removed: int = 0  # sightings of items the source reported gone

    def skip(self, reason: str) -> None:
        self.skipped[reason] += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "stored": self.stored,
            "internal": self.internal,
            "duplicate": self.duplicate,
            "skipped": dict(sorted(self.skipped.items())),
            "bounced_addresses": self.bounced_addresses,
            "merged_people": self.merged_people,
            "pairs": self.pairs,
            "removed": self.removed,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunStats:
        stats = cls(**{k: v for k, v in data.items() if k != "skipped"})
        stats.skipped = Counter(data.get("skipped", {}))
        return stats

    def add(self, other: RunStats) -> None:
        for name in ("read", "stored", "internal", "duplicate", "bounced_addresses", "removed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.merged_people += other.merged_people
        self.pairs += other.pairs
        self.skipped.update(other.skipped)
