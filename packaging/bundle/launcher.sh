#!/bin/sh
# @NAME@: launcher of the clb-wizard @VERSION@ bundle (written by packaging/build-bundle
# from packaging/bundle/launcher.sh).
#
# Starts the bundle's own Python (Debian 12's python3.11) through the bundle's own dynamic
# loader, so nothing of the host is used but the kernel and this shell (plus env, readlink,
# and, as root, id and find). No variable is set: the loader gets the library path and
# argv[0] as options, so the programs the wizard runs (ip, ifup, nmcli...) keep their own
# libraries, and argv[0] makes sys.executable bin/python3 (the watchdog re-runs it).

# The host's loader and Python settings would act on the bundle's loader and Python (and
# reach every program the wizard runs): they are dropped, whoever set them.
unset LD_PRELOAD LD_LIBRARY_PATH LD_AUDIT GLIBC_TUNABLES GCONV_PATH LOCPATH
for clb_name in $(env 2>/dev/null | while IFS= read -r clb_line; do
        clb_var=${clb_line%%=*}
        case $clb_var in
            '' | *[!A-Za-z0-9_]*) ;;
            LD_* | PYTHON*) printf '%s\n' "$clb_var" ;;
        esac
    done); do
    unset "$clb_name"
done

clb_fail() {
    printf 'clb-wizard: %s\n' "$1" >&2
    exit 2
}

# Where the bundle is: this file's real location, through any symlinks to it
# (/usr/local/sbin/clb-wizard -> /opt/clb-wizard/VERSION/clb-wizard).
clb_self=$0
while [ -L "$clb_self" ]; do
    clb_link=$(readlink -- "$clb_self") || clb_fail "cannot follow the symlink $clb_self"
    case $clb_link in
        /*) clb_self=$clb_link ;;
        *) clb_self=${clb_self%/*}/$clb_link ;;
    esac
done
case $clb_self in
    */*) clb_dir=${clb_self%/*} ;;
    *) clb_dir=. ;;
esac
case $clb_dir in
    /*) ;;
    *) clb_dir=./$clb_dir ;;
esac
clb_home=$(cd -P -- "$clb_dir/@UP@" && pwd -P && echo x) || clb_fail "cannot find the bundle from $0"
clb_home=${clb_home%?x}
case $clb_home in
    *[:\;\$]*) clb_fail "the bundle's path has a ':', ';' or '\$' ($clb_home), which the loader's library path cannot hold: move it" ;;
esac

# As root: refuse to start when anything in the bundle, or a folder above it, could be
# changed by another user (the next root run would run their code). Symlinks' own modes
# mean nothing; a sticky folder (/tmp) is fine when it is root's.
clb_above() {  # the `ls -ldn` line of each folder above $1 that another user could change
    clb_up=$1
    set --
    while [ -n "$clb_up" ]; do
        clb_up=${clb_up%/*}
        set -- "$@" "${clb_up:-/}"
    done
    # shellcheck disable=SC2012  # only the mode and owner are read; one find each costs more
    ls -ldn -- "$@" 2>&1 | while IFS= read -r clb_line; do
        set -f
        # shellcheck disable=SC2086  # the line's words: mode, links, owner...
        set -- $clb_line
        clb_ok=yes
        [ "$3" = 0 ] || clb_ok=
        case $1 in
            ?????????[tT]*) ;;                # sticky: only its owner matters
            ?????w* | ????????w*) clb_ok= ;;  # its group or anyone may write
        esac
        [ -n "$clb_ok" ] || printf '%s\n' "$clb_line"
    done
}
if [ "$(id -u 2>/dev/null || echo 0)" = 0 ]; then
    clb_bad=$(clb_above "$clb_home")
    [ -z "$clb_bad" ] || clb_bad="$clb_bad
"
    clb_found=$(find "$clb_home" \( ! -user 0 -o ! -type l \( -perm -0020 -o -perm -0002 \) -o ! -type f ! -type d ! -type l \) -exec ls -ldn {} + 2>&1 | head -n 10)
    [ -z "$clb_found" ] || clb_bad="$clb_bad$clb_found
"
    if [ -n "$clb_bad" ]; then
        printf 'clb-wizard: refusing to run as root: a user other than root owns or can change these parts of the bundle (or folders above it), so they could run their code as root:\n%s' "$clb_bad" >&2
        printf 'Fix: reinstall from the .run file (sudo sh clb-wizard-@VERSION@-linux-@ARCH@.run --install-only), or make them root'"'"'s: chown -R root:root %s && chmod -R go-w %s (and the same for each folder above it listed here).\n' "$clb_home" "$clb_home" >&2
        exit 2
    fi
fi

exec "$clb_home/lib/@MULTIARCH@/@LOADER@" --inhibit-cache \
    --library-path "$clb_home/lib/@MULTIARCH@" --argv0 "$clb_home/bin/python3" \
    "$clb_home/libexec/python3.11" -I -B @ENTRY@ "$@"
