#!/usr/bin/env bash
# The pilot on the local Slurm (slurm/local-cluster.sh), end to end:
# `beamflow pilot submit` sbatch-es slurm/pilot.sbatch (a 3-rank mpirun: one
# coordinator, two workers); 4 concurrent submitters hand it 40 flows (echo,
# sleep, a command appending its tag to a file). Then, by MODE:
#   scancel   `scancel` half-way; the pilot is submitted again on the same
#             directory.
#   workerkill  SIGKILL of one worker rank half-way: mpirun aborts the job
#             and pilot.sbatch starts the pilot again in the same allocation.
#   walltime  a 1-minute pilot with more work than fits: Slurm's warning
#             signal (--signal=B:USR1@40) drains it and it requeues itself
#             (Slurm holds a requeued job 2 minutes; the test moves its start
#             to now rather than wait).
#   ranks     no interruption; 2 more flows reconstruct a phantom on 2 ranks
#             inside the pilot (a nested `mpiexec -np 2` started by a worker
#             rank of the Slurm job), and each volume is byte for byte the one
#             `mpirun -np 2 beamflow recon` writes.
# Either way every flow SUCCEEDED and every tag is in the file exactly once
# (side effects counted in the file, not read from logs).
# Usage: pilot_slurm_test.sh BEAMFLOW_BINARY MODE [mpirun|srun] (how
# pilot.sbatch starts the ranks; mpirun by default). Exit 77 = skipped (not
# root, or slurmctld cannot run here).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
. "$root/tests/slurm/lib.sh"
bin="${1:?usage: pilot_slurm_test.sh BEAMFLOW_BINARY scancel|workerkill|walltime|ranks}"
mode="${2:?usage: pilot_slurm_test.sh BEAMFLOW_BINARY scancel|workerkill|walltime|ranks}"
launcher="${3:-mpirun}"  # how pilot.sbatch starts the pilot's ranks: mpirun or srun
[ "$(id -u)" -eq 0 ] || { echo "SKIP: the local Slurm runs as root (SlurmUser=root)"; exit 77; }
export BEAMFLOW_SLURM_DIR="$(mktemp -d /tmp/beamflow-slurm-pilot.XXXXXX)"
export BEAMFLOW_SLURM_PORT=auto
cluster="$root/slurm/local-cluster.sh"
work="$(mktemp -d)"
chmod 700 "$work"
pilot="$work/pilot"
effects="$work/effects.txt"
releaser=
cleanup() {
  [ -z "$releaser" ] || kill "$releaser" 2>/dev/null || true
  cancel_jobs_and_wait env 300 "${jobs[@]}"
  "$cluster" stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
jobs=()
trap cleanup EXIT
clean_up_if_killed "$cluster" stop "$work"
fail() {
  echo "FAIL: $*"
  show_pilot_logs "$pilot" 20
  exit 1
}

# Each phase is printed as it starts: ctest shows what a test printed when it
# times out, so a hang says where it stood (CI: one run of ranks_srun stood
# silent for its whole 240 s beside five other Slurm tests).
phase() { echo "[$(date +%T)] $*"; }
phase "starting the local Slurm"
start_local_cluster_or_skip "$cluster" "$work/cluster.log"
eval "$("$cluster" env)"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# FFTW's measured plans, shared by the ranks mode's reference and the
# pilot's tasks (the job inherits this environment): runs that follow the
# same wisdom round identically; without it each measures its own, in its
# working directory.
export BEAMFLOW_FFT_WISDOM="$work/fftw.wisdom"

cat >"$work/flow.json" <<'FLOW'
{"StartAt": "Hello", "States": {
  "Hello": {"Type": "Task", "Resource": "echo", "Parameters": {"tag.$": "$.tag"}, "ResultPath": "$.hello", "Next": "Nap"},
  "Nap": {"Type": "Task", "Resource": "sleep", "Parameters": {"seconds": 0.05}, "ResultPath": null, "Next": "Mark"},
  "Mark": {"Type": "Task", "Resource": "command", "Parameters": {"argv.$": "$.argv"}, "ResultPath": null, "Next": "Bye"},
  "Bye": {"Type": "Task", "Resource": "echo", "Parameters": {"tag.$": "$.tag"}, "End": true}}}
FLOW

submit_pilot() {  # submit_pilot TIME [more options]: prints the job id (the caller adds it to jobs)
  local job
  job=$("$bin" pilot submit --dir "$pilot" --nodes 1 --ntasks-per-node 3 --launcher "$launcher" --time "$@" \
    --script "$root/slurm/pilot.sbatch") || fail "pilot submit"
  echo "$job"
}

effects_done() { (cat "$effects" 2>/dev/null || true) | wc -l; }
# Half-way: some side effects done (done_at_cancel), the rest running or queued.
half_way() {
  for _ in $(seq 1 600); do
    [ "$(effects_done)" -ge 8 ] && break
    sleep 0.1
  done
  done_at_cancel=$(effects_done)
}

job_state() { scontrol show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2; }

if [ "$mode" = walltime ]; then
  first=$(submit_pilot 1 --warn-seconds 40)
  jobs+=("$first")
  work_s=1.5  # 40 x 1.5 s on 2 workers: more than the minute holds
else
  first=$(submit_pilot 10)
  jobs+=("$first")
  work_s=0.3
fi
n=40
submitter() {  # submitter K: flows K, K+4, ...
  for ((i = $1; i < n; i += 4)); do
    printf '{"tag": "t%d", "argv": ["sh", "-c", "sleep %s; echo t%d >> %s"]}' "$i" "$work_s" "$i" "$effects" >"$work/in-$i.json"
    "$bin" submit "$work/flow.json" --input "$work/in-$i.json" --pilot "$pilot" --id "t$i" >"$work/run-$i" ||
      echo "submit t$i failed" >>"$work/errors"
  done
}
phase "pilot job $first submitted; 4 submitters of $n flows"
for k in 0 1 2 3; do submitter "$k" & done
wait
[ ! -e "$work/errors" ] || fail "$(cat "$work/errors")"

# The bytes of a volume's dataset.
volume_bytes() { h5dump -d /exchange/data -b LE -o "$2" "$1" >/dev/null || fail "h5dump $1"; }
if [ "$mode" = ranks ]; then
  "$bin" phantom --output "$work/scan.h5" --size 64 --angles 60 --rows 8 --center-offset 1 >/dev/null ||
    fail "phantom"
  mpirun -np 2 --oversubscribe --bind-to none "$bin" recon -q --input "$work/scan.h5" --center 32.5 \
    --output "$work/reference.h5" || fail "mpirun -np 2 beamflow recon"
  volume_bytes "$work/reference.h5" "$work/reference.bin"
  cat >"$work/recon.json" <<'FLOW'
{"StartAt": "Recon", "States": {
  "Recon": {"Type": "Task", "Resource": "reconstruct",
            "Parameters": {"input.$": "$.scan", "output.$": "$.volume", "center": 32.5, "ranks": 2}, "End": true}}}
FLOW
  for r in 0 1; do
    printf '{"scan": "%s", "volume": "%s"}' "$work/scan.h5" "$work/volume-$r.h5" >"$work/recon-in-$r.json"
    "$bin" submit "$work/recon.json" --input "$work/recon-in-$r.json" --pilot "$pilot" --id "r$r" \
      >"$work/recon-run-$r" || fail "submit r$r"
  done
fi

if [ "$mode" = walltime ]; then
  # The warning signal drains the pilot, which requeues its job.
  for _ in $(seq 1 900); do
    scontrol show job "$first" | grep -q 'Restarts=[1-9]' && break
    sleep 0.1
  done
  scontrol show job "$first" | grep -q 'Restarts=[1-9]' || fail "job $first was not requeued by its warning signal"
  done_at_cancel=$(effects_done)
  [ "$done_at_cancel" -lt "$n" ] || fail "everything finished within the first allocation: no test of the requeue"
  echo "requeued by the walltime warning with $done_at_cancel of $n side effects done"
  # Each allocation is a minute: it may be requeued again; start it at once.
  (while sleep 1; do
    scontrol show job "$first" 2>/dev/null | grep -q 'Reason=BeginTime' && scontrol update JobId="$first" StartTime=now
  done) &
  releaser=$!
elif [ "$mode" = ranks ]; then
  :
elif [ "$mode" = workerkill ]; then
  half_way
  [ "$done_at_cancel" -lt "$n" ] || fail "everything finished before the kill: no test of the restart"
  # A worker rank: a child of mpirun (the coordinator's parent) other than
  # the coordinator, found by pid, never by name.
  coordinator=$(grep -o '"pid":[0-9]*' "$pilot/status.json" | cut -d: -f2)
  launcher=$(ps -o ppid= -p "$coordinator" | tr -d ' ')
  worker=$(ps -o pid= --ppid "$launcher" | tr -d ' ' | grep -vx "$coordinator" | head -1)
  [ -n "$worker" ] || fail "no worker rank found under mpirun $launcher"
  kill -KILL "$worker"
  echo "killed worker rank $worker with $done_at_cancel of $n side effects done"
else
  half_way
  [ "$done_at_cancel" -lt "$n" ] || fail "everything finished before the scancel: no test of the restart"
  scancel "$first"
  for _ in $(seq 1 300); do
    case "$(job_state "$first")" in CANCELLED | COMPLETED | FAILED) break ;; esac
    sleep 0.1
  done
  for _ in $(seq 1 100); do  # the pilot's lock is free once its coordinator is gone
    "$bin" status --pilot "$pilot" --json | grep -q '"alive":false' && break
    sleep 0.1
  done
  echo "scancel with $done_at_cancel of $n side effects done"
  jobs+=("$(submit_pilot 10)")
