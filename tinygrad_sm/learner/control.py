"""How a callback steers the training loop: the exceptions it raises to cancel a batch,
an epoch or the whole fit; and the model's state as arrays, for the callbacks that keep
a copy of it. (Below both the loop and the callbacks, which import it.)"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from tinygrad_sm.core.tensor import Tensor


class CancelFitException(Exception):
    """Stop training now (then ``after_cancel_fit``, ``after_fit``)."""


class CancelEpochException(Exception):
    """Skip the rest of this epoch, validation included (``after_cancel_epoch``)."""


class CancelTrainException(Exception):
    """Skip the rest of this epoch's training batches; validation still runs."""


class CancelValidException(Exception):
    """Skip the rest of this epoch's validation."""


class CancelBatchException(Exception):
    """Skip the rest of this batch (e.g. its optimizer step); ``after_batch`` still runs."""


class LossNotFiniteError(FloatingPointError):
    """The loss became nan or inf; the message names the epoch and the batch."""


def _to_array(v: Any) -> np.ndarray:
    return np.array(v.data if isinstance(v, Tensor) else v, copy=True)


def _model_state(model: Any) -> dict[str, np.ndarray]:
    """A copy of the model's state dict as NumPy arrays (later steps do not change it)."""
    return {k: _to_array(v) for k, v in model.state_dict().items()}


def check_model_state(model: Any, state: Any, where: str) -> None:
    """Raise ValueError unless ``state`` has exactly the keys of ``model.state_dict()``,
    each a numeric array of the same shape (``Learner.load`` and ``EarlyStopping``'s
    saved best weights are checked so before anything is changed)."""
    if not isinstance(state, Mapping):
        raise ValueError(f"{where} is a {type(state).__name__}, not a state dict")
    own = model.state_dict()
    missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    if missing or unexpected:
        raise ValueError(f"{where} does not fit the model: missing keys {missing}, "
                         f"unexpected keys {unexpected}")
    for k, target in own.items():
        arr = np.asarray(state[k].data if isinstance(state[k], Tensor) else state[k])
        if arr.dtype.kind not in "biuf" or arr.shape != tuple(target.shape):
            raise ValueError(f"{where}[{k!r}] is a {arr.dtype} array of shape {arr.shape}; "
                             f"the model's is {tuple(target.shape)}")
