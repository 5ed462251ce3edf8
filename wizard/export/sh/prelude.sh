# shellcheck shell=sh disable=SC2034  # the other library files use these
# clb-wizard export library: a predictable environment, and where the state lives.
set -u
umask 022
LC_ALL=C
LANG=C
export LC_ALL LANG
PATH="${PATH:-/usr/bin:/bin}:/usr/local/sbin:/usr/sbin:/sbin"
export PATH
# the wizard's state directory: its lock and journal are shared with clb-wizard
CLB_STATE_ROOT=${CLB_WIZARD_STATE_DIR:-/var/lib/clb-wizard}
STATE=$CLB_STATE_ROOT/script
ENGINE_JOURNAL=$CLB_STATE_ROOT/journal.json
CLB_ARP=0
CLB_REMOVE_OTHERS=0
