#!/usr/bin/env bash
# The pilot over 3 nodes x 2 ranks of the namespace cluster
# (slurm/multinode-cluster.sh; issue 12) beside the same 6 ranks on one node
# (mpirun -np 6 on the host), in the same run, alternating:
#   no-op tasks/s   a Map of M `echo` items, each a task on a worker rank
#                   (5 workers), journal fsync on
#   submit->start   F one-task flows, one `beamflow submit` after another;
#                   per flow its run's start minus its submission's time
#                   (median, p99)
# Usage: run_multinode_bench.sh BEAMFLOW_BINARY [M] [F] [ROUNDS]. Needs root
# and network namespaces.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
flow_dir="$root/bench/pilot/flows"  # a Map of no-op echo items; a one-echo flow
bin="$(realpath "${1:?usage: run_multinode_bench.sh BEAMFLOW_BINARY [MAP_ITEMS] [FLOWS] [ROUNDS]}")"
items="${2:-2000}"
flows="${3:-100}"
rounds="${4:-2}"
[ "$(id -u)" -eq 0 ] || { echo "needs root (network namespaces, SlurmUser=root)"; exit 1; }
# Shared by the nodes (each node's /tmp is its own).
work="$(mktemp -d /var/tmp/beamflow-multinode-bench.XXXXXX)"
chmod 700 "$work"
export BEAMFLOW_MULTINODE_DIR="$work/cluster" BEAMFLOW_MULTINODE_PREFIX="bfb$$"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cluster="$root/slurm/multinode-cluster.sh"
local_pid=
cleanup() {
  if [ -n "$local_pid" ] && kill -0 "$local_pid" 2>/dev/null; then
    pkill -KILL -P "$local_pid" || true  # its ranks, by parent pid
    kill -KILL "$local_pid" || true
  fi
  "$cluster" exec scancel --full --name=beamflow-pilot >/dev/null 2>&1 || true
  "$cluster" down >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
ms() { date +%s%3N; }

jq -n --argjson n "$items" '{items: [range($n)]}' >"$work/items.json"

wait_started() {  # until the pilot on $1 publishes its status with 5 workers
  for _ in $(seq 1 600); do
    [ "$(jq '.pilot.ranks | length' <(("$bin" status --pilot "$1" --json 2>/dev/null) || echo '{}') 2>/dev/null)" = 5 ] &&
      return 0
    sleep 0.1
  done
  echo "the pilot on $1 did not start" >&2
  return 1
}

# measure DIR: one row's figures, "tasks/s | median | p99".
measure() {
  local d="$1" t0 run map_ms i
  t0=$(ms)
  run=$("$bin" submit "$flow_dir/noop_map.json" --input "$work/items.json" --pilot "$d")
  "$bin" wait "$run" --pilot "$d" >/dev/null
  map_ms=$(($(ms) - t0))
  for ((i = 0; i < flows; i++)); do "$bin" submit "$flow_dir/one_echo.json" --pilot "$d" >>"$d.ids"; done
  while read -r id; do "$bin" wait "$id" --pilot "$d" >/dev/null; done <"$d.ids"
  # submit->start: accepted/ (or accepted/archive/, once the pilot archived
  # it) keeps each submission (submitted_at_ms), `beamflow runs` each run's
  # start (a pilot's run keeps it in its journal; it writes no status.json).
  "$bin" runs --pilot "$d" --json >"$d.runs.json"
  for f in "$d"/accepted/*.json "$d"/accepted/archive/*.json; do
    [ -e "$f" ] || continue
    jq -r 'select(.input.items == null) | "\(.run_id) \(.submitted_at_ms)"' "$f"
  done | while read -r id at; do
    started=$(jq -r --arg id "$id" '.[] | select(.run_id == $id) | .started' "$d.runs.json")
    echo $(($(date -d "$started" +%s%3N) - at))
  done | sort -n >"$d.lat"
  local count
  count=$(wc -l <"$d.lat")
  echo "$((items * 1000 / map_ms)) | $(sed -n "$(((count + 1) / 2))p" "$d.lat") | $(sed -n "$((count * 99 / 100))p" "$d.lat")"
}

"$cluster" up 3 >/dev/null
echo "| where (6 ranks: 1 coordinator, 5 workers) | no-op tasks/s (Map of $items echo) | submit->start median ms ($flows flows) | p99 ms |"
echo "| --- | --- | --- | --- |"
for ((round = 0; round < rounds; round++)); do
  # 3 nodes x 2 ranks, sbatch'ed as users do; the bridge's MPI settings.
  d="$work/multi$round"
  (
    eval "$("$cluster" env)"
    "$cluster" exec "$bin" pilot submit --dir "$d" --nodes 3 --ntasks-per-node 2 --time 10 \
      --script "$root/slurm/pilot.sbatch" >/dev/null
  )
  wait_started "$d"
  echo "| 3 nodes x 2 ranks (namespace cluster, mpirun over TCP) | $(measure "$d") |"
  "$cluster" exec scancel --name=beamflow-pilot
  for _ in $(seq 1 300); do "$bin" status --pilot "$d" --json | grep -q '"alive":false' && break; sleep 0.1; done
  # The same 6 ranks on one node.
  d="$work/local$round"
  mpirun --oversubscribe --bind-to none -np 6 "$bin" pilot --dir "$d" 2>"$d.log" &
  local_pid=$!
  wait_started "$d"
  echo "| 1 node x 6 ranks (host, mpirun) | $(measure "$d") |"
  kill -TERM "$(jq .pilot.pid <("$bin" status --pilot "$d" --json))"
  wait "$local_pid" || true
done
echo "(load: $(uptime | sed 's/.*load average: //'))"
