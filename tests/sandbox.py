"""A disposable host inside namespaces: its own network stack, /etc and /run.

A holder process is started in new network and mount namespaces; inside it, /etc is
an overlay whose writes land in a temp dir (the host's /etc never changes), /run is a
temp dir, and sysfs is remounted read-only for this netns (so NetworkManager and
systemd-networkd do not wait for udev). Every command runs in the same namespaces
through nsenter, so daemons started there keep running between commands. Teardown
kills everything in the namespace and removes the temp dirs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

REPO = Path(__file__).resolve().parents[1]
NMROOT = Path(os.environ.get("CLB_TEST_NMROOT", REPO / ".cache" / "nmroot"))
NM_LIBS = NMROOT / "usr" / "lib" / f"{os.uname().machine}-linux-gnu"

_SETUP = r"""
set -e
mount --make-rprivate /
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$SB/etc-upper,workdir=$SB/etc-work" /etc
mount --bind "$SB/run" /run
mount --bind "$SB/varlib" /var/lib
mount -t sysfs -o ro sysfs /sys
mkdir -p /run/network /run/dbus /run/systemd/network /run/systemd/netif /var/lib/NetworkManager
chown systemd-network:systemd-network /run/systemd/netif 2>/dev/null || true
ip link set lo up
touch "$SB/ready"
exec sleep infinity
"""

BUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path=/run/dbus/system_bus_socket</listen>
<auth>EXTERNAL</auth><policy context="default"><allow user="*"/><allow own="*"/>
<allow send_destination="*"/><allow receive_sender="*"/></policy></busconfig>
"""


