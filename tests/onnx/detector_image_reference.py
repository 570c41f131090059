#!/usr/bin/python3
"""Torch reference for the detector-image preprocessing (detector_image_test.cpp).

    detector_image_reference.py OUT.h5

For each case i: /frames/i [n][h][w] float32 counts (Poisson, with negative,
NaN, +inf and -inf pixels) and /expected/i [n][1][H][W] float32 =
F.interpolate(log1p(max(nan_to_num(counts, 0), 0)) * scale, (H, W),
mode="bilinear", align_corners=False), the documented semantics (non-finite
and negative counts count as 0), and /exact/i the same in float64. /cases [case][scale, H, W].
"""
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F

CASES = [  # (n, h, w, H, W)
    (3, 300, 280, 256, 256),  # detector frames to the tagger's input
    (2, 7, 5, 256, 256),      # strong upsampling, odd sizes
    (1, 1, 1, 4, 3),          # a single pixel
    (2, 513, 257, 256, 256),  # downsampling by just over 2 and 1
    (1, 256, 256, 256, 256),  # same size: log scale only
    (2, 3, 9, 5, 2),          # up in one axis, down in the other
    (1, 301, 299, 17, 31),    # strong odd downsampling
]


def main(out):
    torch.set_num_threads(1)
    rng = np.random.default_rng(7)
    params = []
    with h5py.File(out, "w") as f:
        for i, (n, h, w, H, W) in enumerate(CASES):
            counts = rng.poisson(rng.uniform(0.1, 200.0), size=(n, h, w)).astype(np.float32)
            bad = rng.random(counts.shape)
            counts[bad < 0.01] = -5.0
            counts[(bad >= 0.01) & (bad < 0.015)] = np.nan
            counts[(bad >= 0.015) & (bad < 0.018)] = np.inf
            counts[(bad >= 0.018) & (bad < 0.02)] = -np.inf
            scale = np.float32(rng.choice([0.1, 1.0, 0.37]))
            c = np.nan_to_num(counts, nan=0.0, posinf=0.0, neginf=0.0)
            x = torch.from_numpy(np.log1p(np.maximum(c, 0)).astype(np.float32) * scale)
            y = F.interpolate(x[:, None], size=(H, W), mode="bilinear", align_corners=False)
            f.create_dataset(f"frames/{i}", data=counts)
            f.create_dataset(f"expected/{i}", data=y.numpy())
            # The same in float64 (exact to ~1e-16): torch's float32 result
            # carries its own rounding of the source index.
            y64 = F.interpolate(x.double()[:, None], size=(H, W), mode="bilinear", align_corners=False)
            f.create_dataset(f"exact/{i}", data=y64.numpy())
            params.append([float(scale), H, W])
        f.create_dataset("cases", data=np.asarray(params, dtype=np.float64))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
