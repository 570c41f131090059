#!/usr/bin/env bash
# Configures and builds beamflow into ./build (or $BEAMFLOW_BUILD_DIR).
# Arguments name the targets to build (default: everything, tests included).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BEAMFLOW_BUILD_DIR:-$root/build}"
gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
[ -f "$build/CMakeCache.txt" ] || cmake -S "$root" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo
targets=(); for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$build" -j "$(nproc)" "${targets[@]}"
