#!/usr/bin/env bash
# slurm/local-cluster.sh end to end: start (twice: idempotent), a batch job
# running a 4-rank mpirun inside its allocation, srun, status, stop; then
# nothing of the cluster is left running and its state directory is gone.
# Then the ports: a controller port another process holds fails the start
# within seconds, naming the port, and leaves no daemon; `auto` starts beside
# that process on ports nothing else holds.
# Side effects are counted in files, not read from logs. Exit 77 = skipped.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
. "$root/tests/slurm/lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "SKIP: the local Slurm runs as root (SlurmUser=root)"; exit 77; }
export BEAMFLOW_SLURM_DIR="$(mktemp -d /tmp/beamflow-slurm-test.XXXXXX)"
export BEAMFLOW_SLURM_PORT=auto
cluster="$root/slurm/local-cluster.sh"
work="$(mktemp -d)"
holder=
cleanup() {
  [ -z "$holder" ] || kill "$holder" 2>/dev/null || true
  "$cluster" stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
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

# A port held by another process: a listener of our own, on a port the
# kernel found free.
held=$(python3 -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])')
python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", int(sys.argv[1]))); s.listen(); open(sys.argv[2], "w").close(); time.sleep(600)' "$held" "$work/held" &
holder=$!
for _ in $(seq 1 50); do [ -e "$work/held" ] && break; sleep 0.1; done
[ -e "$work/held" ] || fail "the listener on port $held did not start"
export BEAMFLOW_SLURM_DIR="$(mktemp -d /tmp/beamflow-slurm-test.XXXXXX)" BEAMFLOW_SLURM_PORT="$held"
t0=$SECONDS
if "$cluster" start >"$work/held.log" 2>&1; then fail "start succeeded on port $held, which another process holds"; fi
((SECONDS - t0 < 30)) || fail "start took $((SECONDS - t0)) s to fail on a held port"
grep -q "port $held" "$work/held.log" || fail "the error does not name port $held: $(cat "$work/held.log")"
! pgrep -f "slurm(ctld|d) -f $BEAMFLOW_SLURM_DIR" >/dev/null || fail "a daemon left running after the failed start"
"$cluster" stop >/dev/null
export BEAMFLOW_SLURM_DIR="$(mktemp -d /tmp/beamflow-slurm-test.XXXXXX)" BEAMFLOW_SLURM_PORT=auto
"$cluster" start >/dev/null
port=$(sed -n 's/^SlurmctldPort=//p' "$BEAMFLOW_SLURM_DIR/slurm.conf")
[ "$port" != "$held" ] && [ "$((port + 1))" != "$held" ] || fail "auto picked the held port $held"
SLURM_CONF="$BEAMFLOW_SLURM_DIR/slurm.conf" srun -n 1 true || fail "srun on the auto-port cluster"
"$cluster" stop >/dev/null
echo "local cluster: start/sbatch+mpirun/srun/stop, a held port, auto ports OK"
