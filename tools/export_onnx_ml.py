#!/usr/bin/python3
"""Write a pickled scikit-learn forest as an ONNX-ML tree ensemble.

    tools/export_onnx_ml.py MODEL.pkl OUT.onnx

An ai.onnx.ml TreeEnsembleClassifier (predict_proba) or
TreeEnsembleRegressor (predict) built with python3-onnx's helper: skl2onnx
is not packaged in Debian 12. `beamflow model publish OUT.onnx --name N`
runs it (format "onnx-ml"). Supported: RandomForest / ExtraTrees /
DecisionTree classifiers and regressors, GradientBoostingRegressor with a
constant initial estimator.

ONNX-ML thresholds are float32 and compared with float32 inputs. scikit-learn
compares float32(x) with a float64 threshold t; the largest float32 not
above t decides identically for every float32 x, so that is what is written
(rounding to nearest, as skl2onnx does, flips rows lying between the two).
Leaf weights become float32 too: outputs match scikit-learn to float32
precision of the weights, not bit for bit (forest-hdf5 is bit-identical).
"""
import pickle
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper
from sklearn.ensemble import (ExtraTreesClassifier, ExtraTreesRegressor, GradientBoostingRegressor,
                              RandomForestClassifier, RandomForestRegressor)
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

ML_DOMAIN = "ai.onnx.ml"


def float_threshold(t):
    """The largest float32 not above each float64 threshold."""
    f = np.asarray(t, dtype=np.float64).astype(np.float32)
    up = f.astype(np.float64) > t
    f[up] = np.nextafter(f[up], np.float32(-np.inf))
    return f


def tree_nodes(tree, tree_id):
    """nodes_* attribute lists of one sklearn tree (mode BRANCH_LEQ: x <= t goes left)."""
    t = tree.tree_
    n = t.node_count
    leaf = t.children_left < 0
    return dict(
        nodes_treeids=[tree_id] * n,
        nodes_nodeids=list(range(n)),
        nodes_featureids=[0 if leaf[i] else int(t.feature[i]) for i in range(n)],
        nodes_values=[0.0 if leaf[i] else float(v) for i, v in enumerate(float_threshold(t.threshold))],
        nodes_modes=["LEAF" if leaf[i] else "BRANCH_LEQ" for i in range(n)],
        nodes_truenodeids=[0 if leaf[i] else int(t.children_left[i]) for i in range(n)],
        nodes_falsenodeids=[0 if leaf[i] else int(t.children_right[i]) for i in range(n)],
    ), leaf


def ensemble_attributes(model):
    """(op_type, attributes, labels) of the ONNX-ML node for `model`."""
    if isinstance(model, (RandomForestClassifier, ExtraTreesClassifier, DecisionTreeClassifier,
                          RandomForestRegressor, ExtraTreesRegressor, DecisionTreeRegressor)):
        trees = model.estimators_ if hasattr(model, "estimators_") else [model]
        scale, base = 1.0 / len(trees), None
    elif isinstance(model, GradientBoostingRegressor):
        if model.init_ != "zero" and not hasattr(model.init_, "constant_"):
            raise ValueError("only a constant initial estimator is supported")
        trees = [e[0] for e in model.estimators_]
        scale = float(model.learning_rate)
        base = [float(model._raw_predict_init(np.zeros((1, model.n_features_in_), np.float32))[0, 0])]
    else:
        raise ValueError(f"unsupported model type {type(model).__name__}")
    classifier = hasattr(model, "classes_")
    attrs = {}
    weights = dict(treeids=[], nodeids=[], ids=[], weights=[])
    for tid, tree in enumerate(trees):
        nodes, leaf = tree_nodes(tree, tid)
        for key, values in nodes.items():
            attrs.setdefault(key, []).extend(values)
        if classifier:  # predict_proba's normalised leaf fractions
            value = tree.tree_.value[:, 0, :]
            value = value / np.where(value.sum(axis=1) == 0, 1.0, value.sum(axis=1))[:, None]
        else:  # [node, output]
            value = tree.tree_.value[:, :, 0]
        for i in np.flatnonzero(leaf):
            for c in range(value.shape[1]):
                weights["treeids"].append(tid)
                weights["nodeids"].append(int(i))
                weights["ids"].append(c)
                weights["weights"].append(float(value[i, c] * scale))
    prefix = "class_" if classifier else "target_"
    for key, values in weights.items():
        attrs[prefix + key] = values
    if base is not None:
        attrs["base_values"] = base
    if classifier:
        labels = [str(c) for c in model.classes_]
        attrs["classlabels_strings"] = labels
        return "TreeEnsembleClassifier", attrs, labels
    attrs["n_targets"] = int(getattr(model, "n_outputs_", 1))
    attrs["aggregate_function"] = "SUM"
    return "TreeEnsembleRegressor", attrs, None


def make_model(op_type, attrs, n_features, n_outputs, ml_opset=1, extra_nodes=(), graph_outputs=None):
    """A one-node ONNX-ML graph: input X [N, n_features] float, output Y."""
    outputs = ["label", "Y"] if op_type == "TreeEnsembleClassifier" else ["Y"]
    node = helper.make_node(op_type, ["X"], outputs, domain=ML_DOMAIN, name="ensemble", **attrs)
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, n_features])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None, n_outputs])
    graph = helper.make_graph([node, *extra_nodes], "tree_ensemble", [x], graph_outputs or [y])
    return helper.make_model(graph, producer_name="beamflow export_onnx_ml",
                             opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(ML_DOMAIN, ml_opset)])


def export(model, path):
    op_type, attrs, labels = ensemble_attributes(model)
    n_out = len(labels) if labels else attrs["n_targets"]
    onnx.save(make_model(op_type, attrs, int(model.n_features_in_), n_out), path)


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], "rb") as f:
        model = pickle.load(f)
    try:
        export(model, argv[2])
    except ValueError as e:
        print(f"export_onnx_ml: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
