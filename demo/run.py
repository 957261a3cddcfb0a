"""The one-command demo: generate Harbour Law (once per scale and seed), import every mailbox
through the ordinary file importer, make the managing partner an admin and issue their token.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update

from config import ROOT
from demo.generate import DemoFirm, generate
from storage.db import DEFAULT_URL, Database
from storage.models import Colleague

DEMO_DIR = ROOT / "var" / "demo"
STAMP = ".generated.json"  # what the files in DEMO_DIR were generated with
SEED = 7
GENERATOR_VERSION = 2  # bump when generate() changes its output, to regenerate old files
TOKEN_TTL = timedelta(hours=12)


@dataclass(frozen=True)
class DemoEnvironment:
    config: dict[str, Any]
    token: str
    sample_email: str

    def sample_url(self, port: int) -> str:
        return f"http://127.0.0.1:{port}/api/v1/people?email={self.sample_email}"


def prepare_demo(
    config: Mapping[str, Any],
    *,
    scale: float = 1.0,
    echo: Callable[[str], None] = print,
    out_dir: Path = DEMO_DIR,
) -> DemoEnvironment:
    """Generate, import and sign in to the demo firm; ``config`` is copied, not changed."""
    from api.tokens import issue_dev_token

    settings = dict(config)
    settings["RAPPORT_FIRM_DOMAINS"] = "harbourlaw.example"
    settings["RAPPORT_DEV_AUTH"] = "1"
    settings["DATABASE_URL"] = settings.get("DATABASE_URL") or DEFAULT_URL
    firm = generated(out_dir, scale, echo)
    admin = _first_partner(firm)
    db = Database(settings["DATABASE_URL"])
    try:
        db.upgrade()
        import_firm(db, settings, firm, echo)
        with db.transaction() as session:
            session.execute(update(Colleague).where(Colleague.email == admin).values(is_admin=True))
    finally:
        db.dispose()
    token = issue_dev_token(settings, admin, admin=True, ttl=TOKEN_TTL)
    echo(f"admin: {admin}")
    return DemoEnvironment(settings, token, firm.sample_external_email)


def generated(out_dir: Path, scale: float, echo: Callable[[str], None]) -> DemoFirm:
    """The demo firm under ``out_dir``, generated unless a stamp says it already is."""
    stamp = out_dir / STAMP
    wanted = {"scale": scale, "seed": SEED, "version": GENERATOR_VERSION}
    if stamp.exists():
        saved = json.loads(stamp.read_text(encoding="utf-8"))
        if saved.get("made_with") == wanted:
            echo(f"demo files already in {out_dir} (scale {scale})")
            return _firm(saved["firm"])
    echo(f"generating the demo firm in {out_dir} (scale {scale}) ...")
    firm = generate(out_dir, scale=scale, seed=SEED)
    echo(f"{len(firm.colleagues)} mailboxes, {firm.message_count:,} messages")
    record = {"made_with": wanted, "firm": asdict(firm)}
    stamp.write_text(json.dumps(record, default=str, indent=1), encoding="utf-8")
    return firm


def import_firm(
    db: Database, config: dict[str, Any], firm: DemoFirm, echo: Callable[[str], None]
) -> None:
    from sync.dedupe import dedupe
    from sync.importer import ImportResult, import_paths

    results = []
    for email, directory in firm.mailbox_dirs.items():
        result = import_paths(db, config, [[directory]], mailbox=email)[0]
        echo(result.summary())
        results.append(result)
    echo(ImportResult.total(results).summary())
    echo(dedupe(db).summary())


def _firm(saved: dict[str, Any]) -> DemoFirm:
    saved = dict(saved)
    saved["colleagues"] = [tuple(c) for c in saved["colleagues"]]
    saved["mailbox_dirs"] = {k: Path(v) for k, v in saved["mailbox_dirs"].items()}
    return DemoFirm(**saved)


def _first_partner(firm: DemoFirm) -> str:
    partners = [email for _, email, title in firm.colleagues if "Partner" in title]
    return (partners or [firm.colleagues[0][1]])[0]
