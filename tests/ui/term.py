"""A real terminal for the installed `clb-wizard`: a pty (pexpect) of a fixed size whose
output goes through a terminal emulator (pyte), so tests read the screen as a person sees
it, not the byte stream (where colour codes split the text)."""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Optional

import pexpect
import pyte

REPO = Path(__file__).resolve().parents[2]
WIZARD = [sys.executable, "-m", "clb_wizard"]  # what the `clb-wizard` script runs

KEYS = {"enter": "\r", "escape": "\x1b", "down": "\x1b[B", "up": "\x1b[A", "tab": "\t",
        "space": " ", "ctrl+f": "\x06", "ctrl+q": "\x11", "shift+tab": "\x1b[Z",
        "delete": "\x1b[3~", "f2": "\x1bOQ", "f4": "\x1bOS", "f10": "\x1b[21~"}


def installed_wizard() -> list[str]:
    """The installed console script if there is one beside this Python, else the module."""
    script = Path(sys.executable).parent / "clb-wizard"
    return [str(script)] if script.exists() else list(WIZARD)


def terminal_env(extra: Optional[Mapping[str, str]] = None,
                 base: Optional[Mapping[str, str]] = None) -> dict[str, str]:
    env = {k: v for k, v in (base if base is not None else os.environ).items()
           if not k.startswith("TEXTUAL") and k not in ("NO_COLOR", "SSH_CONNECTION",
                                                         "CLB_WIZARD_CONSOLE", "COLUMNS",
                                                         "LINES")}
    env.update({"TERM": "xterm-256color", "COLORTERM": "truecolor", "LANG": "C.UTF-8"})
    env.update(extra or {})
    return env


class Terminal:
    def __init__(self, argv: Sequence[str], env: Mapping[str, str], *, cols: int = 80,
                 rows: int = 24, cwd: Optional[Path] = None) -> None:
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.child = pexpect.spawn(argv[0], list(argv[1:]), env=dict(env),
                                   cwd=str(cwd or REPO), dimensions=(rows, cols))
        self.child.delaybeforesend = None  # keys arrive as typed, in order
        self.eof = False
        self.screens: list[str] = []  # each screen waited for, for checks over all of them
        self.raw = bytearray()  # everything the program wrote

    def pump(self, wait: float = 0.05) -> None:
        try:
            data = self.child.read_nonblocking(1 << 16, timeout=wait)
        except pexpect.TIMEOUT:
            return
        except pexpect.EOF:
            self.eof = True
            return
        self.raw += data
        self.stream.feed(data)

    @property
    def text(self) -> str:
        return "\n".join(self.screen.display)

    @property
    def flat(self) -> str:
        return " ".join(self.text.split())

    def wait_for(self, *needles: str, limit: float = 180.0) -> str:
        """Read until every needle is on the screen (wrapped lines folded); the screen."""
        end = time.monotonic() + limit
        wanted = [" ".join(n.split()) for n in needles]
        while True:
            self.pump()
            if all(n in self.flat for n in wanted):
                self.pump(0.05)  # the rest of this frame
                self.screens.append(self.text)
                return self.text
            if self.eof or time.monotonic() > end:
                raise AssertionError(f"never on screen: {needles!r}; the screen:\n{self.text}")

    @property
    def printed_after_exit(self) -> list[str]:
        """The lines the program printed after leaving the full-screen view (the alternate
        screen, which pyte does not keep apart), control sequences removed."""
        tail = bytes(self.raw).rpartition(b"\x1b[?1049l")[2].decode("utf-8", "replace")
        tail = re.sub(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>78]", "", tail)
        return [line.rstrip("\r") for line in tail.split("\n") if line.strip("\r")]

    def press(self, *keys: str) -> None:
        for key in keys:
            self.child.send(KEYS.get(key, key))

    def type(self, text: str) -> None:
        self.child.send(text)

    def finish(self, limit: float = 180.0) -> int:
        """Wait for the process to end; its exit status."""
        end = time.monotonic() + limit
        while not self.eof:
            self.pump(0.1)
            if time.monotonic() > end:
                raise AssertionError(f"did not exit; the screen:\n{self.text}")
        self.child.wait()
        return self.child.exitstatus if self.child.exitstatus is not None else \
            -(self.child.signalstatus or 0)

    def close(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)
