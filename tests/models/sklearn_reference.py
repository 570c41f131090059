#!/usr/bin/python3
"""Reference data for the forest exactness tests, made at test time.

    sklearn_reference.py OUT_DIR [--rows N]

Trains small scikit-learn ensembles of every supported kind, exports each
with tools/export_forest.py into OUT_DIR/<name>/, and writes
OUT_DIR/reference.h5:
    /X                   float32 [rows, features]: test rows, a tenth of them
                         sitting exactly on (or one float step beside) a split
                         threshold, where float32/float64 comparisons matter
    /expected/<name>     float64: predict_proba (classifiers) / predict
    /expected_libm/<name> the same for the softmax models, computed in a
                         second process with numpy's AVX-512 exp/log turned
                         off (numpy then calls libm, as on CPUs without AVX-512);
                         that process exports them again into OUT_DIR/<name>_libm/
"""
import argparse
import os
import pickle
import subprocess
import sys

import h5py
import numpy as np
from sklearn.ensemble import (ExtraTreesClassifier, GradientBoostingClassifier,
                              GradientBoostingRegressor, RandomForestClassifier,
                              RandomForestRegressor)
from sklearn.tree import DecisionTreeClassifier

SOURCE = os.environ.get("BEAMFLOW_SOURCE_DIR",
                        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(SOURCE, "tools"))
import export_forest  # noqa: E402

FEATURES = 20


def training_data(rng, n=3000):
    x = rng.normal(0, 1.5, size=(n, FEATURES))
    score = x[:, 0] * x[:, 1] + np.sin(2 * x[:, 2]) + 0.5 * x[:, 3] - 0.3 * x[:, 4] ** 2
    y_reg = score + 0.3 * rng.normal(size=n)
    y_bin = (score > 0).astype(int)
    y_multi = np.digitize(score, [-1.5, -0.5, 0.5, 1.5])            # 5 classes
    y_many = np.digitize(score, np.linspace(-2.5, 2.5, 8))           # 9 classes: numpy's pairwise sum
    y_text = np.array(["low", "mid", "high"])[np.digitize(score, [-0.7, 0.7])]
    return x, y_reg, y_bin, y_multi, y_many, y_text


def models(rng):
    x, y_reg, y_bin, y_multi, y_many, y_text = training_data(rng)
    return {
        "rf_classifier": RandomForestClassifier(n_estimators=30, random_state=1).fit(x, y_text),
        "rf_regressor": RandomForestRegressor(n_estimators=20, random_state=2).fit(x, y_reg),
        "extra_trees": ExtraTreesClassifier(n_estimators=20, random_state=3).fit(x, y_multi),
        "decision_tree": DecisionTreeClassifier(random_state=4, min_samples_leaf=5).fit(x, y_bin),
        "gb_regressor": GradientBoostingRegressor(n_estimators=60, random_state=5).fit(x, y_reg),
        "gb_huber": GradientBoostingRegressor(loss="huber", n_estimators=40, random_state=6).fit(x, y_reg),
        "gb_binary": GradientBoostingClassifier(n_estimators=60, random_state=7).fit(x, y_bin),
        "gb_exponential": GradientBoostingClassifier(loss="exponential", n_estimators=40,
                                                     random_state=8).fit(x, y_bin),
        "gb_multiclass": GradientBoostingClassifier(n_estimators=30, random_state=9).fit(x, y_multi),
        "gb_nine_classes": GradientBoostingClassifier(n_estimators=15, max_depth=2,
                                                      random_state=10).fit(x, y_many),
    }


def softmax_models(all_models):
    return [n for n, m in all_models.items() if n.startswith("gb_") and len(getattr(m, "classes_", [])) > 2]


def test_rows(all_models, rows, rng):
    x = rng.normal(0, 1.5, size=(rows, FEATURES)).astype(np.float32)
    thresholds = [(f, t) for m in all_models.values()
                  for est in (np.ravel(m.estimators_) if hasattr(m, "estimators_") else [m])
                  for f, t, l in zip(est.tree_.feature, est.tree_.threshold, est.tree_.children_left) if l >= 0]
    picks = rng.integers(0, len(thresholds), size=rows // 10)
    for i, k in enumerate(picks):
        f, t = thresholds[k]
        v = np.float32(t)
        v = [v, np.nextafter(v, np.float32(np.inf)), np.nextafter(v, np.float32(-np.inf))][i % 3]
        x[rng.integers(0, rows), f] = v
    return x


def predict(model, x):
    model.n_jobs = 1  # trees in order: with threads sklearn's own sum order varies
    return export_forest.predict(model, x)


def avx512_features():
    from numpy.core._multiarray_umath import __cpu_dispatch__ as dispatched
    from numpy.core._multiarray_umath import __cpu_features__ as features
    return [name for name in dispatched if name.startswith("AVX512") and features.get(name)]


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument("out_dir")
    p.add_argument("--rows", type=int, default=100000)
    p.add_argument("--libm-predictions", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    out = args.out_dir
    if args.libm_predictions:  # child process: numpy without its AVX-512 exp/log
        with h5py.File(os.path.join(out, "reference.h5"), "r+") as f:
            x = f["X"][...]
            for name in f["expected"].attrs["softmax_models"].split():
                with open(os.path.join(out, "pickles", name + ".pkl"), "rb") as fh:
                    model = pickle.load(fh)
                # The initial raw prediction (log of the class priors) goes
                # through numpy's log too: export it here as well.
                d = os.path.join(out, name + "_libm")
                export_forest.export(model, d, export_forest.parse_args(["-", d, "--name", name]))
                f[f"expected_libm/{name}"] = predict(model, x)
        return 0
    rng = np.random.default_rng(2026)
    all_models = models(rng)
    x = test_rows(all_models, args.rows, rng)
    with h5py.File(os.path.join(out, "reference.h5"), "w") as f:
        f["X"] = x
        for name, model in all_models.items():
            d = os.path.join(out, name)
            pkl = os.path.join(out, "pickles", name + ".pkl")
            os.makedirs(os.path.dirname(pkl), exist_ok=True)
            with open(pkl, "wb") as fh:
                pickle.dump(model, fh)
            export_forest.export(model, d, export_forest.parse_args([pkl, d, "--name", name]))
            f[f"expected/{name}"] = predict(model, x)
        f["expected"].attrs["softmax_models"] = " ".join(softmax_models(all_models))
    env = dict(os.environ)
    disabled = avx512_features()
    if disabled:
        env["NPY_DISABLE_CPU_FEATURES"] = " ".join(disabled)
    subprocess.run([sys.executable, __file__, out, "--libm-predictions"], check=True, env=env)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
