"""Whether operations are recorded for backward: ``no_grad``, ``enable_grad`` and friends.

As in PyTorch, grad mode belongs to the thread: one thread validating under ``no_grad``
leaves another thread's training recorded, and a new thread starts with grad enabled. It
is a context variable, which a new thread starts afresh (and which asyncio tasks, unlike
PyTorch's threads, each keep their own copy of).
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

_mode = contextvars.ContextVar("grad_mode", default=True)
# (Function.apply asks on every op: a bound C method is cheaper than a Python function)
_is_enabled = _mode.get


def is_grad_enabled() -> bool:
    return _mode.get()


class _GradMode:
    """Switch grad mode inside a ``with`` block, or inside every call of a decorated function."""

    def __init__(self, mode: bool) -> None:
        self.mode = mode

    def __enter__(self) -> None:
        self.prev = _mode.get()
        _mode.set(self.mode)

    def __exit__(self, *exc: object) -> None:
        _mode.set(self.prev)

    def __call__(self, fn: F) -> F:
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _GradMode(mode):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class no_grad(_GradMode):
    """Record nothing inside (for inference and parameter updates)."""

    def __init__(self) -> None:
        super().__init__(False)


class enable_grad(_GradMode):
    """Record operations even inside ``no_grad``."""

    def __init__(self) -> None:
        super().__init__(True)


class set_grad_enabled(_GradMode):
    """Set grad mode to ``mode``. Like PyTorch's, it takes effect when called, so
    ``set_grad_enabled(False)`` works as a plain statement as well as in ``with``."""

    def __init__(self, mode: bool) -> None:
        super().__init__(bool(mode))
        self.prev = _mode.get()
        _mode.set(self.mode)

    def __enter__(self) -> None:
        pass  # already switched in __init__; __exit__ restores

    def __call__(self, fn: F) -> F:
        _mode.set(self.prev)  # used as a decorator: undo the switch made in __init__
        return super().__call__(fn)
