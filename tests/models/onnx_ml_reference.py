#!/usr/bin/python3
"""Reference data for the ONNX-ML tree-ensemble import (onnx_ml_test.cpp).

    onnx_ml_reference.py OUT_DIR

Writes OUT_DIR/NAME.onnx and OUT_DIR/reference.h5 (/X/NAME float32 rows,
/expected/NAME float64 outputs). Expected outputs come from evaluate() below:
a plain numpy walk of the ONNX-ML attributes as the operator specification
defines them (float32 comparisons, NaN to the true branch when
missing_value_tracks_true, sums in float64 in tree order), written without
beamflow's translation. For the models made from scikit-learn the evaluator
is itself checked against predict_proba / predict first.
"""
import os
import sys

import h5py
import numpy as np
import onnx
from sklearn.ensemble import GradientBoostingRegressor, RandomForestClassifier, RandomForestRegressor

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from export_onnx_ml import ensemble_attributes, make_model  # noqa: E402

ROWS = 20000


def evaluate(op_type, attrs, x):
    """ONNX-ML TreeEnsemble{Classifier,Regressor} on float32 rows x."""
    x = np.asarray(x, dtype=np.float32)
    classifier = op_type == "TreeEnsembleClassifier"
    prefix = "class_" if classifier else "target_"
    columns = len(attrs.get("classlabels_strings", attrs.get("classlabels_int64s", []))) if classifier \
        else attrs.get("n_targets", 1)
    tree_ids = np.asarray(attrs["nodes_treeids"])
    node_ids = np.asarray(attrs["nodes_nodeids"])
    tracks = attrs.get("nodes_missing_value_tracks_true", [0] * len(tree_ids))
    key = {(int(t), int(n)): k for k, (t, n) in enumerate(zip(tree_ids, node_ids))}
    n_nodes = len(tree_ids)
    # Leaf weights per node and column (NaN: no weight), entries summed in order.
    leaf_w = np.full((n_nodes, columns), np.nan)
    for t, n, c, w in zip(attrs[prefix + "treeids"], attrs[prefix + "nodeids"], attrs[prefix + "ids"],
                          attrs[prefix + "weights"]):
        k = key[(t, n)]
        w = np.float64(np.float32(w))
        leaf_w[k, c] = w if np.isnan(leaf_w[k, c]) else leaf_w[k, c] + w
    modes = np.asarray(attrs["nodes_modes"], dtype=object)
    is_leaf = modes == "LEAF"
    feature = np.asarray(attrs["nodes_featureids"], dtype=np.int64)
    threshold = np.asarray(attrs["nodes_values"], dtype=np.float32)
    tracks = np.asarray(tracks, dtype=bool)
    true_k = np.array([key[(int(t), int(c))] if m != "LEAF" else -1
                       for t, c, m in zip(tree_ids, attrs["nodes_truenodeids"], modes)])
    false_k = np.array([key[(int(t), int(c))] if m != "LEAF" else -1
                        for t, c, m in zip(tree_ids, attrs["nodes_falsenodeids"], modes)])
    children = set(true_k[true_k >= 0]) | set(false_k[false_k >= 0])
    trees = sorted(set(int(t) for t in tree_ids))
    rows = np.arange(x.shape[0])
    per_tree = np.full((len(trees), x.shape[0], columns), np.nan)
    for ti, tree in enumerate(trees):
        root = [k for k in range(n_nodes) if tree_ids[k] == tree and k not in children]
        assert len(root) == 1
        at = np.full(x.shape[0], root[0])
        while not is_leaf[at].all():
            v = x[rows, feature[at]]
            t = threshold[at]
            m = modes[at]
            cond = np.select([m == "BRANCH_LEQ", m == "BRANCH_LT", m == "BRANCH_GTE", m == "BRANCH_GT",
                              m == "BRANCH_EQ", m == "BRANCH_NEQ"],
                             [v <= t, v < t, v >= t, v > t, v == t, v != t], False)
            cond = cond | (np.isnan(v) & tracks[at])
            at = np.where(is_leaf[at], at, np.where(cond, true_k[at], false_k[at]))
        per_tree[ti] = leaf_w[at]
    agg = attrs.get("aggregate_function", "SUM")
    if agg in ("SUM", "AVERAGE"):
        score = np.zeros((x.shape[0], columns))
        for ti in range(len(trees)):  # tree order, as written
            score += np.nan_to_num(per_tree[ti], nan=0.0)
        if agg == "AVERAGE":
            score /= len(trees)
    else:
        reduce = np.fmin if agg == "MIN" else np.fmax
        score = per_tree[0]
        for ti in range(1, len(trees)):
            score = reduce(score, per_tree[ti])
        score = np.nan_to_num(score, nan=0.0)
    base = attrs.get("base_values")
    if base is not None:
        score = score + np.asarray(base, dtype=np.float32).astype(np.float64)
    post = attrs.get("post_transform", "NONE")
    if post == "LOGISTIC":
        score = 1.0 / (1.0 + np.exp(-score))
    elif post in ("SOFTMAX", "SOFTMAX_ZERO"):
        keep = np.ones_like(score, dtype=bool) if post == "SOFTMAX" else score != 0.0
        top = np.where(keep, score, -np.inf).max(axis=1, keepdims=True)
        e = np.where(keep, np.exp(score - np.where(np.isfinite(top), top, 0.0)), 0.0)
        total = e.sum(axis=1, keepdims=True)
        score = np.where(total > 0, e / np.where(total > 0, total, 1.0), score)
    return score


