# shellcheck shell=sh
# clb-wizard export library: back to the state recorded in $RUN.

# clb_undo PHASE: the engine's commands back to no config, best effort. A row: PHASE VIPS
# WORDS...; a row with VIPS runs unless every one of them was on lo before the change.
clb_undo() {
    while read -r phase vips words <&3; do
        [ "$phase" = "$1" ] || continue
        if [ "$vips" != - ]; then
            needed=0
            for v in $(printf '%s' "$vips" | tr ',' ' '); do
                clb_was_on_lo "$v" || needed=1
            done
            [ $needed = 1 ] || continue
        fi
        clb_cmd try "$words"
    done 3<<TABLE
$(clb_table_rows clb_undo_table)
TABLE
    return 0
}

# make the manager re-read a restored config of ours
clb_reload() {
    while read -r words <&3; do
        clb_cmd try "$words"
    done 3<<TABLE
$(clb_table_rows clb_reload_table)
TABLE
    return 0
}

# Undo, restore files byte-exact, sysctls, reconcile lo, check.
clb_rollback_run() {
    say "Rolling back ..."
    clb_undo prepare
    while read -r path; do
        say "  restore $path"
        restore_file "$path" "$RUN/before$path" || warn "cannot restore $path"
    done < "$RUN/files"
    clb_undo activate
    if [ -f "$RUN/had-ours" ]; then clb_reload; fi
    if [ -f "$RUN/sysctl-before" ]; then
        while read -r kv; do try sysctl -q -w "$kv"; done < "$RUN/sysctl-before"
    fi
    # kernel level: remove the VIPs this run added, put back what went missing
    clb_lo_now > "$RUN/lo-now"
    for vip in $CLB_VIPS; do
        if grep -q "^inet $vip " "$RUN/lo-now" && ! grep -q "^inet $vip " "$RUN/lo-before"; then
            plen=$(sed -n "s/^inet $vip \([0-9]*\) .*/\1/p" "$RUN/lo-now" | head -n 1)
            try ip addr del "$vip/$plen" dev lo
        fi
    done
    while read -r fam addr plen label; do
        grep -q "^$fam $addr $plen " "$RUN/lo-now" && continue
        if [ "$fam" = inet6 ]; then
            try ip -6 addr add "$addr/$plen" dev lo
        elif [ "$label" = lo ]; then
            try ip addr add "$addr/$plen" dev lo
        else
            try ip addr add "$addr/$plen" dev lo label "$label"
        fi
    done < "$RUN/lo-before"
    clb_rollback_check
}

# files byte-exact, sysctls and lo as before; else say how to finish by hand
clb_rollback_check() {
    bad=0
    while read -r path; do
        if [ -f "$RUN/before$path" ]; then
            if ! cmp -s "$RUN/before$path" "$path" ||
                [ "$(file_mode "$path")" != "$(file_mode "$RUN/before$path")" ]; then
                warn "$path differs from its backup $RUN/before$path"; bad=1
            fi
        elif [ -e "$path" ]; then
            warn "$path should not exist"; bad=1
        fi
    done < "$RUN/files"
    if [ -f "$RUN/sysctl-before" ]; then
        while read -r kv; do
            if [ "$(sysctl -n "${kv%%=*}" 2>/dev/null)" != "${kv#*=}" ]; then
                warn "${kv%%=*} is not back to ${kv#*=}"; bad=1
            fi
        done < "$RUN/sysctl-before"
    fi
    # as the engine compares: family, address and prefix length (not the label)
    clb_lo_now | cut -d' ' -f1-3 | sort > "$RUN/lo-after"
    if ! cut -d' ' -f1-3 "$RUN/lo-before" | sort | cmp -s - "$RUN/lo-after"; then
        warn "lo's addresses are not as before:"
        cut -d' ' -f1-3 "$RUN/lo-before" | sort | diff - "$RUN/lo-after" >&2
        bad=1
    fi
    if [ $bad -ne 0 ]; then
        warn "The rollback failed. Put the host back by hand:"
        while read -r path; do
            if [ -f "$RUN/before$path" ]; then warn "  cp -p '$RUN/before$path' '$path'"
            else warn "  rm -f '$path'"; fi
        done < "$RUN/files"
        for vip in $CLB_VIPS; do
            clb_was_on_lo "$vip" || warn "  ip addr del $vip/32 dev lo"
        done
        return 1
    fi
    say "Rollback verified: the files are byte-exact and lo is as it was."
    return 0
}

clb_rollback_last() {
    lock
    if [ -f "$STATE/current" ]; then
        id=$(cat "$STATE/current")
    elif [ -f "$STATE/last" ]; then
        id=$(cat "$STATE/last")
    else
        say "Nothing to roll back: no change made by this script is recorded on this host."
        return 0
    fi
    RUN="$STATE/$id"
    [ -f "$RUN/files" ] || refuse "$RUN is incomplete: restore by hand from $RUN/before"
    if [ "$(cat "$RUN/vips")" != "$CLB_VIPS" ]; then
        refuse "$RUN was made for VIPs $(cat "$RUN/vips"); run the script that made it"
    fi
    if [ ! -f "$STATE/current" ]; then
        while read -r path; do
            if [ -f "$RUN/after$path" ]; then
                cmp -s "$RUN/after$path" "$path" || refuse "$path was changed after this script wrote it; rolling back would lose that edit. Restore it by hand from $RUN/before$path"
            elif [ -e "$path" ]; then
                refuse "$path was created after this script removed it"
            fi
        done < "$RUN/files"
    fi
    say "Rolling back the change $id"
    if clb_rollback_run; then
        rm -f "$STATE/current"
        [ "$(cat "$STATE/last" 2>/dev/null)" = "$id" ] && rm -f "$STATE/last"
        say "Rolled back: the host is as it was before."
        return 0
    fi
    return 4
}
