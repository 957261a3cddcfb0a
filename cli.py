"""The command line: ``python app.py <command>``. Each command is a thin shell over a function
that the tests call too; configuration comes from the environment (see docs/configuration.md).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from config import ConfigError, firm_domains, load_config
from storage.db import Database


def _config(**override: Any) -> dict[str, Any]:
    try:
        return load_config({k: v for k, v in override.items() if v is not None})
    except ConfigError as error:
        raise click.ClickException(str(error)) from error


@contextmanager
def _database(config: dict[str, Any]) -> Iterator[Database]:
    """The upgraded store for one command; its connections are closed when the command ends."""
    db = Database(config["DATABASE_URL"])
    try:
        db.upgrade()
        yield db
    finally:
        db.dispose()


@click.group()
def main() -> None:
    """Rapport: relationship intelligence from mail and calendar metadata."""
    import logsafe

    try:
        logsafe.configure(_config())  # RAPPORT_LOG_LEVEL; secrets redacted from every record
    except ValueError as error:
        raise click.ClickException(str(error)) from error


@main.command("init-db")
def init_db() -> None:
    """Create or upgrade the database schema."""
    config = _config()
    with _database(config):
        pass
    click.echo(f"database ready: {_redact(config['DATABASE_URL'])}")


@main.command("import")
@click.option("--mailbox", help="The owner's address; inferred from the Sent folders if omitted.")
@click.option("--each", is_flag=True, help="Every PATH is a separate mailbox (owner inferred).")
@click.option("--rescan", is_flag=True, help="Read everything again, ignoring saved cursors.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def import_command(
    mailbox: str | None, each: bool, rescan: bool, quiet: bool, paths: tuple[Path, ...]
) -> None:
    """Import mail and calendar files (.eml, Maildir, mbox, .ics) into a mailbox."""
    from sync.dedupe import dedupe
    from sync.errors import MailboxBusy
    from sync.importer import import_paths

    config = _config()
    groups = [[p] for p in paths] if each else [list(paths)]
    busy: list[str] = []

    def skip(owner: str, error: MailboxBusy) -> None:  # --each: the other mailboxes go on
        busy.append(f"{owner}: skipped, {error}")

    with _database(config) as db:
        try:
            results = import_paths(
                db,
                config,
                groups,
                mailbox=mailbox,
                rescan=rescan,
                quiet=quiet,
                on_busy=skip if len(groups) > 1 else None,
            )
        except (ValueError, MailboxBusy) as error:
            raise click.ClickException(str(error)) from error
        deduped = dedupe(db)
    for result in results:
        click.echo(result.summary())
    if len(results) > 1:
        click.echo(results[0].total(results).summary())
    click.echo(deduped.summary())
    if busy:
        raise click.ClickException(
            f"{len(busy)} of {len(groups)} mailboxes not imported, import them again later:\n"
            + "\n".join(busy)
        )


@main.command("stats")
def stats_command() -> None:
    """Counts of people, companies, interactions, sightings, and skips by reason."""
    from storage.stats import store_stats

    with _database(_config()) as db, db.transaction() as session:
        for line in store_stats(session).lines():
            click.echo(line)


@main.command("rebuild")
def rebuild_command() -> None:
    """Recompute every relationship aggregate from the stored interactions."""
    from relationships.aggregate_store import rebuild

    with _database(_config()) as db, db.transaction() as session:
        pairs = rebuild(session)
    click.echo(f"rebuilt {pairs} relationship pairs")


@main.command("dedupe")
@click.option("--dry-run", is_flag=True, help="List what would be merged; change nothing.")
@click.option("--likely", is_flag=True, help="Also list the likely duplicates left for review.")
def dedupe_command(dry_run: bool, likely: bool) -> None:
    """Merge duplicate outside people (one person under several addresses), audited and
    undoable (POST /api/v1/admin/merges/<id>/undo); see docs/data-quality.md."""
    from storage.duplicates import LIKELY, find_duplicates
    from sync.dedupe import dedupe

    with _database(_config()) as db:
        result = dedupe(db, apply=not dry_run)
        found = [*result.merged]
        if likely:
            with db.transaction() as session:
                found += [d for d in find_duplicates(session) if d.tier == LIKELY]
    for d in found:
        click.echo(f"{d.tier:6}  keep {d.keep:>8}  drop {d.drop:>8}  {d.reason}")
    if dry_run:
        click.echo(f"would merge {len(result.merged)}; likely for review {result.for_review}")
    else:
        click.echo(result.summary())


@main.command("mailboxes")
def mailboxes_command() -> None:
    """Every mailbox with its provider, status, failure reason and next retry."""
    from logsafe import redact
    from storage.stats import mailbox_lines

    with _database(_config()) as db, db.transaction() as session:
        for line in mailbox_lines(session):
            # Reasons quote what Graph or the identity platform answered: redacted as
            # GET /api/v1/admin/mailboxes redacts them (api/admin_mailboxes.py).
            click.echo(redact(line))


@main.command("sync")
@click.option("--mailbox", "address", help="Only this mailbox (even if not due yet).")
def sync_command(address: str | None) -> None:
    """One Microsoft Graph delta pass over every due mailbox (or one); failures are recorded on
    each mailbox (see `mailboxes`) and make the exit status 1."""
    from sync.graph import run_due, run_mailbox
    from sync.graph.cli import mailbox_id

    config = _config()
    with _database(config) as db:
        if address:
            runs = [run_mailbox(db, config, mailbox_id(db, address))]
        else:
            runs = run_due(db, config)
    for run in runs:
        click.echo(run.summary())
    if not runs:
        click.echo("no Graph mailbox is due (see `python app.py mailboxes`)")
    if any(run.status not in ("ok", "busy") for run in runs):
        sys.exit(1)


@main.command("graph-tenant")
@click.option("--tenant", default=None, help="Entra ID tenant id [RAPPORT_GRAPH_TENANT].")
@click.option("--client-id", default=None, help="Application (client) id.")
@click.option(
    "--certificate",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PEM file with the private key and its certificate (instead of a client secret).",
)
def graph_tenant_command(
    tenant: str | None, client_id: str | None, certificate: Path | None
) -> None:
    """Store the tenant's app registration. The client secret is read from standard input
    (never from the command line); it is stored encrypted and never shown again."""
    from sync.graph.cli import store_registration

    config = _config()
    with _database(config) as db:
        try:
            line = store_registration(db, config, tenant, client_id, certificate)
        except ValueError as error:
            raise click.ClickException(str(error)) from error
    click.echo(line)


@main.command("graph-mailbox")
@click.argument("action", type=click.Choice(["enable", "disable"]))
@click.argument("addresses", nargs=-1, required=True)
@click.option("--backfill-days", type=int, help="How far back the first sync reads (365).")
@click.option("--all-folders/--inbox-and-sent", default=None, help="Which mail folders to sync.")
@click.option("--calendar/--no-calendar", default=None, help="Sync the calendar (default on).")
def graph_mailbox_command(
    action: str,
    addresses: tuple[str, ...],
    backfill_days: int | None,
    all_folders: bool | None,
    calendar: bool | None,
) -> None:
    """Enable or disable Graph sync of firm mailboxes."""
    from sync.graph.cli import change_mailboxes
    from sync.graph_subscriptions import refresh_lines

    config = _config()
    with _database(config) as db:
        try:
            lines = change_mailboxes(
                db,
                config,
                action,
                addresses,
                backfill_days=backfill_days,
                all_folders=all_folders,
                calendar=calendar,
            )
        except ValueError as error:
            raise click.ClickException(str(error)) from error
        lines += refresh_lines(db, config)  # subscribe or unsubscribe them now
    for line in lines:
        click.echo(line)


@main.command("token")
@click.option("--user", "email", required=True, help="The colleague's address.")
@click.option("--admin", is_flag=True, help="Include the admin role.")
@click.option("--hours", default=12, show_default=True, help="Lifetime in hours.")
def token_command(email: str, admin: bool, hours: int) -> None:
    """Print a dev bearer token (accepted only when RAPPORT_DEV_AUTH=1)."""
    from datetime import timedelta

    from api.tokens import issue_dev_token

    click.echo(issue_dev_token(_config(), email, admin=admin, ttl=timedelta(hours=hours)))


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
def serve_command(host: str, port: int) -> None:
    """Run the API with the in-process scheduler (development server; use gunicorn in
    production)."""
    from app import create_app
    from sync.scheduler import start_for_app

    app = create_app()
    start_for_app(app)
    app.run(host=host, port=port, threaded=True, use_reloader=False)


@main.command("worker")
def worker_command() -> None:
    """Run the sync worker until SIGTERM or Ctrl-C: periodic Graph passes, subscription
    upkeep, and the work API processes hand over. Run exactly one per deployment, beside the
    API under gunicorn (docs/deployment.md)."""
    import signal
    import threading

    from app import create_app
    from sync.scheduler import start_for_app, stop_for_app

    app = create_app({"RAPPORT_SCHEDULER": "1", "RAPPORT_GRAPH_WARM": "0"})  # serves no API
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    scheduler = start_for_app(app)
    click.echo("sync worker running; SIGTERM or Ctrl-C stops it", err=True)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        # Waits for the jobs that are running; what was queued and not started goes back to
        # the store for the next worker.
        handed_back = stop_for_app(app) if scheduler is not None else 0
        app.extensions["rapport.db"].dispose()
    click.echo(f"sync worker stopped; {handed_back} queued item(s) handed back", err=True)


@main.command("demo")
@click.option("--port", default=5000, show_default=True)
@click.option("--scale", default=1.0, show_default=True, help="Size of the synthetic firm.")
@click.option("--no-serve", is_flag=True, help="Generate and import, then exit.")
def demo_command(port: int, scale: float, no_serve: bool) -> None:
    """Generate the synthetic demo firm, import it, and serve it."""
    from demo.run import prepare_demo

    config = _config(RAPPORT_FIRM_DOMAINS=None)
    environment = prepare_demo(config, scale=scale, echo=click.echo)
    click.echo(f"\nPANE:  http://127.0.0.1:{port}/addin/preview  (the task pane in a browser)")
    click.echo(f"API:   http://127.0.0.1:{port}/api/v1/people?email={environment.sample_email}")
    click.echo(f"\nTOKEN={environment.token}")
    click.echo(f'curl -H "Authorization: Bearer $TOKEN" "{environment.sample_url(port)}"')
    if no_serve:
        return
    from app import create_app
    from sync.scheduler import start_for_app

    app = create_app(environment.config)
    start_for_app(app)
    app.run(host="127.0.0.1", port=port, threaded=True, use_reloader=False)


def _redact(url: str) -> str:
    """A database URL without its password."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else url


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["firm_domains", "main"]
