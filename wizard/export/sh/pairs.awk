# clb-wizard: (label number or "-", VIP) in our files, one "LABEL VIP" per line
# (the same rules as clb_wizard.export.profile.pairs_of).
FNR == 1 { cur = "-" }
{
    line = $0
    if (match(line, /lo:[0-9]+/)) cur = substr(line, RSTART + 3, RLENGTH - 3)
    while (match(line, /[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+/)) {
        ip = substr(line, RSTART, RLENGTH)
        line = substr(line, RSTART + RLENGTH)
        if (ip ~ /^127\./ || ip == "255.255.255.255" || (ip in seen)) continue
        seen[ip] = 1
        print cur, ip
    }
}
