#!/usr/bin/python3
"""Reference reconstruction with scikit-image's iradon, for the accuracy tests.

Reads a Data Exchange file exactly as beamflow does (mean flat and dark,
(p - dark) / (flat - dark) clamped at 1e-6, minus log), moves the rotation
axis to the middle column and runs skimage.transform.iradon on each slice.
Writes the slices to OUTPUT:/exchange/data (slice x row x column, float32),
the layout beamflow writes, so one C++ metric scores both.

iradon puts the axis at column W // 2 and the image centre at pixel W // 2;
beamflow puts both at (W - 1) / 2. They agree for odd W, so the tests use an
odd width and an integer centre: the axis then moves by a whole number of
columns (zero-filled, no interpolation) and neither side is resampled.

usage: skimage_reference.py INPUT CENTER ROW_BEGIN ROW_END OUTPUT [FILTER]
"""
import sys

import h5py
import numpy as np
from skimage.transform import iradon


def main():
    path, center, begin, end, output = sys.argv[1:6]
    filter_name = sys.argv[6] if len(sys.argv) > 6 else "ramp"
    center, begin, end = float(center), int(begin), int(end)
    with h5py.File(path, "r") as f:
        data = f["/exchange/data"][:, begin:end, :].astype(np.float64)
        flat = f["/exchange/data_white"][:, begin:end, :].astype(np.float64).mean(axis=0)
        dark = f["/exchange/data_dark"][:, begin:end, :].astype(np.float64).mean(axis=0)
        theta = f["/exchange/theta"][:]
        if f["/exchange/theta"].attrs.get("units", b"degrees") in ("radians", b"radians"):
            theta = np.degrees(theta)
    width = data.shape[2]
    if width % 2 != 1 or center != int(center):
        sys.exit("skimage_reference.py: needs an odd width and an integer centre (see the docstring)")
    denominator = np.maximum(flat - dark, 1e-6)
    projections = -np.log(np.maximum((data - dark) / denominator, 1e-6))
    shift = width // 2 - int(center)
    slices = []
    for row in range(end - begin):
        sinogram = projections[:, row, :]
        moved = np.zeros_like(sinogram)
        if shift >= 0:
            moved[:, shift:] = sinogram[:, : width - shift]
        else:
            moved[:, : width + shift] = sinogram[:, -shift:]
        slices.append(iradon(moved.T, theta=theta, filter_name=filter_name, interpolation="linear",
                             circle=True, output_size=width))
    with h5py.File(output, "w") as f:
        f.create_dataset("/exchange/data", data=np.asarray(slices, dtype=np.float32))


if __name__ == "__main__":
    main()
