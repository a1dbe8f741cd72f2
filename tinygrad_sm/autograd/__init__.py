"""Autograd utilities in ``torch.autograd``'s place: ``grad``, ``jacobian``, ``hessian``,
``gradcheck``, ``gradgradcheck`` and ``detect_anomaly``."""

from tinygrad_sm.autograd.functional import grad, hessian, jacobian
from tinygrad_sm.autograd.gradcheck import GradcheckError, gradcheck, gradgradcheck
from tinygrad_sm.core.anomaly import AnomalyError, detect_anomaly
from tinygrad_sm.core.backward import backward
from tinygrad_sm.core.function import Function

__all__ = [
    "AnomalyError", "Function", "GradcheckError", "backward", "detect_anomaly", "grad",
    "gradcheck", "gradgradcheck", "hessian", "jacobian",
]
