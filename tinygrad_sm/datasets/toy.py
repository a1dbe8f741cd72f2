"""Small synthetic 2-D (or n-D) classification sets for demos and tests.

All randomness comes from :func:`tinygrad_sm.core.rng.get_rng`: with ``seed=None`` the
package-wide generator is used (so ``manual_seed`` makes a run reproducible), otherwise a
fresh generator seeded with ``seed``. Rows are shuffled, so a plain slice is a fair batch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from tinygrad_sm.core.rng import get_rng

from .bundled import LabeledData


def _check_int(func: str, name: str, value: object, minimum: int, why: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{func}: {name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{func}: {name} must be >= {minimum}{why}, got {value}")
    return int(value)


def _check_scale(func: str, name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{func}: {name} must be a number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{func}: {name} must be a finite number >= 0, got {value}")
    return float(value)


def _class_sizes(n_samples: int, n_classes: int) -> list[int]:
    # Spread the remainder over the first classes so sizes differ by at most one.
    return [n_samples // n_classes + (k < n_samples % n_classes) for k in range(n_classes)]


def _finish(parts: list[np.ndarray], sizes: list[int], rng: np.random.Generator) -> LabeledData:
    X = np.concatenate(parts).astype(np.float32)
    y = np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)
    order = rng.permutation(len(y))
    return LabeledData(X[order], y[order], tuple(str(k) for k in range(len(sizes))))


def make_spirals(
    n_samples: int = 300, n_classes: int = 3, noise: float = 0.2, seed: int | None = None
) -> LabeledData:
    """Interleaved spiral arms in 2-D, one arm per class (the cs231n toy problem).

    Arm ``k`` sweeps 4 radians while its radius grows from 0 to 1, starting at angle
    ``2*pi*k/n_classes``; ``noise`` is the standard deviation of Gaussian jitter added to
    the angle. Classes are ``'0'``, ``'1'``, ... with sizes that differ by at most one.
    """
    f = "make_spirals"
    n_classes = _check_int(f, "n_classes", n_classes, 2)
    n_samples = _check_int(f, "n_samples", n_samples, n_classes, " (at least one per class)")
    noise = _check_scale(f, "noise", noise)
    rng = get_rng(seed)
    sizes = _class_sizes(n_samples, n_classes)
    parts = []
    for k, n in enumerate(sizes):
        r = np.linspace(0.0, 1.0, n)
        t = 2 * np.pi * k / n_classes + np.linspace(0.0, 4.0, n) + rng.normal(0.0, noise, n)
        parts.append(np.column_stack([r * np.sin(t), r * np.cos(t)]))
    return _finish(parts, sizes, rng)


def make_moons(n_samples: int = 200, noise: float = 0.1, seed: int | None = None) -> LabeledData:
    """Two interleaving half circles in 2-D (class ``'0'`` on top, ``'1'`` below).

    Before noise, class 0 lies on the unit circle's upper half and class 1 on the lower
    half of the unit circle centred at (1, 0.5). ``noise`` is the standard deviation of
    Gaussian noise added to both coordinates.
    """
    f = "make_moons"
    n_samples = _check_int(f, "n_samples", n_samples, 2, " (at least one per moon)")
    noise = _check_scale(f, "noise", noise)
    rng = get_rng(seed)
    sizes = _class_sizes(n_samples, 2)
    top = np.linspace(0.0, np.pi, sizes[0])
    bottom = np.linspace(0.0, np.pi, sizes[1])
    parts = [
        np.column_stack([np.cos(top), np.sin(top)]),
        np.column_stack([1.0 - np.cos(bottom), 0.5 - np.sin(bottom)]),
    ]
    parts = [p + rng.normal(0.0, noise, p.shape) for p in parts]
    return _finish(parts, sizes, rng)


def make_blobs(
    n_samples: int = 300,
    centers: int | Sequence[Sequence[float]] | np.ndarray = 3,
    cluster_std: float | Sequence[float] = 1.0,
    n_features: int = 2,
    seed: int | None = None,
) -> LabeledData:
    """Isotropic Gaussian clusters, one class per cluster.

    ``centers`` is either a count (centres drawn uniformly from the box [-10, 10] in each of
    ``n_features`` dimensions) or an array of shape (k, d) of given centres, in which case
    ``n_features`` is ignored. ``cluster_std`` is one standard deviation or one per centre.
    """
    f = "make_blobs"
    if isinstance(centers, (int, np.integer)) and not isinstance(centers, bool):
        k = _check_int(f, "centers", centers, 1)
        n_features = _check_int(f, "n_features", n_features, 1)
        given = None
    else:
        given = np.asarray(centers, dtype=np.float64)
        if given.ndim != 2 or given.shape[0] < 1 or given.shape[1] < 1:
            raise ValueError(
                f"{f}: centers must be an int or an array of shape (k, n_features), "
                f"got shape {given.shape}"
            )
        if not np.all(np.isfinite(given)):
            raise ValueError(f"{f}: centers must be finite, got {given.tolist()}")
        k, n_features = given.shape
    if np.ndim(cluster_std) == 0:
        stds = [_check_scale(f, "cluster_std", cluster_std)] * k
    else:
        stds = [_check_scale(f, "cluster_std", s) for s in np.ravel(cluster_std)]
        if np.shape(cluster_std) != (k,):
            raise ValueError(
                f"{f}: cluster_std must be one number or one per centre ({k}), "
                f"got shape {np.shape(cluster_std)}"
            )
    n_samples = _check_int(f, "n_samples", n_samples, k, " (at least one per centre)")
    # Validate everything before drawing, so a bad call leaves the package generator alone.
    rng = get_rng(seed)
    means = rng.uniform(-10.0, 10.0, size=(k, n_features)) if given is None else given
    sizes = _class_sizes(n_samples, k)
    parts = [rng.normal(means[c], stds[c], size=(n, n_features)) for c, n in enumerate(sizes)]
    return _finish(parts, sizes, rng)
