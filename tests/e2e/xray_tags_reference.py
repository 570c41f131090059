#!/usr/bin/python3
"""PyTorch reference for the xray_tags flow end-to-end test (xray_tags_test.cpp).

    xray_tags_reference.py stack OUT.h5     writes /exchange/data: 3 frames of
                                            300x280 float32 counts (synthetic
                                            patterns, a few negative, NaN and
                                            infinite pixels)
    xray_tags_reference.py compare STACK.h5 TAGS.h5 MODEL_DIR
                                            runs the model's preprocessing and
                                            network in PyTorch and prints
                                            {"shape", "max_abs", "max_rel", "labels"}

The network is evaluated from the model's ONNX graph with torch.nn.functional
operators (Conv, Relu, MaxPool, Add, GlobalAveragePool, Flatten, Gemm,
Sigmoid: what tools/train_xray_tagger.py exports), not by beamflow's code.
"""
import json
import os
import sys

import h5py
import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))


def write_stack(path):
    import train_xray_tagger as t
    counts, _ = t.dataset(3, 99, size=300)
    frames = np.ascontiguousarray(counts[:, :, 10:290]).astype(np.float32)  # 300 x 280
    frames[0, 5, 7] = -3.0
    frames[1, 100, 100] = np.nan
    frames[2, 0, 0] = np.inf
    with h5py.File(path, "w") as f:
        f.create_dataset("exchange/data", data=frames)


def preprocess(frames, spec):
    """metadata beamflow.preprocessing "detector-image" in torch: non-finite and
    negative counts count as 0, log1p * log_scale, bilinear resize with
    half-pixel centres."""
    c = np.nan_to_num(frames.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    x = torch.from_numpy(np.log1p(np.maximum(c, 0)).astype(np.float32) * np.float32(spec["log_scale"]))
    return F.interpolate(x[:, None], size=tuple(spec["size"]), mode="bilinear", align_corners=False)


def run_graph(model, x):
    g = model.graph
    v = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in g.initializer}
    v[g.input[0].name] = x
    for n in g.node:
        a = {k.name: onnx.helper.get_attribute_value(k) for k in n.attribute}
        i = [v[name] for name in n.input if name]
        if n.op_type == "Conv":
            p = a.get("pads", [0, 0, 0, 0])
            assert p[0] == p[2] and p[1] == p[3]
            y = F.conv2d(i[0], i[1], i[2] if len(i) > 2 else None, stride=a.get("strides", 1),
                         padding=(p[0], p[1]), dilation=a.get("dilations", 1), groups=a.get("group", 1))
        elif n.op_type == "Relu":
            y = F.relu(i[0])
        elif n.op_type == "MaxPool":
            p = a.get("pads", [0, 0, 0, 0])
            y = F.max_pool2d(i[0], a["kernel_shape"], a.get("strides", 1), (p[0], p[1]),
                             ceil_mode=bool(a.get("ceil_mode", 0)))
        elif n.op_type == "Add":
            y = i[0] + i[1]
        elif n.op_type == "GlobalAveragePool":
            y = F.adaptive_avg_pool2d(i[0], 1)
        elif n.op_type == "Flatten":
            y = torch.flatten(i[0], a.get("axis", 1))
        elif n.op_type == "Gemm":
            w = i[1].t() if a.get("transB", 0) else i[1]
            y = a.get("alpha", 1.0) * (i[0] @ w) + a.get("beta", 1.0) * i[2]
        elif n.op_type == "Sigmoid":
            y = torch.sigmoid(i[0])
        else:
            raise SystemExit(f"reference does not run {n.op_type}")
        v[n.output[0]] = y
    return v[g.output[0].name]


def compare(stack, tags, model_dir):
    meta = json.load(open(os.path.join(model_dir, "metadata.json")))
    spec = meta["beamflow"]["preprocessing"]
    with h5py.File(stack, "r") as f:
        frames = f["exchange/data"][()]
    with torch.no_grad():
        want = run_graph(onnx.load(os.path.join(model_dir, "model.onnx")), preprocess(frames, spec)).numpy()
    with h5py.File(tags, "r") as f:
        got = f["tags"][()]
        labels = f["tags"].attrs.get("labels", "[]")
        labels = json.loads(labels.decode() if isinstance(labels, bytes) else str(labels))
    out = {"shape": list(got.shape), "labels": labels}
    if got.shape == want.shape:
        d = np.abs(got.astype(np.float64) - want.astype(np.float64))
        out["max_abs"] = float(d.max())
        out["max_rel"] = float((d / np.maximum(np.abs(want.astype(np.float64)), 1e-30)).max())
        out["min_value"], out["max_value"] = float(want.min()), float(want.max())
    print(json.dumps(out))


if __name__ == "__main__":
    torch.set_num_threads(1)
    if sys.argv[1] == "stack":
        write_stack(sys.argv[2])
    else:
        compare(*sys.argv[2:5])
