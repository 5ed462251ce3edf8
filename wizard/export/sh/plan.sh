# shellcheck shell=sh
# clb-wizard export library: what this host needs. Sets CHANGED_FILES, RETIRE (old
# "LABEL:VIP" pairs of ours the new files drop), LEAVING (VIPs that would leave service),
# MISSING (VIPs not on lo yet) and ARP_SET (sysctls to set, with --arp-sysctls).

# clb_table_rows TABLE: the rows of a data table, without its comment lines
clb_table_rows() { "$1" | grep -v '^#'; }

clb_plan() {
    CHANGED_FILES=''
    while read -r n mode path <&3; do
        [ -n "$n" ] || continue  # no file of our own (wicked: only a block)
        if "clb_content_$n" | differs "$path" "$mode"; then
            CHANGED_FILES="$CHANGED_FILES $path"
        fi
    done 3<<TABLE
$(clb_table_rows clb_file_table)
TABLE
    if [ -n "$CLB_BLOCK_FILE" ] &&
        clb_block_want "$CLB_BLOCK_FILE" | differs "$CLB_BLOCK_FILE" "$(file_mode "$CLB_BLOCK_FILE")"; then
        CHANGED_FILES="$CHANGED_FILES $CLB_BLOCK_FILE"
    fi
    if [ -n "$CLB_MAIN" ] && grep -q '^sourced no$' "$WORK/inspect"; then
        CHANGED_FILES="$CHANGED_FILES $CLB_MAIN"
    fi
    while read -r f <&3; do
        [ -n "$f" ] && CHANGED_FILES="$CHANGED_FILES $f"
    done 3<<STALE
$(sed -n 's/^stale //p' "$WORK/inspect")
STALE
    RETIRE=''
    LEAVING=''
    while read -r label vip <&3; do
        [ -n "$vip" ] || continue
        if [ "$CLB_RETIRE_BY_LABEL" = 1 ]; then key=$label:$vip; else key=$vip; fi
        case " $CLB_NEW_KEYS " in *" $key "*) continue ;; esac
        RETIRE="$RETIRE $label:$vip"
        case " $CLB_VIPS " in *" $vip "*) ;; *) LEAVING="$LEAVING $vip" ;; esac
    done 3<<PAIRS
$(sed -n 's/^old //p' "$WORK/inspect")
PAIRS
    MISSING=''
    for vip in $CLB_VIPS; do
        clb_on_lo_at_start "$vip" || MISSING="$MISSING $vip"
    done
    ARP_SET=''
    [ "$CLB_ARP" = 1 ] || return 0
    if clb_arp_conf | differs "$CLB_ARP_PATH" 0644; then
        CHANGED_FILES="$CHANGED_FILES $CLB_ARP_PATH"
    fi
    for kv in $CLB_ARP_WANTED; do
        [ "$(sysctl -n "${kv%%=*}" 2>/dev/null)" = "${kv#*=}" ] || ARP_SET="$ARP_SET $kv"
    done
    return 0
}

# refuse what the admin did not ask for in plain words
clb_check_plan() {
    if [ -n "$LEAVING" ] && [ "$CLB_REMOVE_OTHERS" != 1 ]; then
        refuse "this would take VIP(s)$LEAVING out of service: clb-wizard configured them on this host and this script does not list them. Export a script that lists them too, or run it with --remove-others to remove them"
    fi
    if [ "$CLB_ARP" = 1 ] && [ -e "$CLB_ARP_PATH" ] && ! clb_is_ours "$CLB_ARP_PATH"; then
        refuse "$CLB_ARP_PATH exists and is not clb-wizard's: set the ARP sysctls there, or rename it"
    fi
    return 0
}
