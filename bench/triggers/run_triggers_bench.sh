#!/bin/bash
# bench/triggers: file events handled per second on one node, none lost.
#
#   bench/triggers/run_triggers_bench.sh BUILD_DIR [FILES] [WRITERS] [ROOT...]
#
# WRITERS processes (writer.c) drop FILES small files (open, write, close) into
# a watched directory as fast as they can while `beamflow trigger watch` runs;
# the figure is FILES / (time from the first file to the FILES-th submission
# in the pilot directory), then every submission is checked: exactly FILES,
# each file once. A burst this large overflows inotify's queue
# (max_queued_events), so the rescan path is part of what is measured.
# Runs once per ROOT (default /dev/shm: tmpfs, where fsync is free, and the
# build dir's disk, where the hand-off batches' syncs count).
# Peer, in the same run where installed: `inotifywait -m -r -e close_write`
# (inotify-tools), which only prints each event: a ceiling for observing
# events, not a hand-off. The ratio is ours / peer.
set -euo pipefail
BUILD=$(cd "${1:?BUILD_DIR}" && pwd)
FILES=${2:-100000}
WRITERS=${3:-4}
shift $(( $# < 3 ? $# : 3 ))
ROOTS=("$@")
[ ${#ROOTS[@]} -gt 0 ] || ROOTS=(/dev/shm "$BUILD")
BF="$BUILD/apps/beamflow/beamflow"
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
cc -O2 -o "$WORK/writer" "$HERE/writer.c"
PER=$(( FILES / WRITERS ))
FILES=$(( PER * WRITERS ))

now() { date +%s.%N; }
count() { find "$1" -maxdepth 1 -name '*.json' 2>/dev/null | wc -l; }
drop() {  # DIR: the writers, in parallel
  local pids=()
  for w in $(seq 1 "$WRITERS"); do "$WORK/writer" "$1" "$w" "$PER" & pids+=($!); done
  wait "${pids[@]}"
}

printf '%-28s %8s %8s %10s %12s %10s %8s %s\n' root files writers writers_s "ours ev/s" "peer ev/s" ratio check
for ROOT in "${ROOTS[@]}"; do
  T=$(mktemp -d "$ROOT/trigger-bench-XXXXXX")
  mkdir -p "$T/drop" "$T/pdrop"
  echo '{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}' > "$T/flow.json"
  echo '{"file": "{{path}}", "size": "{{size}}"}' > "$T/template.json"
  "$BF" trigger add --watch "$T/drop" --pattern '*.dat' --quiet-seconds 0 --flow "$T/flow.json" \
      --input-template "$T/template.json" --pilot "$T/pilot" --id bench > /dev/null
  "$BF" trigger watch --pilot "$T/pilot" --json > "$T/watch.json" 2> "$T/watch.log" &
  WPID=$!
  until grep -q watching "$T/watch.log"; do sleep 0.05; done
  T0=$(now)
  drop "$T/drop"
  T1=$(now)
  until [ "$(count "$T/pilot/inbox")" -ge "$FILES" ] || ! kill -0 $WPID 2>/dev/null; do sleep 0.1; done
  T2=$(now)
  sleep 1
  kill -TERM $WPID; wait $WPID || true
  GOT=$(count "$T/pilot/inbox")
  UNIQUE=$(python3 - "$T/pilot/inbox" <<'PY'
import json, os, sys
d = sys.argv[1]
print(len({json.load(open(os.path.join(d, f)))["input"]["file"] for f in os.listdir(d) if f.endswith(".json")}))
PY
)
  CHECK="submissions=$GOT distinct_files=$UNIQUE $(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print("overflows=%d rescans=%d" % (s["overflows"], s["rescans"]))' "$T/watch.json")"
  PEER="-"; RATIO="-"
  if command -v inotifywait > /dev/null; then
    inotifywait -m -r -e close_write --format '%w%f' "$T/pdrop" > "$T/peer.out" 2> "$T/peer.err" &
    PPID_=$!
    until grep -q "Watches established" "$T/peer.err" 2>/dev/null || ! kill -0 $PPID_ 2>/dev/null; do sleep 0.05; done
    P0=$(now)
    drop "$T/pdrop"
    # Until every event is printed, or none more came for a second (lost
    # to a queue overflow: inotifywait does not rescan).
    LAST=-1; STILL=0; P2=$(now)
    while [ "$STILL" -lt 10 ]; do
      L=$(wc -l < "$T/peer.out")
      if [ "$L" -ne "$LAST" ]; then LAST=$L; STILL=0; P2=$(now); else STILL=$((STILL + 1)); fi
      [ "$L" -ge "$FILES" ] && break
      sleep 0.1
    done
    PLINES=$(wc -l < "$T/peer.out")
    kill $PPID_ 2>/dev/null; wait $PPID_ 2>/dev/null || true
    PEER=$(python3 -c "print(int($PLINES / ($P2 - $P0)))")
    CHECK="$CHECK peer_events=$PLINES"
  fi
  OURS=$(python3 -c "print(int($FILES / ($T2 - $T0)))")
  [ "$PEER" != "-" ] && RATIO=$(python3 -c "print('%.2f' % ($OURS / $PEER))")
  printf '%-28s %8d %8d %10.2f %12s %10s %8s %s\n' "$ROOT" "$FILES" "$WRITERS" \
      "$(python3 -c "print($T1 - $T0)")" "$OURS" "$PEER" "$RATIO" "$CHECK"
  rm -rf "$T"
done
echo "ours: files / (first file -> last submission durable in inbox/), pilot dir and watched dir on the root's file system."
echo "peer: inotifywait -m -r -e close_write printing each event (no hand-off); its events lost to queue overflow show as peer_events < files."
