#!/bin/sh
# clb-wizard @VERSION@ for Linux @ARCH@: the wizard with its own runtime, in one file.
#
#   sudo sh clb-wizard-@VERSION@-linux-@ARCH@.run [WIZARD ARGUMENTS]
#       checks this file, installs it to /opt/clb-wizard/@VERSION@ (root's, 0755), links
#       /usr/local/sbin/clb-wizard to it and starts the wizard with the arguments
#   sudo sh clb-wizard-@VERSION@-linux-@ARCH@.run --install-only    installs, exits 0
#   sudo sh clb-wizard-@VERSION@-linux-@ARCH@.run --uninstall       removes what it installed
#   sh clb-wizard-@VERSION@-linux-@ARCH@.run --extract DIR          unpacks into DIR only
#
# Needs only a POSIX sh, tar, gzip and sha256sum. Written by
# packaging/build-bundle from packaging/bundle/run-header.sh; the archive follows the
# line that ends this script.
# shellcheck disable=SC2015  # "a && b || die": either failing is the failure

VERSION=@VERSION@
PAYLOAD_SHA256=@PAYLOAD_SHA256@
PAYLOAD_SIZE=@PAYLOAD_SIZE@
PAYLOAD_OFFSET=@PAYLOAD_OFFSET@
PREFIX=/opt/clb-wizard
TARGET=$PREFIX/$VERSION
LINK=/usr/local/sbin/clb-wizard
CREATED=$PREFIX/.created-by-$VERSION  # the folders the install made, for --uninstall
# A copy of this file, kept beside the install: `clb-wizard export --format ansible` run from
# this install puts it beside the playbook (the hosts get the wizard the admin runs).
KEPT=$PREFIX/clb-wizard-$VERSION-linux-@ARCH@.run
RUN_FILE=$0
umask 022

say() { printf 'clb-wizard: %s\n' "$*" >&2; }
die() {
    say "$*"
    exit 2
}

sha256_of() {  # stdin -> the hex digest; sha256sum only: the installed files are
    # checked with `sha256sum -c` (intact), which shasum/openssl could not stand in for
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum | cut -d' ' -f1
    else
        echo "no-sha256-tool"
    fi
}

payload() { tail -c +"$PAYLOAD_OFFSET" "$RUN_FILE"; }

check_self() {
    [ -r "$RUN_FILE" ] || die "cannot read $RUN_FILE: run it as: sh FILE.run"
    size=$(payload | wc -c | tr -d ' ')
    [ "$size" = "$PAYLOAD_SIZE" ] \
        || die "$RUN_FILE is damaged or incomplete ($size of $PAYLOAD_SIZE archive bytes): download it again"
    sum=$(payload | sha256_of)
    [ "$sum" != no-sha256-tool ] || die "no sha256sum here to check $RUN_FILE: install coreutils (or busybox)"
    [ "$sum" = "$PAYLOAD_SHA256" ] \
        || die "$RUN_FILE is damaged (its archive's sha256 is $sum, not $PAYLOAD_SHA256): download it again"
}

unpack() {  # into $1, which exists; as root the files are root's (the archive says so)
    payload | gzip -dc | (cd "$1" && tar -xf -) || return 1
}

# Intact: this version's files, each with the checksum the bundle lists, and root's.
intact() {
    [ -d "$TARGET" ] && [ ! -L "$TARGET" ] && [ -f "$TARGET/SHA256SUMS" ] || return 1
    [ -z "$(find "$TARGET" \( ! -user 0 -o ! -type l \( -perm -0020 -o -perm -0002 \) \) -print | head -n 1)" ] || return 1
    (cd "$TARGET" && sha256sum -c SHA256SUMS) >/dev/null 2>&1
}

need_root() {
    [ "$(id -u)" = 0 ] || die "installing to $PREFIX needs root: sudo sh $RUN_FILE $* (or unpack it anywhere with: sh $RUN_FILE --extract DIR)"
}

link_points_here() { [ -L "$LINK" ] && [ "$(readlink "$LINK")" = "$TARGET/clb-wizard" ]; }

