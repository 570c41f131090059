#!/usr/bin/env bash
# pg_server.sh's PG_HUGE_PAGES=1 (docs/catalog.md): as root with the memory
# available, the server runs with huge_pages=on on exactly the pages start
# added to vm.nr_hugepages, and stop gives them back; without the opt-in the
# server is started with huge_pages=off and vm.nr_hugepages is not touched.
# Exit 77 (skipped) without PostgreSQL, as another user than root, or
# without the memory to spare for the pages.
set -u
here=$(cd "$(dirname "$0")" && pwd)
server=$here/support/pg_server.sh
dir=$(mktemp -d /tmp/beamflow-pg-huge.XXXXXX) && chmod 755 "$dir"
trap 'bash "$server" stop "$dir/a" >/dev/null 2>&1; bash "$server" stop "$dir/b" >/dev/null 2>&1; rm -rf "$dir"' EXIT
trap 'exit 1' INT TERM
fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "skipped: $*"; exit 77; }
[ -n "$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null)" ] || skip "no PostgreSQL server binaries"
[ "$(id -u)" -eq 0 ] && [ -w /proc/sys/vm/nr_hugepages ] || skip "vm.nr_hugepages is root's to change"
[ "$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)" -gt 2097152 ] || skip "less than 2 GB of memory available"
# Other servers started with PG_HUGE_PAGES=1 meanwhile would change
# vm.nr_hugepages under the checks: hold pg_server.sh's lock throughout.
exec 9>/tmp/beamflow-pg-hugepages.lock
flock -w 300 9 || skip "another pg_server.sh held the huge-page lock for 5 minutes"
export PG_HUGE_PAGES_LOCKED=1
nr() { cat /proc/sys/vm/nr_hugepages; }
show() { psql "$(cat "$1/conninfo")" -XAt -c "SHOW $2"; }

before=$(nr)
said=$(PG_HUGE_PAGES=1 bash "$server" start "$dir/a")
[ -f "$dir/a/conninfo" ] || fail "no server: $(cat "$dir/a/skip" 2>/dev/null)"
[ "$said" = "$(grep -a '^pg_server: huge pages' "$dir/a/server.log")" ] || fail "start said '$said', not server.log's line"
# The kernel may not find that many free 2 MB pages (memory in use or
# fragmented): pg_server.sh then starts without them and says so.
grep -aq '^pg_server: huge pages: not reserved: the kernel found' "$dir/a/server.log" &&
  skip "$(grep -a '^pg_server: huge pages' "$dir/a/server.log")"
grep -aq '^pg_server: huge pages: reserved [0-9]* pages' "$dir/a/server.log" ||
  fail "server.log says no reservation: $(grep -a '^pg_server: huge pages' "$dir/a/server.log")"
[ "$(show "$dir/a" huge_pages)" = on ] || fail "huge_pages is $(show "$dir/a" huge_pages), not on"
n=$(cat "$dir/a/hugepages")
[ "$(nr)" -eq $((before + n)) ] || fail "vm.nr_hugepages $(nr), expected $before + $n"
# The server's shared memory is in those pages: they are reserved or in use.
used=$(awk '/^HugePages_Total:/ {t=$2} /^HugePages_Free:/ {f=$2} /^HugePages_Rsvd:/ {r=$2} END {print t - f + r}' /proc/meminfo)
[ "$used" -ge "$n" ] || fail "only $used huge pages in use or reserved for $n"
# A server started meanwhile without the opt-in takes none of them.
[ -z "$(bash "$server" start "$dir/b")" ] || fail "the ordinary server's start said something"
[ "$(show "$dir/b" huge_pages)" = off ] || fail "the ordinary server's huge_pages is $(show "$dir/b" huge_pages)"
[ ! -f "$dir/b/hugepages" ] && [ "$(nr)" -eq $((before + n)) ] || fail "the ordinary server changed vm.nr_hugepages"
[ "$(psql "$(cat "$dir/a/conninfo")" -XAtq -c "CREATE TABLE t AS SELECT g FROM generate_series(1, 100000) g" -c "SELECT count(*) FROM t")" = 100000 ] ||
  fail "the huge-page server does not answer"
bash "$server" stop "$dir/b"
bash "$server" stop "$dir/a"
[ "$(nr)" -eq "$before" ] || fail "vm.nr_hugepages $(nr) after stop, was $before"
echo "ok: $n huge pages reserved, used and given back"
