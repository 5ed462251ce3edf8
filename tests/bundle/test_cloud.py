"""The cloud SDK, trimmed to ucloud.core in the bundle, still does all the wizard asks of
it: `fetch --json` from the bundle against the fake of the cloud API (the real API cannot
be reached from here: tests/fakes/ucloud_api.py re-computes the SDK's request signature)
answers as the pip install does, through signed requests the fake accepts."""

from __future__ import annotations

import subprocess

from tests.bundle.conftest import Bundle, inside_env
from tests.fakes.ucloud_api import FakeUCloudAPI, instance_metadata, sample_clbs
from tests.ui.term import installed_wizard

PUBLIC, PRIVATE = "fake-public-key", "PRIVATE-KEY-zz-never-in-any-file"


def test_fetch_from_the_bundle_answers_as_the_pip_install(bundle: Bundle) -> None:
    with FakeUCloudAPI(keys={PUBLIC: PRIVATE}, clbs=sample_clbs(),
                       metadata=instance_metadata()) as api:
        env = inside_env({"UCLOUD_PUBLIC_KEY": PUBLIC, "UCLOUD_PRIVATE_KEY": PRIVATE,
                          "UCLOUD_REGION": "cn-bj2", "CLB_WIZARD_API_URL": api.url,
                          "CLB_WIZARD_METADATA_URL": api.metadata_url, "NO_PROXY": "*"})
        results = [subprocess.run([*wizard, "fetch", "--json"], capture_output=True, text=True,
                                  env=env, timeout=120)
                   for wizard in ([str(bundle.folder / "clb-wizard")], installed_wizard())]
        accepted, rejected = len(api.accepted), len(api.rejected)
    bundled, pip = results
    assert bundled.returncode == 0, bundled.stderr
    assert (bundled.stdout, bundled.stderr) == (pip.stdout, pip.stderr)
    assert '"ulb-' in bundled.stdout and PRIVATE not in bundled.stdout + bundled.stderr
    assert accepted >= 2 and rejected == 0
