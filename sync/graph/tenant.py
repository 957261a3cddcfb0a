"""The tenant's app registration and credential, and which mailboxes sync through Graph.

Data functions: they take a session first and never commit. The credential is stored only as
a Fernet token (``storage.secrets``) and handed out only inside ``Credentials``, whose secret
never prints.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.addressbook import AddressBook
from storage.mailboxes import ensure_mailbox
from storage.models import (
    CredentialKind,
    GraphMailbox,
    GraphTenant,
    Mailbox,
    MailboxStatus,
    Provider,
)
from storage.secrets import Secret, SecretsUnavailable, decrypt, encrypt
from sync.errors import AuthFailed
from sync.graph.settings import GraphSettings


@dataclass(frozen=True)
class Credentials:
    tenant_id: str
    client_id: str
    kind: CredentialKind
    secret: Secret  # the client secret, or the PEM private key followed by its certificate
    thumbprint: str | None
    version: str  # changes whenever the stored credential does (token caches key on it)

    def for_msal(self) -> str | dict[str, str]:
        """``client_credential`` as msal's ConfidentialClientApplication takes it."""
        if self.kind == CredentialKind.SECRET:
            return self.secret.reveal()
        pem = self.secret.reveal()
        # With the certificate and no thumbprint, msal signs with PS256 and names the
        # certificate by its SHA-256 thumbprint (x5t#S256), as Entra ID recommends.
        return {"private_key": pem, "public_certificate": _certificate_pem(pem)}


class BadCertificate(ValueError):
    """The PEM given as a certificate credential lacks a private key or a certificate."""


def certificate_thumbprint(pem: str) -> str:
    """SHA-1 hex of the certificate in ``pem`` (what Entra ID shows and msal sends as x5t),
    after checking that ``pem`` also holds an unencrypted private key."""
    data = pem.encode("utf-8")
    try:
        serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as error:
        raise BadCertificate(f"no unencrypted PEM private key found ({error})") from error
    try:
        certificate = x509.load_pem_x509_certificate(data)
    except ValueError as error:
        raise BadCertificate("no PEM certificate found beside the private key") from error
    return certificate.fingerprint(hashes.SHA1()).hex()  # noqa: S303 - the x5t Entra expects


def _certificate_pem(pem: str) -> str:
    start = pem.index("-----BEGIN CERTIFICATE-----")
    end = pem.index("-----END CERTIFICATE-----", start) + len("-----END CERTIFICATE-----")
    return pem[start:end] + "\n"


def store_tenant(
    session: Session,
    config: Mapping[str, Any],
    tenant_id: str,
    client_id: str,
    *,
    secret: Secret | None = None,
    certificate_pem: Secret | None = None,
) -> GraphTenant:
    """Create or replace the tenant's registration; exactly one of the two credentials.

    Mailboxes stopped for credentials are set back to idle: the admin has acted."""
    if (secret is None) == (certificate_pem is None):
        raise ValueError("give either a client secret or a certificate")
    if certificate_pem is not None:
        kind, value = CredentialKind.CERTIFICATE, certificate_pem
        thumbprint: str | None = certificate_thumbprint(certificate_pem.reveal())
    else:
        assert secret is not None
        kind, value, thumbprint = CredentialKind.SECRET, secret, None
    if not value.reveal().strip():
        raise ValueError("the credential is empty")
    token = encrypt(config, value)
    tenant = session.scalar(select(GraphTenant).where(GraphTenant.tenant_id == tenant_id))
    if tenant is None:
        tenant = GraphTenant(tenant_id=tenant_id)
        session.add(tenant)
    tenant.client_id, tenant.credential_kind = client_id, kind
    tenant.credential, tenant.thumbprint = token, thumbprint
    session.execute(
        update(Mailbox)
        .where(Mailbox.provider == Provider.GRAPH, Mailbox.status == MailboxStatus.AUTH_FAILED)
        .values(status=MailboxStatus.IDLE, next_retry_at=None, failure_count=0)
    )
    session.flush()
    return tenant


def load_credentials(
    session: Session, config: Mapping[str, Any], settings: GraphSettings
) -> Credentials:
    """The credentials to sync with; ``AuthFailed`` (with what to do) when there are none."""
    query = select(GraphTenant).order_by(GraphTenant.id)
    if settings.tenant_id:
        query = query.where(GraphTenant.tenant_id == settings.tenant_id)
    tenants = session.scalars(query).all()
    if not tenants:
        wanted = f" {settings.tenant_id}" if settings.tenant_id else ""
        raise AuthFailed(
            f"no Graph tenant{wanted} configured: run `python app.py graph-tenant` first"
        )
    if len(tenants) > 1:
        raise AuthFailed("several Graph tenants are stored: set RAPPORT_GRAPH_TENANT to one")
    tenant = tenants[0]
    if settings.client_id and settings.client_id != tenant.client_id:
        raise AuthFailed(
            f"RAPPORT_GRAPH_CLIENT_ID {settings.client_id} is not the app stored for tenant "
            f"{tenant.tenant_id}: store its credential with `python app.py graph-tenant`"
        )
    try:
        secret = decrypt(config, tenant.credential)
    except SecretsUnavailable as error:
        raise AuthFailed(str(error)) from error
    return Credentials(
        tenant.tenant_id,
        tenant.client_id,
        CredentialKind(tenant.credential_kind),
        secret,
        tenant.thumbprint,
        version=tenant.updated_at.isoformat(),
    )


def enable_mailbox(
    session: Session,
    book: AddressBook,
    address: str,
    *,
    backfill_days: int | None = None,
    all_folders: bool | None = None,
    calendar: bool | None = None,
) -> Mailbox:
    """Sync ``address`` through Graph from the next pass on (created with its colleague)."""
    mailbox = ensure_mailbox(session, book, address, Provider.GRAPH)
    mailbox.provider, mailbox.enabled = Provider.GRAPH, True
    if mailbox.status in (MailboxStatus.DISABLED, MailboxStatus.AUTH_FAILED):
        mailbox.status = MailboxStatus.IDLE
    mailbox.failure_count, mailbox.next_retry_at = 0, None
    if backfill_days is not None:
        if not 1 <= backfill_days <= 36500:
            raise ValueError("the backfill window must be between 1 and 36,500 days")
        mailbox.backfill_days = backfill_days
    options = session.get(GraphMailbox, mailbox.id)
    if options is None:
        options = GraphMailbox(mailbox_id=mailbox.id, all_folders=False, calendar=True)
        session.add(options)
    if all_folders is not None:
        options.all_folders = all_folders
    if calendar is not None:
        options.calendar = calendar
    session.flush()
    return mailbox


def disable_mailbox(session: Session, address: str) -> Mailbox | None:
    """Stop syncing ``address`` (its data stays); None when there is no such mailbox."""
    mailbox = session.scalar(select(Mailbox).where(Mailbox.address == address))
    if mailbox is not None:
        mailbox.enabled, mailbox.status, mailbox.next_retry_at = False, MailboxStatus.DISABLED, None
    return mailbox


def mailbox_options(session: Session, mailbox_id: int) -> GraphMailbox:
    """The mailbox's Graph options (defaults when none were stored)."""
    found = session.get(GraphMailbox, mailbox_id)
    return found or GraphMailbox(mailbox_id=mailbox_id, all_folders=False, calendar=True)
