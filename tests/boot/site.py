"""The project as `pip install` gives it, for a booted root's own Python.

The containers have no network, so everything is prepared on the host: the project's
wheel (built once per test session from this checkout) and its dependencies as binary
wheels for the root's Python version (`pip install --target --python-version X
--only-binary=:all:`; cached per version and dependency list, since resolving them takes
a while). The result is one site-packages directory, bound read-only at the root's
`/usr/local/lib/python3.X/dist-packages` (on Debian's sys.path, so `python3 -m clb_wizard`
works for the watchdog's transient unit too), plus `/usr/local/sbin/clb-wizard`, the
console script pip would write.
"""

from __future__ import annotations

import configparser
import hashlib
import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

from tests.boot.roots import CACHE, REPO
from tests.boot.roots import _locked as locked

PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]

# Newer releases of these need a newer Python than bullseye's; capping them spares pip
# minutes of backtracking through indexes that do not publish Requires-Python.
CAPS = {"3.9": ("markdown-it-py<4", "mdit-py-plugins<0.5", "platformdirs<4.5",
                "linkify-it-py<2.1", "requests<2.33", "urllib3<2.7")}


def dependencies() -> list[str]:
    """The project's runtime requirements, as installed in this environment (tests/run
    installs the checkout each time)."""
    required = importlib.metadata.requires("clb-wizard") or []
    return sorted(r for r in required if "extra ==" not in r)


def _platform_args(python: str) -> list[str]:
    arch = platform.machine()
    tags = [f"manylinux2014_{arch}", f"manylinux_2_17_{arch}", f"manylinux_2_28_{arch}"]
    return ["--only-binary=:all:", "--implementation", "cp", "--python-version", python,
            *(a for tag in tags for a in ("--platform", tag))]


def dependencies_dir(python: str) -> Path:
    """The dependencies for `python` (e.g. "3.9"), installed once into a cached directory."""
    deps = dependencies()
    caps = CAPS.get(python, ())
    key = hashlib.sha256("\n".join([python, *deps, *caps]).encode()).hexdigest()[:12]
    target = CACHE / "site" / f"deps-{python}-{key}"
    if (target / ".complete").exists():
        return target
    with locked(f"site-{python}"):
        if (target / ".complete").exists():
            return target
        tmp = target.with_name(target.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.parent.mkdir(parents=True, exist_ok=True)
        constraints = tmp.with_suffix(".caps")
        constraints.write_text("".join(f"{cap}\n" for cap in caps))
        result = subprocess.run([*PIP, "install", "--target", str(tmp), *_platform_args(python),
                                 "-c", str(constraints), *deps], capture_output=True, text=True)
        constraints.unlink()
        if result.returncode != 0:
            raise RuntimeError(f"dependencies for Python {python}: {result.stderr[-2000:]}")
        (tmp / ".complete").touch()
        tmp.rename(target)
    return target


def project_wheel(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    # pip builds in the checkout's build/: one build at a time (pytest-xdist workers each
    # build their own wheel and would otherwise share that folder)
    with locked("project-wheel"):
        subprocess.run([*PIP, "wheel", "--no-deps", "--no-build-isolation", "-w", str(dest),
                        str(REPO)], check=True, capture_output=True)
    return next(dest.glob("clb_wizard-*.whl"))


def site_dir(python: str, wheel: Path, workdir: Path) -> Path:
    """A site-packages for `python`: the cached dependencies plus the project's wheel."""
    site = workdir / f"site-{python}"
    if not (site / "clb_wizard").is_dir():
        shutil.copytree(dependencies_dir(python), site, symlinks=True)
        subprocess.run([*PIP, "install", "--no-deps", "--no-compile", "--target", str(site),
                        str(wheel)], check=True, capture_output=True)
    return site


def console_script(site: Path) -> str:
    """/usr/local/sbin/clb-wizard as pip writes it, from the wheel's entry point."""
    points = configparser.ConfigParser()
    points.read(next(site.glob("clb_wizard-*.dist-info")) / "entry_points.txt")
    module, _, func = points["console_scripts"]["clb-wizard"].partition(":")
    return (f"#!/usr/bin/python3\nimport sys\nfrom {module} import {func}\n"
            f"if __name__ == '__main__':\n    sys.exit({func}())\n")


def install(machine, site: Path, python: str) -> None:
    """Make the project importable and runnable in `machine` (a harness.Machine, off)."""
    machine.binds.append((str(site), f"/usr/local/lib/python{python}/dist-packages"))
    machine.write("/usr/local/sbin/clb-wizard", console_script(site), 0o755)
    os.makedirs(machine.path(f"/usr/local/lib/python{python}/dist-packages"), exist_ok=True)
