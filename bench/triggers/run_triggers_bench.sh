#!/bin/bash
# bench/triggers: file events handled per second on one node, none lost.
#
#   bench/triggers/run_triggers_bench.sh BUILD_DIR [FILES] [WRITERS] [ROOT...]
#
# Writer processes (writer.c) drop FILES small files (open, write, close) into
# a watched directory while `beamflow trigger watch` runs; the figure is
# FILES / (time from the first close to the FILES-th submission in the pilot
# directory: its batch file in inbox/, which is its ledger entry, the
# hand-off of engine/pilot/intake_batch.hpp's BatchLedger), then every
# submission is checked: exactly FILES owned batch entries, each file once.
#
# HELD=1 (the default): each writer opens and writes all its files, stops,
# and closes them all once every writer is stopped; the window starts at
# that first close. The events are the same (one IN_CLOSE_WRITE of a new
# 64-byte file each), but the writers' costly part (creating the names)
# comes before the window and the closes come faster than any watcher
# takes them: the figure is the watcher's throughput. Holding the files open
# needs FILES / writers below the open files limit: the bench starts more
# writers when it must (the `writers` column). HELD=0: each file opened,
# written and closed in turn while the watcher runs (a detector's pattern);
# the window starts at the first file, and on a 2-core node the figure is
# bound by the writers whenever they are slower than the watcher (their
# 22-33 us of CPU a file on this bench's disk: session 22's disk runs). Either
# way the row shows lag_s (last submission after the last close: near 0 when
# the watcher kept up, so the writers bound the figure) and the watcher's
# CPU per file in the window (us/ev) with its capacity, files per watcher
# CPU second (cap ev/s).
#
# A burst this large may overflow inotify's queue (max_queued_events): then
# the rescan path is part of what is measured (the check line counts
# overflows; queue_overflows: of which the watcher's own read-ahead queue).
# Runs once per ROOT (default /dev/shm: tmpfs, where fsync is free, and the
# build dir's disk, where the hand-off batches' syncs count).
# What the writers do, exactly, and how they differ from a detector's:
# writer.c's header. On a disk, drop the caches first (sync; echo 3 >
# /proc/sys/vm/drop_caches): ext4 without a journal makes files created
# soon after many were deleted (the last run's clean-up) costlier.
# Peer, in the same run where installed: `inotifywait -m -r -e close_write`
# (inotify-tools), which only prints each event, facing the same writers
# (the same mode): a ceiling for observing events, not a hand-off. The ratio
# is ours / peer.
set -euo pipefail
BUILD=$(cd "${1:?BUILD_DIR}" && pwd)
# KILL=1: the watcher is killed (SIGKILL) once half the files are handed
# over and another started at once; the check still wants each file once.
KILL=${KILL:-0}
HELD=${HELD:-1}
FILES=${2:-100000}
WRITERS=${3:-4}
shift $(( $# < 3 ? $# : 3 ))
ROOTS=("$@")
[ ${#ROOTS[@]} -gt 0 ] || ROOTS=(/dev/shm "$BUILD")
BF="$BUILD/apps/beamflow/beamflow"
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
T=""
# (A held writer stopped by SIGSTOP takes SIGTERM only once continued.)
trap 'kill $(jobs -p) 2>/dev/null || true; kill -CONT $(jobs -p) 2>/dev/null || true; rm -rf "$WORK" ${T:+"$T"}' EXIT
cc -O2 -o "$WORK/writer" "$HERE/writer.c"
HELD_ARG=""
if [ "$HELD" = 1 ]; then
  HELD_ARG=held
  HOLD=$(( $(ulimit -Hn) - 64 ))  # descriptors one writer may hold open
  [ "$HOLD" -gt 0 ] || { echo "bench/triggers: HELD=1 needs a larger open files limit (ulimit -Hn)" >&2; exit 1; }
  (( (FILES + WRITERS - 1) / WRITERS <= HOLD )) || WRITERS=$(( (FILES + HOLD - 1) / HOLD ))
fi
PER=$(( FILES / WRITERS ))
FILES=$(( PER * WRITERS ))

now() { date +%s.%N; }
start_watcher() {  # T: `beamflow trigger watch` on T/pilot, once its start rescan is done
  : > "$1/watch.log"
  "$BF" trigger watch --pilot "$1/pilot" --json > "$1/watch.json" 2> "$1/watch.log" &
  WPID=$!
  until grep -q watching "$1/watch.log"; do
    # A watcher that exits at start (no inotify instance left: each user has
    # max_user_instances; a pilot directory it refuses) never says
    # "watching": stop with its own words instead of waiting forever.
    if ! kill -0 $WPID 2>/dev/null && ! grep -q watching "$1/watch.log"; then
      local rc=0
      wait $WPID || rc=$?
      echo "bench/triggers: the watcher (beamflow trigger watch --pilot $1/pilot) exited with status $rc before watching:" >&2
      # With --json the watcher writes its error to stdout, as JSON.
      sed 's/^/  /' "$1/watch.log" "$1/watch.json" >&2
      exit 1
    fi
    sleep 0.05
  done
}
# Submissions handed over (engine/pilot/intake.hpp's layout): the entry lines
# of the batch files in inbox/ (a watcher's batches, format 2, are their own
# ledger entries and hold no id twice; no pilot runs here to move them), or,
# from a watcher that writes format 1 (an A/B against an older build), the
# ledger/ links, one per id.
count() {
  local n
  n=$(ls -f "$1/ledger" 2>/dev/null | grep -vc '^\.\.\?$' || true)
  if [ "$n" -gt 0 ]; then echo "$n"; else cat "$1"/inbox/*.batch 2>/dev/null | grep -c '^{"definition"' || true; fi
}
# When the last submission was made durable: the newer of inbox/'s mtime (a
# batch linked) and ledger/'s (a format 1 link).
last_change() { stat -c %.9Y "$1/inbox" "$1/ledger" | sort -n | tail -1; }
cpu_s() { awk -v t="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$1/stat" 2>/dev/null || echo "?"; }
start_writers() {  # DIR: WPIDS, the writers: writing (HELD=0), or stopped with every file written (HELD=1)
  WPIDS=()
  for w in $(seq 1 "$WRITERS"); do "$WORK/writer" "$1" "$w" "$PER" $HELD_ARG & WPIDS+=($!); done
  [ "$HELD" = 1 ] || return 0
  local p st
  for p in "${WPIDS[@]}"; do
    until st=$(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null) && [ "$st" = T ]; do
      if [ -z "$st" ] || [ "$st" = Z ]; then
        echo "bench/triggers: a writer (writer $1 ... $HELD_ARG) exited before writing its files" >&2
        exit 1
      fi
      sleep 0.05
    done
  done
}
go_writers() { [ "$HELD" = 1 ] && kill -CONT "${WPIDS[@]}"; return 0; }
wait_writers() {
  local p
  for p in "${WPIDS[@]}"; do wait "$p" || { echo "bench/triggers: a writer failed" >&2; exit 1; }; done
}

printf '%-6s %-22s %8s %5s %8s %10s %7s %10s %8s %6s %10s %10s %8s %6s %s\n' load root files held writers writers_s lag_s \
    "ours ev/s" ours_cpu us/ev "cap ev/s" "peer ev/s" peer_cpu ratio check
for ROOT in "${ROOTS[@]}"; do
  T=$(mktemp -d "$ROOT/trigger-bench-XXXXXX")
  mkdir -p "$T/drop" "$T/pdrop"
  echo '{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}' > "$T/flow.json"
  echo '{"file": "{{path}}", "size": "{{size}}"}' > "$T/template.json"
  "$BF" trigger add --watch "$T/drop" --pattern '*.dat' --quiet-seconds 0 --flow "$T/flow.json" \
      --input-template "$T/template.json" --pilot "$T/pilot" --id bench > /dev/null
  start_watcher "$T"
  [ "$HELD" = 1 ] && start_writers "$T/drop"
  T0=$(now)
  C0=$(cpu_s $WPID)
  if [ "$HELD" = 1 ]; then go_writers; else start_writers "$T/drop"; fi
  KILLED_CPU=0
  if [ "$KILL" = 1 ]; then  # SIGKILL mid-burst, and a new watcher at once
    until [ "$(count "$T/pilot")" -ge $(( FILES / 2 )) ]; do sleep 0.1; done
    KILLED_CPU=$(cpu_s $WPID)
    kill -KILL $WPID; wait $WPID 2>/dev/null || true
    start_watcher "$T"
  fi
  wait_writers
  T1=$(now)
  # Done when FILES are handed over; counted only when the pilot directory
  # stayed unchanged for a moment (reading the batches is CPU that polling
  # during the burst would take from the watcher). The end time is when the
  # last one was made (last_change).
  LAST=""
  while kill -0 $WPID 2>/dev/null; do
    sleep 0.2
    M=$(last_change "$T/pilot")
    [ "$M" = "$LAST" ] && [ "$(count "$T/pilot")" -ge "$FILES" ] && break
    LAST=$M
  done
  T2=$(last_change "$T/pilot")
  OCPU=$(python3 -c "print('%.2f' % ($KILLED_CPU + $(cpu_s $WPID) - $C0))")
  sleep 1
  kill -TERM $WPID; wait $WPID || true
  GOT=$(count "$T/pilot")
  # Every submission the pilot would run: the entries of the batch files
  # that own them (the one their ledger link names; a format 2 batch owns
  # those with no link), each file's once.
  UNIQUE=$(python3 - "$T/pilot" <<'PY'
import json, os, sys
d = sys.argv[1]
files, owned = set(), 0
for sub in ("inbox", "accepted"):
    for f in os.listdir(os.path.join(d, sub)):
        if not f.endswith(".batch"):
            continue
        batch = os.path.join(d, sub, f)
        ino = os.stat(batch).st_ino
        lines = open(batch).read().splitlines()
        version = json.loads(lines[0])["beamflow_batch"]
        for line in lines[1:]:
            e = json.loads(line)
            link = os.path.join(d, "ledger", e["submission_id"])
            if (os.stat(link).st_ino == ino) if os.path.lexists(link) else version == 2:
                owned += 1
                files.add(e["input"]["file"])
print("%d owned_entries=%d" % (len(files), owned))
PY
)
  CHECK="kill=$KILL submissions=$GOT distinct_files=$UNIQUE $(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print("overflows=%d queue_overflows=%d rescans=%d" % (s["overflows"], s.get("queue_overflows", 0), s["rescans"]))' "$T/watch.json")"
  PEER="-"; RATIO="-"; PCPU="-"
  if command -v inotifywait > /dev/null; then
    inotifywait -m -r -e close_write --format '%w%f' "$T/pdrop" > "$T/peer.out" 2> "$T/peer.err" &
    PPID_=$!
    until grep -q "Watches established" "$T/peer.err" 2>/dev/null || ! kill -0 $PPID_ 2>/dev/null; do sleep 0.05; done
    [ "$HELD" = 1 ] && start_writers "$T/pdrop"
    P0=$(now)
    if [ "$HELD" = 1 ]; then go_writers; else start_writers "$T/pdrop"; fi
    wait_writers
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
    PCPU=$(cpu_s $PPID_)
    kill $PPID_ 2>/dev/null; wait $PPID_ 2>/dev/null || true
    PEER=$(python3 -c "print(int($PLINES / ($P2 - $P0)))")
    CHECK="$CHECK peer_events=$PLINES"
  fi
  OURS=$(python3 -c "print(int($FILES / ($T2 - $T0)))")
  read -r USEV CAP < <(python3 -c "c = $OCPU; print('%.1f %d' % (c * 1e6 / $FILES, $FILES / c if c > 0 else 0))")
  [ "$PEER" != "-" ] && RATIO=$(python3 -c "print('%.2f' % ($OURS / $PEER))")
  printf '%-6s %-22s %8d %5s %8d %10.2f %7.2f %10s %8s %6s %10s %10s %8s %6s %s\n' "$(cut -d' ' -f1 /proc/loadavg)" \
      "$ROOT" "$FILES" "$HELD" "$WRITERS" "$(python3 -c "print($T1 - $T0)")" "$(python3 -c "print(max(0, $T2 - $T1))")" \
      "$OURS" "$OCPU" "$USEV" "$CAP" "$PEER" "$PCPU" "$RATIO" "$CHECK"
  rm -rf "$T"
done
echo "ours: files / (first close (held=1; held=0: first file) -> last submission durable: its batch in inbox/, its own ledger entry), pilot dir and watched dir on the root's file system; ours_cpu: the watcher's user+system seconds in that window; us/ev: ours_cpu a file; cap ev/s: files per watcher CPU second."
echo "writers_s: first close (held=0: first file) -> every writer done; lag_s: last submission after that (near 0: the watcher kept up, the writers bound ours ev/s)."
echo "load: 1-minute load average when the row was printed."
echo "peer: inotifywait -m -r -e close_write printing each event (no hand-off); its events lost to queue overflow show as peer_events < files; peer_cpu: its user+system seconds."
