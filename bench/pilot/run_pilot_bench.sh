#!/usr/bin/env bash
# The pilot's throughput and latency (issue 10), beside srun and sbatch per
# task on the same local Slurm in the same run:
#   no-op tasks/s   a Map of M `echo` items, each a task on a worker rank,
#                   journal durability on (fsync), at 2, 4 and 8 ranks
#                   (mpirun: rank 0 coordinates, the others work); from the
#                   submit to the end of `wait`
#   flows/s         F one-task flows handed over by 4 concurrent submitters
#                   (`beamflow submit --batch`, F/4 runs each) until one
#                   `beamflow wait` of them all returns
#   submit->start   L flows submitted one at a time (`beamflow submit`, a
#                   process each) to the otherwise idle pilot: each run's
#                   start minus its submission's time (median, p99)
#   srun, sbatch    per task: `srun -n1 true` and `sbatch --wrap true` in a
#                   loop, completed
# Usage: run_pilot_bench.sh BEAMFLOW_BINARY [M] [F] [L]. Needs root for the
# local Slurm (skips those rows otherwise). Prints the load average beside
# each row: the figures are only comparable at similar load. Environment:
# RANKS (default "2 4 8"), PILOT_FLAGS (added to `beamflow pilot`, e.g.
# --no-group-commit), NO_SLURM=1 (skip the srun and sbatch rows).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
flow_dir="$root/bench/pilot/flows"  # a Map of no-op echo items; a one-echo flow
bin="$(realpath "${1:?usage: run_pilot_bench.sh BEAMFLOW_BINARY [MAP_ITEMS] [FLOWS] [LATENCY_FLOWS]}")"
items="${2:-100000}"
flows="${3:-10000}"
singles="${4:-100}"
work="$(mktemp -d)"
chmod 700 "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# A Slurm of the bench's own (state in $work, its own port): never a cluster
# someone else started.
export BEAMFLOW_SLURM_DIR="$work/slurm" BEAMFLOW_SLURM_PORT=auto
pilot_pid=
cleanup() {
  if [ -n "$pilot_pid" ] && kill -0 "$pilot_pid" 2>/dev/null; then
    pkill -KILL -P "$pilot_pid" || true  # its ranks, by parent pid
    kill -KILL "$pilot_pid" || true
  fi
  "$root/slurm/local-cluster.sh" stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
ms() { date +%s%3N; }

python3 -c "import json; print(json.dumps({'items': list(range($items))}))" >"$work/items.json"
echo '{"k": -1}' >"$work/single.json"

start_pilot() {  # start_pilot DIR RANKS: a pilot in the background, until status.json exists
  # shellcheck disable=SC2086 # PILOT_FLAGS: words on purpose
  mpirun --oversubscribe --bind-to none -np "$2" "$bin" pilot --dir "$1" ${PILOT_FLAGS:-} 2>"$1.log" &
  pilot_pid=$!
  for _ in $(seq 1 300); do [ -s "$1/status.json" ] && return 0; sleep 0.05; done
  echo "pilot on $1 did not start" >&2
  return 1
}
stop_pilot() {  # drain the coordinator; mpirun then ends
  kill -TERM "$(grep -o '"pid":[0-9]*' "$1/status.json" | cut -d: -f2)"
  wait "$pilot_pid"
}

load() { cut -d' ' -f1 /proc/loadavg; }
# ext4 without a journal (these test machines' root file system): a file
# made in a block group where many inodes were deleted in the last 60 s (360 s
# while their inode table is unwritten) makes ext4 skip each such inode after
# reading its deletion time (ialloc.c's recently_deleted, which only a
# journal-less ext4 calls). A run soon after an earlier run's clean-up then
# spends most of the coordinator's CPU there (53-69% of rank 0's samples in
# session 30's slow runs, flows/s a third). Said above the table, so that a
# row measured so is read as the file system's, not beamflow's.
fs_note() {
  local dev
  [ "$(findmnt -no FSTYPE -T "$1" 2>/dev/null)" = ext4 ] || return 0
  dev=$(basename "$(findmnt -no SOURCE -T "$1")")
  [ "$(cat "/sys/fs/ext4/$dev/journal_task" 2>/dev/null)" = "<none>" ] || return 0
  echo "(note: $1 is on ext4 without a journal: a run within 6 minutes of deleting many files there, such as an"
  echo " earlier run's clean-up, creates its files slowly; run 'sync' and leave 6 minutes between such runs)"
}
fs_note "$work"
echo "| ranks | no-op tasks/s (Map of $items echo) | flows/s ($flows one-task flows) | submit->start median ms | p99 ms | load |"
echo "| --- | --- | --- | --- | --- | --- |"
for ranks in ${RANKS:-2 4 8}; do
  d="$work/p$ranks"
  start_pilot "$d" "$ranks"
  load0=$(load)
  t0=$(ms)
  run=$("$bin" submit "$flow_dir/noop_map.json" --input "$work/items.json" --pilot "$d")
  "$bin" wait "$run" --pilot "$d" >/dev/null
  map_ms=$(($(ms) - t0))
  # F one-task flows: 4 submitters, one batch each.
  for s in 0 1 2 3; do
    python3 -c "import sys; [print('{\"k\": %d}' % i) for i in range($s, $flows, 4)]" >"$work/batch-$ranks-$s.jsonl"
  done
  t0=$(ms)
  submitters=()
  for s in 0 1 2 3; do
    "$bin" submit "$flow_dir/one_echo.json" --batch "$work/batch-$ranks-$s.jsonl" --pilot "$d" >"$work/ids-$ranks-$s" &
    submitters+=($!)
  done
  wait "${submitters[@]}"
  cat "$work"/ids-$ranks-? | xargs "$bin" wait --pilot "$d" >/dev/null
  flows_ms=$(($(ms) - t0))
  # Submit-to-start, one submission at a time.
  for ((i = 0; i < singles; i++)); do
    "$bin" submit "$flow_dir/one_echo.json" --input "$work/single.json" --pilot "$d" >>"$work/single-ids-$ranks"
    sleep 0.02
  done
  xargs "$bin" wait --pilot "$d" <"$work/single-ids-$ranks" >/dev/null
  # Each run's start from `beamflow runs` (a pilot's run keeps it in its
  # journal; it writes no status.json), each submission's time from its file
  # in accepted/ or, once the pilot archived it, accepted/archive/.
  "$bin" runs --pilot "$d" --json >"$work/runs-$ranks.json"
  lat=$(python3 - "$d" "$work/single-ids-$ranks" "$work/runs-$ranks.json" <<'PY'
import datetime, glob, json, statistics, sys
d, ids = sys.argv[1], open(sys.argv[2]).read().split()
started = {r["run_id"]: r["started"] for r in json.load(open(sys.argv[3]))}
subs = {}
for f in glob.glob(d + "/accepted/*.json") + glob.glob(d + "/accepted/archive/*.json"):
    s = json.load(open(f))
    subs[s["run_id"]] = s["submitted_at_ms"]
lat = []
for r in ids:
    t = datetime.datetime.fromisoformat(started[r].replace("Z", "+00:00")).timestamp() * 1000
    lat.append(t - subs[r])
lat.sort()
print(f"{statistics.median(lat):.1f} | {lat[max(0, int(len(lat) * 0.99) - 1)]:.1f}")
PY
)
  stop_pilot "$d"
  echo "| $ranks | $((items * 1000 / map_ms)) | $((flows * 1000 / flows_ms)) | $lat | $load0-$(load) |"
done

if [ -n "${NO_SLURM:-}" ]; then
  echo "(NO_SLURM: srun and sbatch rows skipped)"
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! "$root/slurm/local-cluster.sh" start >/dev/null 2>&1; then
  echo "(no local Slurm: srun and sbatch rows skipped)"
  exit 0
fi
eval "$("$root/slurm/local-cluster.sh" env)"
n=50
t0=$(ms)
for ((i = 0; i < n; i++)); do srun -n1 true 2>/dev/null; done
echo "srun per task: $((n * 1000 / ($(ms) - t0))) tasks/s ($n tasks, one after another)"
t0=$(ms)
ids=()
for ((i = 0; i < n; i++)); do ids+=("$(sbatch --parsable -o /dev/null --wrap true)"); done
for id in "${ids[@]}"; do
  while scontrol show job "$id" 2>/dev/null | grep -q 'JobState=\(PENDING\|RUNNING\|CONFIGURING\|COMPLETING\)'; do sleep 0.05; done
done
echo "sbatch per task: $((n * 1000 / ($(ms) - t0))) tasks/s ($n jobs submitted, then all completed)"
