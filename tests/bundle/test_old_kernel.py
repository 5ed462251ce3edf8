"""The old-kernel simulation itself (tests/bundle/jail.py), so that what runs under it is
known to meet Linux 3.10's limits: newer system calls fail with ENOSYS, uname says an old
kernel, and the bundle's Python and OpenSSL still get random numbers and TLS. The control:
with the system calls limited but uname left alone, OpenSSL 3 cannot seed at all, which is
why the simulation fakes uname too."""

from __future__ import annotations

from tests.bundle.conftest import Bare

RANDOM = """
import hashlib, os, secrets, ssl
try:
    os.getrandom(16)
    print("getrandom works")
except OSError as error:
    print("getrandom:", error.strerror)
print("os.urandom", len(os.urandom(16)), "secrets", len(secrets.token_bytes(16)))
print("openssl", len(ssl.RAND_bytes(16)))
context = ssl.create_default_context()
print("tls context", context.verify_mode == ssl.CERT_REQUIRED, hashlib.sha256(b"").hexdigest()[:8])
"""


def python(bare: Bare) -> str:
    return f"/{bare.bundle.name}/bin/python3"


def test_new_system_calls_fail_and_uname_says_old(bare: Bare) -> None:
    shown = bare.run(python(bare), "-c", RANDOM)
    kernel = bare.run("uname", "-r").stdout
    if bare.old_kernel:
        assert kernel.startswith("2.6."), kernel
        assert shown.stdout.splitlines() == [
            "getrandom: Function not implemented", "os.urandom 16 secrets 16", "openssl 16",
            "tls context True e3b0c442"], shown.stdout + shown.stderr
    else:
        assert not kernel.startswith(("2.", "3.")), kernel
        assert shown.stdout.splitlines()[0] == "getrandom works", shown.stdout + shown.stderr


def test_control_without_the_old_uname_openssl_cannot_seed(bare_today: Bare) -> None:
    shown = bare_today.run(python(bare_today), "-c", RANDOM, syscalls_only=True)
    assert shown.stdout.splitlines()[:2] == ["getrandom: Function not implemented",
                                             "os.urandom 16 secrets 16"], shown.stdout
    assert "error retrieving entropy" in shown.stderr, shown.stderr
