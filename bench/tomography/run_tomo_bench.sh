#!/usr/bin/env bash
# Runs the tomography benchmark on 2 ranks and prints its Markdown tables.
#   bench/tomography/run_tomo_bench.sh [BUILD_DIR] [extra tomo_bench options]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-${BEAMFLOW_BUILD_DIR:-$root/build}}"
shift || true
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
mpirun --oversubscribe -np 2 "$build/bench/tomography/tomo_bench" --dir "$dir" "$@"
