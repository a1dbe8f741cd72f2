"""Annealing schedules (fast.ai "Deep Learning from the Foundations", notebook 05_anneal).

A schedule is a plain callable ``f(pos) -> float`` of the training progress
``pos`` in [0, 1]; it is a :class:`Schedule` only so that it prints readably::

    >>> sched = combine_scheds([0.3, 0.7], [sched_cos(0.3, 0.6), sched_cos(0.6, 0.2)])
    >>> sched(0.0), sched(0.3), sched(1.0)
    (0.3, 0.6, 0.2)

``lr_suggestion`` reads a learning rate off a range test (``Learner.lr_find``).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Sequence
from itertools import accumulate

import numpy as np

__all__ = [
    "Schedule",
    "sched_no",
    "sched_lin",
    "sched_cos",
    "sched_exp",
    "combine_scheds",
    "one_cycle",
    "cos_1cycle_anneal",
    "lr_suggestion",
]


class Schedule:
    """A callable ``f(pos) -> float`` that checks ``pos`` and prints as the call that made it."""

    def __init__(self, name: str, fn: Callable[[float], float], **params: object) -> None:
        self.name = name
        self.params = params
        self._fn = fn

    def __call__(self, pos: float) -> float:
        p = float(pos)
        if not 0.0 <= p <= 1.0:  # also rejects NaN
            raise ValueError(f"{self.name}: pos must be in [0, 1], got {pos!r}")
        return float(self._fn(p))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.name}({args})"


def _lerp(start: float, end: float, w: float) -> float:
    # This form (rather than start + w * (end - start)) is exact at w = 0 and w = 1,
    # so schedules hit their start and end values to the last bit.
    return start * (1 - w) + end * w


def sched_no(start: float, end: float) -> Schedule:
    """Constant ``start`` (``end`` is ignored; kept so that all schedules share a signature)."""
    start, end = float(start), float(end)
    return Schedule("sched_no", lambda pos: start, start=start, end=end)


def sched_lin(start: float, end: float) -> Schedule:
    """Linear from ``start`` at pos 0 to ``end`` at pos 1."""
    start, end = float(start), float(end)
    return Schedule("sched_lin", lambda pos: _lerp(start, end, pos), start=start, end=end)


def sched_cos(start: float, end: float) -> Schedule:
    """Half a cosine from ``start`` to ``end``: flat at both ends, steepest in the middle."""
    start, end = float(start), float(end)

    def f(pos: float) -> float:
        # start + (1 + cos(pi (1 - pos))) (end - start) / 2, written as a lerp
        return _lerp(start, end, (1 + math.cos(math.pi * (1 - pos))) / 2)

    return Schedule("sched_cos", f, start=start, end=end)


def sched_exp(start: float, end: float) -> Schedule:
    """Geometric from ``start`` to ``end`` (``start * (end/start)**pos``); both must be > 0."""
    start, end = float(start), float(end)
    if not (start > 0 and end > 0):
        raise ValueError(f"sched_exp: start and end must be > 0, got start={start}, end={end}")
    # start * (end/start)**pos, in the form that is exact at pos 0 and 1
    return Schedule("sched_exp", lambda pos: start ** (1 - pos) * end**pos, start=start, end=end)


def combine_scheds(pcts: Sequence[float], scheds: Sequence[Callable[[float], float]]) -> Schedule:
    """Run ``scheds[i]`` over the fraction ``pcts[i]`` of training, one after the other.

    Inside phase i the sub-schedule sees ``(pos - start_i) / pct_i`` in [0, 1]. At a
    boundary the later phase is used (at its pos 0); pos 1.0 is the end of the last
    non-empty phase. Zero-length phases are never selected, so they never divide by zero.
    """
    pcts = [float(p) for p in pcts]
    scheds = list(scheds)
    if not pcts or len(pcts) != len(scheds):
        raise ValueError(
            f"combine_scheds: need as many pcts as scheds (at least one), "
            f"got {len(pcts)} pcts and {len(scheds)} scheds"
        )
    if any(not p >= 0 for p in pcts) or abs(math.fsum(pcts) - 1) > 1e-6:
        raise ValueError(f"combine_scheds: pcts must be >= 0 and sum to 1, got {pcts}")
    if not all(callable(s) for s in scheds):
        raise TypeError(f"combine_scheds: every schedule must be callable, got {scheds}")

    starts = [0.0, *accumulate(pcts)][:-1]
    phases = [(st, p, s) for st, p, s in zip(starts, pcts, scheds, strict=True) if p > 0]
    phase_starts = [st for st, _, _ in phases]  # phase_starts[0] == 0.0: earlier phases are empty

    def f(pos: float) -> float:
        start, pct, sched = phases[bisect_right(phase_starts, pos) - 1]
        # Clamp: rounding in the cumulative sums (and pcts summing to 1 only within 1e-6)
        # must not hand a sub-schedule a position just outside [0, 1].
        return sched(min(max((pos - start) / pct, 0.0), 1.0))

    return Schedule("combine_scheds", f, pcts=pcts, scheds=scheds)


def one_cycle(
    lr_max: float, pct_start: float = 0.25, div: float = 25.0, final_div: float = 1e4
) -> Schedule:
    """1cycle: cosine up from ``lr_max/div`` to ``lr_max`` over ``pct_start``, then cosine
    down to ``lr_max/final_div``."""
    if not 0.0 <= pct_start <= 1.0:
        raise ValueError(f"one_cycle: pct_start must be in [0, 1], got {pct_start!r}")
    if not (div > 0 and final_div > 0):
        raise ValueError(f"one_cycle: div and final_div must be > 0, got {div!r}, {final_div!r}")
    inner = combine_scheds(
        [pct_start, 1 - pct_start],
        [sched_cos(lr_max / div, lr_max), sched_cos(lr_max, lr_max / final_div)],
    )
    return Schedule(
        "one_cycle", inner, lr_max=lr_max, pct_start=pct_start, div=div, final_div=final_div
    )


def cos_1cycle_anneal(start: float, high: float, end: float) -> list[Schedule]:
    """The course's two 1cycle phases, ``[sched_cos(start, high), sched_cos(high, end)]``.

    Not a schedule itself: pass it to :func:`combine_scheds`, typically as
    ``combine_scheds([0.3, 0.7], cos_1cycle_anneal(start, high, end))``.
    """
    return [sched_cos(start, high), sched_cos(high, end)]


def lr_suggestion(lrs: Sequence[float], smoothed_losses: Sequence[float]) -> float:
    """The learning rate a range test suggests: the lr at the minimum of the smoothed
    loss, divided by 10 (the rule of thumb: a rate still safely before the loss blows up),
    but never below the smallest rate the sweep tried: the sweep says nothing of those.

    The one rule of the package: ``LRFinder.suggestion`` (hence ``Learner.lr_find`` and
    ``tinygrad-sm train --lr-find``) and the marker of ``plot.plot_lr_find`` use it.
    Non-finite losses are ignored.
    """
    lr = np.asarray(lrs, np.float64)
    loss = np.asarray(smoothed_losses, np.float64)
    if lr.shape != loss.shape or lr.ndim != 1:
        raise ValueError(f"lr_suggestion: {lr.size} learning rates but {loss.size} losses")
    finite = np.isfinite(loss)
    if not finite.any():
        raise ValueError("lr_suggestion: no finite loss to take the minimum of")
    return max(float(lr[int(np.argmin(np.where(finite, loss, np.inf)))]) / 10, float(lr.min()))
