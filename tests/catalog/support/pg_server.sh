#!/usr/bin/env bash
# Starts or stops the throwaway PostgreSQL server the catalog tests share:
#   pg_server.sh start DIR   -> DIR/conninfo (or DIR/skip with the reason)
#   pg_server.sh stop DIR
# The server listens only on a unix socket inside DIR, runs as the invoking
# user, or as `postgres` when invoked as root (postgres refuses root), with
# fsync off (test data is thrown away; the benchmark sets PG_SERVER_OPTIONS="" to
# keep the durable defaults).
set -u
cmd=$1 dir=$2
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
as_owner() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case $cmd in
start)
  rm -rf "$dir"; mkdir -p "$dir"
  skip() { echo "$1" > "$dir/skip"; echo "pg_server: skip: $1"; exit 0; }
  [ -n "$bin" ] && [ -x "$bin/initdb" ] || skip "PostgreSQL server binaries not found under /usr/lib/postgresql (install postgresql)"
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || skip "running as root and there is no postgres user to run the server as"
    chown postgres "$dir"
  fi
  as_owner "$bin/initdb" -D "$dir/data" -A trust -U beamflow -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 ||
    skip "initdb failed: $(tail -1 "$dir/initdb.log")"
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-k $dir -c listen_addresses='' ${PG_SERVER_OPTIONS--c fsync=off -c synchronous_commit=off -c full_page_writes=off} -c max_connections=200" \
    start >/dev/null 2>&1 || skip "the server did not start: $(tail -1 "$dir/server.log" 2>/dev/null)"
  echo "host=$dir dbname=postgres user=beamflow" > "$dir/conninfo"
  ;;
stop)
  [ -d "$dir/data" ] && [ -n "$bin" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1
  rm -rf "$dir"
  ;;
esac
exit 0
