"""Every test in tests/live/ carries the `live` marker (it needs root and namespaces), so
`-m live` runs that layer alone and `-m 'not live'` leaves it out, as the README says.
Asked of pytest itself: the tests it collects there under `-m 'not live'`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def collected_without_live_marker() -> tuple[set[str], int]:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "not live",
         "-p", "no:cacheprovider", "tests/live"],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    ids = {line for line in result.stdout.splitlines() if "::" in line}
    found = re.search(r"(\d+) deselected", result.stdout)
    assert result.returncode in (0, 5), result.stdout + result.stderr  # 5: none selected
    return ids, int(found.group(1)) if found else 0


def test_every_live_test_is_marked_live():
    unmarked, marked = collected_without_live_marker()
    assert marked > 50, "the live tests were not collected: the check would prove nothing"
    assert unmarked == set(), sorted(unmarked)
