"""Serve a seeded Graph emulator in a process of its own (benchmarks, a subprocess sync).

    python -m tests.emulators.serve --mailbox alice@harbourlaw.example --messages 100000

prints one JSON line (``url``, ``graph_url``, ``https_url``, ``ca_file``, ``tenant_id``,
``client_id``, ``client_secret``, ``seconds`` spent seeding) once it is ready, then serves until
its standard input closes. Each line ``count`` it reads is answered with one JSON line: the
requests answered so far, by kind (``token``, ``discovery``, ``Inbox``, ``SentItems``,
``calendarView``...).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from tests.emulators.graph import GraphEmulator
from tests.emulators.seed import Shape, seed_mailbox


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mailbox", default="alice@harbourlaw.example")
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=300, help="span of the mail, newest now")
    parser.add_argument("--meetings", type=int, default=50)
    arguments = parser.parse_args()
    started = time.perf_counter()
    with GraphEmulator() as graph:
        end = datetime.now(UTC).replace(microsecond=0)
        shape = Shape(arguments.messages, span=timedelta(days=arguments.days), end=end)
        seed_mailbox(graph, arguments.mailbox, shape)
        for n in range(arguments.meetings):
            start = end - timedelta(days=n * 3, hours=2)
            graph.add_event(
                arguments.mailbox,
                subject=f"Meeting {n}",
                start=start,
                end=start + timedelta(hours=1),
                attendees=[(f"contact{n}@client{n % 40}.example", "accepted")],
            )
        ready = {
            "url": graph.url,
            "graph_url": graph.graph_url,
            "https_url": graph.https_url,
            "ca_file": str(graph.ca_file),
            "tenant_id": graph.tenant_id,
            "client_id": graph.client_id,
            "client_secret": graph.client_secret,
            "seconds": round(time.perf_counter() - started, 1),
        }
        print(json.dumps(ready), flush=True)
        for line in sys.stdin:  # until the parent closes our stdin
            if line.strip() == "count":
                kinds = Counter(_kind(r.path) for r in graph.requests())
                print(json.dumps(dict(kinds)), flush=True)


def _kind(path: str) -> str:
    if "/oauth2/" in path:
        return "token"
    if "openid-configuration" in path:
        return "discovery"
    if path.endswith("/messages/delta"):
        return path.rsplit("/", 3)[-3]  # the folder
    return path.rsplit("/", 2)[-2] if path.endswith("/delta") else path.rsplit("/", 1)[-1]


if __name__ == "__main__":
    main()
