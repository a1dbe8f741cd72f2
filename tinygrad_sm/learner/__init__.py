"""Training: the :class:`Learner` event loop and its callbacks.

    learn = Learner(model, train_dl, valid_dl, lr=0.5,
                    cbs=[ParamScheduler({"lr": one_cycle(0.5)})])
    learn.fit(10)
    learn.recorder.metrics[-1]["valid_accuracy"]
"""

from tinygrad_sm.learner.callbacks import (
    ActivationStats,
    AvgStat,
    Callback,
    Checkpoint,
    EarlyStopping,
    GradientClipping,
    LRFinder,
    ParamScheduler,
    ProgressCallback,
    Recorder,
    lr_suggestion,
)
from tinygrad_sm.learner.control import (
    CancelBatchException,
    CancelEpochException,
    CancelFitException,
    CancelTrainException,
    CancelValidException,
    LossNotFiniteError,
)
from tinygrad_sm.learner.learner import EVENTS, Learner
from tinygrad_sm.learner.lightning import LightningModule, Trainer

__all__ = [
    "EVENTS",
    "ActivationStats",
    "AvgStat",
    "Callback",
    "CancelBatchException",
    "CancelEpochException",
    "CancelFitException",
    "CancelTrainException",
    "CancelValidException",
    "Checkpoint",
    "EarlyStopping",
    "GradientClipping",
    "LRFinder",
    "Learner",
    "LightningModule",
    "LossNotFiniteError",
    "ParamScheduler",
    "ProgressCallback",
    "Recorder",
    "Trainer",
    "lr_suggestion",
]
