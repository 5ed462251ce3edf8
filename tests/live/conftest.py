"""Fixtures of the live tests."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest


@pytest.fixture
def shared_dir():
    """A fresh world-writable sticky (1777) directory under /tmp, removed afterwards: where
    root and a local unprivileged user meet."""
    path = Path(tempfile.mkdtemp(prefix="clb-shared."))
    path.chmod(0o1777)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
