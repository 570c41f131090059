#!/usr/bin/python3
"""The peer: the same ONNX model's PyTorch original as TorchScript (torch.jit.trace of
tools/train_xray_tagger.XrayTagger with the ONNX file's weights copied back is not
possible in general, so this rebuilds the network and loads weights from the
ONNX initializers by order). Prints one JSON line per batch size.

    torch_peer.py MODEL_DIR BATCH SECONDS
"""
import json
import os
import sys
import time

import numpy as np
import onnx
import torch
from onnx import numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from train_xray_tagger import XrayTagger  # noqa: E402


def fused_model(onnx_path):
    """XrayTagger with batch norm folded into the convolutions, as the ONNX export did."""
    m = XrayTagger().eval()
    convs = [mod for mod in m.modules() if isinstance(mod, torch.nn.Conv2d)]
    g = onnx.load(onnx_path).graph
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    conv_nodes = [n for n in g.node if n.op_type == "Conv"]
    assert len(conv_nodes) == len(convs), "network layout differs from the ONNX file"
    for mod, node in zip(convs, conv_nodes):
        mod.weight.data = torch.from_numpy(inits[node.input[1]].copy())
        mod.bias = torch.nn.Parameter(torch.from_numpy(inits[node.input[2]].copy()))
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):  # folded: identity
            mod.reset_parameters()
            mod.running_mean.zero_()
            mod.running_var.fill_(1 - mod.eps)
    gemm = next(n for n in g.node if n.op_type == "Gemm")
    m.head.weight.data = torch.from_numpy(inits[gemm.input[1]].copy())
    m.head.bias.data = torch.from_numpy(inits[gemm.input[2]].copy())
    return m


def main(argv):
    model_dir, batch, seconds = argv[0], int(argv[1]), float(argv[2])
    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "2")))
    m = fused_model(os.path.join(model_dir, "model.onnx"))
    rng = np.random.default_rng(1)
    x = torch.from_numpy(rng.random((batch, 1, 256, 256), dtype=np.float32))
    with torch.no_grad():
        ts = torch.jit.freeze(torch.jit.trace(m, x))
        ts(x)
        calls, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds or calls < 3:
            ts(x)
            calls += 1
        elapsed = time.perf_counter() - t0
    print(json.dumps({"impl": f"pytorch {torch.__version__} torchscript", "threads": torch.get_num_threads(),
                      "batch": batch, "images_per_s": calls * batch / elapsed, "calls": calls}))


if __name__ == "__main__":
    main(sys.argv[1:])
