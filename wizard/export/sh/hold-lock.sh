# shellcheck shell=sh
# clb-wizard export library: hold clb-wizard's own lock (flock on STATE_DIR/lock, as
# `clb-wizard apply` takes it) for a playbook run, whose tasks are separate processes.
#   sh -c "$(cat hold-lock.sh)" hold-lock STATE_DIR TOKEN SECONDS
# Creates TOKEN once the lock is held, or TOKEN.busy (with the holder's pid) when another
# run holds it; then holds it until TOKEN is removed, or for SECONDS at most.
set -u
dir=$1 token=$2 seconds=$3
if ! mkdir -p "$dir" || ! chmod 700 "$dir"; then
    echo "cannot create $dir" > "$token.busy"
    exit 1
fi
exec 9>>"$dir/lock"
if ! flock -n 9; then
    printf 'pid %s\n' "$(head -c 32 "$dir/lock")" > "$token.busy"
    exit 1
fi
printf '%s\n' "$$" > "$dir/lock"
: > "$token"
n=0
while [ -e "$token" ] && [ "$n" -lt "$seconds" ]; do
    sleep 1
    n=$((n + 1))
done
rm -f "$token"
