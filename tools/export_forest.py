#!/usr/bin/python3
"""Export a pickled scikit-learn tree ensemble for `beamflow model publish`.

    tools/export_forest.py MODEL.pkl OUT_DIR [--name NAME] [--version V] ...

writes OUT_DIR/forest.h5 (the flat layout of docs/models.md) and
OUT_DIR/metadata.json (DLHub servable metadata plus the `beamflow` section:
format, sha256 of every file, validation vectors computed by scikit-learn).

Supported: RandomForest{Classifier,Regressor}, ExtraTrees{Classifier,Regressor},
DecisionTree{Classifier,Regressor}, GradientBoosting{Classifier,Regressor}
with a constant initial estimator ("zero" or the default Dummy* one); one
output. Runs on Debian's python3-sklearn and python3-h5py (/usr/bin/python3).
"""
import argparse
import os
import pickle
import sys

import h5py
import numpy as np
import sklearn
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (ExtraTreesClassifier, ExtraTreesRegressor,
                              GradientBoostingClassifier, GradientBoostingRegressor,
                              RandomForestClassifier, RandomForestRegressor)
from model_metadata import datacite, sha256, write_metadata
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

LAYOUT = "beamflow-forest"
LAYOUT_VERSION = 1
FORMAT = "forest-hdf5"
MODEL_FILE = "forest.h5"

FORESTS = (RandomForestClassifier, RandomForestRegressor, ExtraTreesClassifier,
           ExtraTreesRegressor)
TREES = (DecisionTreeClassifier, DecisionTreeRegressor)
BOOSTING = (GradientBoostingClassifier, GradientBoostingRegressor)

# sklearn 1.2 loss class -> link applied to the raw prediction.
BOOSTING_LINKS = {
    "LeastSquaresError": "identity",
    "LeastAbsoluteError": "identity",
    "HuberLossFunction": "identity",
    "QuantileLossFunction": "identity",
    "BinomialDeviance": "logistic",
    "ExponentialLoss": "exponential_logistic",
    "MultinomialDeviance": "softmax",
}


class ExportError(Exception):
    pass


def is_classifier(model):
    return hasattr(model, "classes_")


def leaf_values(tree, classifier):
    """Per-node values as sklearn's predict uses them (float64)."""
    value = tree.tree_.value
    if value.shape[1] != 1:
        raise ExportError("multi-output trees are not supported")
    if not classifier:
        return np.ascontiguousarray(value[:, 0, :1], dtype=np.float64)
    # DecisionTreeClassifier.predict_proba: the leaf's class weights divided
    # by their sum (0 -> 1), with numpy's own reduction, so the fractions are
    # the very doubles sklearn adds up.
    proba = np.array(value[:, 0, :tree.n_classes_], dtype=np.float64)
    normalizer = proba.sum(axis=1)[:, np.newaxis]
    normalizer[normalizer == 0.0] = 1.0
    proba /= normalizer
    return proba


def flatten(model):
    """The ensemble as (trees [(tree, column)], layout attributes, init, values fn)."""
    classifier = is_classifier(model)
    if isinstance(model, FORESTS + TREES):
        trees = list(model.estimators_) if isinstance(model, FORESTS) else [model]
        if getattr(model, "n_outputs_", 1) != 1:
            raise ExportError("multi-output models are not supported")
        raw = len(model.classes_) if classifier else 1
        attrs = dict(kind="random_forest", aggregation="mean", link="identity", learning_rate=1.0)
        columns = [0] * len(trees)
        init = np.zeros(raw)
        values = [leaf_values(t, classifier) for t in trees]
    elif isinstance(model, BOOSTING):
        loss = type(model._loss).__name__
        if loss not in BOOSTING_LINKS:
            raise ExportError(f"gradient boosting loss {loss} is not supported")
        if not (isinstance(model.init_, str) and model.init_ == "zero") and \
                not isinstance(model.init_, (DummyClassifier, DummyRegressor)):
            raise ExportError("only a constant initial estimator ('zero' or the default) is supported")
        stages, k = model.estimators_.shape
        trees, columns = [], []
        for i in range(stages):  # predict_stages order: stage, then class
            for j in range(k):
                trees.append(model.estimators_[i, j])
                columns.append(j)
        raw = k
        attrs = dict(kind="gradient_boosting", aggregation="sum", link=BOOSTING_LINKS[loss],
                     learning_rate=float(model.learning_rate))
        init = np.asarray(model._raw_predict_init(np.zeros((1, model.n_features_in_), np.float32))[0],
                          dtype=np.float64)
        values = [leaf_values(t, False) for t in trees]
    else:
        raise ExportError(f"unsupported model type {type(model).__name__}")
    attrs.update(task="classification" if classifier else "regression",
                 n_features=int(model.n_features_in_), raw_columns=int(raw))
    return trees, columns, init, values, attrs


