#!/usr/bin/env bash
# A pilot restarted without the node its commands run on re-attaches to them
# from the other nodes (issue 12), on the namespace cluster, whose nodes each
# have a pid namespace (as on real nodes, a pid recorded on one node names
# nothing, or some other process, on another).
# One pilot over 3 nodes x 2 ranks runs long `command`s: A (sleep, then append
# its tag to a file) and B (a sleep it never finishes). Then node V (node2 or
# node3, one running at least one A and one B) is drained and its pilot rank
# SIGKILLed: the pilot dies and pilot.sbatch starts it again on the two other
# nodes, while the commands' supervisors go on running on V. Then:
#   (a) each A ends SUCCEEDED, its tag in the file once: re-attached from a
#       worker on another node, never launched twice, never Command.Lost;
#   (b) each B, cancelled, ends Run.Cancelled and its command is gone from V:
#       the cancel went through the cancel file. On every other node a decoy
#       process holding B's supervisor's pid (made with ns_last_pid) got no
#       signal (a SIGTERM to the pid recorded on V would have hit it).
# Usage: pilot_reattach_test.sh BEAMFLOW_BINARY. Exit 77 = skipped (not root,
# or no network namespaces here).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
. "$root/tests/slurm/lib.sh"
bin="${1:?usage: pilot_reattach_test.sh BEAMFLOW_BINARY}"
multinode_test_setup "$root" reattach "$bin"
export BEAMFLOW_MULTINODE_PIDNS=1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

"$cluster" up 3 || fail "the cluster did not come up"
eval "$("$cluster" env)"
cat >"$work/flow.json" <<'FLOW'
{"StartAt": "Mark", "States": {
  "Mark": {"Type": "Task", "Resource": "command", "Parameters": {"argv.$": "$.argv"}, "End": true}}}
FLOW
job=$(sc "$bin" pilot submit --dir "$pilot" --nodes 3 --ntasks-per-node 2 --time 10 \
  --script "$root/slurm/pilot.sbatch") || fail "pilot submit"
jobs+=("$job")

# A: sleeps past the restart, then appends its tag. B: runs until cancelled.
# A worker rank runs one task at a time: A's are handed over one by one until
# one starts on node2 or node3 (V), then B's until one starts on V too (V's
# second rank; at most 5 tasks on the 5 worker ranks).
declare -A run_of
started_of() { find "$pilot/runs/${run_of[$1]}" -name started -path '*/actions/*' 2>/dev/null | head -1; }
host_of() { jq -r .host "$(started_of "$1")"; }
submit_and_place() {  # submit_and_place NAME COMMAND: prints the node it started on
  jq -n --arg cmd "$2" '{argv: ["sh", "-c", $cmd]}' >"$work/in-$1.json"
  run_of[$1]=$("$bin" submit "$work/flow.json" --input "$work/in-$1.json" --pilot "$pilot" --id "$1") ||
    fail "submit $1"
  for _ in $(seq 1 600); do [ -n "$(started_of "$1")" ] && break; sleep 0.1; done
  [ -n "$(started_of "$1")" ] || fail "$1's command did not start"
}
all=()
victim=
for i in 0 1; do
  submit_and_place "a$i" "sleep 45; echo a$i >> $effects"
  all+=("a$i")
  h=$(host_of "a$i")
  [ "$h" != node1 ] && { victim=$h; break; }
done
[ -n "$victim" ] || fail "no A started outside node1"
for i in 0 1 2; do
  submit_and_place "b$i" "sleep 600; echo b$i >> $effects"
  all+=("b$i")
  [ "$(host_of "b$i")" = "$victim" ] && break
