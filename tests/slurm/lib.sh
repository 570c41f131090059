# Shared by the Slurm test scripts (sourced, not run).
. "$(dirname "${BASH_SOURCE[0]}")/../support/owner_watchdog.sh"

# cancel_jobs_and_wait RUNNER TRIES JOB...: scancel the jobs, then wait (TRIES
# looks, 0.1 s apart) until squeue no longer lists them: slurmd ends a job's
# processes only after KillWait, and a cluster stopped before that would
# leave the pilot's ranks running. RUNNER runs each Slurm command: `env` on
# the host, or a wrapper that enters a namespace cluster.
cancel_jobs_and_wait() {
  local runner="$1" tries="$2"
  shift 2
  [ "$#" -gt 0 ] || return 0
  "$runner" scancel --full "$@" >/dev/null 2>&1 || true
  local ids
  ids="$(IFS=,; echo "$*")"
  for _ in $(seq 1 "$tries"); do
    [ -z "$("$runner" squeue -h -j "$ids" 2>/dev/null)" ] && break
    sleep 0.1
  done
}

# clean_up_if_killed CLUSTER STOP WORK: should this test's shell die before
# its EXIT trap runs (ctest's timeout sends SIGKILL), a watchdog cancels every
# job of the test's own cluster (waiting as cancel_jobs_and_wait does), stops
# the cluster (CLUSTER STOP: local-cluster.sh stop, multinode-cluster.sh down)
# and removes WORK. Call it once WORK exists and the variables naming the
# cluster (BEAMFLOW_SLURM_DIR, BEAMFLOW_MULTINODE_DIR) are exported. The
# watchdog ends by itself once the trap has removed WORK.
clean_up_if_killed() {
  watch_owner $$ "$3/.owner" bash -c '. "$0"; killed_test_cleanup "$@"' "${BASH_SOURCE[0]}" "$@"
}
killed_test_cleanup() {  # the watchdog's work (above)
  local cluster="$1" stop="$2" work="$3" ids
  in_cluster() {
    if [ "$stop" = down ]; then "$cluster" exec "$@"; else SLURM_CONF="$BEAMFLOW_SLURM_DIR/slurm.conf" "$@"; fi
  }
  ids=$(in_cluster squeue -h -o %i 2>/dev/null) || ids=
  # shellcheck disable=SC2086  # one argument a job id
  cancel_jobs_and_wait in_cluster 300 $ids
  "$cluster" "$stop" >/dev/null 2>&1
  rm -rf "$work"
}

# show_pilot_logs DIR LINES: the end of each batch job's output in DIR.
show_pilot_logs() {
  local f
  for f in "$1"/slurm-*.out; do [ -e "$f" ] && { echo "== $f"; tail -"$2" "$f"; }; done
  return 0
}

# start_local_cluster_or_skip CLUSTER LOG: start the single-node Slurm, or
# exit 77 (skipped), saying why, where it cannot start. Call it in the
# script's own shell (not in $(...)), then eval "$(CLUSTER env)".
start_local_cluster_or_skip() {
  if ! "$1" start >"$2" 2>&1; then
    echo "SKIP: the local Slurm does not start here: $(tail -3 "$2")"
    exit 77
  fi
}

# multinode_test_setup ROOT TAG BINARY: the set-up of a pilot test on the namespace
# cluster (slurm/multinode-cluster.sh), in the script's own shell (not in
# $(...)): exits 77 (skipped), saying why, without root or network and pid
# namespaces; else exports the cluster's state directory and namespace prefix
# (BEAMFLOW_MULTINODE_DIR, _PREFIX, from TAG; _SHARED, BINARY's directory,
# which the nodes must see wherever the build tree is), and sets `cluster`, `work` (a
# directory the nodes share like a parallel file system; each node's /tmp is
# its own), `pilot`, `effects`, `jobs`, `sc` (a Slurm command in the
# cluster), the clean-up at exit (jobs cancelled, cluster down, work
# removed), `fail`, `now` and `since`.
multinode_test_setup() {
  local root="$1" tag="$2" binary="$3"
  [ "$(id -u)" -eq 0 ] || { echo "SKIP: network namespaces and SlurmUser=root need root"; exit 77; }
  ip netns add "bf-probe-$$" 2>/dev/null || { echo "SKIP: this machine cannot create network namespaces"; exit 77; }
  ip netns del "bf-probe-$$"
  unshare --pid --fork true 2>/dev/null || { echo "SKIP: this machine cannot create pid namespaces"; exit 77; }
  export BEAMFLOW_MULTINODE_DIR="/var/tmp/beamflow-multinode-$tag-$$"
  export BEAMFLOW_MULTINODE_PREFIX="bf${tag:0:1}$$"
  export BEAMFLOW_MULTINODE_SHARED="$(cd "$(dirname "$binary")" && pwd)"
  cluster="$root/slurm/multinode-cluster.sh"
  work="$(mktemp -d "/var/tmp/beamflow-$tag-work.XXXXXX")"
  chmod 700 "$work"
  pilot="$work/pilot"
  effects="$work/effects.txt"
  jobs=()
  sc() { "$cluster" exec "$@"; }
  cleanup() {
    cancel_jobs_and_wait sc 100 "${jobs[@]}"
    "$cluster" down >/dev/null 2>&1 || true
    rm -rf "$work"
  }
  trap cleanup EXIT
  clean_up_if_killed "$cluster" down "$work"
  trap 'echo "FAIL: line $LINENO: $BASH_COMMAND failed"' ERR
  fail() {
    echo "FAIL: $*"
    show_pilot_logs "$pilot" 30
    sc sinfo -N 2>&1 || true
    exit 1
  }
  now() { date +%s.%N; }
  since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
}
