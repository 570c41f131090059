#!/usr/bin/env bash
# tests/slurm/lib.sh's clean_up_if_killed: a Slurm test killed with SIGKILL
# (as ctest's timeout kills one) before its EXIT trap runs leaves nothing
# behind: its cluster's job is cancelled (the job's process is gone), the
# cluster is stopped (no daemon of its state directory runs) and its work
# directory is removed. A test that exits normally leaves no watchdog
# either. Side effects are counted in processes and files. Exit 77 = skipped.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
[ "$(id -u)" -eq 0 ] || { echo "SKIP: the local Slurm runs as root (SlurmUser=root)"; exit 77; }
here="$(mktemp -d /tmp/beamflow-killed-test.XXXXXX)"
export BEAMFLOW_SLURM_DIR="$here/slurm" BEAMFLOW_SLURM_PORT=auto
child=
cleanup() {
  [ -z "$child" ] || kill -9 "$child" 2>/dev/null || true
  [ ! -f "$here/job.pid" ] || kill -9 "$(cat "$here/job.pid")" 2>/dev/null || true
  "$root/slurm/local-cluster.sh" stop >/dev/null 2>&1 || true
  rm -rf "$here"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
# within SECONDS CONDITION...: polls CONDITION every 0.2 s.
within() { local n=$(($1 * 5)); shift; for _ in $(seq 1 $n); do "$@" && return 0; sleep 0.2; done; return 1; }
gone() { ! kill -0 "$1" 2>/dev/null; }

# The killed test: a cluster, a job that runs until cancelled, then it waits.
cat >"$here/test.sh" <<'TEST'
set -euo pipefail
. "$1/tests/slurm/lib.sh"
cluster="$1/slurm/local-cluster.sh" here="$2"
work="$here/work"; mkdir "$work"
cleanup() { "$cluster" stop >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
clean_up_if_killed "$cluster" stop "$work"
start_local_cluster_or_skip "$cluster" "$work/cluster.log"
eval "$("$cluster" env)"
sbatch -o /dev/null --wrap "echo \$\$ > $here/job.pid.tmp && mv $here/job.pid.tmp $here/job.pid && exec sleep 600" >/dev/null
touch "$here/started"
sleep 600
TEST
bash "$here/test.sh" "$root" "$here" >"$here/test.log" 2>&1 &
child=$!
disown "$child"  # no "Killed" line from this shell
within 60 test -s "$here/job.pid" || { grep -q SKIP "$here/test.log" && { cat "$here/test.log"; exit 77; }; fail "the job did not start: $(tail -5 "$here/test.log")"; }
job=$(cat "$here/job.pid")
kill -0 "$job" || fail "the job's process $job is not running"
pgrep -f "slurmctld -f $BEAMFLOW_SLURM_DIR/slurm.conf" >/dev/null || fail "no slurmctld of the test's cluster"
kill -9 "$child"
child=
within 60 gone "$job" || fail "the killed test's job (pid $job) still runs 60 s after the kill"
within 30 eval '! pgrep -f "$BEAMFLOW_SLURM_DIR" >/dev/null' || fail "daemons of the killed test's cluster still run: $(pgrep -af "$BEAMFLOW_SLURM_DIR")"
within 30 test ! -e "$here/work" || fail "the killed test's work directory is left"
[ ! -e "$BEAMFLOW_SLURM_DIR" ] || fail "the killed test's cluster state directory is left"

# A test that ends normally: its trap removes WORK, and the watchdog ends
# without running its clean-up (here: a command that would leave a mark).
# The watchdog is no child of the test's shell: the test's plain `wait` for
# its own background jobs returns (the pilot test waits so for submitters).
mkdir "$here/work2"
timeout 30 bash -c '. "$1/tests/slurm/lib.sh"; trap "rm -rf $2/work2" EXIT
  clean_up_if_killed /bin/touch "$2/mark" "$2/work2"; sleep 0.1 & wait; exit 0' _ "$root" "$here" ||
  fail "a test's plain wait did not return (rc $?): it waits for the watchdog"
within 10 eval '! pgrep -f "$here/work2/.owner" >/dev/null' || fail "a watchdog outlives a test that cleaned up: $(pgrep -af "$here/work2/.owner")"
[ ! -e "$here/mark" ] || fail "the watchdog of a test that cleaned up ran its clean-up"
echo "ok: a SIGKILLed Slurm test's job, cluster and work directory are gone; a finished test leaves no watchdog"
