"""Fixtures for the boot tests (marker `boot`): cached roots, the project for each root's
Python, and booted machines that are always powered off and removed afterwards."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.boot import roots, site
from tests.boot.harness import Machine, require_boot_tools


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.boot)


@dataclass
class BootEnv:
    workdir: Path
    wheel: Path
    timings: dict[str, float]

    def root(self, suite: str, variant: str) -> roots.Root:
        return roots.Root(suite, variant)

    def machine(self, suite: str, variant: str, name: str = "", **kwargs) -> Machine:
        """An overlay on the cached root with the project installed (not booted)."""
        root = self.root(suite, variant)
        machine = Machine(root.path, self.workdir, name=name, **kwargs)
        site.install(machine, site.site_dir(root.python, self.wheel, self.workdir), root.python)
        return machine


@pytest.fixture(scope="session")
def boot_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BootEnv]:
    """All roots (built in parallel when missing or when their package list changed)."""
    if os.geteuid() != 0:
        pytest.skip("boot test: needs root (CI runs as root)")
    missing = require_boot_tools()
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: run `sudo bash tests/setup-system.sh`")
    started = time.monotonic()
    workdir = tmp_path_factory.mktemp("boot")
    with ThreadPoolExecutor(max_workers=5) as pool:  # all of it at once: mostly waiting
        jobs = [pool.submit(roots.build_all, roots.all_roots()),
                *(pool.submit(site.dependencies_dir, python)
                  for python in sorted(set(roots.SUITES.values())))]
        wheel = site.project_wheel(workdir / "wheel")
        for job in jobs:
            job.result()
    nspawn_run = Path("/run/systemd/nspawn")
    existed = nspawn_run.exists()
    yield BootEnv(workdir, wheel, {"prepare": time.monotonic() - started})
    if not existed:  # systemd-nspawn leaves its (empty) lock directories behind
        for leftover in (nspawn_run / "locks", nspawn_run / "propagate", nspawn_run):
            with contextlib.suppress(OSError):
                leftover.rmdir()


@pytest.fixture
def new_machine(boot_env: BootEnv) -> Iterator[Callable[..., Machine]]:
    """new_machine(suite, variant): a machine with the project installed, not booted yet;
    every machine made is powered off and removed when the test ends."""
    made: list[Machine] = []

    def make(suite: str, variant: str, **kwargs) -> Machine:
        made.append(boot_env.machine(suite, variant, **kwargs))
        return made[-1]

    yield make
    for machine in made:
        machine.close()
