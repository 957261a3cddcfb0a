"""Companies re-keyed when the rules that make them change (migrations 0014 and 0017).

A company is keyed by ``sync.normalize.domains.company_domain`` of a person's work address and
named by ``company_name`` (``storage.companies.CompanyBook``). When those rules change, a store
made before holds companies the rules would no longer make. These functions bring it in line
and never touch a person whose company a colleague set (provenance ``user``).
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from typing import Any

import idna
import sqlalchemy as sa

from storage.migrations.provenance import set_by_user
from sync.normalize.domains import (
    company_domain,
    company_name,
    is_free_mail,
    is_umbrella,
    registrable_domain,
)

DOMAINS = sa.text("SELECT domain, company_id FROM company_domains")


def drop_free_mail(bind: sa.Connection) -> None:
    """Each free-mail domain leaves its company; a person leaves a company that way unless
    one of their addresses is at a domain the company keeps; a company left with no domain
    and no person is deleted."""
    domains = bind.execute(DOMAINS).all()
    free = [(str(d), int(c)) for d, c in domains if is_free_mail(str(d))]
    if not free:
        return
    touched = sorted({c for _, c in free})
    kept: dict[int, set[str]] = defaultdict(set)
    for domain, company in domains:
        if company in touched and not is_free_mail(str(domain)):
            kept[int(company)].add(str(domain))
    bind.execute(
        sa.text("DELETE FROM company_domains WHERE domain = :domain"),
        [{"domain": d} for d, _ in free],
    )
    leaving = [
        {"pid": pid}
        for pid, company, provenance in _people(bind, touched)
        if not set_by_user(provenance, "company")
        and not (kept[company] and _work_domains(bind, pid) & kept[company])
    ]
    if leaving:
        bind.execute(sa.text("UPDATE people SET company_id = NULL WHERE id = :pid"), leaving)
    for company in touched:
        if kept[company]:
            bind.execute(
                sa.text(
                    "UPDATE companies SET primary_domain = :domain"
                    " WHERE id = :id AND primary_domain NOT IN :kept"
                ).bindparams(sa.bindparam("kept", expanding=True)),
                {"id": company, "domain": min(kept[company]), "kept": sorted(kept[company])},
            )
            continue
        _delete_if_empty(bind, company)


def split_umbrellas(bind: sa.Connection) -> None:
    """A company keyed by an umbrella (``ca.gov``) gives each of its people an address at an
    agency under it (``cpuc.ca.gov``) to that agency's company, found or created; people at
    the umbrella's own domain, or at another domain of the company, stay. A company left with
    no person is deleted with its domains."""
    domains = bind.execute(DOMAINS).all()
    owned: dict[int, set[str]] = defaultdict(set)
    for domain, company in domains:
        owned[int(company)].add(str(domain))
    umbrellas = sorted(c for c, ds in owned.items() if any(is_umbrella(d) for d in ds))
    if not umbrellas:
        return
    moves: dict[int, str] = {}
    for pid, company, provenance in _people(bind, umbrellas):
        keys = _work_domains(bind, pid)
        if set_by_user(provenance, "company") or keys & owned[company]:
            continue
        agencies = sorted(
            k for k in keys if k != registrable_domain(k) and is_umbrella(registrable_domain(k))
        )
        if agencies:
            moves[pid] = agencies[0]
    ids = _companies(bind, set(moves.values()))
    if moves:
        bind.execute(
            sa.text("UPDATE people SET company_id = :company WHERE id = :pid"),
            [{"pid": pid, "company": ids[key]} for pid, key in sorted(moves.items())],
        )
    for company in umbrellas:
        _delete_if_empty(bind, company)


def rename_guesses(bind: sa.Connection) -> None:
    """A company still named as the first rule guessed from its domain (``Bp``, ``Aep``,
    ``Ca``) takes today's guess (``BP``, ``AEP``, ``CA``)."""
    renamed = [
        {"id": int(cid), "name": company_name(str(domain))}
        for cid, name, domain in bind.execute(
            sa.text("SELECT id, name, primary_domain FROM companies")
        )
        if name == _first_guess(str(domain)) and company_name(str(domain)) != name
    ]
    if renamed:
        bind.execute(sa.text("UPDATE companies SET name = :name WHERE id = :id"), renamed)


def _first_guess(registrable: str) -> str:
    """``company_name`` as it was until migration 0017: every word capitalised."""
    label = registrable.split(".", 1)[0]
    if label.startswith("xn--"):
        with contextlib.suppress(idna.IDNAError):
            label = idna.decode(label)
    words = label.replace("_", "-").split("-")
    return " ".join(w[:1].upper() + w[1:] for w in words if w) or registrable


def _companies(bind: sa.Connection, keys: set[str]) -> dict[str, int]:
    """The company of each key, created (with its domain) when missing."""
    if not keys:
        return {}
    query = sa.text(
        "SELECT domain, company_id FROM company_domains WHERE domain IN :keys"
    ).bindparams(sa.bindparam("keys", expanding=True))
    found = {str(d): int(c) for d, c in bind.execute(query, {"keys": sorted(keys)})}
    for key in sorted(keys - found.keys()):
        found[key] = int(
            bind.execute(
                sa.text(
                    "INSERT INTO companies (name, primary_domain, created_at)"
                    " VALUES (:name, :key, CURRENT_TIMESTAMP) RETURNING id"
                ),
                {"name": company_name(key), "key": key},
            ).scalar_one()
        )
        bind.execute(
            sa.text("INSERT INTO company_domains (domain, company_id) VALUES (:key, :id)"),
            {"key": key, "id": found[key]},
        )
    return found


def _delete_if_empty(bind: sa.Connection, company: int) -> None:
    people = bind.execute(
        sa.text("SELECT count(*) FROM people WHERE company_id = :id"), {"id": company}
    ).scalar_one()
    if not people:
        bind.execute(sa.text("DELETE FROM company_domains WHERE company_id = :id"), {"id": company})
        bind.execute(sa.text("DELETE FROM companies WHERE id = :id"), {"id": company})


def _people(bind: sa.Connection, companies: list[int]) -> list[tuple[int, int, Any]]:
    query = sa.text(
        "SELECT id, company_id, provenance FROM people WHERE company_id IN :ids"
    ).bindparams(sa.bindparam("ids", expanding=True))
    return [(int(r[0]), int(r[1]), r[2]) for r in bind.execute(query, {"ids": companies})]


def _work_domains(bind: sa.Connection, person: int) -> set[str]:
    """The keys (``company_domain``) of a person's addresses."""
    rows = bind.execute(
        sa.text("SELECT domain FROM email_addresses WHERE person_id = :id"), {"id": person}
    )
    return {company_domain(str(r[0])) for r in rows if r[0]}
