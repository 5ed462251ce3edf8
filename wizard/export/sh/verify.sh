# shellcheck shell=sh
# clb-wizard export library: verification by facts, not exit codes (as `clb-wizard verify`).

# the VIPs the network tool itself reads from our config (CLB_REREAD names the reader)
clb_reread() {
    case $CLB_REREAD in
        ifquery)
            for label in $CLB_LABELS; do
                ifquery "lo:$label" 2>/dev/null | sed -n 's/^address: *//p' | cut -d/ -f1
            done ;;
        ifquery-ng)
            for address in $(ifquery -p address lo 2>/dev/null); do
                case " $CLB_VIPS " in *" ${address%%/*} "*) echo "${address%%/*}" ;; esac
            done ;;
        networkd)
            sed -n 's/^Address=\(.*\)\/32$/\1/p' "$CLB_REREAD_FILE" 2>/dev/null ;;
        networkctl)
            used=$(networkctl --no-pager status lo 2>/dev/null |
                sed -n 's/^ *Network File: *//p')
            if [ "$used" = "$CLB_REREAD_FILE" ]; then
                sed -n 's/^Address=\(.*\)\/32$/\1/p' "$CLB_REREAD_FILE" 2>/dev/null
            else
                echo "(systemd-networkd applies ${used:-no file} to lo)"
            fi ;;
        nmcli)
            nmcli -g ipv4.addresses connection show uuid "$CLB_NM_UUID" 2>/dev/null |
                tr -d '\134' | tr ',' '\n' | sed 's/ //g;s/\/.*//' ;;
    esac
}

clb_verify() {
    ok=0
    for vip in $CLB_VIPS; do
        if clb_on_lo "$vip"; then say "  [ok] $vip/32 on lo"
        else say "  [FAIL] $vip is not on lo as /32"; ok=1; fi
        if clb_routed_local "$vip"; then say "  [ok] the kernel routes $vip locally"
        else say "  [FAIL] ip route get $vip: not local"; ok=1; fi
    done
    while read -r n _mode path <&3; do
        [ -n "$n" ] || continue
        if "clb_content_$n" | cmp -s - "$path"; then
            say "  [ok] $path as exported"
        else say "  [FAIL] $path differs from the export"; ok=1; fi
    done 3<<TABLE
$(clb_table_rows clb_file_table)
TABLE
    if [ -n "$CLB_BLOCK_FILE" ]; then
        clb_block_content > "$WORK/block-want"
        if [ -f "$CLB_BLOCK_FILE" ] && clb_block_only "$CLB_BLOCK_FILE" | cmp -s - "$WORK/block-want"; then
            say "  [ok] $CLB_BLOCK_FILE holds our block as exported"
        else say "  [FAIL] $CLB_BLOCK_FILE does not hold our block as exported"; ok=1; fi
    fi
    if [ -n "$CLB_REREAD" ]; then
        expected=$(for v in $CLB_VIPS; do echo "$v"; done | sort | tr '\n' ' ' | sed 's/ $//')
        got=$(clb_reread | sed '/^$/d' | sort | tr '\n' ' ' | sed 's/ $//')
        if [ "$got" = "$expected" ]; then
            say "  [ok] $CLB_REREAD reads back: $got"
        else say "  [FAIL] $CLB_REREAD reads back '$got', expected '$expected'"; ok=1; fi
    fi
    if [ -f "$WORK/keep" ]; then
        while read -r fam addr plen _label; do
            if ! clb_lo_now | grep -q "^$fam $addr $plen "; then
                say "  [FAIL] $addr/$plen was on lo before and is gone"; ok=1
            fi
        done < "$WORK/keep"
    fi
    clb_verify_arp || ok=1
    return $ok
}

# the ARP sysctls: a failure with --arp-sysctls, else a warning
clb_verify_arp() {
    for kv in $CLB_ARP_WANTED; do
        now=$(sysctl -n "${kv%%=*}" 2>/dev/null)
        [ "$now" = "${kv#*=}" ] && continue
        if [ "$CLB_ARP" = 1 ]; then
            say "  [FAIL] ${kv%%=*} is $now, not ${kv#*=}"
            return 1
        fi
        say "  [warn] ${kv%%=*}=$now: the backend may answer ARP for the VIP; run this script with --arp-sysctls to set $CLB_ARP_WANTED"
        return 0
    done
    [ "$CLB_ARP" = 1 ] && say "  [ok] ARP sysctls: $CLB_ARP_WANTED"
    return 0
}
