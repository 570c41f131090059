#!/usr/bin/python3
"""Export a PyTorch model to ONNX for beamflow's model hub.

    export_torch.py MODEL.pt OUT_DIR --input-shape 1,1,256,256 --name NAME [options]

MODEL.pt is a whole module saved with torch.save(model, path). OUT_DIR gets
model.onnx (opset 13, batch axis dynamic, labels in metadata_props),
metadata.json (DLHub servable schema plus the beamflow block: format, opset,
sha256 of every file, validation vectors computed by PyTorch) and, with
--reference N, test_data_set_0/ with N random inputs and PyTorch's outputs as
ONNX TensorProto files (the layout of ONNX's backend tests). Publish with
`beamflow model publish OUT_DIR`.

Runs on Debian's python3-torch and python3-onnx through /usr/bin/python3.
The functions are importable (tools/train_xray_tagger.py uses export()).
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

from model_metadata import datacite, sha256, write_metadata

MODEL_FILE = "model.onnx"
OPSET = 13


def write_onnx(model, example, path, labels, extra_props):
    import onnx
    model.eval()
    torch.onnx.export(model, example, path, opset_version=OPSET, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, do_constant_folding=True)
    m = onnx.load(path)
    props = dict(extra_props)
    if labels:
        props["labels"] = json.dumps(labels)
    for k, v in props.items():
        p = m.metadata_props.add()
        p.key, p.value = k, str(v)
    onnx.checker.check_model(m)
    onnx.save(m, path)


def run_torch(model, x):
    with torch.no_grad():
        return model(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))).numpy()


def write_reference(model, inputs, out_dir):
    """test_data_set_0/input_0.pb and output_0.pb, as ONNX's backend tests lay them out."""
    from onnx import numpy_helper
    d = os.path.join(out_dir, "test_data_set_0")
    os.makedirs(d, exist_ok=True)
    outputs = run_torch(model, inputs)
    for name, arr in (("input_0.pb", inputs), ("output_0.pb", outputs)):
        with open(os.path.join(d, name), "wb") as f:
            f.write(numpy_helper.from_array(np.asarray(arr, dtype=np.float32)).SerializeToString())
    return outputs


def metadata(model, out_dir, *, name, version, input_shape, output_shape, labels, title, description, creators,
             domains, preprocessing, validation_inputs, tolerance, derived_from=(), described_by=(), preprocess=None):
    files = {MODEL_FILE: sha256(os.path.join(out_dir, MODEL_FILE))}
    validation = []
    if validation_inputs is not None:
        # With a preprocessing step, validation inputs are what users send
        # (beamflow preprocesses them before the network, as `model run` does).
        expected = run_torch(model, preprocess(validation_inputs) if preprocess else validation_inputs)
        validation.append({"input": validation_inputs.astype(np.float64).tolist(),
                           "expected": expected.astype(np.float64).tolist(), "tolerance": tolerance})
    output = {"type": "ndarray", "dtype": "float32", "shape": [None] + list(output_shape[1:]),
              "description": "network output"}
    if labels:
        output["labels"] = list(labels)
    block = datacite(title=title or name, creators=creators,
                     description=description or f"{type(model).__name__} exported from PyTorch {torch.__version__}",
                     version=version, derived_from=derived_from, described_by=described_by)
    beamflow = {"format": "onnx", "opset": OPSET, "model_file": MODEL_FILE, "files": files,
                "validation": validation}
    if preprocessing:
        beamflow["preprocessing"] = preprocessing
    return {
        "datacite": block,
        "dlhub": {"name": name, "domains": list(domains), "type": "servable", "visible_to": ["public"]},
        "servable": {
            "type": "Neural network",
            "model_type": type(model).__name__,
            "model_summary": f"{sum(p.numel() for p in model.parameters())} parameters, ONNX opset {OPSET}",
            "methods": {"run": {
                "input": {"type": "ndarray", "dtype": "float32", "shape": [None] + list(input_shape[1:]),
                          "description": "network input, batch first"},
                "output": output,
                "parameters": {},
                "method_details": {"method_name": "predict"},
            }},
        },
        "beamflow": beamflow,
    }


def export(model, out_dir, *, name, input_shape, version="1.0.0", labels=(), title=None, description=None,
           creators=(), domains=(), preprocessing=None, validation_inputs=None, tolerance=1e-5, reference=None,
           derived_from=(), described_by=(), preprocess=None):
    """Writes model.onnx, metadata.json and (reference: an input batch) test_data_set_0/.

    `preprocess` (numpy in, network input out) is the torch twin of the
    metadata's `preprocessing`; validation_inputs then hold raw user inputs."""
    os.makedirs(out_dir, exist_ok=True)
    model.eval()
    example = torch.zeros(input_shape, dtype=torch.float32)
    output_shape = run_torch(model, example.numpy()).shape
    write_onnx(model, example, os.path.join(out_dir, MODEL_FILE), list(labels), {"producer": "tools/export_torch.py"})
    if reference is not None:
        write_reference(model, reference, out_dir)
    meta = metadata(model, out_dir, name=name, version=version, input_shape=input_shape, output_shape=output_shape,
                    labels=list(labels), title=title, description=description, creators=creators, domains=domains,
                    preprocessing=preprocessing, validation_inputs=validation_inputs, tolerance=tolerance,
                    derived_from=derived_from, described_by=described_by, preprocess=preprocess)
    write_metadata(out_dir, meta)
    return meta


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="a module saved with torch.save(model, path)")
    p.add_argument("out_dir")
    p.add_argument("--input-shape", required=True, help="e.g. 1,1,256,256 (the batch extent is exported as dynamic)")
    p.add_argument("--name", required=True)
    p.add_argument("--version", default="1.0.0")
    p.add_argument("--label", action="append", default=[], help="output column label (repeatable, in order)")
    p.add_argument("--title")
    p.add_argument("--description")
    p.add_argument("--creator", action="append", default=[])
    p.add_argument("--domain", action="append", default=[])
    p.add_argument("--reference", type=int, default=0, help="write N random inputs and PyTorch's outputs")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    try:
        shape = tuple(int(s) for s in args.input_shape.split(","))
    except ValueError:
        print(f"export_torch: --input-shape {args.input_shape!r} is not a comma-separated list of integers",
              file=sys.stderr)
        return 2
    torch.manual_seed(args.seed)
    try:
        model = torch.load(args.model)
    except (OSError, RuntimeError, EOFError) as e:
        print(f"export_torch: cannot load {args.model}: {e}", file=sys.stderr)
        return 1
    rng = np.random.default_rng(args.seed)
    probe = rng.standard_normal((2,) + shape[1:]).astype(np.float32)
    ref = rng.standard_normal((args.reference,) + shape[1:]).astype(np.float32) if args.reference else None
    export(model, args.out_dir, name=args.name, input_shape=shape, version=args.version, labels=args.label,
           title=args.title, description=args.description, creators=args.creator, domains=args.domain,
           validation_inputs=probe, reference=ref)
    print(f"wrote {os.path.join(args.out_dir, MODEL_FILE)} and metadata.json; "
          f"publish with: beamflow model publish {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
