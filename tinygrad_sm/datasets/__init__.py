"""Data sets as ``LabeledData(X, y, classes)``: bundled iris and digits, MNIST, toy sets.

Only NumPy is needed. Iris and digits ship with the package; MNIST is read from IDX files
(downloaded on first use unless told not to); the toy sets are generated.
"""

from .bundled import LabeledData, load_digits, load_iris
from .mnist import load_mnist, read_idx
from .toy import make_blobs, make_moons, make_spirals

__all__ = [
    "LabeledData",
    "load_digits",
    "load_iris",
    "load_mnist",
    "make_blobs",
    "make_moons",
    "make_spirals",
    "read_idx",
]
