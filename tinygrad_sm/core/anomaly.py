"""Anomaly detection: find the op where the first nan or inf appeared.

Inside ``detect_anomaly()``, every op records the user's source line that created it, and
every forward output and backward result is checked. An op is blamed only when it *creates*
a non-finite value: one that merely passes on a nan or inf from its inputs is not.
"""

from __future__ import annotations

import linecache
import os
import sys
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from tinygrad_sm.core.function import Function
    from tinygrad_sm.core.tensor import Tensor

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class _State:
    depth = 0


_state = _State()


def enabled() -> bool:
    return _state.depth > 0


class AnomalyError(RuntimeError):
    """Raised inside ``detect_anomaly`` by the op that first produced nan or inf."""


class detect_anomaly:
    """Context manager: check every op's forward output and backward result for nan/inf."""

    def __enter__(self) -> detect_anomaly:
        _state.depth += 1
        return self

    def __exit__(self, *exc: object) -> None:
        _state.depth -= 1


def _user_site() -> str:
    """The first stack frame outside this package: the line of user code that made the op."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    return f'File "{frame.f_code.co_filename}", line {frame.f_lineno}: {line}'


def _bad(a: np.ndarray) -> tuple[bool, bool]:
    """(has nan, has inf) for a float array."""
    if a.dtype.kind != "f":
        return False, False
    return bool(np.isnan(a).any()), bool(np.isinf(a).any())


def _summary(arrays: list[np.ndarray]) -> str:
    rows = []
    for i, a in enumerate(arrays):
        nan, inf = _bad(a)
        finite = a[np.isfinite(a)] if a.dtype.kind == "f" else a
        lo, hi = (finite.min(), finite.max()) if finite.size else (float("nan"),) * 2
        state = "nan" if nan else "inf" if inf else "finite"
        rows.append(f"  input {i}: shape {a.shape}, min {lo:.4g}, max {hi:.4g}, held {state}")
    return "\n".join(rows)


def _blame(fn: Function, phase: str, results: list[np.ndarray], sources: list[np.ndarray]) -> None:
    src_nan = src_inf = False
    for s in sources:
        nan, inf = _bad(s)
        src_nan, src_inf = src_nan or nan, src_inf or inf
    for r in results:
        nan, inf = _bad(r)
        if (nan and not src_nan) or (inf and not (src_nan or src_inf)):
            what = "nan" if nan else "inf"
            raise AnomalyError(
                f"detect_anomaly: {fn.name} produced {what} in its {phase} pass.\n"
                f"{_summary([t.data for t in fn.inputs])}\n"
                f"The op was created at {getattr(fn, 'site', '<unknown>')}"
            )


def check_forward(fn: Function, out: Tensor) -> None:
    fn.site = _user_site()
    _blame(fn, "forward", [out.data], [t.data for t in fn.inputs])


def check_backward(fn: Function, grad: Tensor, grads: tuple[Tensor | None, ...]) -> None:
    results = [g.data for g in grads if g is not None]
    _blame(fn, "backward", results, [grad.data] + [t.data for t in fn.inputs])
