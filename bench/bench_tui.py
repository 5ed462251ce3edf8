"""Benchmark of the TUI (not a test): run `.venv/bin/python bench/bench_tui.py [-n 10]`.

In a real 80x24 pty, the screen read through a terminal emulator (pyte):
- process start to first frame, median of N, for clb-wizard and for a minimal Textual app
  (one Static) measured in the same run, interleaved; their ratio (target: within 1.10x),
  the median of the back-to-back pairs' ratios, and the CPU time each used until then
  (all threads, /proc/PID/task/*/schedstat: other jobs on a shared machine disturb it far
  less than wall time). As root, both run at the highest priority for the same reason.
  Both start from compiled bytecode, as installed packages do (pip compiles them): the
  project's own sources are compiled first, even where PYTHONDONTWRITEBYTECODE is set;
- key press to next screen: Enter on Start until the CLB type step shows, and Enter on CLB
  type until the VIPs step shows, each pressed after a second of "reading" (target: under
  50 ms);
- peak RSS (VmHWM) of the wizard after its first screen and after walking to the Preview
  (target: under 50 MB), and of the minimal app.
The wizard walks through a fixture Ubuntu 22.04 root with --os (a preview: no root needed,
nothing of this machine involved).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pexpect
import pyte

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fixtures.roots import make_root  # noqa: E402

# A person reads a step before pressing a key; the wizard uses that time to import the
# later steps in the background. Key presses are timed after this pause.
READING = 1.0

MINIMAL = '''
from textual.app import App
from textual.widgets import Static


class Minimal(App):
    def compose(self):
        yield Static("Step 1 of 8: a minimal Textual app")


Minimal().run()
'''


def first_in_line() -> None:
    """As root, run at the highest priority: on a machine others share, their jobs then
    disturb the timings far less (both apps get the same, so the ratio stays fair)."""
    if os.geteuid() == 0:
        os.setpriority(os.PRIO_PROCESS, 0, -20)


class Pty:
    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.screen = pyte.Screen(80, 24)
        self.stream = pyte.ByteStream(self.screen)
        self.child = pexpect.spawn(argv[0], argv[1:], env=env, dimensions=(24, 80),
                                   cwd=str(REPO), preexec_fn=first_in_line)
        self.child.delaybeforesend = None  # pexpect sleeps 50 ms before each send otherwise

    def until(self, needle: str, limit: float = 30.0) -> float:
        """Read until `needle` is on the screen; the time it showed (perf_counter)."""
        end = time.perf_counter() + limit
        while True:
            try:
                data = self.child.read_nonblocking(1 << 16, timeout=0.01)
            except pexpect.TIMEOUT:
                data = b""
            if data:
                self.stream.feed(data)
                if any(needle in line for line in self.screen.display):
                    return time.perf_counter()
            if time.perf_counter() > end or not self.child.isalive():
                raise RuntimeError(f"{needle!r} never showed:\n" + "\n".join(self.screen.display))

    def cpu_seconds(self) -> float:
        """CPU time the process (all its threads) has used so far: less disturbed than
        wall time by other jobs on a shared machine (read right after the first frame)."""
        total = 0
        for stat in Path(f"/proc/{self.child.pid}/task").glob("*/schedstat"):
            try:
                total += int(stat.read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue
        return total / 1e9

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.child.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def close(self) -> None:
        self.child.terminate(force=True)


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTUAL")
           and k not in ("NO_COLOR", "SSH_CONNECTION", "CLB_WIZARD_CONSOLE")}
    env.update({"TERM": "xterm-256color", "COLORTERM": "truecolor", "LANG": "C.UTF-8"})
    return env


def measure_minimal(script: Path, env: dict[str, str]) -> tuple[float, float, float]:
    start = time.perf_counter()
    pty = Pty([sys.executable, str(script)], env)
    try:
        shown = pty.until("a minimal Textual app")
        return shown - start, pty.peak_rss_mb(), pty.cpu_seconds()
    finally:
        pty.close()


def wizard_argv(root: Path) -> list[str]:
    wizard = Path(sys.executable).parent / "clb-wizard"
    argv = [str(wizard)] if wizard.exists() else [sys.executable, "-m", "clb_wizard"]
    return [*argv, "--root", str(root), "--os", "ubuntu-22.04"]


def measure_first_frame(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    pty = Pty(argv, env)
    try:
        return pty.until("Step 1 of 8") - start
    finally:
        pty.close()


def measure_wizard(root: Path, env: dict[str, str]) -> dict[str, float]:
    start = time.perf_counter()
    pty = Pty(wizard_argv(root), env)
    try:
        first = pty.until("Step 1 of 8") - start
        cpu_first = pty.cpu_seconds()
        pty.until("Method")  # detection done: Next is enabled
        rss_first = pty.peak_rss_mb()
        time.sleep(READING)
        pressed = time.perf_counter()
        pty.child.send("\r")
        to_type = pty.until("Step 2 of 8") - pressed
        time.sleep(READING)
        pressed = time.perf_counter()
        pty.child.send("\r")
        to_vips = pty.until("Step 3 of 8") - pressed
        pty.child.send("203.0.113.10\r")
        pty.until("Added 203.0.113.10")
        pty.child.send("\r")
        pty.until("Step 4 of 8")
        pty.child.send("\r")
        pty.until("Dry run >")  # the Preview, planned and shown
        return {"first": first, "cpu_first": cpu_first, "to_type": to_type, "to_vips": to_vips,
                "rss_first": rss_first, "rss_preview": pty.peak_rss_mb()}
    finally:
        pty.close()


def compile_sources() -> None:
    """Bytecode for the project's modules, as `pip install` writes it for Textual's (an
    editable install compiles on first import, unless PYTHONDONTWRITEBYTECODE forbids it:
    then every start would compile the wizard's sources and only the wizard's)."""
    import compileall

    for folder in ("wizard", "screens", "assets"):
        compileall.compile_dir(str(REPO / folder), quiet=1)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10, help="runs of each (default 10)")
    args = parser.parse_args()
    first_in_line()  # the reader too: it timestamps what it reads
    env = environment()
    with tempfile.TemporaryDirectory(prefix="clb-bench.") as tmp:
        root = make_root(Path(tmp), "ubuntu-22.04")
        script = Path(tmp) / "minimal_app.py"
        script.write_text(MINIMAL)
        compile_sources()
        measure_minimal(script, env)  # warm the page cache for both
        measure_wizard(root, env)
        minimal, minimal_rss, minimal_cpu, runs = [], [], [], []
        for _ in range(args.n):  # interleaved, so all see the same machine load
            first, rss, cpu = measure_minimal(script, env)
            minimal.append(first)
            minimal_rss.append(rss)
            minimal_cpu.append(cpu)
            runs.append(measure_wizard(root, env))
    med = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    base = statistics.median(minimal)
    print(f"runs: {args.n} each, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print(f"first frame, minimal Textual app:  {ms(base)}  (peak RSS "
          f"{statistics.median(minimal_rss):.1f} MB)")
    print(f"first frame, clb-wizard:           {ms(med['first'])}")
    print(f"  ratio wizard/minimal:            {med['first'] / base:7.2f}x   (target <= 1.10x)")
    pairs = statistics.median(r["first"] / m for r, m in zip(runs, minimal))
    print(f"  median of the paired ratios:     {pairs:7.2f}x   (each pair started back to back)")
    cpu_base = statistics.median(minimal_cpu)
    print(f"CPU time to first frame, minimal / clb-wizard: {ms(cpu_base)} / "
          f"{ms(med['cpu_first'])}  ratio {med['cpu_first'] / cpu_base:.2f}x")
    print(f"key press to next screen, Start -> CLB type: {ms(med['to_type'])}  (target < 50 ms)")
    print(f"key press to next screen, CLB type -> VIPs:  {ms(med['to_vips'])}  (target < 50 ms)")
    print(f"peak RSS, clb-wizard on its first screen: {med['rss_first']:.1f} MB")
    print(f"peak RSS, clb-wizard through the Preview:  {med['rss_preview']:.1f} MB "
          "(target < 50 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
