"""How a callback steers the training loop: the exceptions it raises to cancel a batch,
an epoch or the whole fit; and the model's state as arrays, for the callbacks that keep
a copy of it. (Below both the loop and the callbacks, which import it.)"""

from __future__ import annotations

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
