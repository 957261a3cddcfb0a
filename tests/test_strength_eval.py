"""`bench/strength_eval.py` on folders nobody has seen: it runs on any ``mbox/<custodian>/``
tree, skips what holds no mail instead of crashing, and always ends with its verdict line.
(Its figures on the Enron custodians are in docs/strength.md; here the mail is synthetic.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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
