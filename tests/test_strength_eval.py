"""`bench/strength_eval.py` on folders nobody has seen: it runs on any ``mbox/<custodian>/``
tree, skips what holds no mail instead of crashing, and always ends with its verdict line.
(Its figures on the Enron custodians are in docs/strength.md; here the mail is synthetic.)"""

from __future__ import annotations

import mailbox
import subprocess
import sys
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest

from bench.strength_eval import candidates, load_all
from sync.normalize.domains import FirmDomains
from tests.data_paths import ROOT
from tests.mailfiles import write_mailbox

FIRM = "harbourlaw.example"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("custodians")
    write_mailbox(root / "mbox" / "hart-a", 300, seed=1, owner=f"alice@{FIRM}")
    write_mailbox(root / "mbox" / "roe-b", 200, seed=2, owner=f"bob@{FIRM}")
    (root / "mbox" / "empty-e").mkdir()  # an export that came out empty
    junk = root / "mbox" / "junk-j"
    junk.mkdir()
    (junk / "inbox.mbox").write_bytes(b"\x00\x01 not mail at all\n")
    return root


def evaluate(data: Path, split: str) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "bench/strength_eval.py",
        "--data",
        str(data),
        "--split",
        split,
        "--firm-domain",
        FIRM,
    ]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def test_any_custodian_folders_give_a_report_and_a_verdict(data: Path) -> None:
    run = evaluate(data, "2025-01-10")  # the synthetic mail spans January 2025

    assert run.returncode == 0, run.stderr
    assert "skipped custodian empty-e: " in run.stderr
    first = run.stdout.splitlines()[0]
    assert first.startswith("split 2025-01-10, 3 custodians (all; 1 skipped), ")
    assert "positives" in first and " 0 positives" not in first
    for scorer in ("rapport", "raw count (730 d)", "recency", "DotAlign"):
        assert f"\n{scorer} " in run.stdout
    assert "ablation (removed)" in run.stdout
    assert run.stdout.rstrip().splitlines()[-1] in (
        "BEATS_ALL_BASELINES: yes",
        "BEATS_ALL_BASELINES: no",
    )


def test_a_split_with_nothing_to_rank_says_so(data: Path) -> None:
    run = evaluate(data, "2026-06-01")  # after all the mail: no exchange follows it

    assert run.returncode == 0, run.stderr
    assert "no ranking to measure" in run.stdout and "nan" not in run.stdout
    assert run.stdout.rstrip().endswith("BEATS_ALL_BASELINES: no")


def _message(sender: str, to: str, day: int, **display: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"] = sender, to
    for header, value in display.items():
        msg[header.replace("_", "-")] = value
    msg["Subject"] = "Matter 12"
    msg["Date"] = format_datetime(datetime(2025, 3, day, 9, tzinfo=UTC))
    msg["Message-ID"] = f"<{day}.{sender}>"
    msg.set_content("body")
    return msg


def test_the_custodian_is_who_the_product_says_and_only_stored_mail_is_scored(
    tmp_path: Path,
) -> None:
    """Carol's Exchange name (CN=CREED) makes creed@ her address in the product, so Dan's
    email to creed@ is To mail to her for our score, not a blind copy; a mailing list's
    message in her Inbox names none of her addresses: the product stores no pair for it, so
    our score does not read it, and the baselines and the label still count it."""
    folder = tmp_path / "mbox" / "reed-c"
    folder.mkdir(parents=True)
    carol, dan, eve = f"carol.reed@{FIRM}", "dan@client.example", "eve@vendor.example"
    sent = mailbox.mbox(folder / "sent.mbox")
    dn = "/O=HARBOUR/OU=NA/CN=RECIPIENTS/CN=CREED"
    sent.add(_message(carol, dan, 1, X_From=f"Reed, Carol <{dn}>", X_To=f"Dan <{dan}>"))
    sent.close()
    inbox = mailbox.mbox(folder / "inbox.mbox")
    inbox.add(_message(dan, f"creed@{FIRM}", 2))
    inbox.add(_message(eve, "traders@lists.vendor.example", 3))
    inbox.close()

    (custodian,) = load_all([folder], FirmDomains([FIRM]))

    assert {carol, f"creed@{FIRM}", dn} <= custodian.aliases
    assert [(e.cls, e.role) for e in custodian.external[dan]] == [("out", "to"), ("in", "to")]
    assert eve not in custodian.external and len(custodian.unlisted[eve]) == 1
    pairs = {p.person: p for p in candidates([custodian], datetime(2025, 6, 1, tzinfo=UTC))}
    assert pairs[eve].stored == () and len(pairs[eve].events) == 1
    assert pairs[dan].stored == pairs[dan].events
