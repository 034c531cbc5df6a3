"""Likelihood (4.9), window optimisation and the eps reach on constructed histograms."""
import math

import numpy as np
import pytest

from mcdh.analysis.limits import (
    CL95,
    eps_reach,
    m2loglike,
    optimise_window,
    optimise_window_from_zero,
    optimise_window_grow,
    signal_for_m2ll,
)
from mcdh.errors import ParameterError


def test_m2loglike_limits():
    assert m2loglike(3.0, 0.0) == 6.0  # B = 0: -2 log L = 2 S
    assert m2loglike(0.0, 5.0) == 0.0
    assert m2loglike(0.0, 0.0) == 0.0
    # large B: 2 (S - B log(1 + S/B)) -> S^2 / B
    assert m2loglike(10.0, 1e6) == pytest.approx(100.0 / 1e6, rel=1e-4)
    np.testing.assert_allclose(m2loglike(np.array([1.0, 2.0]), np.array([1.0, 0.0])), [2 * (1 - math.log(2)), 4.0])
    assert m2loglike(-1.0, 2.0) == 0.0


@pytest.mark.parametrize("b", [0.0, 1e-12, 1e-3, 0.22, 1.0, 10.0, 2200.0, 1e4, 1e6, 1e9])
def test_signal_for_m2ll_inverts_the_likelihood(b):
    s = signal_for_m2ll(b)
    assert m2loglike(s, b) == pytest.approx(CL95, rel=1e-6)
    assert s >= 1.92 - 1e-12


def test_signal_for_m2ll_asymptotics():
    assert signal_for_m2ll(0.0) == pytest.approx(1.92)
    assert signal_for_m2ll(1e12) == pytest.approx(math.sqrt(3.84e12), rel=1e-5)


def _brute_force_grow(sig, bkg, start):
    best = None
    n = len(sig)
    for lo in range(0, start + 1):
        for hi in range(start, n):
            v = m2loglike(sig[lo : hi + 1].sum(), bkg[lo : hi + 1].sum())
            if best is None or v > best[0] + 1e-12:
                best = (v, lo, hi)
    return best


@pytest.mark.parametrize("n_b", [1e-2, 1.0, 1e2, 1e4])
def test_grow_window_finds_the_known_optimum(n_b):
    # a resonance on a flat background: -2 log L is unimodal in each edge, so
    # growing from the peak reaches the best window containing it
    x = np.arange(40)
    sig = 30.0 * np.exp(-0.5 * ((x - 17.3) / 2.5) ** 2)
    bkg = np.full(40, n_b / 40)
    win = optimise_window_grow(sig, bkg, 17)
    v, lo, hi = _brute_force_grow(sig, bkg, 17)
    assert (win.lo, win.hi) == (lo, hi)
    assert win.m2ll == pytest.approx(v)
    assert win.s == pytest.approx(sig[lo : hi + 1].sum())
    # large background keeps a narrower window
    if n_b == 1e4:
        assert hi - lo < 10


def test_grow_window_known_three_bin_answer():
    sig = np.array([0.0, 1.0, 10.0, 1.0, 0.0])
    bkg = np.array([100.0, 100.0, 1.0, 100.0, 100.0])
    win = optimise_window_grow(sig, bkg, 2)
    assert (win.lo, win.hi) == (2, 2)  # side bins cost more background than they bring signal
    win = optimise_window_grow(sig, np.zeros(5), 2)
    assert (win.lo, win.hi) == (1, 3) and win.m2ll == 24.0  # B = 0: all signal bins, none of the empty ones


def test_grow_window_steps_over_empty_bins():
    sig = np.array([0.0, 4.0, 0.0, 0.0, 5.0, 0.0, 0.0, 3.0, 0.0])
    bkg = np.zeros(9)
    win = optimise_window_grow(sig, bkg, 4)
    assert (win.lo, win.hi) == (1, 7)
    assert win.s == 12.0 and win.m2ll == 24.0


