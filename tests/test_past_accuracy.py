"""`bench/past_accuracy.py` on folders nobody has seen: it runs on any ``mbox/<custodian>/``
tree, skips a custodian whose export holds no mail, and compares ``?at=`` with a store of
the earlier mail alone. (Its figures on the Enron custodians are in docs/api.md; here the
mail is synthetic.)"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from tests.data_paths import ROOT
from tests.mailfiles import START, write_mailbox

FIRM = "harbourlaw.example"


def test_any_custodian_folders_give_a_comparison(tmp_path: Path) -> None:
    write_mailbox(tmp_path / "mbox" / "hart-a", 300, seed=1, owner=f"alice@{FIRM}")
    write_mailbox(tmp_path / "mbox" / "roe-b", 200, seed=2, owner=f"bob@{FIRM}")
    (tmp_path / "mbox" / "empty-e").mkdir()  # an export that came out empty
    at = (START + timedelta(days=3)).isoformat()  # three days into the mail
    command = [
        sys.executable,
        "bench/past_accuracy.py",
        "--data",
        str(tmp_path),
        "--at",
        at,
        "--firm-domain",
        FIRM,
    ]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)

    assert run.returncode == 0, run.stderr
    assert "skipped custodian empty-e: " in run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith(f"moment {at[:10]}, 2 custodians (1 skipped): ")
    compared = re.search(r"compared ([\d,]+)", run.stdout)
    assert compared and int(compared.group(1).replace(",", "")) > 0
    # One identity in both stores (no alias learned late), every pair matched and, with no
    # busy pair here, every one taken back exactly.
    assert "people resolved differently by later mail: 0" in run.stdout
    assert "(100.0%)" in run.stdout
    # Pairs with fewer than KEEP events of a kind after the moment come back exact.
    quiet = re.search(
        r"fewer than 10 events of a kind after the moment: .* max ([\d.]+)", run.stdout
    )
    assert quiet is None or float(quiet.group(1)) <= 0.1
    assert "graph of the moment:" in run.stdout and "build_past" in run.stdout
