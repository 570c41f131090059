#!/usr/bin/env bash
# Verified transfer vs cp -r and rsync -a --checksum, same data, same run.
#
#   bench/transfer/run_transfer_bench.sh [BEAMFLOW_BINARY] [WORK_DIR]
#
# Data: 2,000 small files (1-64 KiB, 20 folders) and one 2 GiB file
# (BENCH_BIG_MIB to change it), random bytes. Each method copies into an
# empty destination on the same file system; the page cache is dropped
# before every run when /proc/sys/vm/drop_caches is writable (said in the
# output), so every method reads its source from the disk. Rows:
#   cp -r                       no checksum, no fsync
#   cp -r + sync -f             the same, made durable: `sync -f dst`, a syncfs of the
#                               destination's file system only (a global `sync` would also
#                               write out every other file system's dirty data)
#   rsync -a --checksum         whole-file checksums while copying (rsync's own), no fsync
#   beamflow 1 / 2 ranks        xxh128 computed while copying, every file made durable
#                               before its rename, read back and compared (verify_checksum);
#                               2 ranks as `mpirun` starts them by default (Open MPI binds each
#                               of 2 ranks to one core, which the rank's threads then share);
#                               MPIRUN_FLAGS adds options (e.g. --bind-to none)
#   beamflow sha256 1 rank      the same with SHA-256; its checksums are compared with sha256sum's
# The methods run one after the other in each of BENCH_ROUNDS rounds (default
# 3), in the listed order in odd rounds and the reverse in even ones, so each
# beamflow run has cp runs near it on a machine whose load changes; the table
# gives each method's median, its range, and its ratio to both references,
# cp -r (page cache only) and cp -r + sync -f (durable): the ratio of medians,
# and the median over rounds of the reference's time / the method's time in
# the same round. Then a kill half-way through the big file and a resume
# (chunks resumed vs copied).
#
# Memory state (BENCH_MEMORY). On a VM whose balloon reports free pages
# (virtio free page reporting), memory freed by the cache drop or a deleted
# copy goes back to the host, and a method that fills the page cache then
# pays a host fault per block to use it again (cp -r measured 1.5 s at once
# after the drop, 5.1-5.4 s 20 s later: bench/RESULTS.md). So every method
# starts in the same state, after the destination is deleted and the cache
# dropped:
#   host (default)   reporting settled (nothing reported for 3 s): the host
#                    holds every free page, and each method pays for the
#                    memory it touches (cp -r fills ~4.2 GB of page cache,
#                    beamflow ~2.2 GB: its source is read O_DIRECT)
#   guest            BENCH_PREFAULT_MIB (default 6144, more than any method
#                    fills) touched and freed just before the method starts,
#                    so it finds the guest holding its memory, as on a machine
#                    without a balloon. Not settled first, and touched once per
#                    method, not per round: freed memory starts going back ~2 s
#                    after it is freed, then ~0.5 GB/s (6 GiB freed: 0.6 GiB
#                    reported after 2 s, 3.3 GiB after 8 s on the AMD EPYC VM),
#                    so a prefault at a round's start would hold only for its
#                    first method. The touch is one MADV_POPULATE_WRITE (the
#                    kernel faults the pages in, no user copy): 1.2 s for 2 GiB
#                    the guest holds, 10 s for 6 GiB mostly the host's, where
#                    the byte-writing loop before it took 7 s for 2 GiB, and
#                    the settle before it up to 60 s a method (a 1-round guest
#                    bench ran past a 300 s timeout)
#   asis             no pinning (what this script did before)
#   both             the whole bench in the host state, then in the guest state
# Each run's line says how much freed memory was handed to the host just
# before and during it.
set -euo pipefail
BIN=${1:-build/apps/beamflow/beamflow}
WORK=${2:-/var/tmp/beamflow-transfer-bench}
BIG_MIB=${BENCH_BIG_MIB:-2048}
ROUNDS=${BENCH_ROUNDS:-3}
MEMORY=${BENCH_MEMORY:-host}
PREFAULT_MIB=${BENCH_PREFAULT_MIB:-6144}
case "$MEMORY" in guest|host|asis) ;; both) ;; *) echo "BENCH_MEMORY must be guest, host, asis or both" >&2; exit 2 ;; esac
if [ "$MEMORY" = both ]; then  # one run, both tables: host first, then guest
  BENCH_MEMORY=host "$0" "$@" && BENCH_MEMORY=guest exec "$0" "$@"
  exit
