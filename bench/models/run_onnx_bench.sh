#!/usr/bin/env bash
# images/s of the X-ray tagger at batch 1 and 16: beamflow vs PyTorch
# TorchScript, back to back in the same run, on 1 rank / 1 thread and on
# 2 ranks (each its half of the batch) / 2 threads.
# Usage: run_onnx_bench.sh BUILD_DIR [SECONDS] [REPEATS]
set -euo pipefail
build=${1:?build dir}; secs=${2:-10}; repeats=${3:-1}
here=$(cd "$(dirname "$0")" && pwd); root=$here/../..
model=$root/configs/models/xray-tagger
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
echo "| batch | ranks / threads | beamflow img/s | PyTorch TorchScript img/s | ratio |"
echo "| --- | --- | --- | --- | --- |"
for b in 1 16; do
  for p in 1 2; do
    for ((r = 0; r < repeats; r++)); do
      ours=$(mpirun --oversubscribe -np "$p" "$build/bench/models/onnx_bench" "$model/model.onnx" "$b" "$secs")
      peer=$(TORCH_THREADS=$p /usr/bin/python3 "$here/torch_peer.py" "$model" "$b" "$secs")
      /usr/bin/python3 - "$ours" "$peer" <<'PY'
import json, sys
o, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"| {o['batch']} | {o['ranks']} / {p['threads']} | {o['images_per_s']:.1f} | {p['images_per_s']:.1f} | "
      f"{o['images_per_s'] / p['images_per_s']:.2f} |")
PY
    done
  done
done
