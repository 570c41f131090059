#!/usr/bin/env bash
# images/s of the X-ray tagger at batch 1 and 16: beamflow vs PyTorch
# TorchScript in the same run. Usage: run_onnx_bench.sh BUILD_DIR [SECONDS]
set -euo pipefail
build=${1:?build dir}; secs=${2:-10}
here=$(cd "$(dirname "$0")" && pwd); root=$here/../..
model=$root/configs/models/xray-tagger
echo "| batch | beamflow img/s | PyTorch TorchScript img/s | ratio |"
echo "| --- | --- | --- | --- |"
for b in 1 16; do
  ours=$("$build/bench/models/onnx_bench" "$model/model.onnx" "$b" "$secs")
  peer=$(/usr/bin/python3 "$here/torch_peer.py" "$model" "$b" "$secs")
  /usr/bin/python3 - "$ours" "$peer" <<'PY'
import json, sys
o, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"| {o['batch']} | {o['images_per_s']:.1f} | {p['images_per_s']:.1f} ({p['impl']}) | {o['images_per_s'] / p['images_per_s']:.2f} |")
PY
done