fi
MPIRUN=${MPIRUN:-mpirun}
MPIRUN_FLAGS=${MPIRUN_FLAGS:-}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
BIN=$(readlink -f "$BIN")
mkdir -p "$WORK"
cd "$WORK"

if [ ! -f src/.complete ] || [ "$(cat src/.complete)" != "$BIG_MIB" ]; then
  echo "generating 2000 small files and a ${BIG_MIB} MiB file in $WORK/src ..." >&2
  rm -rf src && mkdir -p src
  python3 - <<'PY'
import os, random
random.seed(42)
for i in range(2000):
    d = f"src/small/d{i % 20:02d}"
    os.makedirs(d, exist_ok=True)
    with open(f"{d}/f{i:04d}.dat", "wb") as f:
        f.write(os.urandom(random.randint(1024, 65536)))
PY
  dd if=/dev/urandom of=src/big.bin bs=1M count="$BIG_MIB" status=none
  echo "$BIG_MIB" > src/.complete
fi
BYTES=$(find src -type f ! -name .complete -printf '%s\n' | awk '{s+=$1} END {print s}')

DROP=no
if ( sync && echo 3 > /proc/sys/vm/drop_caches ) 2>/dev/null; then DROP=yes; fi
cold() { sync; [ "$DROP" = yes ] && echo 3 > /proc/sys/vm/drop_caches; return 0; }
now() { date +%s.%N; }
# Free page reporting (see BENCH_MEMORY above).
REPORTED=/sys/module/page_reporting/parameters/reported_kib
reported_mib() { if [ -r "$REPORTED" ]; then echo $(( $(cat "$REPORTED") / 1024 )); else echo 0; fi; }
# Waits until nothing more has been reported for 3 s (at most 60 s).
settle() {
  [ -r "$REPORTED" ] || return 0
  local last now_ stable=0 waited=0
  last=$(cat "$REPORTED")
  while [ "$stable" -lt 6 ] && [ "$waited" -lt 120 ]; do
    sleep 0.5; now_=$(cat "$REPORTED"); waited=$((waited + 1))
    if [ "$now_" = "$last" ]; then stable=$((stable + 1)); else stable=0; last=$now_; fi
  done
}
# Touches N MiB of anonymous memory and frees it: the pages are the guest's
# again (free, not yet reported) when the next method starts.
prefault() {
  python3 -c 'import mmap, sys
n = int(sys.argv[1]) << 20
m = mmap.mmap(-1, n)
try:
    m.madvise(23)  # MADV_POPULATE_WRITE, Linux 5.14
except OSError:
    for off in range(0, n, 1 << 20): m.write(b"\1" * (1 << 20))' "$1"
}
PREFAULT_S=()
pin_memory() {
  case "$MEMORY" in
    guest) local t0; t0=$(now); prefault "$PREFAULT_MIB"; PREFAULT_S+=("$(sub "$(now)" "$t0")") ;;
    host) settle ;;
  esac
}
sub() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a - b}'; }
# CPU seconds (user, sys) of this shell's finished children: cpu_mark runs the
# `times` builtin in this shell (in a $(...) subshell it would start from
# zero), cpu_read prints what it saw. Beside a run's wall time it tells a run
# that waited (the disk, a loaded CPU) from one that worked (host faults on
# memory the host had taken back count as the guest's system time).
CPU_FILE=$(mktemp); trap 'rm -f "$CPU_FILE"' EXIT
cpu_mark() { times > "$CPU_FILE"; }
cpu_read() { awk 'NR == 2 {split($1, u, "m"); split($2, s, "m"); printf "%.2f %.2f", u[1] * 60 + u[2], s[1] * 60 + s[2]}' "$CPU_FILE"; }

cat > endpoints.json <<JSON
{"endpoints": [{"name": "src", "path": "$WORK/src", "read": true},
               {"name": "dst", "path": "$WORK/dst", "read": true, "write": true}]}
