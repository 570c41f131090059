#!/usr/bin/python3
"""Rows per second of a 500-tree random forest on 100,000 x 145 features:
beamflow's forest runtime against scikit-learn predict_proba (the peer), in
the same run, on the same rows, and a check that the outputs are
bit-identical.

    bench/models/forest_bench.py BUILD_DIR [--work DIR] [--trees 500] [--rows 100000]

The forest is a RandomForestClassifier (default settings: fully grown
trees) fitted on --train-rows synthetic rows (2,000: about 400 nodes a tree;
20,000 for a deep forest of about 4,000 nodes a tree) of 145 features (the
size of Magpie's feature vector), two classes drawn from a noisy nonlinear
rule; it is kept in --work between runs. scikit-learn is timed with n_jobs=2 (both cores of
the benchmark machine) and n_jobs=1; beamflow with its Kokkos build's
default execution space (Serial here: one core per process) via
build/bench/models/bench_forest, on one rank and under `mpirun -np 2` (each
rank a block of the rows, as `beamflow model run` does). Best of --repeat
runs each; the outputs are checked bit for bit against predict_proba.
"""
import argparse
import json
import os
import pickle
import shutil
import subprocess
import sys
import time

import h5py
import numpy as np
from sklearn.ensemble import RandomForestClassifier

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
import export_forest  # noqa: E402

FEATURES = 145


def make_forest(work, trees, train_rows):
    pkl = os.path.join(work, f"rf{trees}-{train_rows}.pkl")
    if os.path.exists(pkl):
        with open(pkl, "rb") as f:
            return pickle.load(f)
    rng = np.random.default_rng(145)
    x = rng.normal(size=(train_rows, FEATURES))
    score = x[:, :10] @ rng.normal(size=10) + np.sin(3 * x[:, 10]) * x[:, 11] + 0.5 * x[:, 12] ** 2
    y = (score + rng.normal(scale=1.0, size=train_rows) > 0.5).astype(int)
    t0 = time.time()
    model = RandomForestClassifier(n_estimators=trees, n_jobs=2, random_state=0).fit(x, y)
    print(f"trained {trees} trees on {train_rows} x {FEATURES} in {time.time() - t0:.0f} s", file=sys.stderr)
    with open(pkl, "wb") as f:
        pickle.dump(model, f)
    return model


def best_time(fn, repeat):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("build_dir")
    p.add_argument("--work", default="/tmp/beamflow-forest-bench")
    p.add_argument("--trees", type=int, default=500)
    p.add_argument("--rows", type=int, default=100000)
    p.add_argument("--train-rows", type=int, default=2000)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    os.makedirs(args.work, exist_ok=True)
    model = make_forest(args.work, args.trees, args.train_rows)
    export_dir = os.path.join(args.work, f"rf{args.trees}-{args.train_rows}")
    if not os.path.exists(os.path.join(export_dir, "forest.h5")):
        export_forest.export(model, export_dir, export_forest.parse_args(["-", export_dir, "--name", "bench"]))
    x = np.random.default_rng(7).normal(size=(args.rows, FEATURES)).astype(np.float32)

    results = []
    for jobs in (2, 1):
        model.n_jobs = jobs
        seconds, proba = best_time(lambda: model.predict_proba(x), args.repeat)
        results.append((f"scikit-learn predict_proba n_jobs={jobs}", args.rows / seconds))
        if jobs == 1:
            reference = proba  # tree order: what beamflow reproduces bit for bit
    data = os.path.join(args.work, "data.h5")
    with h5py.File(data, "w") as f:
        f["X"] = x
        f["expected"] = reference
    bench = [os.path.join(args.build_dir, "bench", "models", "bench_forest"),
             os.path.join(export_dir, "forest.h5"), data, "--repeat", str(args.repeat)]
    mpirun = shutil.which("mpirun")
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    runs = [("beamflow, 1 rank (Kokkos Serial)", bench)]
    if mpirun:
        runs.append(("beamflow, 2 MPI ranks (Kokkos Serial each)", [mpirun, "--oversubscribe", "-np", "2"] + bench))
    ours, identical = [], True
    for name, command in runs:
        run = subprocess.run(command, capture_output=True, text=True, env=env)
        if run.returncode not in (0, 1) or not run.stdout:
            print(run.stderr, file=sys.stderr)
            return 1
        o = json.loads(run.stdout.strip().splitlines()[-1])
        identical = identical and o["bit_identical"]
        ours.append((name, o["best_rows_per_s"]))
    peer = results[0][1]
    print(f"forest: {o['trees']} trees, {o['nodes']} nodes; {o['rows']} rows x {o['features']} features; "
          f"outputs bit-identical to scikit-learn: {identical}")
    print(f"{'implementation':44s} {'rows/s':>10s} {'vs sklearn n_jobs=2':>20s}")
    for name, rate in results + ours:
        print(f"{name:44s} {rate:10.0f} {rate / peer:19.2f}x")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
