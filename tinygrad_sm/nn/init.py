"""Alias of ``tinygrad_sm.init``, so that ``from tinygrad_sm.nn import init`` works as it
does in PyTorch."""

from tinygrad_sm.init import *  # noqa: F403
from tinygrad_sm.init import __all__  # noqa: F401
