# shellcheck shell=sh
# clb-wizard export library: what is on the host now, as lines the script and the playbook
# both read:
#   target absent|ours|foreign PATH    stale PATH    old LABEL VIP    sourced yes|no
#   conflict MESSAGE (the export refuses to run; nothing is changed)
clb_is_ours() { head -n 1 "$1" 2>/dev/null | grep -qF "$CLB_MARKER"; }
clb_lo_now() { ip -o addr show dev lo | awk "$CLB_LO_AWK"; }
clb_sources_file() {
    main_dir=$(dirname "$1")
    while read -r kw arg _rest; do
        case $kw in
            source|source-directory|source-dir) ;;
            *) continue ;;
        esac
        case $arg in
            /*) base=$arg ;;
            *) base=$main_dir/$arg ;;
        esac
        if [ "$kw" = source ]; then
            # shellcheck disable=SC2254
            case $2 in $base) return 0 ;; esac
        elif [ "$(dirname "$2")" = "${base%/}" ]; then
            return 0
        fi
    done < "$1"
    return 1
}
# Our block inside a file the OS ships (CLB_BLOCK_FILE, wicked's ifcfg-lo): the lines from
# CLB_BLOCK_BEGIN through CLB_BLOCK_END, with the blank line before them (as the engine's
# strip_block). clb_block_strip FILE: the admin's part; clb_block_only FILE: our part.
clb_block_split() {
    CLB_B=$CLB_BLOCK_BEGIN CLB_E=$CLB_BLOCK_END awk -v want="$2" '
        { line[NR] = $0 }
        END {
            s = 0
            for (i = 1; i <= NR; i++) if (line[i] == ENVIRON["CLB_B"]) { s = i; break }
            e = NR
            if (s) {
                for (i = s; i <= NR; i++) if (line[i] == ENVIRON["CLB_E"]) { e = i; break }
                if (s > 1 && line[s - 1] ~ /^[ \t\r\f\v]*$/) s--
            }
            for (i = 1; i <= NR; i++) {
                inside = s && i >= s && i <= e
                if ((want == "ours") == inside) print line[i]
            }
        }' "$1"
}
clb_block_strip() { clb_block_split "$1" admin; }
clb_block_only() { clb_block_split "$1" ours; }
# what this export wants the file to hold: the admin's part, then our block
clb_block_want() { clb_block_strip "$1"; clb_block_content; }

clb_inspect() {
    ours=''
    for f in $CLB_FILES; do
        if [ ! -e "$f" ]; then
            echo "target absent $f"
        elif clb_is_ours "$f"; then
            echo "target ours $f"
            ours="$ours $f"
        else
            echo "target foreign $f"
            echo "conflict $f exists and is not clb-wizard's: rename it, or run clb-wizard on this host"
        fi
    done
    if [ -n "$CLB_STALE_GLOB" ]; then
        for f in $CLB_STALE_GLOB; do
            [ -f "$f" ] || continue
            case " $CLB_FILES " in *" $f "*) continue ;; esac
            if clb_is_ours "$f"; then
                echo "stale $f"
                ours="$ours $f"
            fi
        done
    fi
    if [ -n "$CLB_BLOCK_FILE" ]; then
        if [ ! -f "$CLB_BLOCK_FILE" ]; then
            echo "conflict $CLB_BLOCK_FILE does not exist, so it is not configuring lo here: run clb-wizard on this host"
        else
            clb_block_only "$CLB_BLOCK_FILE" > "$WORK/block-ours"
            clb_block_strip "$CLB_BLOCK_FILE" > "$WORK/block-admin"
            [ -s "$WORK/block-ours" ] && ours="$ours $WORK/block-ours"
        fi
    fi
    old_keys=' '
    if [ -n "$ours" ]; then
        # shellcheck disable=SC2086
        old_pairs=$(awk "$CLB_PAIRS_AWK" $ours)
        printf '%s\n' "$old_pairs" | sed -n 's/^\(..*\)$/old \1/p'
        old_keys=" $(printf '%s\n' "$old_pairs" | tr ' ' ':' | tr '\n' ' ')"
    fi
    for w in $CLB_WATCH; do
        if [ -d "$w" ]; then set -- "$w"/*; else set -- "$w"; fi
        for f in "$@"; do
            [ -f "$f" ] || continue
            case " $CLB_FILES " in *" $f "*) continue ;; esac
            clb_is_ours "$f" && continue
            src=$f  # the admin's part only, in the file that holds our block
            [ "$f" = "$CLB_BLOCK_FILE" ] && src=$WORK/block-admin
            for p in $CLB_PAIRS; do
                label=${p%%:*}
                vip=${p#*:}
                vre=$(printf '%s' "$vip" | sed 's/\./\\./g')
                if grep -Eq "(^|[^0-9.])$vre([^0-9]|\$)" "$src"; then
                    echo "conflict $vip is already configured in $f, a file that is not clb-wizard's: remove it there, or run clb-wizard on this host"
                fi
                if [ "$label" != - ] && grep -Eq "lo:$label([^0-9]|\$)" "$src"; then
                    echo "conflict $f already uses lo:$label: run clb-wizard on this host (it picks free lo:N numbers)"
                fi
            done
            if [ -n "$CLB_CONFLICT_RE" ] && grep -Eq "$CLB_CONFLICT_RE" "$src"; then
                echo "conflict $f $CLB_CONFLICT_WHY"
            fi
        done
    done
    clb_lo_now | while read -r fam addr plen label; do
        [ "$fam" = inet ] || continue
        # held by an old VIP of ours: retired before the new one comes up
        case $old_keys in *" ${label#lo:}:$addr "*) continue ;; esac
        for p in $CLB_PAIRS; do
            if [ "$label" = "lo:${p%%:*}" ] && [ "$addr" != "${p#*:}" ]; then
                echo "conflict lo:${p%%:*} is already taken on lo by $addr/$plen: run clb-wizard on this host (it picks free lo:N numbers)"
            fi
        done
    done
    if [ -n "$CLB_MAIN" ]; then
        if [ ! -f "$CLB_MAIN" ]; then
            echo "conflict $CLB_MAIN does not exist, so ifupdown is not configuring this host"
        elif clb_sources_file "$CLB_MAIN" "$CLB_DROPIN"; then
            echo "sourced yes"
        else
            echo "sourced no"
        fi
    fi
    return 0
}
