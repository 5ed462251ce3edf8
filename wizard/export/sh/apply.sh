# shellcheck shell=sh
# clb-wizard export library: the change (the wizard's transaction, as data-driven sh).

# clb_steps PHASE: the engine's commands (method.transition) for PHASE, each when this host
# needs it. A row: PHASE ALWAYS ON_CHANGE VIPS UNLESS_EXISTS WORDS...; VIPS and
# UNLESS_EXISTS are comma-separated or "-".
clb_steps() {
    while read -r phase always on_change vips unless words <&3; do
        [ "$phase" = "$1" ] || continue
        if [ "$unless" != - ] && clb_any_exists "$unless"; then continue; fi
        if [ "$always" != 1 ] && ! { [ "$on_change" = 1 ] && [ -n "$CHANGED_FILES" ]; } &&
            ! clb_step_vip_missing "$1" "$vips"; then
            continue
        fi
        clb_cmd run "$words" || return 1
    done 3<<TABLE
$(clb_table_rows clb_step_table)
TABLE
    return 0
}
# a VIP the step brings up is not on lo (before the files change, or after)
clb_step_vip_missing() {
    [ "$2" != - ] || return 1
    for v in $(printf '%s' "$2" | tr ',' ' '); do
        if [ "$1" = prepare ]; then
            clb_on_lo_at_start "$v" || return 0
        else
            clb_on_lo_mid "$v" || return 0
        fi
    done
    return 1
}

# clb_retire PHASE: retire each old pair of ours in RETIRE with the engine's commands.
# A row: PHASE BY_LABEL NEEDS_VIP WORDS... ({vip} and {label} filled per pair).
clb_retire() {
    for pair in $RETIRE; do
        label=${pair%%:*}
        vip=${pair#*:}
        while read -r phase by_label needs_vip words <&3; do
            [ "$phase" = "$1" ] || continue
            if [ "$needs_vip" = 1 ] && [ "$by_label" != 1 ] && ! clb_on_lo "$vip"; then
                continue
            fi
            clb_cmd run "$words" "$vip" "$label" || return 1
        done 3<<TABLE
$(clb_table_rows clb_retire_table)
TABLE
    done
    return 0
}

# Activation may finish after its command returns (networkd reconfigures lo in the
# background): give the VIPs up to 10 s to appear; no wait when they are there.
clb_settle() {
    n=0
    while [ $n -lt 10 ]; do
        missing=0
        for vip in $CLB_VIPS; do clb_on_lo "$vip" || missing=1; done
        [ $missing -eq 0 ] && return 0
        sleep 1
        n=$((n + 1))
    done
    return 0
}

# clb_write PATH: put the content this export wants at PATH (or remove a stale file)
clb_write() {
    while read -r _write_n _write_mode _write_path <&3; do
        [ "$_write_path" = "$1" ] || continue
        say "  write $1"
        "clb_content_$_write_n" | atomic_write "$1" "$_write_mode"
        return
    done 3<<TABLE
$(clb_table_rows clb_file_table)
TABLE
    if [ "$1" = "$CLB_MAIN" ]; then
        say "  add a 'source' line to $1"
        {
            cat "$1"
            if [ -s "$1" ] && [ "$(tail -c 1 "$1" | wc -l)" -eq 0 ]; then echo; fi
            clb_source_append
        } | atomic_write "$1" 0644
    elif [ "$1" = "$CLB_BLOCK_FILE" ]; then
        say "  write our block in $1 (the rest of it stays as it is)"
        clb_block_want "$1" | atomic_write "$1" "$(file_mode "$1")"
    elif [ "$1" = "$CLB_ARP_PATH" ]; then
        say "  write $1"
        clb_arp_conf | atomic_write "$1" 0644
    else
        say "  remove $1"
        rm -f "$1"
    fi
}

clb_change() {
    say "Apply:"
    clb_retire prepare || return 1
    clb_steps prepare || return 1
    for path in $CHANGED_FILES; do
        clb_write "$path" || return 1
        mkdir -p "$RUN/after$(dirname "$path")"
        if [ -f "$path" ]; then cp -p "$path" "$RUN/after$path"; fi
    done
    if [ -n "$ARP_SET" ]; then
        # shellcheck disable=SC2086
        run sysctl -q -w $ARP_SET || return 1
    fi
    clb_lo_now > "$WORK/lo-mid"
    clb_steps activate || return 1
    clb_retire activate || return 1
    clb_settle
    # a renderer taking over lo may drop addresses it does not know: put them back
    clb_lo_now > "$WORK/lo-now"
    while read -r fam addr plen label; do
        grep -q "^$fam $addr $plen " "$WORK/lo-now" && continue
        if [ "$fam" = inet6 ]; then set -- ip -6 addr add "$addr/$plen" dev lo
        elif [ "$label" = lo ]; then set -- ip addr add "$addr/$plen" dev lo
        else set -- ip addr add "$addr/$plen" dev lo label "$label"; fi
        # the manager may have put it back by itself meanwhile (networkd reconfiguring lo)
        run "$@" || clb_lo_now | grep -q "^$fam $addr $plen " || return 1
    done < "$WORK/keep"
    return 0
}

# back up what changes into $RUN, and what must stay on lo into $WORK/keep
clb_record() {
    mkdir -p "$RUN/before" "$RUN/after" || refuse "cannot write $RUN"
    chmod 700 "$RUN"
    printf '%s\n' "$CLB_VIPS" > "$RUN/vips"
    cp "$WORK/lo-start" "$RUN/lo-before"
    : > "$RUN/files"
    for path in $CHANGED_FILES; do
        printf '%s\n' "$path" >> "$RUN/files"
        if [ -f "$path" ]; then
            mkdir -p "$RUN/before$(dirname "$path")"
            cp -p "$path" "$RUN/before$path" || refuse "cannot back up $path"
        fi
    done
    if [ -n "$ARP_SET" ]; then
        for kv in $ARP_SET; do
            printf '%s=%s\n' "${kv%%=*}" "$(sysctl -n "${kv%%=*}")"
        done > "$RUN/sysctl-before"
    fi
    if grep -q '^target ours ' "$WORK/inspect" || grep -q '^stale ' "$WORK/inspect"; then
        : > "$RUN/had-ours"
    fi
    # VIPs leaving on purpose are not kept; every other address of lo must stay
    : > "$WORK/keep"
    while read -r fam addr plen label; do
        if [ "$fam" = inet ]; then
            case " $RETIRE " in *":$addr "*) continue ;; esac
        fi
        printf '%s %s %s %s\n' "$fam" "$addr" "$plen" "$label" >> "$WORK/keep"
    done < "$RUN/lo-before"
}

