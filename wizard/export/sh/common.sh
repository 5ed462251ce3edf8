# shellcheck shell=sh
# clb-wizard export library: output, running commands, atomic files, the lock.
# Package data of clb_wizard.export: the exported script is its data section followed by
# these files as they are. Upper-case names come from the data section or are globals.

say() { printf '%s\n' "$*"; }
warn() { printf 'clb-wizard: %s\n' "$*" >&2; }
refuse() { warn "$*"; warn "Nothing was changed."; exit 2; }

clb_on_lo() { clb_lo_now | grep -q "^inet $1 32 "; }
clb_on_lo_at_start() { grep -q "^inet $1 32 " "$WORK/lo-start"; }
clb_on_lo_mid() { grep -q "^inet $1 32 " "$WORK/lo-mid"; }
clb_was_on_lo() { grep -q "^inet $1 32 " "$RUN/lo-before"; }
clb_routed_local() {
    set -- "$(ip route get "$1" 2>/dev/null | head -n 1)"
    case $1 in local\ *) return 0 ;; esac
    return 1
}
# commands never inherit the lock (fd 9) or a data table (fd 3): a daemon one of them
# starts must not hold the wizard's lock
run() {
    say "  \$ $*"
    if ! "$@" 3<&- 9>&-; then
        warn "\`$*\` failed"
        return 1
    fi
}
try() { "$@" >/dev/null 2>&1 3<&- 9>&- || say "  (ignored: \`$*\` failed)"; }

# clb_cmd run|try WORDS [VIP LABEL]: a command of a table. WORDS are shell-quoted by the
# exporter (eval only ever sees them); {vip} and {label} become VIP and LABEL in every word.
clb_cmd() {
    # sh has no local variables: these names are clb_cmd's own
    _cmd_how=$1 _cmd_vip=${3:-} _cmd_label=${4:-}
    eval "set -- $2"
    for _cmd_word do
        shift
        while :; do
            case $_cmd_word in
                *'{vip}'*) _cmd_word=${_cmd_word%%\{vip\}*}$_cmd_vip${_cmd_word#*\{vip\}} ;;
                *'{label}'*) _cmd_word=${_cmd_word%%\{label\}*}$_cmd_label${_cmd_word#*\{label\}} ;;
                *) break ;;
            esac
        done
        set -- "$@" "$_cmd_word"
    done
    "$_cmd_how" "$@"
}

# any of a comma-separated list is a path that exists
clb_any_exists() {
    for p in $(printf '%s' "$1" | tr ',' ' '); do [ -e "$p" ] && return 0; done
    return 1
}

# write FILE MODE < content: temp file in the same directory, then rename (atomic)
atomic_write() {
    dir=$(dirname "$1")
    mkdir -p "$dir" || return 1
    tmp=$(mktemp "$dir/.clb-wizard.XXXXXX") || return 1
    if ! cat > "$tmp" || ! chmod "$2" "$tmp" || ! chown 0:0 "$tmp"; then
        rm -f "$tmp"
        return 1
    fi
    mv -f "$tmp" "$1" || { rm -f "$tmp"; return 1; }
}
# restore FILE from BACKUP byte-exact (content, mode, owner), or remove it
restore_file() {
    if [ -f "$2" ]; then
        dir=$(dirname "$1")
        tmp=$(mktemp "$dir/.clb-wizard.XXXXXX") || return 1
        if ! cp -p "$2" "$tmp" || ! mv -f "$tmp" "$1"; then
            rm -f "$tmp"
            return 1
        fi
    else
        rm -f "$1"
    fi
}
file_mode() { stat -c %a "$1" 2>/dev/null | sed 's/^/0/;s/^0\(....\)$/\1/'; }
# differs FILE MODE < content
differs() {
    [ -f "$1" ] || { cat >/dev/null; return 0; }
    if ! cmp -s - "$1"; then return 0; fi
    [ "$(file_mode "$1")" != "$2" ]
}

# The wizard's own lock ($CLB_STATE_ROOT/lock, flock) and its journal: a host that
# clb-wizard (or the playbook) is changing is refused, and the other way round.
lock() {
    if ! mkdir -p "$STATE" || ! chmod 700 "$CLB_STATE_ROOT" "$STATE"; then
        refuse "cannot create $STATE"
    fi
    exec 9>>"$CLB_STATE_ROOT/lock"
    flock -n 9 || refuse "another clb-wizard run (pid $(head -c 32 "$CLB_STATE_ROOT/lock" 2>/dev/null)) is changing this host; wait for it to finish, then try again"
    printf '%s\n' "$$" > "$CLB_STATE_ROOT/lock"
    if [ -f "$ENGINE_JOURNAL" ] && grep -q "\"state\": \"\\($CLB_UNRESOLVED\\)\"" "$ENGINE_JOURNAL"; then
        refuse "a clb-wizard transaction is unfinished, or its rollback failed ($ENGINE_JOURNAL): the host may be half changed. Run \`clb-wizard recover\` first (it finishes or retries it)"
    fi
}