install_bundle() {
    need_root "$@"
    check_self
    if [ -e "$LINK" ] && ! { [ -L "$LINK" ] && case $(readlink "$LINK") in
            "$PREFIX"/*/clb-wizard) true ;; *) false ;; esac; }; then
        die "$LINK exists and is not a link to a clb-wizard bundle: move it away and run this again (nothing was installed)"
    fi
    if [ -d "$PREFIX" ] && [ -n "$(find "$PREFIX" -prune ! -user 0)" ]; then
        die "$PREFIX is not root's, so it is not the folder this installs into: move it away (nothing was installed)"
    fi
    created=
    for dir in /opt "$PREFIX" /usr /usr/local "${LINK%/*}"; do
        [ -d "$dir" ] || created="$dir $created"  # deepest first
    done
    [ -d "$PREFIX" ] || mkdir -p "$PREFIX" || die "cannot create $PREFIX"
    [ -z "$created" ] || [ -f "$CREATED" ] || echo "$created" >"$CREATED"
    if ! intact; then
        tmp=$PREFIX/.install-$VERSION-$$
        rm -rf "$tmp" && mkdir -m 0700 "$tmp" || die "cannot create $tmp"
        if ! unpack "$tmp" || [ ! -x "$tmp/clb-wizard-$VERSION/clb-wizard" ]; then
            rm -rf "$tmp"
            die "unpacking into $PREFIX failed (is the disk full?); nothing was installed"
        fi
        chown -R 0:0 "$tmp/clb-wizard-$VERSION" && chmod -R go-w "$tmp/clb-wizard-$VERSION" \
            || { rm -rf "$tmp"; die "cannot make $tmp root's"; }
        if [ -e "$TARGET" ] || [ -L "$TARGET" ]; then
            say "$TARGET was changed or damaged: replacing it"
            mv "$TARGET" "$tmp/old" || { rm -rf "$tmp"; die "cannot move the damaged $TARGET aside"; }
        fi
        mv "$tmp/clb-wizard-$VERSION" "$TARGET" || { rm -rf "$tmp"; die "cannot install $TARGET"; }
        rm -rf "$tmp"
        intact || die "$TARGET does not check out after unpacking (is the disk full?)"
        installed=yes
    fi
    if ! { [ -f "$KEPT" ] && [ ! -L "$KEPT" ] && cmp -s "$RUN_FILE" "$KEPT"; }; then
        rm -f "$KEPT.new" && cp "$RUN_FILE" "$KEPT.new" && chmod 0644 "$KEPT.new" \
            && chown 0:0 "$KEPT.new" && mv -f "$KEPT.new" "$KEPT" \
            || { rm -f "$KEPT.new"; die "cannot keep a copy of $RUN_FILE as $KEPT (is the disk full?)"; }
        installed=yes
    fi
    if ! link_points_here; then
        [ -d "${LINK%/*}" ] || mkdir -p "${LINK%/*}" || die "cannot create ${LINK%/*}"
        ln -sf "$TARGET/clb-wizard" "$LINK" || die "cannot link $LINK"
        installed=yes
    fi
    if [ -n "${installed:-}" ]; then
        say "installed $TARGET; run it as $LINK"
    elif [ "$MODE" = install-only ]; then  # else the wizard's output alone
        say "$TARGET is already installed and intact"
    fi
}

uninstall_bundle() {
    need_root "$@"
    if ! link_points_here && [ ! -e "$TARGET" ] && [ ! -L "$TARGET" ]; then
        say "clb-wizard $VERSION is not installed here: nothing to remove"
        exit 0
    fi
    if [ -e /var/lib/clb-wizard/journal.json ]; then
        die "a change is unfinished (/var/lib/clb-wizard/journal.json): finish it first (clb-wizard confirm, rollback or recover), then uninstall; nothing was removed"
    fi
    if [ -e "$TARGET" ] && [ ! -f "$TARGET/clb-wizard-bundle.json" ]; then
        die "$TARGET is not a clb-wizard bundle: left alone, nothing was removed"
    fi
    if link_points_here; then
        rm -f "$LINK" || die "cannot remove $LINK"
    fi
    rm -rf "$TARGET" || die "cannot remove $TARGET"
    rm -f "$KEPT"
    created=$(cat "$CREATED" 2>/dev/null)
    rm -f "$CREATED"
    for dir in $created "$PREFIX"; do
        rmdir "$dir" 2>/dev/null  # only when empty: another version or the admin's files stay
    done
    say "removed clb-wizard $VERSION ($TARGET and $LINK); the records of past changes stay in /var/lib/clb-wizard"
    exit 0
}

MODE=run
case ${1:-} in
    --install-only)
        MODE=install-only
        shift
        install_bundle "$@"
        exit 0 ;;
    --uninstall)
        shift
        uninstall_bundle "$@" ;;
    --extract)
        [ -n "${2:-}" ] || die "--extract needs a folder"
        check_self
        mkdir -p "$2" && unpack "$2" || die "unpacking into $2 failed"
        say "unpacked into $2/clb-wizard-$VERSION; run $2/clb-wizard-$VERSION/clb-wizard"
        exit 0 ;;
esac
install_bundle "$@"
exec "$TARGET/clb-wizard" "$@"
exit 2
