# clb-wizard: the addresses of lo as "FAMILY ADDRESS PREFIXLEN LABEL" from `ip -o addr` (iproute2
# of any age; `ip -j` needs iproute2 >= 4.13, newer than CentOS 7 and Ubuntu 16.04 have).
$3 == "inet" || $3 == "inet6" {
    split($4, a, "/")
    label = "lo"
    if ($3 == "inet") for (i = 5; i <= NF; i++) if ($i ~ /\\$/) {
        if (length($i) > 1) label = substr($i, 1, length($i) - 1)
        break
    }
    print $3, a[1], a[2], label
}
