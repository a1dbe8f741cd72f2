"""Tests for tinygrad_sm.sched (annealing schedules)."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_sm.sched import (
    combine_scheds,
    cos_1cycle_anneal,
    one_cycle,
    sched_cos,
    sched_exp,
    sched_lin,
    sched_no,
)

approx = pytest.approx


# --- single schedules -------------------------------------------------------------------


def test_sched_no_is_constant_start():
    s = sched_no(0.3, 0.9)
    assert [s(p) for p in (0.0, 0.5, 1.0)] == [0.3, 0.3, 0.3]


def test_sched_lin_ends_and_midpoint():
    s = sched_lin(1.0, 3.0)
    assert s(0.0) == 1.0
    assert s(1.0) == 3.0
    assert s(0.5) == approx(2.0)
    assert s(0.25) == approx(1.5)


def test_sched_cos_ends_midpoint_and_quarter():
    s = sched_cos(0.3, 0.6)
    assert s(0.0) == 0.3
    assert s(1.0) == 0.6
    assert s(0.5) == approx(0.45)  # half way in value at half way in time
    # cosine: moves slowly at the start, so a quarter in it has done less than a quarter
    assert s(0.25) == approx(0.3 + (1 - math.cos(math.pi / 4)) / 2 * 0.3)
    assert s(0.25) < 0.3 + 0.25 * 0.3


def test_sched_cos_decreasing():
    s = sched_cos(1.0, 0.0)
    assert s(0.0) == 1.0 and s(1.0) == 0.0 and s(0.5) == approx(0.5)
    values = [s(i / 20) for i in range(21)]
    assert values == sorted(values, reverse=True)


def test_sched_exp_ends_and_geometric_midpoint():
    s = sched_exp(1e-4, 1e-2)
    assert s(0.0) == 1e-4
    assert s(1.0) == 1e-2
    assert s(0.5) == approx(math.sqrt(1e-4 * 1e-2))
    assert s(0.25) == approx(1e-4 * 100**0.25)


@pytest.mark.parametrize("start,end", [(0.0, 1.0), (1.0, 0.0), (-1.0, 2.0), (1.0, -1e-3)])
def test_sched_exp_needs_positive_ends(start, end):
    with pytest.raises(ValueError, match=r"sched_exp.*> 0") as info:
        sched_exp(start, end)
    assert f"start={float(start)}" in str(info.value)


@pytest.mark.parametrize("pos", [-0.1, 1.0000001, 2, float("nan"), float("inf")])
@pytest.mark.parametrize("make", [sched_no, sched_lin, sched_cos, sched_exp])
def test_pos_outside_unit_interval_raises(make, pos):
    s = make(0.1, 0.5)
    with pytest.raises(ValueError, match=r"pos must be in \[0, 1\]") as info:
        s(pos)
    assert repr(pos) in str(info.value)


def test_reprs_are_readable():
    assert repr(sched_lin(0.1, 0.5)) == "sched_lin(start=0.1, end=0.5)"
    assert repr(sched_exp(1, 2)) == "sched_exp(start=1.0, end=2.0)"
    c = combine_scheds([0.3, 0.7], [sched_cos(0.3, 0.6), sched_no(0.6, 0.6)])
    assert repr(c) == (
        "combine_scheds(pcts=[0.3, 0.7], "
        "scheds=[sched_cos(start=0.3, end=0.6), sched_no(start=0.6, end=0.6)])"
    )
    assert repr(one_cycle(0.1)) == (
        "one_cycle(lr_max=0.1, pct_start=0.25, div=25.0, final_div=10000.0)"
    )


def test_schedules_return_python_floats():
    assert type(sched_lin(0, 1)(0.5)) is float
    assert type(combine_scheds([1.0], [lambda p: p])(0.5)) is float


# --- combine_scheds ---------------------------------------------------------------------


def test_combine_two_cosines_like_the_course():
    s = combine_scheds([0.3, 0.7], [sched_cos(0.3, 0.6), sched_cos(0.6, 0.2)])
    assert s(0.0) == 0.3
    assert s(0.3) == approx(0.6)
    assert s(1.0) == approx(0.2)  # the course's version indexes past its table here
    assert s(0.15) == approx(0.45)  # middle of phase 0
    assert s(0.65) == approx(0.4)  # middle of phase 1


def test_combine_is_continuous_across_the_boundary():
    s = combine_scheds([0.3, 0.7], [sched_cos(0.3, 0.6), sched_cos(0.6, 0.2)])
    eps = 1e-9
    assert s(0.3 - eps) == approx(0.6, abs=1e-6)
    assert s(0.3 + eps) == approx(0.6, abs=1e-6)


def test_combine_three_phases():
    s = combine_scheds(
        [0.2, 0.5, 0.3], [sched_lin(0.0, 1.0), sched_no(1.0, 1.0), sched_lin(1.0, 0.5)]
    )
    assert s(0.0) == 0.0
    assert s(0.1) == approx(0.5)  # half of phase 0
    assert s(0.2) == approx(1.0)  # phase 1 starts
    assert s(0.45) == approx(1.0)
    assert s(0.7) == approx(1.0)  # phase 2 starts
    assert s(0.85) == approx(0.75)  # half of phase 2
    assert s(1.0) == approx(0.5)


def test_combine_position_inside_phase_is_rescaled():
    seen = []

    def spy(pos):
        seen.append(pos)
        return pos

    s = combine_scheds([0.25, 0.75], [sched_no(0, 0), spy])
    s(0.25)
    s(0.625)
    s(1.0)
    assert seen == approx([0.0, 0.5, 1.0])


def test_combine_many_equal_phases_hits_every_boundary():
    # 0.1 is not exact in binary: cumulative sums drift, yet every boundary must be right
    s = combine_scheds([0.1] * 10, [sched_lin(i, i + 1) for i in range(10)])
    for i in range(11):
        assert s(i / 10) == approx(i)


def test_combine_zero_length_phases_are_skipped():
    s = combine_scheds(
        [0.0, 0.5, 0.0, 0.5, 0.0],
        [sched_no(9, 9), sched_lin(0, 1), sched_no(9, 9), sched_lin(1, 3), sched_no(9, 9)],
    )
    assert s(0.0) == 0.0
    assert s(0.25) == approx(0.5)
    assert s(0.5) == approx(1.0)
    assert s(1.0) == approx(3.0)


def test_combine_single_phase_and_all_weight_on_first():
    assert combine_scheds([1.0], [sched_lin(2, 4)])(1.0) == 4.0
    s = combine_scheds([1.0, 0.0], [sched_lin(2, 4), sched_no(9, 9)])
    assert s(1.0) == 4.0


def test_combine_accepts_sum_within_tolerance():
    s = combine_scheds([0.5, 0.4999995], [sched_lin(0, 1), sched_lin(1, 2)])
    assert s(1.0) == approx(2.0)


@pytest.mark.parametrize(
    "pcts",
    [[0.3, 0.6], [0.5, 0.6], [1.2, -0.2], [0.5, float("nan")]],
)
def test_combine_bad_pcts(pcts):
    with pytest.raises(ValueError, match="combine_scheds: pcts must be >= 0 and sum to 1") as info:
        combine_scheds(pcts, [sched_lin(0, 1), sched_lin(1, 2)])
    assert str(pcts[1]) in str(info.value)


def test_combine_length_mismatch_and_empty():
    with pytest.raises(ValueError, match="2 pcts and 1 scheds"):
        combine_scheds([0.5, 0.5], [sched_lin(0, 1)])
    with pytest.raises(ValueError, match="0 pcts and 0 scheds"):
        combine_scheds([], [])


def test_combine_rejects_non_callables():
    with pytest.raises(TypeError, match="callable"):
        combine_scheds([1.0], [0.5])


def test_combine_checks_pos():
    s = combine_scheds([0.5, 0.5], [sched_lin(0, 1), sched_lin(1, 2)])
    with pytest.raises(ValueError, match=r"combine_scheds: pos must be in \[0, 1\], got 1.5"):
        s(1.5)


@given(
    weights=st.lists(st.integers(0, 5), min_size=1, max_size=6).filter(lambda w: sum(w) > 0),
    pos=st.floats(0.0, 1.0),
)
def test_combine_of_linear_phases_is_piecewise_linear_staircase(weights, pos):
    # phase i goes linearly from i to i+1, so the combined value must stay in [0, n] and be
    # exactly the phase index at each phase start
    pcts = [w / sum(weights) for w in weights]
    s = combine_scheds(pcts, [sched_lin(i, i + 1) for i in range(len(pcts))])
    value = s(pos)
    assert 0.0 <= value <= len(pcts)
    first = next(i for i, p in enumerate(pcts) if p > 0)
    last = max(i for i, p in enumerate(pcts) if p > 0)
    assert s(0.0) == first
    assert s(1.0) == approx(last + 1)


@given(a=st.floats(0.01, 10), b=st.floats(0.01, 10), pos=st.floats(0, 1))
def test_schedules_stay_between_their_ends(a, b, pos):
    lo, hi = min(a, b), max(a, b)
    for make in (sched_lin, sched_cos, sched_exp):
        assert lo * (1 - 1e-12) <= make(a, b)(pos) <= hi * (1 + 1e-12)


# --- one cycle --------------------------------------------------------------------------


def test_one_cycle_key_values():
    s = one_cycle(0.1)
    assert s(0.0) == approx(0.1 / 25)
    assert s(0.25) == approx(0.1)
    assert s(1.0) == approx(0.1 / 1e4)
    assert s(0.125) == approx((0.1 / 25 + 0.1) / 2)  # middle of the warm-up
    assert s(0.625) == approx((0.1 + 0.1 / 1e4) / 2)  # middle of the anneal
    assert max(s(i / 100) for i in range(101)) == approx(0.1)


def test_one_cycle_custom_arguments():
    s = one_cycle(1.0, pct_start=0.5, div=10.0, final_div=100.0)
    assert s(0.0) == approx(0.1)
    assert s(0.5) == approx(1.0)
    assert s(1.0) == approx(0.01)


def test_one_cycle_with_no_warm_up():
    s = one_cycle(1.0, pct_start=0.0)
    assert s(0.0) == approx(1.0)
    assert s(1.0) == approx(1e-4)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"pct_start": 1.5}, "pct_start must be in"),
        ({"pct_start": -0.1}, "pct_start must be in"),
        ({"div": 0.0}, "div and final_div must be > 0"),
        ({"final_div": -1.0}, "div and final_div must be > 0"),
    ],
)
def test_one_cycle_errors(kwargs, match):
    with pytest.raises(ValueError, match=f"one_cycle: {match}") as info:
        one_cycle(0.1, **kwargs)
    assert str(next(iter(kwargs.values()))) in str(info.value)


def test_cos_1cycle_anneal_feeds_combine_scheds():
    phases = cos_1cycle_anneal(0.3, 0.6, 0.2)
    assert [repr(p) for p in phases] == [
        "sched_cos(start=0.3, end=0.6)",
        "sched_cos(start=0.6, end=0.2)",
    ]
    s = combine_scheds([0.3, 0.7], phases)
    assert (s(0.0), s(0.3), s(1.0)) == (0.3, approx(0.6), approx(0.2))
