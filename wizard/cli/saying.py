"""What the CLI says on stderr while it waits, so a console user is never left in
silence: the step as it starts, then a line every few seconds while it is still going."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator

HEARTBEAT_SECONDS = 2.0


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@contextlib.contextmanager
def waiting(step: str, why_slow: str = "", every: float = HEARTBEAT_SECONDS) -> Iterator[None]:
    """Say `step...` now, then `  still waiting (N s): why_slow` after `every` seconds and
    again at growing intervals (at most every 10 s) until the block ends: a long wait
    (a health check, up to minutes) stays a few lines."""
    say(f"{step}...")
    done = threading.Event()
    started = time.monotonic()

    def beat() -> None:
        pause = every
        while not done.wait(pause):
            waited = time.monotonic() - started
            say(f"  still waiting ({waited:.0f} s)" + (f": {why_slow}" if why_slow else ""))
            pause = min(10.0, max(every, waited * 0.5))

    thread = threading.Thread(target=beat, name="clb-wizard-waiting", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


__all__ = ["say", "waiting"]
