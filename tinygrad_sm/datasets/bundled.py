"""Small classic data sets shipped inside the package, and the shared return type.

The files live in ``data/`` (see ``data/README.md`` for their source and licence) and are
read with plain CSV parsing or ``np.load(..., allow_pickle=False)``, so loading them never
executes code.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

DATA_DIR = Path(__file__).resolve().parent / "data"


class LabeledData(NamedTuple):
    """Features ``X`` (float32, one row per example), labels ``y`` (int64) and class names.

    ``classes[y[i]]`` names the class of row ``i``. Unpacks as ``X, y, classes = data``.
    """

    X: np.ndarray
    y: np.ndarray
    classes: tuple[str, ...]

    def __repr__(self) -> str:
        # The default repr would print every array element.
        return (
            f"LabeledData(X={self.X.dtype}{list(self.X.shape)}, "
            f"y={self.y.dtype}{list(self.y.shape)}, classes={self.classes!r})"
        )


def _data_file(name: str) -> Path:
    path = DATA_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"bundled data file {path} is missing; reinstall tinygrad_sm")
    return path


def load_iris() -> LabeledData:
    """Fisher's iris data: X of shape (150, 4), 50 examples of each of three species.

    Columns are sepal length, sepal width, petal length, petal width, all in cm.
    Classes: ``('setosa', 'versicolor', 'virginica')``.
    """
    path = _data_file("iris.csv")
    table = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2)
    if table.shape != (150, 5):
        raise ValueError(f"load_iris: {path} has shape {table.shape}, expected (150, 5)")
    X = table[:, :4].astype(np.float32)
    y = table[:, 4].astype(np.int64)
    return LabeledData(X, y, ("setosa", "versicolor", "virginica"))


def load_digits() -> LabeledData:
    """The 1797 UCI 8x8 handwritten digits: X of shape (1797, 64), classes ``'0'``..``'9'``.

    Pixels are the raw block counts, whole numbers from 0 to 16 stored as float32 (not
    scaled to [0, 1]; divide by 16 for that). Rows are 8x8 images flattened row-major, so
    ``X.reshape(-1, 8, 8)`` recovers the images.
    """
    path = _data_file("digits.npz")
    with np.load(path, allow_pickle=False) as f:
        pixels, labels = f["pixels"], f["labels"]
    if pixels.shape != (1797, 64) or labels.shape != (1797,):
        raise ValueError(
            f"load_digits: {path} holds pixels {pixels.shape} and labels {labels.shape}, "
            "expected (1797, 64) and (1797,)"
        )
    return LabeledData(
        pixels.astype(np.float32), labels.astype(np.int64), tuple(str(d) for d in range(10))
    )