class Sandbox:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="clb-sandbox."))
        for sub in ("etc-upper", "etc-work", "run", "varlib", "bin"):
            (self.dir / sub).mkdir()
        self.holder = subprocess.Popen(
            ["unshare", "--net", "--mount", "--fork", "bash", "-c", _SETUP],
            env={**os.environ, "SB": str(self.dir)},
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while not (self.dir / "ready").exists():
            if self.holder.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError("the namespace sandbox did not start")
            time.sleep(0.01)
        self.pid = self._sleep_pid()

    def _sleep_pid(self) -> int:
        # unshare --fork: the holder's child (bash, then exec'd sleep) is in the namespaces.
        for _ in range(200):
            children = Path(f"/proc/{self.holder.pid}/task/{self.holder.pid}/children")
            pids = children.read_text().split() if children.exists() else []
            if pids:
                return int(pids[0])
            time.sleep(0.01)
        raise RuntimeError("cannot find the sandbox's process")

    # -- running things inside -------------------------------------------------------------
    def argv(self, argv: Sequence[str]) -> list[str]:
        return ["nsenter", "-t", str(self.pid), "-n", "-m", "--", *argv]

    def env(self, extra: Optional[dict] = None) -> dict:
        path = f"{self.dir / 'bin'}:{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"
        # nsenter -m starts in /, so the repo goes on PYTHONPATH for `-m tests....` helpers.
        return {**os.environ, "PATH": path, "CLB_WIZARD_STATE_DIR": "/var/lib/clb-wizard",
                "PYTHONPATH": str(REPO), **(extra or {})}

    def run(self, argv: Sequence[str], *, env: Optional[dict] = None, timeout: float = 60,
            check: bool = False, input: Optional[str] = None) -> subprocess.CompletedProcess:
        return subprocess.run(self.argv(argv), env=self.env(env), capture_output=True, text=True,
                              timeout=timeout, check=check, input=input)

    def sh(self, script: str, **kwargs) -> subprocess.CompletedProcess:
        return self.run(["bash", "-euo", "pipefail", "-c", script], **kwargs)

    def popen(
        self, argv: Sequence[str], *, env: Optional[dict] = None, **kwargs
    ) -> subprocess.Popen:
        return subprocess.Popen(self.argv(argv), env=self.env(env), **kwargs)

    def wizard(self, *args: str, env: Optional[dict] = None, timeout: float = 60):
        """Run the installed clb-wizard CLI inside the sandbox."""
        return self.run([sys.executable, "-m", "clb_wizard", *args], env=env, timeout=timeout)

    # -- files inside (through the namespace, so the overlay is what we see) ----------------
    def read(self, path: str) -> Optional[bytes]:
        result = subprocess.run(self.argv(["cat", path]), capture_output=True)
        return result.stdout if result.returncode == 0 else None

    def write(self, path: str, text: str, mode: int = 0o644) -> None:
        self.sh(f'mkdir -p "$(dirname {path})" && cat > {path} && chmod {mode:o} {path}',
                input=text, check=True)

    def lo_addresses(self) -> set[str]:
        import json

        out = self.run(["ip", "-j", "addr", "show", "dev", "lo"], check=True).stdout
        return {f"{a['local']}/{a['prefixlen']}" for a in json.loads(out)[0]["addr_info"]}

    def add_tool(self, name: str, script: str) -> None:
        """A shim first on PATH inside the sandbox (e.g. a failing ifup)."""
        path = self.dir / "bin" / name
        path.write_text(script)
        path.chmod(0o755)

    # -- daemons ------------------------------------------------------------------------------
    def start_dbus(self) -> None:
        conf = self.dir / "bus.conf"
        conf.write_text(BUS_CONF)
        self.run(["dbus-daemon", f"--config-file={conf}", "--fork"], check=True)

    def start_networkmanager(self) -> None:
        """A real NetworkManager (unpacked into .cache/nmroot) on a private bus."""
        self.start_dbus()
        conf = (
            "[main]\nplugins=keyfile\ndns=none\nrc-manager=unmanaged\nhostname-mode=none\n"
            "no-auto-default=*\nauth-polkit=false\n[connectivity]\nenabled=false\n"
            # Without udev, NetworkManager would take over test veths (and may flush their
            # addresses); on a real host the NICs have their own profiles.
            "[keyfile]\nunmanaged-devices=except:interface-name:lo\n"
        )
        self.write("/etc/NetworkManager/NetworkManager.conf", conf)
        self.sh("mkdir -p /etc/NetworkManager/system-connections /etc/NetworkManager/conf.d")
        self.sh(": > /etc/resolv.conf.nm && mount --bind /etc/resolv.conf.nm /etc/resolv.conf")
        nmcli = self.dir / "bin" / "nmcli"
        nmcli.write_text(f'#!/bin/sh\nLD_LIBRARY_PATH={NM_LIBS} exec {NMROOT}/usr/bin/nmcli "$@"\n')
        nmcli.chmod(0o755)
        conf_d = self.dir / "nm-conf.d"
        with open(self.dir / "nm.log", "w") as log:
            self.popen(
                [str(NMROOT / "usr/sbin/NetworkManager"), "--no-daemon",
                 "--config=/etc/NetworkManager/NetworkManager.conf",
                 f"--config-dir={conf_d}", f"--system-config-dir={conf_d}"],
                env={"LD_LIBRARY_PATH": str(NM_LIBS)}, stdout=log, stderr=log,
            )
        for _ in range(100):
            if self.run(["nmcli", "-t", "general", "status"], timeout=5).returncode == 0:
                return
            time.sleep(0.1)
        log_tail = (self.dir / "nm.log").read_text()[-2000:]
        raise RuntimeError("NetworkManager did not start: " + log_tail)

    def start_networkd(self) -> None:
        """A real systemd-networkd on a private bus (networkctl reload/reconfigure need it)."""
        self.start_dbus()
        binary = next(p for p in ("/lib/systemd/systemd-networkd",
                                  "/usr/lib/systemd/systemd-networkd") if os.path.exists(p))
        with open(self.dir / "networkd.log", "w") as log:
            self.popen([binary], stdout=log, stderr=log)
        # ready when it answers on the bus: `networkctl list` also works without it
        # (netlink), and a test's first `networkctl reload` then said "not running"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.run(["networkctl", "reload"], timeout=5).returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError("systemd-networkd did not start")

    # -- teardown -------------------------------------------------------------------------
    def pids(self) -> list[int]:
        try:
            netns = os.readlink(f"/proc/{self.pid}/ns/net")
        except OSError:
            return []
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if os.readlink(entry / "ns" / "net") == netns:
                        found.append(int(entry.name))
                except OSError:
                    continue
        return found

    def close(self) -> None:
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.holder.poll() is None:
            os.killpg(self.holder.pid, signal.SIGKILL)
        self.holder.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
