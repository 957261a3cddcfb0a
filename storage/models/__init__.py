"""All models, importable from one place (Alembic's autogenerate reads ``Base.metadata``)."""

from storage.models.addin import FollowUp, Note, PrivateThread
from storage.models.admin import AuditEvent, Exclusion, Setting
from storage.models.base import Base
from storage.models.graph import CredentialKind, GraphMailbox, GraphTenant
from storage.models.mail import (
    Interaction,
    InteractionKey,
    Participant,
    Relationship,
    RelationshipDeletion,
    Sighting,
    StaleAggregate,
)
from storage.models.people import (
    Colleague,
    Company,
    CompanyDomain,
    DistinctPeople,
    DuplicateCandidate,
    EmailAddress,
    Person,
)
from storage.models.subscriptions import (
    GraphSubscription,
    Handover,
    HandoverKind,
    WatchedResource,
)
from storage.models.sync import (
    ImportRun,
    Mailbox,
    MailboxStatus,
    Provider,
    RunStatus,
    SkipRecord,
    SyncCursor,
    Visibility,
)

__all__ = [
    "AuditEvent",
    "Base",
    "Colleague",
    "Company",
    "CompanyDomain",
    "CredentialKind",
    "DistinctPeople",
    "DuplicateCandidate",
    "EmailAddress",
    "Exclusion",
    "FollowUp",
    "GraphMailbox",
    "GraphSubscription",
    "GraphTenant",
    "Handover",
    "HandoverKind",
    "ImportRun",
    "Interaction",
    "InteractionKey",
    "Mailbox",
    "MailboxStatus",
    "Note",
    "Participant",
    "Person",
    "PrivateThread",
    "Provider",
    "Relationship",
    "RelationshipDeletion",
    "RunStatus",
    "Setting",
    "Sighting",
    "SkipRecord",
    "StaleAggregate",
    "SyncCursor",
    "Visibility",
    "WatchedResource",
]
