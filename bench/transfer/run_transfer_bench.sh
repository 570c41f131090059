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
#   cp -r + sync                the same, made durable
#   rsync -a --checksum         whole-file checksums while copying (rsync's own), no fsync
#   beamflow 1 / 2 ranks        xxh128 computed while copying, every file fsync'ed,
#                               read back from storage and compared (verify_checksum)
#   beamflow sha256 1 rank      the same with SHA-256; its checksums are compared with sha256sum's
# then a kill half-way through the big file and a resume (chunks resumed vs copied).
set -euo pipefail
BIN=${1:-build/apps/beamflow/beamflow}
WORK=${2:-/var/tmp/beamflow-transfer-bench}
BIG_MIB=${BENCH_BIG_MIB:-2048}
MPIRUN=${MPIRUN:-mpirun}
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
sub() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a - b}'; }

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

declare -a NAMES SECS
row() { NAMES+=("$1"); SECS+=("$2"); }
fresh() { rm -rf dst state; mkdir -p dst; cold; }

fresh; t0=$(now); cp -r src/. dst/; t1=$(now); row "cp -r" "$(sub "$t1" "$t0")"
fresh; t0=$(now); cp -r src/. dst/; sync; t1=$(now); row "cp -r + sync" "$(sub "$t1" "$t0")"
fresh; t0=$(now); rsync -a --checksum src/ dst/; t1=$(now); row "rsync -a --checksum" "$(sub "$t1" "$t0")"
for ranks in 1 2; do
  fresh; request "bench-$ranks" xxh128
  t0=$(now)
  launch=("$MPIRUN" --oversubscribe -np "$ranks"); [ "$ranks" = 1 ] && launch=()
  "${launch[@]}" "$BIN" transfer --endpoints endpoints.json --request request.json \
    --state-dir state --json -q > out-$ranks.json
  t1=$(now); row "beamflow xxh128, $ranks rank$([ $ranks = 1 ] || echo s)" "$(sub "$t1" "$t0")"
done
fresh; request bench-sha sha256
t0=$(now)
"$BIN" transfer --endpoints endpoints.json --request request.json --state-dir state --json -q > out-sha.json
t1=$(now); row "beamflow sha256, 1 rank" "$(sub "$t1" "$t0")"

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
printf '%-28s %9s %9s %9s\n' method seconds MB/s "vs cp"
CP=${SECS[0]}
for i in "${!NAMES[@]}"; do
  awk -v n="${NAMES[$i]}" -v s="${SECS[$i]}" -v b="$BYTES" -v cp="$CP" \
    'BEGIN {printf "%-28s %9.2f %9.1f %9.2f\n", n, s, b / s / 1e6, cp / s}'
done
echo "vs cp: cp's seconds / this method's seconds (1.00 = as fast as cp -r; 0.90 = 90% of its throughput)"
echo "sha256 run: checksums differing from sha256sum's: $MISMATCH; big.bin ours $OURBIG, sha256sum $BIGSUM"
read -r RES COP REP UNCH FCOP <<<"$RESUME"
echo "kill -9 after $KILLED_AT of $((BIG_MIB / 64)) chunks recorded; resume in $(printf %.2f "$(sub "$t1" "$t0")") s:" \
  "$RES chunks resumed (checked, not copied), $COP copied, $REP repaired; small files: $UNCH unchanged by checksum, $FCOP copied; big.bin $CMP"
rm -rf dst state
