#!/usr/bin/env bash
# System tools the tests drive for real (run as root; idempotent):
#   iproute2 (ip), ifupdown (ifup/ifdown/ifquery), netplan.io (netplan generate) with
#   systemd-networkd, shellcheck, dbus (a private bus for NetworkManager and networkd),
#   NetworkManager unpacked into .cache/nmroot (not installed system-wide: that
#   would pull in udev and systemd changes the machine does not need), ifupdown-ng
#   (Alpine's tool) unpacked into .cache/ifupdown-ng-root (Debian's package conflicts
#   with ifupdown, which the tests need too), and for the boot tests systemd-nspawn
#   (systemd-container), debootstrap and Debian's archive keys (without recommends:
#   systemd-container's would add mymachines to nsswitch); for the portable bundle
#   (packaging/build-bundle, tests/bundle) xz-utils, binutils (strip) and busybox-static
#   (the static /bin/sh of the bare roots: one file in /bin, no applet links), and on x86_64
#   qemu-aarch64-static for the arm64 bundle, unpacked from Debian's qemu-user-static
#   into .cache/qemu-user (installing it would register binfmt handlers system-wide); ssh
#   for the fleet tests (their ansible-core comes from PyPI with the test extras, not apt).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
    echo "tests/setup-system.sh must run as root (apt-get)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
packages=(iproute2 ifupdown netplan.io systemd shellcheck dbus dbus-daemon procps curl
          python3-venv openssh-client systemd-container debootstrap debian-archive-keyring
          xz-utils binutils busybox-static binutils-aarch64-linux-gnu)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
nmroot=.cache/nmroot
ngroot=.cache/ifupdown-ng-root
qemu=.cache/qemu-user/usr/bin/qemu-aarch64-static
[ "$(uname -m)" = x86_64 ] || qemu=/bin/true  # an arm64 host runs its own bundle natively
if [ ${#missing[@]} -gt 0 ] || [ ! -x "$nmroot/usr/sbin/NetworkManager" ] \
        || [ ! -x "$ngroot/sbin/ifupdown" ] || [ ! -x "$qemu" ]; then
    apt-get update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [ ! -x "$nmroot/usr/sbin/NetworkManager" ]; then
    mkdir -p .cache/nm-debs "$nmroot"
    (cd .cache/nm-debs && apt-get download -qq network-manager libnm0 libbluetooth3 \
        libmm-glib0 libndp0 libteamdctl0 2>/dev/null)
    for deb in .cache/nm-debs/*.deb; do dpkg -x "$deb" "$nmroot"; done
fi
if [ ! -x "$ngroot/sbin/ifupdown" ]; then
    mkdir -p .cache/ifupdown-ng-debs "$ngroot"
    (cd .cache/ifupdown-ng-debs && apt-get download -qq ifupdown-ng 2>/dev/null)
    for deb in .cache/ifupdown-ng-debs/*.deb; do dpkg -x "$deb" "$ngroot"; done
fi
if [ ! -x "$qemu" ]; then
    mkdir -p .cache/qemu-debs .cache/qemu-user
    (cd .cache/qemu-debs && apt-get download -qq qemu-user-static 2>/dev/null)
    dpkg-deb --fsys-tarfile .cache/qemu-debs/qemu-user-static_*.deb \
        | tar -x -C .cache/qemu-user ./usr/bin/qemu-aarch64-static
    rm -rf .cache/qemu-debs
fi
"$ngroot/sbin/ifquery" --version >/dev/null
"$nmroot/usr/sbin/NetworkManager" --version >/dev/null 2>&1 \
    || LD_LIBRARY_PATH="$nmroot/usr/lib/$(uname -m)-linux-gnu" "$nmroot/usr/sbin/NetworkManager" --version
