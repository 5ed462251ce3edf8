# shellcheck shell=sh
# clb-wizard export library: the command line.

usage() {
    sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
}

need_root() {
    if [ "$(id -u)" -ne 0 ]; then
        warn "this changes the network configuration: run it as root (sudo sh $0)."
        exit 2
    fi
}

clb_main() {
    action=apply
    # shellcheck disable=SC2034  # read by plan.sh and verify.sh
    for arg do
        case $arg in
            --arp-sysctls) CLB_ARP=1 ;;
            --remove-others) CLB_REMOVE_OTHERS=1 ;;
            --rollback) action=rollback ;;
            --verify) action=verify ;;
            -h|--help) usage; exit 0 ;;
            *) warn "unknown option: $arg (use --arp-sysctls, --remove-others, --rollback, --verify or --help)"; exit 2 ;;
        esac
    done
    case $action in
        apply) need_root; clb_apply; exit $? ;;
        rollback) need_root; clb_rollback_last; exit $? ;;
        verify)
            WORK=$(mktemp -d) || exit 2
            trap 'rm -rf "$WORK"' EXIT
            say "Verify:"
            if clb_verify; then exit 0; fi
            exit 1 ;;
    esac
}