def write_forest(model, path):
    """Writes the flat HDF5 layout; returns the layout attributes."""
    trees, columns, init, values, attrs = flatten(model)
    counts = [t.tree_.node_count for t in trees]
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    feature = np.concatenate([t.tree_.feature for t in trees]).astype(np.int32)
    left = np.concatenate([t.tree_.children_left for t in trees]).astype(np.int32)
    right = np.concatenate([t.tree_.children_right for t in trees]).astype(np.int32)
    leaf = left < 0
    feature[leaf] = -1
    left[leaf] = -1
    right[leaf] = -1
    threshold = np.concatenate([t.tree_.threshold for t in trees]).astype(np.float64)
    threshold[leaf] = 0.0
    value = np.concatenate(values).astype(np.float64)
    with h5py.File(path, "w") as f:
        # Fixed-length ASCII string attributes: readable by every HDF5 tool
        # without a UTF-8 conversion path.
        text = {"format": LAYOUT, "producer": f"scikit-learn {sklearn.__version__} {type(model).__name__}"}
        text.update({key: attrs[key] for key in ("kind", "task", "aggregation", "link")})
        for key, string in text.items():
            f.attrs[key] = np.bytes_(string)
        f.attrs["format_version"] = np.int64(LAYOUT_VERSION)
        for key in ("n_features", "raw_columns"):
            f.attrs[key] = np.int64(attrs[key])
        f.attrs["learning_rate"] = np.float64(attrs["learning_rate"])
        f.create_dataset("tree_offsets", data=offsets)
        f.create_dataset("tree_column", data=np.asarray(columns, dtype=np.int32))
        f.create_dataset("feature", data=feature)
        f.create_dataset("threshold", data=threshold)
        f.create_dataset("left", data=left)
        f.create_dataset("right", data=right)
        f.create_dataset("value", data=value)
        f.create_dataset("init", data=init)
        if is_classifier(model):
            f.create_dataset("classes", data=[str(c) for c in model.classes_],
                             dtype=h5py.string_dtype())
    return attrs


def predict(model, x):
    """What `beamflow model run` must reproduce: predict_proba or predict."""
    if is_classifier(model):
        return model.predict_proba(x)
    return model.predict(x)


def probe_rows(model, n, seed=0):
    """Rows that exercise the splits: each feature uniform over the range of
    its thresholds, widened by 10%, as float32."""
    rng = np.random.default_rng(seed)
    trees, _, _, _, attrs = flatten(model)
    lo = np.full(attrs["n_features"], np.inf)
    hi = np.full(attrs["n_features"], -np.inf)
    for t in trees:
        split = t.tree_.children_left >= 0
        f, th = t.tree_.feature[split], t.tree_.threshold[split]
        np.minimum.at(lo, f, th)
        np.maximum.at(hi, f, th)
    lo[~np.isfinite(lo)] = 0.0
    hi[~np.isfinite(hi)] = 1.0
    pad = 0.1 * (hi - lo) + 1e-3
    return rng.uniform(lo - pad, hi + pad, size=(n, attrs["n_features"])).astype(np.float32)


