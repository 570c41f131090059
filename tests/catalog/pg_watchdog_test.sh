#!/usr/bin/env bash
# pg_server.sh start DIR OWNER_PID: the server stops itself when its owner
# dies without calling stop (a SIGKILLed ctest or test binary), and only
# then: a server whose owner lives, or a later server on the same DIR, is
# left alone. Side effects are counted in processes and files: the
# postmaster's pid (DIR/data/postmaster.pid) and DIR itself.
# Exit 77 (skipped) without PostgreSQL.
set -u
here=$(cd "$(dirname "$0")" && pwd)
server=$here/support/pg_server.sh
dir=$(mktemp -d /tmp/beamflow-pg-watchdog.XXXXXX) && chmod 755 "$dir"
owners=()
cleanup() {
  for d in "$dir"/*/; do [ -d "$d" ] && bash "$server" stop "${d%/}" >/dev/null 2>&1; done
  for p in "${owners[@]}"; do kill -9 "$p" 2>/dev/null; done
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "skipped: $*"; exit 77; }
[ -n "$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null)" ] || skip "no PostgreSQL server binaries"

# An owner: a process of our own we can kill like ctest would be killed.
new_owner() { sleep 600 & owners+=($!); disown $!; }
start() {  # start NAME OWNER
  bash "$server" start "$dir/$1" "$2" >/dev/null
  [ -f "$dir/$1/conninfo" ] || { [ -f "$dir/$1/skip" ] && skip "$(cat "$dir/$1/skip")"; fail "no server $1"; }
}
postmaster() { head -1 "$dir/$1/data/postmaster.pid"; }
answers() { [ "$(psql "$(cat "$dir/$1/conninfo")" -XAt -c "SELECT 1" 2>/dev/null)" = 1 ]; }
gone_within() {  # gone_within SECONDS PID
  for _ in $(seq $(($1 * 10))); do kill -0 "$2" 2>/dev/null || return 0; sleep 0.1; done
  return 1
}

# 1. The owner is SIGKILLed: the server and its directory go.
new_owner; a_owner=${owners[-1]}
start a "$a_owner"
a_pid=$(postmaster a)
answers a || fail "server a does not answer"
sleep 2
kill -0 "$a_pid" 2>/dev/null || fail "server a stopped while its owner was alive"
kill -9 "$a_owner"
gone_within 20 "$a_pid" || fail "server a (postmaster $a_pid) still runs 20 s after its owner was killed"
for _ in $(seq 50); do [ -e "$dir/a" ] || break; sleep 0.1; done
[ ! -e "$dir/a" ] || fail "server a's directory is left after the watchdog stopped it: $(ls "$dir/a")"

# 2. stop, then a new server on the same directory for another owner: the
# first owner's death does not reach it.
new_owner; b1=${owners[-1]}
start b "$b1"
bash "$server" stop "$dir/b"
new_owner; b2=${owners[-1]}
start b "$b2"
b_pid=$(postmaster b)
kill -9 "$b1"
sleep 3
kill -0 "$b_pid" 2>/dev/null && answers b || fail "server b was stopped when the owner of the server before it died"
kill -9 "$b2"
gone_within 20 "$b_pid" || fail "server b (postmaster $b_pid) still runs 20 s after its own owner was killed"

# 3. An owner that is not a running process: refused, nothing left running.
new_owner; dead=${owners[-1]}
kill -9 "$dead"; wait "$dead" 2>/dev/null
said=$(bash "$server" start "$dir/c" "$dead" 2>&1) && fail "start with a dead owner succeeded"
[[ "$said" == *"owner pid '$dead' is not a running process"* ]] || fail "start with a dead owner said: $said"
[ ! -e "$dir/c" ] || fail "start with a dead owner left $dir/c"
pgrep -f "postgres -D $dir/c/data" >/dev/null && fail "start with a dead owner left a server running"

# 4. No watchdog outlives its server: none names this test's directory.
sleep 2
left=$(pgrep -af "pg_server.sh.*$dir" | grep -v pgrep)
[ -z "$left" ] || fail "watchdogs left running: $left"
echo "ok: a server stops within seconds of its owner's death, and only its own owner's"