fi
phase "waiting for the $n flows"
t0=$(date +%s)
for ((i = 0; i < n; i++)); do
  out=$("$bin" wait "$(cat "$work/run-$i")" --pilot "$pilot" --timeout 120 --json) ||
    fail "flow t$i did not succeed: $out"
done
echo "all $n flows SUCCEEDED $(($(date +%s) - t0)) s after the restart"
for ((i = 0; i < n; i++)); do
  c=$(grep -cx "t$i" "$effects" || true)
  [ "$c" -eq 1 ] || fail "side effect of t$i ran $c times"
done
[ "$(wc -l <"$effects")" -eq "$n" ] || fail "$(wc -l <"$effects") lines for $n flows"
if [ "$mode" = ranks ]; then
  for r in 0 1; do
    out=$("$bin" wait "$(cat "$work/recon-run-$r")" --pilot "$pilot" --timeout 120 --json) ||
      fail "reconstruction r$r did not succeed: $out"
    "$bin" show "$(cat "$work/recon-run-$r")" --runs-dir "$pilot/runs" --json | grep -q '"ranks":2' ||
      fail "the history of reconstruction r$r does not show 2 ranks"
    volume_bytes "$work/volume-$r.h5" "$work/volume-$r.bin"
    cmp -s "$work/reference.bin" "$work/volume-$r.bin" || fail "volume r$r differs from mpirun -np 2's"
  done
  # One pilot of 3 ranks (not 3 one-rank pilots): workers 1 and 2.
  [ "$(grep -o '"rank":[0-9]*' "$pilot/status.json" | tr '\n' ' ')" = '"rank":1 "rank":2 ' ] ||
    fail "the pilot's worker ranks are not 1 and 2: $(cat "$pilot/status.json")"
  echo "2 reconstructions on 2 ranks inside the Slurm pilot ($launcher), bit-identical to mpirun -np 2"
fi
if [ "$mode" = workerkill ]; then
  grep -q "starting it again" "$pilot"/slurm-"$first".out || fail "the batch script did not start the pilot again"
fi
echo "pilot on Slurm ($mode): $n flows, each side effect once"