def validation_vectors(model, rows, link):
    # numpy's AVX-512 exp/log differ from libm's in the last bit; only the
    # softmax link goes through them (docs/models.md, "Exactness").
    tolerance = 1e-12 if link == "softmax" else 0.0
    expected = predict(model, rows)
    return [{"input": rows.astype(np.float64).tolist(), "expected": np.asarray(expected).tolist(),
             "tolerance": tolerance}]


def metadata(model, attrs, args, rows):
    classifier = is_classifier(model)
    n_out = len(model.classes_) if classifier else None
    output = {"type": "ndarray", "dtype": "float64",
              "shape": [None, n_out] if classifier else [None],
              "description": "class probabilities (predict_proba)" if classifier
              else "predicted values (predict)"}
    if classifier:
        output["labels"] = [str(c) for c in model.classes_]
    block = datacite(title=args.title or f"{type(model).__name__} {args.name}", creators=args.creator,
                     description=args.description or
                     f"{type(model).__name__} exported from scikit-learn {sklearn.__version__}",
                     version=args.version, derived_from=args.derived_from, described_by=args.described_by,
                     doi=args.doi)
    return {
        "datacite": block,
        "dlhub": {"name": args.name, "domains": args.domain, "type": "servable",
                  "visible_to": ["public"] if args.public else []},
        "servable": {
            "type": "Tree ensemble",
            "model_type": type(model).__name__,
            "model_summary": f"{attrs['kind'].replace('_', ' ')} of {len(flatten(model)[0])} trees, "
                             f"{attrs['n_features']} features",
            "methods": {"run": {
                "input": {"type": "ndarray", "dtype": "float32", "shape": [None, attrs["n_features"]],
                          "description": "feature rows, batch first"},
                "output": output,
                "parameters": {},
                "method_details": {"method_name": "predict_proba" if classifier else "predict"},
            }},
        },
        "beamflow": {
            "format": FORMAT,
            "opset": LAYOUT_VERSION,
            "model_file": MODEL_FILE,
            "files": {MODEL_FILE: sha256(os.path.join(args.out_dir, MODEL_FILE))},
            "validation": validation_vectors(model, rows, attrs["link"]),
        },
    }


def load_model(path):
    with open(path, "rb") as f:
        return pickle.load(f)


def export(model, out_dir, args):
    os.makedirs(out_dir, exist_ok=True)
    attrs = write_forest(model, os.path.join(out_dir, MODEL_FILE))
    rows = probe_rows(model, args.validation_rows)
    meta = metadata(model, attrs, args, rows)
    write_metadata(out_dir, meta)
    return meta


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="pickled scikit-learn estimator")
    p.add_argument("out_dir")
    p.add_argument("--name", help="model name in the repository (default: the pickle's stem)")
    p.add_argument("--version", default="1.0.0")
    p.add_argument("--title")
    p.add_argument("--description")
    p.add_argument("--creator", action="append", default=[], help="'Family, Given' (repeatable)")
    p.add_argument("--domain", action="append", default=[], help="scientific domain (repeatable)")
    p.add_argument("--doi")
    p.add_argument("--derived-from", action="append", default=[], help="training data DOI or URL")
    p.add_argument("--described-by", action="append", default=[], help="paper DOI or URL")
    p.add_argument("--public", action="store_true", help="visible_to: public")
    p.add_argument("--validation-rows", type=int, default=8)
    args = p.parse_args(argv)
    if not args.name:
        args.name = os.path.splitext(os.path.basename(args.model))[0]
    return args


def main(argv):
    args = parse_args(argv)
    try:
        export(load_model(args.model), args.out_dir, args)
    except (ExportError, OSError, pickle.UnpicklingError) as e:
        print(f"export_forest: {e}", file=sys.stderr)
        return 1
    print(f"wrote {os.path.join(args.out_dir, MODEL_FILE)} and metadata.json; "
          f"publish with: beamflow model publish {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
