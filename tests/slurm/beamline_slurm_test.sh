#!/usr/bin/env bash
# The beamline flow (configs/flows/beamline.json) inside a pilot on the local
# Slurm (slurm/local-cluster.sh), fed by the trigger the pilot runs itself:
# `beamflow trigger add` registers the beamline folder with the pilot
# directory, `beamflow pilot submit` sbatch-es slurm/pilot.sbatch (a 3-rank
# mpirun: one coordinator, two workers), and datasets arrive (written aside,
# renamed in, as acquisition software delivers them):
#   scan_0001  while the pilot runs: the trigger hands it over, the pilot
#              copies it (verified) to compute, finds the centre, reconstructs
#              it on 2 ranks (a nested mpiexec started by a worker rank of the
#              Slurm job) and archives volume, previews and provenance;
#   scan_0002  while no pilot runs (scancel'ed): the next pilot's start
#              rescan hands it over.
# Then every dataset was handed over once (one submission each), its run
# SUCCEEDED, its history shows the 2-rank reconstruction, and the archive
# holds its volume and a provenance record whose checksums are the archived
# files' (reconstructed and archived once: one run per dataset).
# Usage: beamline_slurm_test.sh BEAMFLOW_BINARY. Exit 77 = skipped (not
# root, or slurmctld cannot run here).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
. "$root/tests/slurm/lib.sh"
bin="${1:?usage: beamline_slurm_test.sh BEAMFLOW_BINARY}"
[ "$(id -u)" -eq 0 ] || { echo "SKIP: the local Slurm runs as root (SlurmUser=root)"; exit 77; }
export BEAMFLOW_SLURM_DIR="$(mktemp -d /tmp/beamflow-slurm-beamline.XXXXXX)"
export BEAMFLOW_SLURM_PORT=auto
cluster="$root/slurm/local-cluster.sh"
work="$(mktemp -d)"
chmod 700 "$work"
pilot="$work/pilot"
jobs=()
cleanup() {
  cancel_jobs_and_wait env 300 "${jobs[@]}"
  "$cluster" stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
clean_up_if_killed "$cluster" stop "$work"
fail() {
  echo "FAIL: $*"
  show_pilot_logs "$pilot" 30
  exit 1
}

start_local_cluster_or_skip "$cluster" "$work/cluster.log"
eval "$("$cluster" env)"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
unset BEAMFLOW_ENDPOINTS

mkdir -p "$work/beamline" "$work/compute" "$work/archive" "$work/staging"
cat >"$work/endpoints.json" <<EOF
{"endpoints": [
  {"name": "beamline", "path": "$work/beamline", "read": true, "write": false},
  {"name": "compute", "path": "$work/compute", "read": true, "write": true},
  {"name": "archive", "path": "$work/archive", "read": true, "write": true}]}
EOF
# The shipped template with this test's endpoints and compute folder.
python3 - "$root/configs/flows/beamline.input.template.json" "$work" >"$work/template.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
t["endpoints"] = sys.argv[2] + "/endpoints.json"
t["compute_root"] = sys.argv[2] + "/compute"
t["unattended"] = True
t["ranks"] = 2
print(json.dumps(t))
PY
"$bin" trigger add --watch "$work/beamline" --pattern 'scan_????.h5' --endpoint beamline --quiet-seconds 1 \
  --flow "$root/configs/flows/beamline.json" --input-template "$work/template.json" --pilot "$pilot" \
  --id beamline >/dev/null || fail "trigger add"

submit_pilot() {
  "$bin" pilot submit --dir "$pilot" --nodes 1 --ntasks-per-node 3 --time 10 --script "$root/slurm/pilot.sbatch" ||
    fail "pilot submit"
}
arrive() {  # arrive NAME: a phantom scan written aside, then renamed in
  "$bin" phantom --output "$work/staging/$1.h5" --size 64 --angles 60 --rows 8 --center-offset 1.5 >/dev/null ||
    fail "phantom $1"
  mv "$work/staging/$1.h5" "$work/beamline/$1.h5"
}
submissions() {  # the submissions handed over, one line each: RUN_ID NAME
  # (files, and the entries of trigger batch files that own their id: the
  # ledger/ID hard link is to that batch, or there is none and the batch is
  # a watcher's format 2, its own ledger entry; intake.hpp's layout)
  python3 - "$pilot" <<'PY'
import glob, json, os, sys
d = sys.argv[1]
# accepted/archive/ holds what the pilot archived once its runs existed
for f in glob.glob(d + "/inbox/*.json") + glob.glob(d + "/accepted/*.json") + glob.glob(d + "/accepted/archive/*.json"):
    s = json.load(open(f))
    print(s["run_id"], s["input"]["name"])
for f in glob.glob(d + "/inbox/*.batch") + glob.glob(d + "/accepted/*.batch") + glob.glob(d + "/accepted/archive/*.batch"):
    lines = open(f).readlines()
    version = json.loads(lines[0])["beamflow_batch"]
    for line in lines[1:]:
        e = json.loads(line)
        link = os.path.join(d, "ledger", e["submission_id"])
        if os.path.samefile(link, f) if os.path.exists(link) else version == 2:
            print(e["run_id"], e["input"]["name"])
PY
}
run_of() {  # run_of NAME: the run id the trigger handed over for it ("" if none yet)
  submissions | awk -v n="$1" '$2 == n {print $1}'
}
wait_run() {  # wait_run NAME: until handed over, then until it SUCCEEDED
  local id=""
  for _ in $(seq 1 600); do
    id=$(run_of "$1")
    [ -n "$id" ] && break
    sleep 0.1
  done
  [ -n "$id" ] || fail "$1 was not handed over"
  "$bin" wait "$id" --pilot "$pilot" --timeout 180 --json >"$work/wait-$1.json" ||
    fail "$1 (run $id) did not succeed: $(cat "$work/wait-$1.json")"
  "$bin" show "$id" --runs-dir "$pilot/runs" --json | grep -q '"ranks":2' ||
    fail "the history of $1 (run $id) does not show the 2-rank reconstruction"
}

first=$(submit_pilot)
jobs+=("$first")
for _ in $(seq 1 600); do  # the pilot runs (and watches) once its status is published
  [ -e "$pilot/status.json" ] && break
  sleep 0.1
done
[ -e "$pilot/status.json" ] || fail "the pilot did not start"
arrive scan_0001
wait_run scan_0001
echo "scan_0001 handed over by the pilot's trigger and reconstructed on 2 ranks under sbatch"

scancel "$first"
for _ in $(seq 1 300); do  # the pilot's lock is free once its coordinator is gone
  "$bin" status --pilot "$pilot" --json | grep -q '"alive":false' && break
  sleep 0.1
done
arrive scan_0002  # nobody watches now
sleep 1
[ -z "$(run_of scan_0002)" ] || fail "scan_0002 was handed over while no pilot ran"
jobs+=("$(submit_pilot)")
wait_run scan_0002
echo "scan_0002, arrived while no pilot ran, handed over by the next pilot's start rescan"

subs=$(submissions | wc -l)
[ "$subs" -eq 2 ] || fail "$subs submissions for 2 datasets"
runs=$(find "$pilot/runs" -mindepth 1 -maxdepth 1 -type d | wc -l)
[ "$runs" -eq 2 ] || fail "$runs runs for 2 datasets"
for name in scan_0001 scan_0002; do
  python3 - "$work" "$name" <<'PY' || fail "the archive of $name"
import hashlib, json, os, sys
work, name = sys.argv[1], sys.argv[2]
out = os.path.join(work, "archive", name)
record = json.load(open(os.path.join(out, "provenance.json")))
assert os.path.isfile(os.path.join(out, "recon.h5")), "no volume"
assert record["ranks"] == 2 and record["steps"]["reconstruct"]["ranks"] == 2, "not 2 ranks"
assert record["parameters"]["name"] == name, record["parameters"]
for r in record["results"]:
    data = open(os.path.join(out, r["name"]), "rb").read()
    assert hashlib.sha256(data).hexdigest() == r["sha256"].split(":")[-1], r["name"]
src = open(os.path.join(work, "beamline", name + ".h5"), "rb").read()
assert record["inputs"][0]["sha256"].split(":")[-1] == hashlib.sha256(src).hexdigest(), "input checksum"
PY
done
echo "beamline on Slurm: 2 datasets, each handed over once, reconstructed on 2 ranks and archived with provenance"