done
vn=${victim#node}
on_victim=()
for r in "${all[@]}"; do [ "$(host_of "$r")" = "$victim" ] && on_victim+=("$r"); done
[[ " ${on_victim[*]}" == *" b"* ]] || fail "no B started on $victim: $(for r in "${all[@]}"; do echo -n "$r:$(host_of "$r") "; done)"
echo "commands: $(for r in "${all[@]}"; do echo -n "$r:$(host_of "$r") "; done); leaving $victim"

# Node V leaves the pilot: drained (a restart leaves it out), its pilot rank
# killed (mpirun aborts the job; pilot.sbatch starts it again).
sc scontrol update nodename="$victim" state=drain reason=reattach-test
ns="$BEAMFLOW_MULTINODE_PREFIX-n$vn"
t_kill=$(now)
for p in $(ip netns pids "$ns"); do
  tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q " pilot --dir $pilot" && kill -9 "$p" 2>/dev/null || true
done
restarted=
for _ in $(seq 1 600); do
  st=$("$bin" status --pilot "$pilot" --json 2>/dev/null || true)
  upd=$(grep -o '"updated_ms":[0-9]*' <<<"$st" | cut -d: -f2 || true)
  if grep -q '"alive":true' <<<"$st" && [ -n "$upd" ] && awk -v u="$upd" -v t="$t_kill" 'BEGIN { exit !(u / 1000 > t) }' &&
    ! grep -q "\"host\":\"$victim\"" <<<"$st"; then
    restarted=$(since "$t_kill")
    break
  fi
  sleep 0.1
done
[ -n "$restarted" ] || fail "the pilot did not run again without $victim"
echo "pilot running without $victim $restarted s after its rank was killed"
# Every A must still be running (else this tested no re-attach).
for r in "${on_victim[@]}"; do
  [ "${r:0:1}" = a ] || continue
  [ ! -e "$(dirname "$(started_of "$r")")/result.json" ] || fail "$r ended before the pilot came back"
done

# (b) Decoys: on each other node, a process holding the pid each B's
# supervisor has on V, which writes a file if it gets SIGTERM.
decoys=0
for r in "${on_victim[@]}"; do
  [ "${r:0:1}" = b ] || continue
  pid=$(jq -r .supervisor_pid "$(started_of "$r")")
  for n in 1 2 3; do
    [ "$n" = "$vn" ] && continue
    got=$("$cluster" node-exec "$n" sh -c '
      [ -e "/proc/$1" ] && { echo busy; exit 0; }
      echo $(($1 - 1)) >/proc/sys/kernel/ns_last_pid
      sh -c "trap \"echo TERM >> $2; exit 0\" TERM; while :; do sleep 0.2; done" </dev/null >/dev/null 2>&1 &
      echo $!' sh "$pid" "$work/decoy-$r-node$n")
    if [ "$got" = "$pid" ]; then decoys=$((decoys + 1)); else echo "no decoy for $r's pid $pid on node$n ($got)"; fi
  done
done
[ "$decoys" -ge 1 ] || fail "no decoy could be placed"
t_cancel=$(now)
for r in "${on_victim[@]}"; do
  [ "${r:0:1}" = b ] || continue
  "$bin" cancel "${run_of[$r]}" --pilot "$pilot" >/dev/null || fail "cancel $r"
done
for r in "${on_victim[@]}"; do
  [ "${r:0:1}" = b ] || continue
  out=$("$bin" wait "${run_of[$r]}" --pilot "$pilot" --timeout 60 --json || true)
  grep -q '"FAILED"' <<<"$out" || fail "$r did not end FAILED after its cancel: $out"
  # The run ends at once; its command's supervisor records the outcome once
  # the command has stopped (its kill grace is 5 s).
  result="$(dirname "$(started_of "$r")")/result.json"
  for _ in $(seq 1 300); do [ -e "$result" ] && break; sleep 0.1; done
  [ -e "$result" ] || fail "$r's command has no outcome 30 s after its cancel: $(ls "$(dirname "$result")")"
  grep -q '"Action.Cancelled"' "$result" || fail "$r's command outcome: $(cat "$result")"
done
echo "the B commands on $victim stopped $(since "$t_cancel") s after their cancel (through the cancel file)"
ls "$work"/decoy-* >/dev/null 2>&1 && fail "a process on another node got the signal meant for $victim's supervisor: $(ls "$work"/decoy-*)"
for p in $(ip netns pids "$ns"); do
  tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q "sleep 600; echo b" && fail "a cancelled B command still runs on $victim"
done
echo "$decoys decoys holding the B supervisors' pids on other nodes got no signal"

# (a) Every A SUCCEEDED with its effect once (the Bs elsewhere end with the
# job).
for r in "${all[@]}"; do
  [ "${r:0:1}" = a ] || continue
  out=$("$bin" wait "${run_of[$r]}" --pilot "$pilot" --timeout 120 --json) || fail "$r did not succeed: $out"
  c=$(grep -cx "$r" "$effects" || true)
  [ "$c" -eq 1 ] || fail "$r's side effect ran $c times"
done
grep -q '^b' "$effects" && fail "a cancelled command's side effect ran"
echo "pilot re-attach ($victim left): every A SUCCEEDED once, every B on $victim cancelled without a signal elsewhere"