def random_ensemble(rng, op_type, trees, depth, features, columns, grid, modes, tracks_p, weight_p):
    """Random complete trees whose splits use `modes` over thresholds from `grid`."""
    a = {k: [] for k in ("nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_values", "nodes_modes",
                         "nodes_truenodeids", "nodes_falsenodeids", "nodes_missing_value_tracks_true")}
    prefix = "class_" if op_type == "TreeEnsembleClassifier" else "target_"
    w = {prefix + k: [] for k in ("treeids", "nodeids", "ids", "weights")}
    for tree in range(trees):
        n_nodes = 2 ** (depth + 1) - 1
        ids = rng.permutation(n_nodes) * 3 + 7  # ids need not be dense nor ordered
        for i in range(n_nodes):
            leaf = i >= 2 ** depth - 1
            a["nodes_treeids"].append(tree)
            a["nodes_nodeids"].append(int(ids[i]))
            a["nodes_featureids"].append(0 if leaf else int(rng.integers(features)))
            a["nodes_values"].append(0.0 if leaf else float(rng.choice(grid)))
            a["nodes_modes"].append("LEAF" if leaf else str(rng.choice(modes)))
            a["nodes_truenodeids"].append(0 if leaf else int(ids[2 * i + 1]))
            a["nodes_falsenodeids"].append(0 if leaf else int(ids[2 * i + 2]))
            a["nodes_missing_value_tracks_true"].append(int(rng.random() < tracks_p))
            if leaf:
                for c in range(columns):
                    if rng.random() < weight_p:
                        w[prefix + "treeids"].append(tree)
                        w[prefix + "nodeids"].append(int(ids[i]))
                        w[prefix + "ids"].append(c)
                        w[prefix + "weights"].append(float(np.float32(rng.normal())))
    # Shuffle the node order: the format does not promise any.
    order = rng.permutation(len(a["nodes_treeids"]))
    a = {k: [v[i] for i in order] for k, v in a.items()}
    a.update(w)
    return a


def grid_rows(rng, grid, features, n):
    """Rows on, just below and just above the thresholds, with NaN and infinities."""
    g = np.asarray(grid, dtype=np.float32)
    x = rng.choice(g, size=(n, features)).astype(np.float32)
    shift = rng.integers(-1, 2, size=x.shape)
    x = np.where(shift < 0, np.nextafter(x, np.float32(-np.inf)), np.where(shift > 0, np.nextafter(x, np.float32(np.inf)), x))
    x[rng.random(x.shape) < 0.05] = np.nan
    x[rng.random(x.shape) < 0.01] = np.inf
    x[rng.random(x.shape) < 0.01] = -np.inf
    return x.astype(np.float32)