JSON
request() {  # $1 submission id, $2 algorithm
  cat > request.json <<JSON
{"source_endpoint": "src", "destination_endpoint": "dst", "submission_id": "$1",
 "transfer_items": [{"source_path": "small", "destination_path": "small", "recursive": true},
                    {"source_path": "big.bin", "destination_path": "big.bin"}],
 "verify_checksum": true, "preserve_timestamp": true, "checksum_algorithm": "$2"}
JSON
}

fresh() { rm -rf dst state; mkdir -p dst; cold; }
beamflow() {  # $1 ranks; request.json already written
  local launch=("$MPIRUN" --oversubscribe $MPIRUN_FLAGS -np "$1"); [ "$1" = 1 ] && launch=()
  "${launch[@]}" "$BIN" transfer --endpoints endpoints.json --request request.json --state-dir state --json -q
}
NAMES=("cp -r" "cp -r + sync -f dst" "rsync -a --checksum" "beamflow xxh128, 1 rank" "beamflow xxh128, 2 ranks"
       "beamflow sha256, 1 rank")
run_method() {  # $1 index into NAMES, $2 round
  case "$1" in
    0) cp -r src/. dst/ ;;
    1) cp -r src/. dst/; sync -f dst ;;
    2) rsync -a --checksum src/ dst/ ;;
    3) request "bench-1-$2" xxh128; beamflow 1 > out-1.json ;;
    4) request "bench-2-$2" xxh128; beamflow 2 > out-2.json ;;
    5) request "bench-sha-$2" sha256; beamflow 1 > out-sha.json ;;
  esac
}
declare -a TIMES CPUS  # TIMES[round * 100 + method]: wall seconds; CPUS: user + sys seconds
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq 1 "$ROUNDS"); do
  order=("${!NAMES[@]}")
  if [ $((round % 2)) = 0 ]; then order=(); for ((i = ${#NAMES[@]} - 1; i >= 0; i--)); do order+=("$i"); done; fi
  for i in "${order[@]}"; do
    fresh; pin_memory; m1=$(reported_mib); m0=$m1; sleep 0.2; m1=$(reported_mib)
    cpu_mark; read -r u0 s0 <<<"$(cpu_read)"
    t0=$(now); run_method "$i" "$round"; t1=$(now); m2=$(reported_mib)
    cpu_mark; read -r u1 s1 <<<"$(cpu_read)"
    TIMES[round * 100 + i]=$(sub "$t1" "$t0")
    CPUS[round * 100 + i]=$(awk -v a="$u1" -v b="$s1" -v c="$u0" -v d="$s0" 'BEGIN {printf "%.2f", a + b - c - d}')
    host=""; [ -r "$REPORTED" ] && host=", freed memory handed to the host: $((m1 - m0)) MiB in the 0.2 s before, $((m2 - m1)) MiB during"
    echo "round $round: ${NAMES[$i]}: ${TIMES[round * 100 + i]} s, CPU $(sub "$u1" "$u0") s user $(sub "$s1" "$s0") s sys (load $(cut -d' ' -f1 /proc/loadavg)$host)" >&2
  done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# Checksums of the SHA-256 run against sha256sum of the source files.
MISMATCH=$(python3 - <<'PY'
import hashlib, json
out = json.load(open("out-sha.json"))
bad = 0
for path, ck in out["checksums"].items():
    h = hashlib.sha256()
    with open("src/" + path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    bad += ck != "sha256:" + h.hexdigest()
print(f"{bad} of {len(out['checksums'])}")
PY
)
BIGSUM=$(sha256sum src/big.bin | cut -c1-64)
OURBIG=$(python3 -c 'import json; print(json.load(open("out-sha.json"))["checksums"]["big.bin"][7:])')

# Kill half-way through the big file, then resume.
fresh; request bench-kill xxh128
( "$BIN" transfer --endpoints endpoints.json --request request.json --state-dir state --json -q > out-killed.json ) &
PID=$!
HALF=$((BIG_MIB / 64 / 2))
recorded() { local n; n=$(grep -c '"t":"c"' state/journal-r0.log 2>/dev/null) || true; echo "${n:-0}"; }
while [ "$(recorded)" -lt "$HALF" ] && kill -0 $PID 2>/dev/null; do sleep 0.05; done
kill -9 $PID; wait $PID 2>/dev/null || true
KILLED_AT=$(recorded)
t0=$(now)
"$BIN" transfer --endpoints endpoints.json --request request.json --state-dir state --json -q > out-resumed.json
t1=$(now)
RESUME=$(python3 -c 'import json; o=json.load(open("out-resumed.json")); print(o["chunks_resumed"], o["chunks_copied"], o["chunks_repaired"], o["files_unchanged"], o["files_copied"])')
CMP=$(cmp src/big.bin dst/big.bin && echo identical || echo DIFFERENT)

printf '\ndata: %s bytes (2000 small files + %s MiB), %s; page cache dropped before each run: %s\n' \
  "$BYTES" "$BIG_MIB" "$(df -T "$WORK" | awk 'NR==2 {print $2" on "$1}')" "$DROP"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores;" \
  "load average (1, 5, 15 min) at start $LOAD_START, at end $LOAD_END; $ROUNDS rounds"
echo "2 ranks launched as: $MPIRUN --oversubscribe${MPIRUN_FLAGS:+ $MPIRUN_FLAGS} -np 2"
echo "memory state at each method's start: $MEMORY$( [ "$MEMORY" = guest ] && echo " ($PREFAULT_MIB MiB touched and freed just before; touching took $(printf '%s\n' "${PREFAULT_S[@]}" | sort -n | awk '{a[NR] = $1} END {printf "%s-%s s", a[1], a[NR]}'))"; [ "$MEMORY" = host ] && echo " (reporting settled)")"
printf '%-26s %8s %15s %8s %7s %9s %8s %10s\n' method median "min-max" "MB/s" "vs cp" "/round" "vs sync" "/round"
for i in "${!NAMES[@]}"; do
  row=""
  for round in $(seq 1 "$ROUNDS"); do row+="${TIMES[round * 100 + i]} ${TIMES[round * 100]} ${TIMES[round * 100 + 1]} "; done
  awk -v n="${NAMES[$i]}" -v b="$BYTES" -v row="$row" '
    function sort(a, m,   x, y, t) { for (x = 1; x <= m; x++) for (y = x + 1; y <= m; y++) if (a[y] < a[x]) { t = a[x]; a[x] = a[y]; a[y] = t } }
    function median(a, m) { sort(a, m); return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2 }
    BEGIN {
      k = split(row, v, " "); m = 0
      for (j = 1; j <= k; j += 3) { m++; s[m] = v[j]; c[m] = v[j + 1]; y[m] = v[j + 2]; rc[m] = v[j + 1] / v[j]; ry[m] = v[j + 2] / v[j] }
      med = median(s, m)
      printf "%-26s %8.2f %7.2f-%-7.2f %8.1f %7.2f %9.2f %8.2f %10.2f\n", n, med, s[1], s[m], b / med / 1e6,
             median(c, m) / med, median(rc, m), median(y, m) / med, median(ry, m)
    }'
done
echo "vs cp: cp -r's median seconds / this method's median (1.00 = as fast as cp -r; 0.90 = 90% of its throughput);"
echo "vs sync: the same against cp -r + sync -f dst (a durable copy); /round: the median over rounds of the"
echo "reference's seconds / this method's seconds in the same round"
echo "CPU seconds (user + sys, median over rounds):$(for i in "${!NAMES[@]}"; do
  for round in $(seq 1 "$ROUNDS"); do echo "${CPUS[round * 100 + i]}"; done | sort -n |
    awk -v n="${NAMES[$i]}" '{a[NR] = $1} END {printf " %s %.2f%s", n, (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2, ";"}'
done | sed 's/;$//')"
echo "fair reference: vs sync; beamflow's copy is durable (each file synced before its rename), cp -r's may not touch the disk"
echo "beamflow 1 rank: files read with O_DIRECT (cold sources of several pieces):" \
  "$(python3 -c 'import json; print(json.load(open("out-1.json")).get("files_read_direct", "n/a"))')"
echo "sha256 run: checksums differing from sha256sum's: $MISMATCH; big.bin ours $OURBIG, sha256sum $BIGSUM"
read -r RES COP REP UNCH FCOP <<<"$RESUME"
echo "kill -9 after $KILLED_AT of $((BIG_MIB / 64)) chunks recorded; resume in $(printf %.2f "$(sub "$t1" "$t0")") s:" \
  "$RES chunks resumed (checked, not copied), $COP copied, $REP repaired; small files: $UNCH unchanged by checksum, $FCOP copied; big.bin $CMP"
rm -rf dst state
