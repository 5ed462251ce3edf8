"""A fleet of booted hosts on one private network, reached over real SSH (issues 15, 20).

A `Bridge` (tests/boot/harness.py) is a network namespace with a bridge at 198.51.100.1/24;
each host is a booted root with one veth on it, its own static address (configured the
way its stack does it, so it comes back after a reboot) and sshd with a host key made for
this run. The controller (ssh, ansible-playbook) runs inside the bridge's namespace with a
per-run client key and a private known_hosts (strict host key checking): nothing touches
the machine's own network. ansible-playbook is the test extras' ansible-core (PyPI, in
this venv), not Debian's: its floor for the hosts' Python is the one users meet.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.boot.harness import Bridge, Machine

NET = "198.51.100"

# host0's address, configured by each stack as an admin would (it survives reboots)
_IFUPDOWN = "auto host0\niface host0 inet static\n    address {ip}/24\n"
_NETPLAN = ("network:\n  version: 2\n  renderer: networkd\n  ethernets:\n    host0:\n"
            "      addresses: [{ip}/24]\n")
# NetworkManager leaves host0 alone (a veth without udev): a unit gives it its address
_NM_CONF = "[main]\nno-auto-default=*\n[keyfile]\nunmanaged-devices=interface-name:host0\n"
_UNIT = ("[Unit]\nDescription=test network: host0\nBefore=ssh.service\n"
         "After=sys-subsystem-net-devices-host0.device\n[Service]\nType=oneshot\n"
         "RemainAfterExit=yes\nExecStart=/sbin/ip link set host0 up\n"
         "ExecStart=/sbin/ip addr replace {ip}/24 dev host0\n"
         "[Install]\nWantedBy=multi-user.target\n")


@dataclass
class Host:
    name: str
    ip: str
    machine: Machine


def keypair(directory: Path, name: str) -> tuple[Path, str]:
    """An ed25519 key made for this run: (private key path, public key line)."""
    key = directory / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)],
                   check=True)
    return key, key.with_suffix(".pub").read_text().strip()


def configure(machine: Machine, stack: str, ip: str, host_key: Path, client_pub: str) -> None:
    """While the machine is off: its address on host0 (`stack`: ifupdown, netplan or nm),
    sshd's host key, root's login key."""
    if stack == "ifupdown":
        machine.write("/etc/network/interfaces.d/host0", _IFUPDOWN.format(ip=ip))
    elif stack == "netplan":
        machine.write("/etc/netplan/10-host0.yaml", _NETPLAN.format(ip=ip), 0o600)
    else:
        machine.write("/etc/NetworkManager/conf.d/90-test-host0.conf", _NM_CONF)
        machine.write("/etc/systemd/system/test-host0.service", _UNIT.format(ip=ip))
        wants = machine.path("/etc/systemd/system/multi-user.target.wants")
        wants.mkdir(parents=True, exist_ok=True)
        (wants / "test-host0.service").symlink_to("/etc/systemd/system/test-host0.service")
    for old in machine.path("/etc/ssh").glob("ssh_host_*"):
        old.unlink()
    machine.write("/etc/ssh/ssh_host_ed25519_key", host_key.read_text(), 0o600)
    machine.write("/etc/ssh/ssh_host_ed25519_key.pub",
                  host_key.with_suffix(".pub").read_text())
    machine.write("/root/.ssh/authorized_keys", client_pub + "\n", 0o600)
    machine.path("/root/.ssh").chmod(0o700)


ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))


class Controller:
    """ssh and ansible-playbook inside the bridge's namespace, for these hosts."""

    def __init__(self, bridge: Bridge, workdir: Path, hosts: list[Host], key: Path,
                 host_pub: str) -> None:
        self.bridge, self.dir, self.hosts, self.key = bridge, workdir, hosts, key
        self.known_hosts = workdir / "known_hosts"
        self.known_hosts.write_text("".join(f"{h.ip} {host_pub}\n" for h in hosts))
        self.ssh_opts = ["-i", str(key), "-o", f"UserKnownHostsFile={self.known_hosts}",
                         "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
                         "-o", "ConnectTimeout=20"]

    def ssh(self, host: Host, command: str, timeout: float = 300,
            stdin: str | None = None) -> subprocess.CompletedProcess:
        return self.bridge.run(["ssh", *self.ssh_opts, f"root@{host.ip}", command],
                               timeout=timeout, input=stdin)

    def _playbook_argv(self, args: tuple[str, ...]) -> list[str]:
        """ansible-playbook ARGS with this run's keys and known_hosts (given through the
        environment, so the inventory is the README's as it is). No interpreter is set:
        the play itself says which Python each task uses (the bundle's)."""
        env = {"ANSIBLE_REMOTE_USER": "root", "ANSIBLE_PRIVATE_KEY_FILE": str(self.key),
               "ANSIBLE_SSH_ARGS": " ".join([*self.ssh_opts[2:], "-o", "ControlMaster=auto",
                                             "-o", "ControlPersist=60s"]),
               "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0",
               "ANSIBLE_LOCAL_TEMP": str(self.dir / "ansible-tmp"),
               "ANSIBLE_SSH_CONTROL_PATH_DIR": str(self.control_dir),
               "HOME": str(self.dir), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
        return ["env", "-i", *(f"{k}={v}" for k, v in env.items()), ANSIBLE_PLAYBOOK, *args]

    @property
    def control_dir(self) -> Path:
        return self.dir / "cp"

    def playbook(self, *args: str, cwd: Path, timeout: float = 900):
        return self.bridge.run(self._playbook_argv(args), timeout=timeout, cwd=cwd)

    def start_playbook(self, *args: str, cwd: Path, log: Path) -> subprocess.Popen:
        """ansible-playbook in its own session (so that all of it can be killed), its
        output into `log`."""
        with log.open("w") as out:
            return subprocess.Popen(self.bridge.wrap(self._playbook_argv(args)), cwd=cwd,
                                    stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)

    def kill_everything(self, playbook: subprocess.Popen) -> None:
        """SIGKILL to ansible-playbook, its workers and ssh clients (its session), and to
        the ssh master connections it left running for this run (ControlPersist): as if
        the controller died, every connection to the hosts drops at once."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(playbook.pid, signal.SIGKILL)
        playbook.wait()
        marker = str(self.control_dir).encode()
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit():
                with contextlib.suppress(OSError):
                    if marker in (proc / "cmdline").read_bytes():
                        os.kill(int(proc.name), signal.SIGKILL)

    def ssh_session(self, host: Host, command: str, log: Path) -> subprocess.Popen:
        """An interactive login running `command` (a terminal: -tt), output into `log`."""
        with log.open("w") as out:
            return subprocess.Popen(
                self.bridge.wrap(["ssh", "-tt", *self.ssh_opts, f"root@{host.ip}", command]),
                stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)

    def flush_neighbours(self) -> None:
        """A rebooted host's veth has a new MAC: forget the old one (else SSH stalls)."""
        self.bridge.run(["ip", "neigh", "flush", "dev", "br0"])


def recap(result: subprocess.CompletedProcess) -> dict[str, dict[str, int]]:
    """host -> {ok, changed, failed, rescued, ...} from PLAY RECAP."""
    found = {}
    for line in result.stdout.split("PLAY RECAP", 1)[-1].splitlines():
        match = re.match(r"^(\S+)\s+:\s+(.*)$", line)
        if match:
            found[match.group(1)] = {k: int(v) for k, v in
                                     re.findall(r"(\w+)=(\d+)", match.group(2))}
    return found
