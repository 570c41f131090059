# Shared by the Slurm test scripts (sourced, not run).

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
