"""Alias of ``tinygrad_sm.functional``, so that ``import tinygrad_sm.nn.functional as F``
works as it does in PyTorch."""

from tinygrad_sm.functional import *  # noqa: F403
from tinygrad_sm.functional import __all__  # noqa: F401