clb_apply() {
    lock
    if [ -f "$STATE/current" ]; then
        refuse "an earlier run was interrupted ($STATE/$(cat "$STATE/current")): run this script with --rollback first"
    fi
    WORK=$(mktemp -d "$STATE/.work.XXXXXX") || refuse "cannot create a work directory in $STATE"
    trap 'rm -rf "$WORK"' EXIT
    for tool in $CLB_TOOLS; do
        command -v "$tool" >/dev/null 2>&1 || refuse "missing tool: $tool (install the package that provides it)"
    done
    clb_lo_now > "$WORK/lo-start"
    clb_inspect > "$WORK/inspect"
    if grep -q '^conflict ' "$WORK/inspect"; then
        sed -n 's/^conflict /clb-wizard: /p' "$WORK/inspect" >&2
        refuse "this host is not in a state this export can change safely."
    fi
    clb_plan
    clb_check_plan
    if [ -z "$CHANGED_FILES" ] && [ -z "$RETIRE" ] && [ -z "$MISSING" ] && [ -z "$ARP_SET" ]; then
        say "No change needed: this host already has exactly this configuration."
        say "Verify:"
        if clb_verify; then return 0; fi
        warn "Nothing to change, but verification fails."
        return 3
    fi
    id=$(date +%Y%m%d-%H%M%S)-$$
    RUN="$STATE/$id"
    clb_record
    printf '%s\n' "$id" > "$STATE/current.tmp" && mv -f "$STATE/current.tmp" "$STATE/current"
    say "Backups of $(wc -l < "$RUN/files") file(s) in $RUN"
    if clb_change; then
        say "Verify:"
        if clb_verify; then
            printf '%s\n' "$id" > "$STATE/last.tmp" && mv -f "$STATE/last.tmp" "$STATE/last"
            rm -f "$STATE/current"
            say "Applied and verified."
            return 0
        fi
        warn "verification failed"
    fi
    if clb_rollback_run; then
        rm -f "$STATE/current"
        warn "The change failed. The host was rolled back to exactly how it was."
        return 3
    fi
    return 4
}
