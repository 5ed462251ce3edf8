"""What to tell a user whose host's Python is too old for clb-wizard (it needs 3.9): run the
portable file there, `clb-wizard-VERSION-linux-ARCH.run`, which brings its own runtime
(packaging/, issue 19): one file, one command (`sudo sh FILE` checks it, installs it to
/opt/clb-wizard and opens the wizard).

The hard part on a VNC console is getting one file onto a backend with no copy and paste
and, often, no public IP: no scp, no ssh from a laptop. So the steps offer ways that need
only a short command typed on that console: download it over HTTP from a host in the same
VPC (any host with the file and a python3 serves it with `python3 -m http.server`), from
the object storage's internal endpoint, or from a mirror the host can reach; and, for a
host not created yet, UserData at first boot (no file at all). The file's sha256 is
checked by the file itself; its first characters can be compared by eye or aloud.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from clb_wizard.platform import Platform

# The Python each release ships, where it is older than the 3.9 clb-wizard needs (by the
# release key of releases.KNOWN_RELEASES, or os-release ID-VERSION_ID).
STOCK_PYTHON: dict[str, str] = {
    "centos-7": "3.6", "rhel-7": "3.6", "centos-8": "3.6", "rhel-8": "3.6",
    "rocky-8": "3.6", "almalinux-8": "3.6", "opencloudos-8": "3.6", "tencentos-3": "3.6",
    "anolis-8": "3.6", "alinux-3": "3.6", "openeuler-20": "3.7", "kylin-10": "3.7",
    "uos-20": "3.7", "ubuntu-16.04": "3.5", "ubuntu-18.04": "3.6", "ubuntu-20.04": "3.8",
    "debian-10": "3.7",
}
ENV_DOWNLOAD_URL = "CLB_WIZARD_DOWNLOAD_URL"  # where your team publishes the .run file
HTTP_PORT = 8000


def version() -> str:
    try:
        from importlib.metadata import version as installed

        return installed("clb-wizard")
    except Exception:  # not installed (a checkout on sys.path)
        return "VERSION"


def bundle_name(arch: Optional[str] = None) -> str:
    """The portable file's name for this version (x86_64 unless told)."""
    return f"clb-wizard-{version()}-linux-{arch or 'x86_64'}.run"


def stock_python(platform: Platform) -> Optional[str]:
    """The Python a release ships when it is too old for clb-wizard, else None."""
    return STOCK_PYTHON.get(platform.release) or STOCK_PYTHON.get(platform.key)


def old_host_steps(platform: Platform, arch: Optional[str] = None,
                   download_url: Optional[str] = None, vips: Sequence[str] = ()) -> list[str]:
    """Lines (each at most 78 columns) telling how to run the wizard on `platform`'s host
    with the portable file, and how to get that one file there from a console. With
    `vips`, the UserData command for a new host names them."""
    from clb_wizard.twin import wrap_command

    if platform.family == "windows":  # the portable file is for Linux
        return [f"{platform.name}: clb-wizard does not run there. `clb-wizard plan --os",
                "windows --vip V` shows the PowerShell to run on it (or UserData:",
                "`clb-wizard userdata --os windows --vip V`)."]
    name = bundle_name(arch)
    python = stock_python(platform)
    url = download_url if download_url is not None else os.environ.get(ENV_DOWNLOAD_URL, "")
    why = (f"{platform.name} ships Python {python}; clb-wizard needs 3.9 or later."
           if python else f"For {platform.name}: the portable file needs no Python at all.")
    lines = [
        why,
        f"Run the portable file there, {name}:",
        "it brings its own runtime; nothing else is installed.",
        "",
        "1. Get the file onto the host (one of a-d below).",
        f"2. On the host, as root:   sh {name}",
        "   (or: sudo sh FILE) it checks itself, installs to /opt/clb-wizard and",
        "   opens this wizard. Later: clb-wizard (or /usr/local/sbin/clb-wizard).",
        "",
        "Getting one file there from a VNC console (no copy and paste, no scp):",
    ]
    if url:
        lines += ["a. The host reaches your download server:",
                  f"     curl -fLO {url.rstrip('/')}/{name}"]
    else:
        lines += ["a. The host reaches a web server with the file (your mirror):",
                  f"     curl -fLO http://SERVER/PATH/{name}"]
    lines += [
        "b. Another host in the same VPC has the file (and python3): there, in its",
        f"   folder:  python3 -m http.server {HTTP_PORT}",
        "   then on this host:",
        f"     curl -fO http://ITS-PRIVATE-IP:{HTTP_PORT}/{name}",
        "   (stop the server with Ctrl+C afterwards)",
        "c. Upload it to object storage (US3) and download it on the host from the",
        "   bucket's internal (intranet) domain: no public IP needed.",
        "d. A host not created yet: cloud-init UserData for its first boot, no file",
        "   to carry:",
        *(f"     {line}" for line in wrap_command(
            ["clb-wizard", "userdata", "--os", platform.key if platform.version else
             platform.release, *(a for v in vips for a in ("--vip", v))]
            + ([] if vips else ["--vip", "VIP"]), 73)),
        "",
        f"Check it arrived whole: sha256sum {name}",
        "and compare the first 8 characters with the published .sha256 file.",
    ]
    return lines


__all__ = ["STOCK_PYTHON", "bundle_name", "old_host_steps", "stock_python"]
