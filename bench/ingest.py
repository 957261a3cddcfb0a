"""Ingest benchmark on the Enron dev set: our pipeline against a raw stdlib baseline.

Prints, for SQLite and PostgreSQL, messages per second end to end (every message read counts,
stored or skipped), peak RSS of the importing process, and in the same run the rate of a raw
baseline (stdlib header parsing + ``sqlite3.executemany`` of one row per message and one per
participant) with the ratio. Peak RSS is measured on half the custodians and on all of them to
show memory stays flat when the input doubles. Each measurement runs in its own process so
peak RSS belongs to that measurement alone.

    python bench/ingest.py [--data ../shared/data/enron/mbox] [--pg URL] [--skip-pg]
    python bench/ingest.py --profile      # cProfile of our pipeline on 10 custodians
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch_db import recreate_database  # noqa: E402

DEFAULT_DATA = Path(os.environ.get("RAPPORT_SHARED_DATA", ROOT.parent / "shared" / "data"))
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/rapport_bench"


def custodians(data: Path, half: bool) -> list[Path]:
    folders = sorted(p for p in data.iterdir() if p.is_dir())
    return folders[: len(folders) // 2] if half else folders


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- our pipeline -------------------------------------------------------------------------


def run_ours(data: Path, url: str, half: bool) -> dict[str, float]:
    from storage.db import Database
    from sync.importer import import_paths

    if url.startswith("postgresql"):
        recreate_database(url)
    db = Database(url)
    db.upgrade()
    config = {"RAPPORT_FIRM_DOMAINS": "enron.com"}
    started = time.perf_counter()
    results = import_paths(db, config, [[p] for p in custodians(data, half)], quiet=True)
    seconds = time.perf_counter() - started
    read = sum(r.stats.read for r in results)
    return {"messages": read, "seconds": seconds, "rate": read / seconds, "rss_mb": peak_rss_mb()}


# --- raw baseline -------------------------------------------------------------------------


def mbox_headers(path: Path):  # type: ignore[no-untyped-def]
    """Header blocks of an mbox file, read line by line (bodies skipped)."""
    header: list[bytes] = []
    in_header = False
    with path.open("rb") as handle:
        for line in handle:
            if line.startswith(b"From "):
                if header:
                    yield b"".join(header)
                header, in_header = [], True
            elif in_header:
                if line in (b"\n", b"\r\n"):
                    in_header = False
                else:
                    header.append(line)
    if header:
        yield b"".join(header)


def run_baseline(data: Path, half: bool) -> dict[str, float]:
    parser = BytesHeaderParser(policy=compat32)
    with tempfile.TemporaryDirectory() as tmp:
        connection = sqlite3.connect(Path(tmp) / "raw.db")
        connection.execute(
            "create table messages (id integer primary key, message_id text, sent text,"
            " sender text, subject text)"
        )
        connection.execute("create table participants (message integer, address text, role text)")
        started, count = time.perf_counter(), 0
        for folder in custodians(data, half):
            for mbox in sorted(folder.glob("*.mbox")):
                count += _baseline_file(connection, parser, mbox, count)
        connection.close()
        seconds = time.perf_counter() - started
    return {"messages": count, "seconds": seconds, "rate": count / seconds, "rss_mb": peak_rss_mb()}


def _baseline_file(
    connection: sqlite3.Connection, parser: BytesHeaderParser, mbox: Path, offset: int
) -> int:
    messages, participants = [], []
    for n, raw in enumerate(mbox_headers(mbox), start=offset):
        headers = parser.parsebytes(raw)
        try:
            sent = parsedate_to_datetime(str(headers.get("Date", ""))).isoformat()
        except (TypeError, ValueError):
            sent = None
        sender = getaddresses([str(headers.get("From", ""))])
        messages.append(
            (
                n,
                headers.get("Message-ID"),
                sent,
                sender[0][1] if sender else None,
                str(headers.get("Subject", "")),
            )
        )
        for role in ("From", "To", "Cc"):
            for _, address in getaddresses([str(v) for v in headers.get_all(role, [])]):
                participants.append((n, address.lower(), role.lower()))
    connection.executemany("insert into messages values (?, ?, ?, ?, ?)", messages)
    connection.executemany("insert into participants values (?, ?, ?)", participants)
    connection.commit()
    return len(messages)


# --- driver -------------------------------------------------------------------------------


def measure(phase: str, data: Path, url: str, half: bool) -> dict[str, float]:
    """Run one measurement in a fresh process and return its JSON figures."""
    command = [sys.executable, __file__, "--phase", phase, "--data", str(data), "--url", url]
    if half:
        command.append("--half")
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    args = _arguments()
    if args.phase:
        figures = (
            run_baseline(args.data, args.half)
            if args.phase == "baseline"
            else run_ours(args.data, args.url, args.half)
        )
        print(json.dumps(figures))
        return
    if args.profile:
        _profile(args.data)
        return
    if not args.data.is_dir():
        sys.exit(f"no Enron data at {args.data} (set RAPPORT_SHARED_DATA or --data)")
    _report(args)


def _report(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        baseline = measure("baseline", args.data, "", False)
        print(_line("raw baseline (stdlib + sqlite3)", baseline))
        half = measure("ours", args.data, sqlite_url + ".half", True)
        print(_line("rapport -> SQLite, half the custodians", half))
        full = measure("ours", args.data, sqlite_url, False)
        print(_line("rapport -> SQLite, all custodians", full))
    if not args.skip_pg:
        pg = measure("ours", args.data, args.pg, False)
        print(_line("rapport -> PostgreSQL, all custodians", pg))
    print(
        f"peak RSS, all / half the input: {full['rss_mb']:.0f} MB / {half['rss_mb']:.0f} MB "
        f"(x{full['rss_mb'] / half['rss_mb']:.2f} for x{full['messages'] / half['messages']:.2f}"
        " the messages)"
    )
    print(f"SQLite rate / raw baseline rate: {full['rate'] / baseline['rate']:.2f}")
    print(f"{full['rate']:.0f} messages/s into SQLite")


def _line(label: str, f: dict[str, float]) -> str:
    return (
        f"{label:<42} {f['messages']:>8,.0f} messages in {f['seconds']:6.1f} s = "
        f"{f['rate']:>7,.0f} messages/s, peak RSS {f['rss_mb']:.0f} MB"
    )


def _profile(data: Path) -> None:
    import cProfile
    import pstats

    with tempfile.TemporaryDirectory() as tmp:
        profiler = cProfile.Profile()
        folders = custodians(data, False)[:10]
        from storage.db import Database
        from sync.importer import import_paths

        db = Database(f"sqlite:///{Path(tmp) / 'p.db'}")
        db.upgrade()
        profiler.enable()
        import_paths(db, {"RAPPORT_FIRM_DOMAINS": "enron.com"}, [[p] for p in folders])
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA / "enron" / "mbox")
    parser.add_argument("--pg", default=os.environ.get("RAPPORT_BENCH_PG", DEFAULT_PG))
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--phase", choices=["ours", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--url", default="", help=argparse.SUPPRESS)
    parser.add_argument("--half", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    main()
