#!/usr/bin/env bash
# Starts or stops the throwaway PostgreSQL server the catalog tests share:
#   pg_server.sh start DIR [OWNER_PID]   -> DIR/conninfo (or DIR/skip with the reason)
#   pg_server.sh stop DIR
# OWNER_PID: the process whose life the server's is tied to (ctest for the
# suite's fixture, the test binary for a server of its own). A detached
# watchdog stops the server when that process is gone, so a run killed
# before its teardown (ctest's timeout, SIGKILL) leaves no server behind.
# Without it the server lives until `stop` (the benchmarks' use).
# The server listens only on a unix socket inside DIR, runs as the invoking
# user, or as `postgres` when invoked as root (postgres refuses root), with
# fsync off (test data is thrown away; the benchmark sets PG_SERVER_OPTIONS="" to
# keep the durable defaults).
# PG_INITDB_OPTIONS: more initdb options (the benchmark's WAL segment size,
# --wal-segsize=MB; docs/catalog.md).
# PG_HUGE_PAGES=1 (opt-in, for the benchmark; docs/catalog.md): the server's
# shared memory (shared_buffers and the rest) in 2 MB huge pages. As root,
# and when the memory is available, start reserves exactly the pages the
# server asks for (postgres -C shared_memory_size_in_huge_pages) on top of
# vm.nr_hugepages and starts it with huge_pages=on; stop gives them back.
# Otherwise it starts the server as usual (huge_pages=off). Either way
# DIR/server.log and stdout say which, in a line beginning "pg_server: huge pages".
set -u
cmd=$1 dir=$2
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
as_owner() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
options=${PG_SERVER_OPTIONS--c fsync=off -c synchronous_commit=off -c full_page_writes=off}
nr=/proc/sys/vm/nr_hugepages
# alive and watch_owner: the owner's watchdog, shared with the Slurm tests.
. "$(dirname "$(realpath "$0")")/../../support/owner_watchdog.sh"
# Runs "$@" holding a lock, so that servers started or stopped at the same
# time change vm.nr_hugepages one after another.
# PG_HUGE_PAGES_LOCKED=1: the caller holds it already (the test does).
with_hugepages_lock() {
  if [ "${PG_HUGE_PAGES_LOCKED:-0}" = 1 ]; then "$@"; else (flock 9 && "$@") 9>/tmp/beamflow-pg-hugepages.lock; fi
}
# reserve_hugepages: prints huge_pages=on (and writes DIR/hugepages, the
# count to give back) or huge_pages=off; the reason goes to DIR/server.log.
reserve_hugepages() {
  local note="pg_server: huge pages:" n size avail before got
  n=$(as_owner "$bin/postgres" -D "$dir/data" $options -c max_connections=200 -C shared_memory_size_in_huge_pages 2>/dev/null)
  size=$(awk '/^Hugepagesize:/ {print $2}' /proc/meminfo)
  avail=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
  if ! [[ "$n" =~ ^[0-9]+$ ]] || [ "$n" -le 0 ] || [ -z "$size" ]; then
    echo "$note not reserved: this server does not say how many it needs (huge_pages=off)" >>"$dir/server.log"
    echo "huge_pages=off"; return
  fi
  # Leave a quarter of the available memory (at least 1 GB) to everything else.
  if [ $((n * size)) -gt $((avail * 3 / 4)) ] || [ $((avail - n * size)) -lt 1048576 ]; then
    echo "$note not reserved: $n pages of $size kB, only $avail kB available (huge_pages=off)" >>"$dir/server.log"
    echo "huge_pages=off"; return
  fi
  before=$(cat $nr)
  echo $((before + n)) >$nr
  got=$(cat $nr)
  if [ "$got" -lt $((before + n)) ]; then
    echo "$before" >$nr
    echo "$note not reserved: the kernel found $((got - before)) of $n free pages of $size kB (huge_pages=off)" >>"$dir/server.log"
    echo "huge_pages=off"; return
  fi
  echo "$n" >"$dir/hugepages"
  echo "$note reserved $n pages of $size kB for the server's shared memory (vm.nr_hugepages $before -> $got; huge_pages=on)" >>"$dir/server.log"
  echo "huge_pages=on"
}
release_hugepages() {
  local n cur
  [ -f "$dir/hugepages" ] || return 0
  n=$(cat "$dir/hugepages") cur=$(cat $nr)
  echo $((cur > n ? cur - n : 0)) >$nr
  rm -f "$dir/hugepages"
}
case $cmd in
start)
  owner=${3:-}
  if [ -n "$owner" ] && ! { [[ "$owner" =~ ^[0-9]+$ ]] && alive "$owner"; }; then
    echo "pg_server: owner pid '$owner' is not a running process" >&2; exit 2
  fi
  rm -rf "$dir"; mkdir -p "$dir"
  skip() { echo "$1" > "$dir/skip"; echo "pg_server: skip: $1"; exit 0; }
  [ -n "$bin" ] && [ -x "$bin/initdb" ] || skip "PostgreSQL server binaries not found under /usr/lib/postgresql (install postgresql)"
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || skip "running as root and there is no postgres user to run the server as"
    chown postgres "$dir"
  fi
  as_owner "$bin/initdb" -D "$dir/data" -A trust -U beamflow -E UTF8 --locale=C --no-sync ${PG_INITDB_OPTIONS:-} >"$dir/initdb.log" 2>&1 ||
    skip "initdb failed: $(tail -1 "$dir/initdb.log")"
  touch "$dir/server.log" && { [ "$(id -u)" -ne 0 ] || chown postgres "$dir/server.log"; }
  huge=huge_pages=off
  if [ "${PG_HUGE_PAGES:-0}" = 1 ]; then
    if [ "$(id -u)" -eq 0 ] && [ -w $nr ]; then
      huge=$(with_hugepages_lock reserve_hugepages)
    else
      echo "pg_server: huge pages: not reserved: vm.nr_hugepages is root's to change (huge_pages=off)" >>"$dir/server.log"
    fi
  fi
  huge=${huge:-huge_pages=off}
  # The line on stdout too: a benchmark's log keeps it after stop removes DIR.
  [ "${PG_HUGE_PAGES:-0}" = 1 ] && grep -a '^pg_server: huge pages' "$dir/server.log" | tail -1
  if ! as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-k $dir -c listen_addresses='' $options -c max_connections=200 -c $huge" start >/dev/null 2>&1; then
    [ -f "$dir/hugepages" ] && with_hugepages_lock release_hugepages
    skip "the server did not start: $(grep -a -m1 FATAL "$dir/server.log" 2>/dev/null || tail -1 "$dir/server.log" 2>/dev/null)"
  fi
  echo "host=$dir dbname=postgres user=beamflow" > "$dir/conninfo"
  # The watchdog ends by itself once DIR/owner no longer names the owner:
  # `stop` removed DIR, or a later start on DIR made it anew.
  [ -z "$owner" ] || watch_owner "$owner" "$dir/owner" bash "$(realpath "$0")" stop "$dir"
  ;;
stop)
  [ -d "$dir/data" ] && [ -n "$bin" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1
  [ -f "$dir/hugepages" ] && with_hugepages_lock release_hugepages
  rm -rf "$dir"
  ;;
esac
exit 0
