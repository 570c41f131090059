#!/usr/bin/env bash
# slurm/local-cluster.sh end to end: start (twice: idempotent), a batch job
# running a 4-rank mpirun inside its allocation, srun, status, stop; then
# nothing of the cluster is left running and its state directory is gone.
# Side effects are counted in files, not read from logs. Exit 77 = skipped.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
. "$root/tests/slurm/lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "SKIP: the local Slurm runs as root (SlurmUser=root)"; exit 77; }
export BEAMFLOW_SLURM_DIR="$(mktemp -d /tmp/beamflow-slurm-test.XXXXXX)"
export BEAMFLOW_SLURM_PORT=$((20000 + RANDOM % 20000))
cluster="$root/slurm/local-cluster.sh"
work="$(mktemp -d)"
cleanup() { "$cluster" stop >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
clean_up_if_killed "$cluster" stop "$work"
fail() { echo "FAIL: $*"; exit 1; }

"$cluster" start
"$cluster" start                       # idempotent: no second set of daemons
[ "$(pgrep -fc "slurmctld -f $BEAMFLOW_SLURM_DIR/slurm.conf")" -eq 1 ] || fail "two slurmctld after two starts"
"$cluster" status >/dev/null || fail "status says down after start"
eval "$("$cluster" env)"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

job=$(sbatch --parsable -n 4 -o "$work/job-%j.out" \
  --wrap "mpirun --oversubscribe -np 4 sh -c 'echo \$OMPI_COMM_WORLD_RANK > $work/rank.\$OMPI_COMM_WORLD_RANK.\$SLURM_JOB_ID'")
for _ in $(seq 1 150); do
  state=$(scontrol show job "$job" | grep -o 'JobState=[A-Z_]*' | cut -d= -f2)
  case "$state" in COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL) break ;; esac
  sleep 0.2
done
[ "$state" = COMPLETED ] || fail "batch job $job ended $state: $(cat "$work"/job-*.out)"
[ "$(ls "$work"/rank.*."$job" | wc -l)" -eq 4 ] || fail "expected 4 rank files from job $job"

srun -n 3 sh -c "touch $work/srun.\$SLURM_PROCID"
[ "$(ls "$work"/srun.* | wc -l)" -eq 3 ] || fail "srun -n 3 did not run 3 tasks"

"$cluster" stop
! "$cluster" status >/dev/null 2>&1 || fail "status says up after stop"
[ ! -e "$BEAMFLOW_SLURM_DIR" ] || fail "state directory left behind"
! pgrep -f "$BEAMFLOW_SLURM_DIR" >/dev/null || fail "processes of the cluster left running"
echo "local cluster: start/sbatch+mpirun/srun/stop OK"
