#!/usr/bin/env bash
# The sync budget of starting and ending a run (issues 10 and 14): counts the
# fsync/fdatasync/syncfs calls of
#   1. a one-process pilot (`beamflow pilot --dir D`, no mpirun) over F
#      one-task flows handed over in one `submit --batch`, under strace -f -c,
#      with the pilot's flags given after F (e.g. --no-group-commit);
#   2. a plain `beamflow run` of the same one-task flow, every sync listed
#      with its file (strace -y), so each one can be accounted for.
# Usage: sync_budget.sh BEAMFLOW_BINARY [F] [PILOT_FLAGS...]
# Prints the load average beside the pilot's figures (strace slows every
# traced call: the wall time here is not a throughput figure).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="$(realpath "${1:?usage: sync_budget.sh BEAMFLOW_BINARY [FLOWS] [PILOT_FLAGS...]}")"
flows="${2:-1000}"
shift $(($# >= 2 ? 2 : 1))
flow="$root/bench/pilot/flows/one_echo.json"
work="$(mktemp -d)"
chmod 700 "$work"
pilot_pid=
cleanup() {
  if [ -n "$pilot_pid" ] && kill -0 "$pilot_pid" 2>/dev/null; then kill -KILL "$pilot_pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
traced='trace=fsync,fdatasync,syncfs'

d="$work/pilot"
strace -f -c -e "$traced" -o "$work/pilot.strace" "$bin" pilot --dir "$d" "$@" 2>"$work/pilot.log" &
pilot_pid=$!
for _ in $(seq 1 300); do [ -s "$d/status.json" ] && break; sleep 0.05; done
python3 -c "[print('{\"k\": %d}' % i) for i in range($flows)]" >"$work/batch.jsonl"
load0=$(cut -d' ' -f1 /proc/loadavg)
t0=$(date +%s%3N)
"$bin" submit "$flow" --batch "$work/batch.jsonl" --pilot "$d" >"$work/ids"
xargs "$bin" wait --pilot "$d" <"$work/ids" >/dev/null
wall=$(($(date +%s%3N) - t0))
kill -TERM "$(grep -o '"pid":[0-9]*' "$d/status.json" | cut -d: -f2)"
wait "$pilot_pid" || true
pilot_pid=
echo "one-process pilot, $flows one-task flows (flags: ${*:-none}), strace -f -c, load $load0-$(cut -d' ' -f1 /proc/loadavg), ${wall} ms under strace:"
awk -v n="$flows" '$NF ~ /^(fsync|fdatasync|syncfs)$/ { printf "  %-10s %7d calls  %6.2f per flow  %8.1f us each\n", $NF, $4, $4 / n, $3; t += $4 }
                   END { printf "  total      %7d calls  %6.2f per flow\n", t, t / n }' "$work/pilot.strace"

echo "plain \`beamflow run\` of the one-task flow, every sync in order:"
echo '{"k": 1}' >"$work/in.json"
mkdir -m 700 "$work/home"
BEAMFLOW_HOME="$work/home" strace -f -y -e "$traced" -o "$work/run.strace" "$bin" run "$flow" --input "$work/in.json" >/dev/null
grep -E 'sync' "$work/run.strace" | sed -E "s#$work/home/##; s/[0-9]{8}T[0-9]{9}Z-[0-9a-f]{16}/RUN/g; s/tmp-[0-9-]+/tmp-N/; s/^[0-9]+ +//; s/ = 0$//" | nl -w3 -s'  '
