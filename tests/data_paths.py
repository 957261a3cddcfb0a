"""Where the real data for tests lives, and what a test does when it is missing.

On a user's machine without ``../shared/data`` the tests that need it skip with a clear reason;
under ``RAPPORT_CI`` (set by ``.ci/run``) a missing folder is a failure, never a skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def shared_data_dir() -> Path:
    return Path(os.environ.get("RAPPORT_SHARED_DATA", ROOT.parent / "shared" / "data"))


def require_data(relative: str) -> Path:
    """Return ``shared data / relative``; skip (or fail under RAPPORT_CI) when it is absent."""
    path = shared_data_dir() / relative
    if path.exists():
        return path
    message = f"real data not found at {path} (set RAPPORT_SHARED_DATA to the shared data folder)"
    if os.environ.get("RAPPORT_CI"):
        pytest.fail(message + "; RAPPORT_CI is set, so this is an error, not a skip")
    pytest.skip(message)
