"""Magpie-style composition features in numpy, computing exactly what
kernels/composition.cpp computes (same sums in the same order), so a model
trained on these features sees the same numbers from `beamflow model run`.
tests/models checks the two agree bit for bit.
"""
import csv
import math

import numpy as np

STATISTICS = ("mean", "avg_dev", "min", "max", "range", "mode")
NORM_POWERS = (0, 2, 3, 5, 7, 10)


class ElementTable:
    def __init__(self, path):
        rows = []
        with open(path, newline="") as f:
            lines = [line for line in f if line.strip() and not line.startswith("#")]
        reader = csv.reader(lines)
        header = next(reader)
        if header[0] != "symbol":
            raise ValueError(f"{path}: header must start with 'symbol'")
        self.properties = header[1:]
        for row in reader:
            rows.append(row)
        self.symbols = [r[0] for r in rows]
        self.index = {s: i for i, s in enumerate(self.symbols)}
        self.values = np.array([[float(v) for v in r[1:]] for r in rows], dtype=np.float64)

    def column(self, name):
        return self.values[:, self.properties.index(name)]

    def feature_names(self):
        names = [f"{stat} {p}" for p in self.properties for stat in STATISTICS]
        return names + [f"L{p} norm" for p in NORM_POWERS]


def fractions(compositions, table):
    """Rows of atomic fractions in table order from {symbol: amount} dicts."""
    amounts = np.zeros((len(compositions), len(table.symbols)))
    for r, comp in enumerate(compositions):
        for symbol, amount in comp.items():
            amounts[r, table.index[symbol]] += amount
    total = np.zeros(len(compositions))
    for e in range(len(table.symbols)):  # summed in table order, as the C++ code
        total = total + amounts[:, e]
    return amounts / total[:, np.newaxis]


def features(f, table):
    """f [rows][elements] -> [rows][6 * properties + 6]."""
    rows, elements = f.shape
    present = f > 0
    out = np.zeros((rows, len(STATISTICS) * len(table.properties) + len(NORM_POWERS)))
    mode = np.argmax(f, axis=1)
    for j in range(len(table.properties)):
        v = table.values[:, j]
        mean = np.zeros(rows)
        lo = np.full(rows, np.inf)
        hi = np.full(rows, -np.inf)
        for e in range(elements):
            m = present[:, e]
            mean[m] = mean[m] + f[m, e] * v[e]
            lo[m] = np.minimum(lo[m], v[e])
            hi[m] = np.maximum(hi[m], v[e])
        dev = np.zeros(rows)
        for e in range(elements):
            m = present[:, e]
            dev[m] = dev[m] + f[m, e] * np.abs(v[e] - mean[m])
        k = len(STATISTICS) * j
        out[:, k:k + 6] = np.stack([mean, dev, lo, hi, hi - lo, v[mode]], axis=1)
    base = len(STATISTICS) * len(table.properties)
    for n, power in enumerate(NORM_POWERS):
        s = np.zeros(rows)
        for e in range(elements):
            m = present[:, e]
            if power == 0:
                s[m] = s[m] + 1.0
                continue
            term = f[m, e].copy()
            for _ in range(power - 1):
                term = term * f[m, e]
            s[m] = s[m] + term
        out[:, base + n] = s if power == 0 else [math.pow(x, 1.0 / power) for x in s]
    return out
