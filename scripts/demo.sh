#!/usr/bin/env bash
# The main demo: install what is missing, build, run the example flows.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# BEAMFLOW_DEMO_BIN: a beamflow already built (the test that runs this demo,
# tests/e2e); nothing is installed or built then.
bf="${BEAMFLOW_DEMO_BIN:-}"
if [ -z "$bf" ]; then
  "$root/scripts/install-deps.sh"
  # Only the executable: a first run should not wait for the test suite.
  "$root/scripts/build.sh" beamflow
  bf="${BEAMFLOW_BUILD_DIR:-$root/build}/apps/beamflow/beamflow"
fi
export BEAMFLOW_HOME="${BEAMFLOW_HOME:-$root/.beamflow}"
cd "$root"
echo "== beamflow validate configs/flows/hello.json"
"$bf" validate configs/flows/hello.json
echo "== beamflow run configs/flows/hello.json --input configs/flows/hello.input.json"
"$bf" run configs/flows/hello.json --input configs/flows/hello.input.json

# Tomography: a noisy Shepp-Logan dataset with its axis 7.3 columns off centre,
# then a flow that finds the centre, reconstructs with gridrec and draws a
# preview (look at demo/recon.png).
mkdir -p demo
echo "== beamflow phantom --output demo/phantom.h5 --size 256 --rows 8 --center-offset 7.3"
"$bf" phantom --output demo/phantom.h5 --size 256 --angles 360 --rows 8 --center-offset 7.3 --overwrite
echo '{"data": "demo/phantom.h5", "volume": "demo/recon.h5", "preview": "demo/recon.png"}' > demo/tomography.input.json
echo "== beamflow run configs/flows/tomography.json --input demo/tomography.input.json"
"$bf" run configs/flows/tomography.json --input demo/tomography.input.json
echo "true centre: $(python3 -c 'import json; print(json.load(open("demo/phantom.truth.json"))["center"])')"

# The beamline flow (configs/flows/beamline.json, docs/triggers.md): a pilot
# on this machine and a trigger watching demo/beamline, the acquisition
# machine's storage. A new Data Exchange file there is copied (verified) to
# demo/compute, its centre found, reconstructed on 2 ranks, and the volume,
# previews and a provenance record archived in demo/archive.
# OpenMPI refuses to run as root unless told (the 2-rank reconstruction).
[ "$(id -u)" -ne 0 ] || export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
rm -rf demo/pilot demo/beamline demo/compute demo/archive demo/staging
mkdir -p demo/beamline demo/compute demo/archive demo/staging
echo "== beamflow trigger add --watch demo/beamline --pattern 'scan_????.h5' ... --pilot demo/pilot"
"$bf" trigger add --watch demo/beamline --pattern 'scan_????.h5' --endpoint beamline --quiet-seconds 2 \
  --flow configs/flows/beamline.json --input-template configs/flows/beamline.input.template.json \
  --pilot demo/pilot --id beamline
pids=()
# A failed or interrupted demo must not leave the watcher or the pilot behind.
trap 'kill -TERM "${pids[@]}" 2>/dev/null || true; wait' EXIT
# One process: the pilot runs the triggers registered in its directory
# (`beamflow trigger watch --pilot demo/pilot` would run them alone).
"$bf" pilot --dir demo/pilot --slots 2 > demo/pilot.log 2>&1 & pids+=($!)
echo "== a scan arrives: beamflow phantom ..., then mv into demo/beamline"
"$bf" phantom --output demo/staging/scan_0001.h5 --size 128 --angles 180 --rows 16 --center-offset 3.2 --overwrite > /dev/null
mv demo/staging/scan_0001.h5 demo/beamline/
run_id=""
for _ in $(seq 1 300); do  # the trigger hands the file over once it is quiet (2 s)
  # The pilot's runs (`beamflow runs --pilot`), not the hand-off's files,
  # whose layout is the pilot's own (a trigger writes batch files).
  run_id=$("$bf" runs --pilot demo/pilot --json |
    python3 -c 'import json, sys; r = json.load(sys.stdin); print(r[0]["run_id"] if r else "")') || run_id=""
  [ -n "$run_id" ] && break
  sleep 0.1
done
[ -n "$run_id" ] || { echo "demo: the trigger handed nothing over (see demo/pilot.log)" >&2; exit 1; }
echo "== beamflow wait $run_id --pilot demo/pilot"
"$bf" wait "$run_id" --pilot demo/pilot
echo "reconstruction, previews and provenance record:"
ls -1 demo/archive/scan_0001/ | sed 's|^|  demo/archive/scan_0001/|'
python3 -c 'import json; p = json.load(open("demo/archive/scan_0001/provenance.json")); t = json.load(open("demo/staging/scan_0001.truth.json")); print("centre found %.2f, used %.2f (true %.2f), %s" % (p["center"]["found"], p["center"]["value"], t["center"], p["approval"]["comment"]))'
