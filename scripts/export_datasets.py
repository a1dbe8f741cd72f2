"""One-off export of the bundled iris and digits files from scikit-learn's copies.

Run once, in a throwaway environment that has scikit-learn (it is not a dependency):

    python scripts/export_datasets.py

It writes ``tinygrad_sm/datasets/data/iris.csv`` and ``digits.npz`` and checks that they
read back bit-for-bit equal to scikit-learn's arrays.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits, load_iris

DATA = Path(__file__).resolve().parent.parent / "tinygrad_sm" / "datasets" / "data"
IRIS_HEADER = "sepal_length,sepal_width,petal_length,petal_width,species"


def export_iris() -> None:
    iris = load_iris()
    assert tuple(iris.target_names) == ("setosa", "versicolor", "virginica")
    # Every iris measurement has exactly one decimal, so "%.1f" is lossless and diffable.
    lines = [IRIS_HEADER]
    for row, label in zip(iris.data, iris.target, strict=True):
        lines.append(",".join(f"{v:.1f}" for v in row) + f",{int(label)}")
    path = DATA / "iris.csv"
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    back = np.loadtxt(path, delimiter=",", skiprows=1)
    assert np.array_equal(back[:, :4], iris.data) and np.array_equal(back[:, 4], iris.target)


def export_digits() -> None:
    digits = load_digits()
    pixels = digits.data
    # The pixels are block counts 0..16, so uint8 holds them exactly.
    assert pixels.min() == 0 and pixels.max() == 16 and np.array_equal(pixels, pixels.round())
    path = DATA / "digits.npz"
    np.savez_compressed(path, pixels=pixels.astype(np.uint8), labels=digits.target.astype(np.uint8))
    with np.load(path, allow_pickle=False) as f:
        assert np.array_equal(f["pixels"], pixels) and np.array_equal(f["labels"], digits.target)


if __name__ == "__main__":
    DATA.mkdir(parents=True, exist_ok=True)
    export_iris()
    export_digits()
    for p in sorted(DATA.iterdir()):
        print(f"{p.name}: {p.stat().st_size} bytes")
