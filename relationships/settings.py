"""Admin-tunable strength weights, stored in ``settings`` under ``relationships.weights``.

Only the values in ``BOUNDS`` can be changed, each within its bounds, so a typo cannot turn
every tie strong or divide by zero. The stored aggregates are computed with the weights of the
time, so a change is followed by a rebuild (``python app.py rebuild`` or the scheduler); the
follow-up term reads only each side's newest message, which does not depend on any weight. A
full rebuild records the part of the weights the sums depend on (``mark_rebuilt``), so a
change whose rebuild never ran is noticed (``rebuild_due``, ``sync.handover.reconcile``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from relationships.strength import DEFAULT, Weights
from storage.models import AuditEvent, Setting
from storage.types import utcnow

KEY = "relationships.weights"
# The part of the weights the stored aggregates were last rebuilt with (``mark_rebuilt``):
# when it differs from the current weights, a rebuild is due (``rebuild_due``).
BUILT_KEY = "relationships.weights_built"
# name -> (low, high); role weights are keyed "role.to", "role.cc", "role.bcc".
BOUNDS: dict[str, tuple[float, float]] = {
    "role.to": (0.0, 2.0),
    "role.cc": (0.0, 2.0),
    "role.bcc": (0.0, 2.0),
    "audience_alpha": (0.0, 1.0),
    "max_email_audience": (1, 500),
    "meeting": (0.0, 10.0),
    "max_meeting": (2, 500),
    "inbound": (0.0, 2.0),
    "reciprocity": (0.0, 5.0),
    "warm_half_life_days": (7, 365),
    "history_half_life_days": (90, 3650),
    "warm_share": (0.0, 1.0),
    "r0_per_day": (0.001, 10.0),
    "follow_up": (0.0, 1.0),
    "follow_up_half_life_days": (1, 365),
    "follow_up_received": (0.0, 1.0),
    "unanswered": (0.0, 1.0),
    "unanswered_after": (1, 1000),
    "quiet_after_days": (7, 3650),
    "quiet_width_days": (1, 365),
    "quiet_floor": (0.0, 1.0),
}
INTEGERS = frozenset({"max_email_audience", "max_meeting", "unanswered_after"})


class InvalidWeights(ValueError):
    """A change names an unknown weight or puts one outside its bounds."""


def flat(weights: Weights) -> dict[str, float]:
    """The tunable values of ``weights`` under their ``BOUNDS`` names."""
    return {
        **{f"role.{k}": v for k, v in weights.role.items() if k in ("to", "cc", "bcc")},
        "audience_alpha": weights.audience_alpha,
        "max_email_audience": weights.max_email_audience,
        "meeting": weights.meeting,
        "max_meeting": weights.max_meeting,
        "inbound": weights.inbound,
        "reciprocity": weights.reciprocity,
        "warm_half_life_days": weights.half_lives[0],
        "history_half_life_days": weights.half_lives[1],
        "warm_share": weights.mix[0],
        "r0_per_day": weights.r0_per_day,
        "follow_up": weights.follow_up,
        "follow_up_half_life_days": weights.follow_up_half_life,
        "follow_up_received": weights.follow_up_received,
        "unanswered": weights.unanswered,
        "unanswered_after": weights.unanswered_after,
        "quiet_after_days": weights.quiet_after,
        "quiet_width_days": weights.quiet_width,
        "quiet_floor": weights.quiet_floor,
    }


def from_flat(values: Mapping[str, float]) -> Weights:
    role = {**DEFAULT.role, **{k[5:]: float(v) for k, v in values.items() if k.startswith("role.")}}
    warm, history = values["warm_half_life_days"], values["history_half_life_days"]
    return dataclasses.replace(
        DEFAULT,
        role=role,
        audience_alpha=float(values["audience_alpha"]),
        max_email_audience=int(values["max_email_audience"]),
        meeting=float(values["meeting"]),
        max_meeting=int(values["max_meeting"]),
        inbound=float(values["inbound"]),
        reciprocity=float(values["reciprocity"]),
        half_lives=(float(warm), float(history)),
        mix=(float(values["warm_share"]), 1.0 - float(values["warm_share"])),
        r0_per_day=float(values["r0_per_day"]),
        follow_up=float(values["follow_up"]),
        follow_up_half_life=float(values["follow_up_half_life_days"]),
        follow_up_received=float(values["follow_up_received"]),
        unanswered=float(values["unanswered"]),
        unanswered_after=int(values["unanswered_after"]),
        quiet_after=float(values["quiet_after_days"]),
        quiet_width=float(values["quiet_width_days"]),
        quiet_floor=float(values["quiet_floor"]),
    )


def validate(changes: Mapping[str, Any], current: Weights) -> Weights:
    unknown = sorted(set(changes) - set(BOUNDS))
    if unknown:
        raise InvalidWeights(f"unknown weights: {', '.join(unknown)}; tunable: {', '.join(BOUNDS)}")
    values = flat(current)
    for name, value in changes.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidWeights(f"{name}: a number is needed, got {value!r:.40}")
        low, high = BOUNDS[name]
        if not low <= value <= high:
            raise InvalidWeights(f"{name}: {value} is outside [{low}, {high}]")
        if name in INTEGERS and value != int(value):
            raise InvalidWeights(f"{name}: a whole number is needed, got {value}")
        values[name] = value
    if values["warm_half_life_days"] >= values["history_half_life_days"]:
        raise InvalidWeights("warm_half_life_days must be shorter than history_half_life_days")
    return from_flat(values)


def load_weights(session: Session) -> Weights:
    stored = session.scalar(select(Setting.value).where(Setting.key == KEY))
    if not isinstance(stored, dict):
        return DEFAULT
    return validate(stored, DEFAULT)


def save_weights(
    session: Session, changes: Mapping[str, Any], actor_id: int | None, actor: str
) -> Weights:
    """Validate and store ``changes`` on top of the current weights; audited; never commits."""
    before = load_weights(session)
    after = validate(changes, before)
    overrides = {k: v for k, v in flat(after).items() if v != flat(DEFAULT)[k]}
    row = session.get(Setting, KEY)
    if row is None:
        session.add(Setting(key=KEY, value=overrides, updated_by=actor_id))
    else:
        row.value, row.updated_by, row.updated_at = overrides, actor_id, utcnow()
    session.add(
        AuditEvent(
            actor_id=actor_id,
            actor=actor,
            action="settings.weights",
            target_type="setting",
            target_id=KEY,
            details={"before": flat(before), "after": flat(after)},
        )
    )
    return after


def stored_part(weights: Weights) -> dict[str, Any]:
    """What of ``weights`` the stored sums depend on (ingest weighs each event with it): a
    change here needs a rebuild; the others apply when a pair is scored."""
    return {
        "role": dict(sorted(weights.role.items())),
        "audience_alpha": weights.audience_alpha,
        "max_email_audience": weights.max_email_audience,
        "meeting": weights.meeting,
        "max_meeting": weights.max_meeting,
        "half_lives": list(weights.half_lives),
    }


def rebuild_due(session: Session) -> bool:
    """Whether the stored aggregates were last rebuilt with other weights than the current
    ones: a change whose rebuild never ran (the process that was to run it stopped first). A
    store never rebuilt was written with the defaults."""
    built = session.scalar(select(Setting.value).where(Setting.key == BUILT_KEY))
    written = built if isinstance(built, dict) else stored_part(DEFAULT)
    return bool(written != stored_part(load_weights(session)))


def mark_rebuilt(session: Session, weights: Weights) -> None:
    """Record that every aggregate was just recomputed with ``weights``; never commits."""
    row = session.get(Setting, BUILT_KEY)
    if row is None:
        session.add(Setting(key=BUILT_KEY, value=stored_part(weights)))
    else:
        row.value, row.updated_at = stored_part(weights), utcnow()
