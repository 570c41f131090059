#!/usr/bin/env bash
# The main demo: install what is missing, build, run the example flows.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
build="${BEAMFLOW_BUILD_DIR:-$root/build}"
bf="$build/engine/cli/beamflow"
export BEAMFLOW_HOME="${BEAMFLOW_HOME:-$root/.beamflow}"
cd "$root"
echo "== beamflow validate configs/flows/hello.json"
"$bf" validate configs/flows/hello.json
echo "== beamflow run configs/flows/hello.json --input configs/flows/hello.input.json"
"$bf" run configs/flows/hello.json --input configs/flows/hello.input.json