def main(out):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(4)
    models = {}

    # From scikit-learn (the evaluator checked against it).
    xf = rng.normal(size=(ROWS, 12)).astype(np.float32)
    y_cls = (xf[:, 0] + xf[:, 1] * xf[:, 2] > 0.3).astype(int) + (xf[:, 3] > 1.0).astype(int)
    y_reg = np.sin(xf[:, 0]) + xf[:, 1] ** 2 + 0.1 * xf[:, 4]
    fitted = {
        "rf_classifier": RandomForestClassifier(n_estimators=25, max_depth=9, random_state=0).fit(
            xf[:4000], np.array(["low", "mid", "high"])[y_cls[:4000]]),
        "gb_regressor": GradientBoostingRegressor(n_estimators=40, max_depth=4, random_state=0).fit(xf[:4000],
                                                                                                    y_reg[:4000]),
        "rf_two_targets": RandomForestRegressor(n_estimators=15, max_depth=8, random_state=0).fit(
            xf[:4000], np.stack([y_reg[:4000], xf[:4000, 5]], axis=1)),
    }
    for name, model in fitted.items():
        op_type, attrs, labels = ensemble_attributes(model)
        ours = evaluate(op_type, attrs, xf)
        theirs = model.predict_proba(xf) if labels else model.predict(xf).reshape(ROWS, -1)
        # float32 leaf weights: the only difference from scikit-learn.
        diff = np.max(np.abs(ours - theirs))
        assert diff < 1e-5, (name, diff)
        print(f"{name}: evaluator vs scikit-learn max |diff| {diff:.2e} over {ROWS} rows")
        n_out = len(labels) if labels else attrs["n_targets"]
        models[name] = (op_type, attrs, xf, n_out)

    # Every mode, missing-value tracking, NaN and infinity, each post_transform and aggregate.
    grid = [-2.5, -1.0, -0.0, 0.0, 0.5, 1.0, 3.25]
    all_modes = ["BRANCH_LEQ", "BRANCH_LT", "BRANCH_GTE", "BRANCH_GT", "BRANCH_EQ", "BRANCH_NEQ"]
    xs = grid_rows(rng, grid, 6, ROWS)
    synthetic = [
        ("modes_softmax", "TreeEnsembleClassifier", dict(post_transform="SOFTMAX"), 1.0),
        ("modes_logistic", "TreeEnsembleClassifier", dict(post_transform="LOGISTIC", base_values=[0.5, -0.25, 1.0]),
         1.0),
        ("modes_softmax_zero", "TreeEnsembleClassifier", dict(post_transform="SOFTMAX_ZERO"), 0.4),
        ("modes_sum", "TreeEnsembleRegressor", dict(aggregate_function="SUM", base_values=[1.5, -2.0, 0.25]), 0.8),
        ("modes_average", "TreeEnsembleRegressor", dict(aggregate_function="AVERAGE"), 1.0),
        ("modes_min", "TreeEnsembleRegressor", dict(aggregate_function="MIN"), 0.6),
        ("modes_max", "TreeEnsembleRegressor", dict(aggregate_function="MAX", base_values=[0.0, 1.0, 2.0]), 0.6),
    ]
    for name, op_type, extra, weight_p in synthetic:
        attrs = random_ensemble(rng, op_type, trees=12, depth=5, features=6, columns=3, grid=grid, modes=all_modes,
                                tracks_p=0.5, weight_p=weight_p)
        attrs.update(extra)
        if op_type == "TreeEnsembleClassifier":
            attrs["classlabels_int64s"] = [3, 1, 2]
        else:
            attrs["n_targets"] = 3
        models[name] = (op_type, attrs, xs, 3)

    with h5py.File(os.path.join(out, "reference.h5"), "w") as f:
        for name, (op_type, attrs, x, n_out) in models.items():
            onnx.save(make_model(op_type, attrs, x.shape[1], n_out), os.path.join(out, name + ".onnx"))
            f.create_dataset("X/" + name, data=x)
            f.create_dataset("expected/" + name, data=evaluate(op_type, attrs, x))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
