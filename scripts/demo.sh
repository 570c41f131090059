#!/usr/bin/env bash
# The main demo: install what is missing, build, run the example flows.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh"
# Only the executable: a first run should not wait for the test suite.
"$root/scripts/build.sh" beamflow
build="${BEAMFLOW_BUILD_DIR:-$root/build}"
bf="$build/apps/beamflow/beamflow"
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