@pytest.mark.parametrize("rel_unc", [0.0, 0.2])
def test_grow_window_is_the_step_by_step_growth_on_any_histogram(rel_unc):
    """The growth evaluates -2 log L for a band of windows around the start at once, widening the band when the
    window outgrows it: bit for bit the growth that evaluates each window as it steps (here written out), on
    histograms with runs of empty bins and windows from one bin to hundreds."""
    from mcdh.analysis.limits import GROW_BAND, Window, m2loglike

    def stepwise(sig, bkg, start):
        cs, cb = np.concatenate([[0.0], np.cumsum(sig)]), np.concatenate([[0.0], np.cumsum(bkg)])
        value = lambda lo, hi: m2loglike(cs[hi + 1] - cs[lo], cb[hi + 1] - cb[lo], rel_unc)  # noqa: E731
        nonempty = (sig != 0) | (bkg != 0)
        lo = hi = start
        best = value(lo, hi)
        while True:
            left, right = lo - 1, hi + 1
            while left >= 0 and not nonempty[left]:
                left -= 1
            while right < sig.size and not nonempty[right]:
                right += 1
            v_left = value(left, hi) if left >= 0 else -math.inf
            v_right = value(lo, right) if right < sig.size else -math.inf
            if max(v_left, v_right) <= best:
                return Window(lo, hi, float(cs[hi + 1] - cs[lo]), float(cb[hi + 1] - cb[lo]), float(best))
            if v_right >= v_left:
                hi, best = right, v_right
            else:
                lo, best = left, v_left

    rng = np.random.default_rng(12)
    widths = []
    for _ in range(60):
        n = int(rng.integers(1, 700))
        x = np.arange(n)
        centre, width = rng.uniform(0, n), rng.uniform(0.3, n / 2 + 1)
        sig = rng.uniform(1, 1e3) * np.exp(-0.5 * ((x - centre) / width) ** 2)
        bkg = rng.uniform(0, 50) * rng.random(n)
        empty = rng.random(n) < rng.uniform(0, 0.6)
        sig[empty], bkg[empty] = 0.0, 0.0
        start = int(min(n - 1, max(0, round(centre))))
        win = optimise_window_grow(sig, bkg, start, rel_unc)
        assert win == stepwise(sig, bkg, start)
        widths.append(win.hi - win.lo)
    assert max(widths) > 4 * GROW_BAND and min(widths) < GROW_BAND  # the band widened, and not


def test_grow_window_without_signal():
    win = optimise_window_grow(np.zeros(5), np.ones(5), 2)
    assert (win.lo, win.hi, win.m2ll) == (2, 2, 0.0)
    win = optimise_window_grow(np.zeros(5), np.zeros(5), 0)
    assert win.m2ll == 0.0


def test_from_zero_window_is_the_best_prefix():
    rng = np.random.default_rng(2)
    for _ in range(20):
        sig = rng.exponential(1.0, 25) * np.exp(-np.arange(25) / 5)
        bkg = rng.exponential(1.0, 25) * rng.uniform(0, 50)
        win = optimise_window_from_zero(sig, bkg)
        values = [m2loglike(sig[: k + 1].sum(), bkg[: k + 1].sum()) for k in range(25)]
        assert win.hi == int(np.argmax(values)) and win.lo == 0
        assert win.m2ll == pytest.approx(max(values))


def test_window_input_errors():
    with pytest.raises(ParameterError, match="start"):
        optimise_window_grow(np.ones(3), np.ones(3), 5)
    with pytest.raises(ParameterError, match="sig, bkg"):
        optimise_window_grow(np.ones(3), np.ones(4), 0)
    with pytest.raises(ParameterError, match="strategy"):
        optimise_window(np.ones(3), np.ones(3), "best")


def test_eps_reach_background_free_is_closed_form():
    sig = np.array([0.0, 2.0, 6.0, 2.0])
    r = eps_reach(sig, np.zeros(4), 1e-4, "grow", 2)
    # B = 0: S(eps) = 10 (eps/1e-4)^2 = 1.92
    assert r.eps == pytest.approx(1e-4 * math.sqrt(1.92 / 10.0), rel=1e-12)
    assert r.window.m2ll == pytest.approx(CL95, rel=1e-9)
    # S x 4 -> eps / 2 exactly
    assert eps_reach(4 * sig, np.zeros(4), 1e-4, "grow", 2).eps == pytest.approx(r.eps / 2, rel=1e-12)
    assert math.isinf(eps_reach(np.zeros(4), np.ones(4), 1e-4, "grow", 2).eps)


@pytest.mark.parametrize("n_b", [0.5, 30.0, 1e4])
def test_eps_reach_is_a_fixed_point_of_the_window_optimisation(n_b):
    x = np.arange(60)
    sig = 5.0 * np.exp(-0.5 * ((x - 30) / 3.0) ** 2) + 0.05
    bkg = np.full(60, n_b / 60)
    r = eps_reach(sig, bkg, 1e-4, "grow", 30)
    scale = (r.eps / 1e-4) ** 2
    win = optimise_window_grow(sig * scale, bkg, 30)
    assert (win.lo, win.hi) == (r.window.lo, r.window.hi)
    assert win.m2ll == pytest.approx(CL95, rel=1e-9)
    # more background needs more signal
    assert r.eps > eps_reach(sig, bkg / 10, 1e-4, "grow", 30).eps


def test_eps_reach_of_a_signal_no_window_sees_is_none():
    """A signal so small (1e-40 events at eps_ref, next to an empty start bin) that -2 log L rounds to 0 in every
    window up to eps = 10^6: no reach (inf), not a failure to converge."""
    from mcdh.analysis.limits import eps_reach

    r = eps_reach(np.array([0.0, 1e-40, 0.0]), np.ones(3), 1e-4, "grow", start=0)
    assert r.eps == math.inf and r.window is None
