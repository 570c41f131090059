#!/usr/bin/env bash
# Installs the Debian 12 packages beamflow builds, tests and runs with.
# Idempotent: installs only what is missing. Needs root (or sudo).
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config git
  libopenmpi-dev openmpi-bin
  libhdf5-openmpi-dev hdf5-tools
  libtrilinos-kokkos-dev
  libfftw3-dev
  nlohmann-json3-dev
  libboost-program-options-dev
  libgtest-dev
  libssl-dev
  libpng-dev
  libxxhash-dev xxhash rsync inotify-tools
  libsqlite3-dev libpq-dev postgresql
  slurm-wlm munge iproute2 util-linux
  python3 python3-numpy python3-h5py python3-skimage python3-sklearn
  libonnx-dev libonnx-testdata libprotobuf-dev protobuf-compiler python3-torch python3-onnx
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all packages present"
fi
