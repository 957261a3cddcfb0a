"""Graph sync benchmark: a 100,000-message mailbox from the emulator into the store.

The emulator runs in its own process (``tests.emulators.serve``) over loopback, seeded with a
mailbox shaped like a real one (3-8 recipients, display names, subjects in threads with
conversation ids, 10 % external correspondents, 30 % sent) plus meetings. Then:

1. a full first sync in its own process (``--worker``): messages per second end to end into the
   store (every message read counts, stored or not), Graph requests per message, the process's
   peak RSS;
2. the transport ceiling: a bare ``requests`` loop paging the same deltas (same ``$select``,
   ``$orderby`` and page size) and decoding the JSON, nothing else; the sync's rate as a ratio;
3. a second sync with no changes, in a fresh process: the requests it makes, by kind (one per
   synced folder, calendar included, plus the token).

    python bench/graph_sync.py [--messages 100000] [--database URL]

The last line is ``N messages/s`` (the end-to-end rate of step 1).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OWNER = "alice@harbourlaw.example"
FIRM = "harbourlaw.example"
SECRET_KEY = "bench-graph-sync-secret-key-forty-chars!"
FOLDERS = ("SentItems", "Inbox")


# --- the emulator, in its own process -----------------------------------------------------


class Emulator:
    def __init__(self, messages: int) -> None:
        command = [sys.executable, "-m", "tests.emulators.serve", "--messages", str(messages)]
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdin and self.process.stdout
        self.stdin, self.stdout = self.process.stdin, self.process.stdout
        self.info: dict[str, Any] = json.loads(self.stdout.readline())

    def counts(self) -> Counter[str]:
        self.stdin.write("count\n")
        self.stdin.flush()
        return Counter(json.loads(self.stdout.readline()))

    def close(self) -> None:
        self.stdin.close()
        self.process.wait(timeout=60)


def config_for(info: dict[str, Any], database: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database,
        "RAPPORT_FIRM_DOMAINS": FIRM,
        "RAPPORT_SECRET_KEY": SECRET_KEY,
        "RAPPORT_GRAPH_URL": info["graph_url"],
        "RAPPORT_AUTHORITY": info["https_url"],
        "RAPPORT_GRAPH_CA_FILE": info["ca_file"],
    }


def prepare(info: dict[str, Any], database: str) -> None:
    from config import load_config
    from storage.addressbook import AddressBook
    from storage.db import Database
    from storage.secrets import Secret
    from sync.graph.tenant import enable_mailbox, store_tenant
    from sync.normalize.domains import FirmDomains

    if database.startswith("postgresql"):
        from bench.scratch_db import recreate_database

        recreate_database(database)
    config = load_config(config_for(info, database))
    db = Database(database)
    try:
        db.upgrade()
        with db.transaction() as session:
            secret = Secret(info["client_secret"])
            store_tenant(session, config, info["tenant_id"], info["client_id"], secret=secret)
            enable_mailbox(session, AddressBook(FirmDomains([FIRM])), OWNER)
    finally:
        db.dispose()


# --- one sync, in its own process ---------------------------------------------------------


def worker() -> None:
    """Run one pass over the mailbox; print what it did as JSON."""
    from config import load_config
    from storage.db import Database
    from sync.graph import run_due

    config = load_config()
    db = Database(config["DATABASE_URL"])
    started = time.perf_counter()
    try:
        (run,) = run_due(db, config)
    finally:
        db.dispose()
    seconds = time.perf_counter() - started
    stats = run.stats.to_dict() if run.stats else {}
    print(
        json.dumps(
            {
                "status": run.status,
                "error": run.error,
                "seconds": seconds,
                "requests": run.requests,
                "stats": stats,
                "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def run_worker(info: dict[str, Any], database: str) -> dict[str, Any]:
    env = {**os.environ, **config_for(info, database)}
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"sync worker failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if result["status"] != "ok":
        raise SystemExit(f"sync failed: {result['error']}")
    return result


# --- the transport ceiling ----------------------------------------------------------------


def bare_loop(info: dict[str, Any]) -> tuple[int, float, int]:
    """Page through the same deltas with plain ``requests``: (messages, seconds, requests)."""
    from sync.graph.messages import SENSITIVITY_EXPAND, select_fields
    from sync.graph.settings import MAX_PAGE_SIZE
    from sync.items import FolderKind

    with requests.Session() as http:
        http.verify = info["ca_file"]
        http.trust_env = False
        token = http.post(
            f"{info['https_url']}/{info['tenant_id']}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": info["client_id"],
                "client_secret": info["client_secret"],
                "scope": "https://graph.microsoft.com/.default",
            },
            timeout=30,
        ).json()["access_token"]
        headers = {
            "Authorization": f"Bearer {token}",
            "Prefer": f'odata.maxpagesize={MAX_PAGE_SIZE}, IdType="ImmutableId"',
        }
        messages = pages = 0
        started = time.perf_counter()
        for folder in FOLDERS:
            kind = FolderKind.SENT if folder == "SentItems" else FolderKind.INBOX
            url = f"{info['graph_url']}/users/{OWNER}/mailFolders/{folder}/messages/delta"
            params: dict[str, str] | None = {
                "$select": select_fields(kind),
                "$expand": SENSITIVITY_EXPAND,
                "$orderby": "receivedDateTime desc",
            }
            while True:
                body = http.get(url, params=params, headers=headers, timeout=120).json()
                pages += 1
                messages += len(body["value"])
                if "@odata.nextLink" not in body:
                    break
                url, params = body["@odata.nextLink"], None
        return messages, time.perf_counter() - started, pages


# --- report -------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--database", help="SQLAlchemy URL (PostgreSQL is recreated empty)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker:
        worker()
        return
    with tempfile.TemporaryDirectory(prefix="graph-bench-") as scratch:
        database = arguments.database or f"sqlite:///{scratch}/bench.db"
        report(arguments.messages, database)


def report(messages: int, database: str) -> None:
    emulator = Emulator(messages)
    try:
        info = emulator.info
        print(f"emulator: {messages:,} messages seeded in {info['seconds']} s ({info['url']})")
        prepare(info, database)
        before = emulator.counts()
        full = run_worker(info, database)
        after_full = emulator.counts()
        bare_messages, bare_seconds, bare_pages = bare_loop(info)
        after_bare = emulator.counts()
        again = run_worker(info, database)
        after_again = emulator.counts()
    finally:
        emulator.close()
    read = full["stats"]["read"]
    rate = read / full["seconds"]
    ceiling = bare_messages / bare_seconds
    full_requests = after_full - before
    graph_requests = sum(n for k, n in full_requests.items() if k not in ("token", "discovery"))
    quiet = after_again - after_bare
    print(f"store: {database.split('://', 1)[0]}")
    print(
        f"first sync: {read:,} items read in {full['seconds']:.1f} s; stored "
        f"{full['stats']['stored']:,} client + {full['stats']['internal']:,} internal-only"
    )
    print(
        f"requests: {graph_requests} Graph ({graph_requests / read:.4f} per message), "
        f"{full_requests['token']} token, {full_requests['discovery']} OpenID discovery"
    )
    print(f"peak RSS of the sync process: {full['rss_mb']:.0f} MB")
    print(
        f"transport ceiling (bare requests loop, {bare_pages} pages): {ceiling:,.0f} messages/s;"
        f" sync / ceiling = {rate / ceiling:.2f}"
    )
    print(
        f"no-change sync: {again['seconds']:.2f} s, requests by kind {dict(sorted(quiet.items()))}"
    )
    folders = sum(n for k, n in quiet.items() if k not in ("token", "discovery"))
    synced = len(FOLDERS) + 1  # the mail folders and the calendar
    within = folders == synced and quiet["token"] <= 1 and quiet["discovery"] == 0
    print(
        f"no-change requests: {folders} for {synced} synced folders, {quiet['token']} token, "
        f"{quiet['discovery']} discovery ({'within' if within else 'OVER'} one per folder plus "
        "at most one token)"
    )
    print(f"{rate:,.0f} messages/s")


if __name__ == "__main__":
    main()
