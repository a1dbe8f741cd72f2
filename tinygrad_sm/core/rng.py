"""The package-wide random number generator.

Every random function of tinygrad_sm (creation, init, dropout, shuffling, toy datasets)
draws from the one ``numpy.random.Generator`` returned by :func:`get_rng`, so that
``tg.manual_seed(0)`` makes a whole run reproducible.
"""

from __future__ import annotations

import json

import numpy as np

_rng = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the package-wide generator (like ``torch.manual_seed``) and return it."""
    global _rng
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"manual_seed: seed must be an int, got {type(seed).__name__}")
    _rng = np.random.default_rng(int(seed))
    return _rng


def get_rng(seed: int | None = None) -> np.random.Generator:
    """The package generator, or a fresh one seeded with ``seed`` when it is given."""
    return _rng if seed is None else np.random.default_rng(seed)


def get_rng_state() -> str:
    """The generator's state as a JSON string (storable in an ``.npz`` without pickle)."""
    return json.dumps(_rng.bit_generator.state)


def set_rng_state(state: str) -> None:
    """Restore a state produced by :func:`get_rng_state`."""
    _rng.bit_generator.state = json.loads(state)
