"""Likelihood, window optimisation and 95 % CL reach (paper eq. (4.9), section 4.2, docs/physics-notes.md section 11).

For S expected signal and B expected background events after the selection,
assuming an observed null result,

    log L = -S + B log(1 + S/B),      -2 log L = 2 (S - B log1p(S/B)),

with the limits -2 log L = 2S at B = 0 and 0 at S = 0. The sensitivity at
95 % CL is -2 log L = 3.84.

Windows
-------
phi channel: start from the bin holding m_A and add the neighbouring bin on
the side that raises -2 log L more, while it rises. Bins with neither signal
nor background change nothing; they are stepped over together with the next
non-empty bin, so an empty bin never stops the growth by itself.
gamma-phi: windows 0 <= sqrt|v| <= sqrt|v_max| with v_max scanned over the bin
edges; the best one is kept.

Reach
-----
S scales exactly as eps^2. For a fixed window the eps at which -2 log L =
3.84 follows in closed form from the S that solves 2 (S - B log1p(S/B)) =
3.84 (a Lambert-W expression, :func:`signal_for_m2ll`). The window is
re-optimised at that eps and the solve repeated until the window is stable
(a fixed point: the window is optimal at the eps it predicts).
In theta, S is not monotonic (short-lived phi decay before r_in), so the
scan brackets the crossings of 3.84 on a grid in log theta and refines them
by root finding, reporting both edges of the sensitive band.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import lambertw

from ..errors import ParameterError

CL95 = 3.84
"""-2 log L at 95 % CL."""

STATISTICS = ("paper", "cls")
"""How a reach is computed: the paper's -2 log L = 3.84 in optimised windows, or the asymptotic expected CLs
limit on the whole binned likelihood (:mod:`mcdh.analysis.cls`)."""


@dataclass(frozen=True)
class Statistic:
    """The statistic of a reach and its background model.

    ``kind``: ``"paper"`` (eq. (4.9) in the optimised windows, -2 log L = 3.84; with a background uncertainty
    the normalisation is profiled, :func:`m2loglike_syst`, and the windows are optimised with it) or ``"cls"``
    (the median expected 95 % CL CLs limit on every bin of the channel's observable, with the background's
    Monte Carlo error and normalisation uncertainty as pyhf's staterror and normsys: the number pyhf computes
    on :func:`mcdh.publish.workspace`). ``background_uncertainty``: sigma_b / B in [0, 1).
    """

    kind: str = "paper"
    background_uncertainty: float = 0.0

    def __post_init__(self):
        from .cls import check_background_uncertainty

        if self.kind not in STATISTICS:
            raise ParameterError("statistic", self.kind, f"must be one of {', '.join(STATISTICS)}")
        object.__setattr__(self, "background_uncertainty", check_background_uncertainty(self.background_uncertainty))

    @property
    def target(self) -> float:
        """The value of the statistic at the 95 % CL reach: 3.84 (the paper's) or Phi^-1(0.975)^2 (CLs)."""
        from .cls import CLS95

        return CL95 if self.kind == "paper" else CLS95


PAPER = Statistic()
"""The paper's statistic, no background uncertainty."""


def m2loglike(s: np.ndarray | float, b: np.ndarray | float, rel_unc: float = 0.0) -> np.ndarray | float:
    """-2 log L = 2 (S - B log(1 + S/B)) of eq. (4.9); 2S at B = 0, 0 at S = 0.

    Negative S or B (which Monte Carlo weights can produce in principle) are
    treated as 0. ``rel_unc`` > 0: the background known to a relative uncertainty sigma_b = ``rel_unc``
    (:func:`m2loglike_syst`, the background normalisation profiled).
    """
    if rel_unc:
        return m2loglike_syst(s, b, rel_unc)
    s_arr = np.maximum(np.asarray(s, dtype=np.float64), 0.0)
    b_arr = np.maximum(np.asarray(b, dtype=np.float64), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(b_arr > 0.0, b_arr * np.log1p(s_arr / np.where(b_arr > 0.0, b_arr, 1.0)), 0.0)
    out = 2.0 * (s_arr - term)
    # rounding can leave a tiny negative value when S << B
    out = np.maximum(out, 0.0)
    return float(out) if out.ndim == 0 else out


def m2loglike_syst(s: np.ndarray | float, b: np.ndarray | float, rel_unc: float) -> np.ndarray | float:
    """The paper's statistic with the background normalisation profiled: B known to sigma_b = ``rel_unc`` x B.

    The background-only expectation (n = B) tested against S + B, with the background constrained by an
    auxiliary Poisson measurement m ~ Pois(tau B'), tau = B / sigma_B^2 (sigma_B = rel_unc B, the "on/off"
    problem; Cousins, Linnemann and Tucker, NIM A 595 (2008) 480) and profiled. The profile has the closed
    form of Bhattiprolu, Martin and Wells, arXiv:2009.07249, eq. (22) (Cowan's discovery form turned to
    exclusion), with x = sqrt((S+B)^2 - 4 S B sigma^2 / (B + sigma^2)):

        Z^2 = 2 [S - B ln((B+S+x)/(2B)) - (B^2/sigma^2) ln((B-S+x)/(2B))] - (B+S-x)(1 + B/sigma^2),

    evaluated here without its cancellations (e = B + S - x >= 0, y = e / (2B)):

        Z^2 = 2S - 2B log1p(S/B) - 2B log1p(-e/(2(S+B))) - 2 (B^2/sigma^2) [log1p(-y) + y] - e.

    It is 2 (S - B log1p(S/B)) at rel_unc -> 0 and S^2 / (B + sigma_B^2) for S << B: with B >> S the reach
    needs S ~ 1.96 sigma_B, proportional to rel_unc x B. 2S at B = 0; 0 at S = 0.
    """
    r = float(rel_unc)
    if not (math.isfinite(r) and r >= 0.0):
        raise ParameterError("background_uncertainty", rel_unc, "must be a finite relative uncertainty >= 0")
    s_arr = np.maximum(np.asarray(s, dtype=np.float64), 0.0)
    b_arr = np.maximum(np.asarray(b, dtype=np.float64), 0.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        bb = np.where(b_arr > 0.0, b_arr, 1.0)
        k = 1.0 / (r * r * bb)  # B / sigma_B^2 (tau)
        u = 4.0 * s_arr * bb / (k + 1.0)
        x = np.sqrt(np.maximum((s_arr + bb) ** 2 - u, 0.0))
        e = u / (x + s_arr + bb)
        y = e / (2.0 * bb)
        tail = np.where(y < 1e-4, -y * y * (0.5 + y * (1.0 / 3.0 + 0.25 * y)), np.log1p(-y) + y)
        z2 = (2.0 * s_arr - 2.0 * bb * np.log1p(s_arr / bb) - 2.0 * bb * np.log1p(-e / (2.0 * (s_arr + bb)))
              - 2.0 * bb * k * tail - e)
    out = np.maximum(np.where(b_arr > 0.0, z2, 2.0 * s_arr), 0.0)
    return float(out) if out.ndim == 0 else out


def signal_for_m2ll(b: float, target: float = CL95, rel_unc: float = 0.0) -> float:
    """The S with -2 log L(S, B) = ``target``: the signal needed for 95 % CL at background B.

    With x = 1 + S/B the condition reads x - log x = 1 + target / (2B), whose
    root x > 1 is -W_{-1}(-exp(-1 - target/(2B))). Limits: S = target/2 at
    B = 0, S -> sqrt(target B) for large B. With ``rel_unc`` > 0 (:func:`m2loglike_syst`) the root is found
    numerically above that S (the uncertainty only weakens the test).
    """
    if rel_unc and b > 0:
        lo = signal_for_m2ll(b, target)
        if m2loglike_syst(lo, b, rel_unc) >= target:  # a vanishing uncertainty: the paper's root, to rounding
            return lo
        hi = 2.0 * lo
        while m2loglike_syst(hi, b, rel_unc) < target:
            hi *= 2.0
        from .._optimize import brentq

        return brentq(lambda x: float(m2loglike_syst(x, b, rel_unc)) - target, lo, hi, xtol=1e-300, rtol=1e-14)
    b = max(float(b), 0.0)
    half = 0.5 * target
    if b == 0.0:
        return half
    c = 1.0 + half / b
    if c > 700.0:
        # exp(-c) underflows; solve x = c + log x by fixed-point iteration (converges fast for large c)
        x = c + math.log(c)
        for _ in range(50):
            x_new = c + math.log(x)
            if abs(x_new - x) <= 1e-15 * x:
                break
            x = x_new
        return b * (x - 1.0)
    if half / b < 1e-6:
        # large B: avoid the cancellation in x - 1 near the branch point
        # (series of x - log x = 1 + d in sqrt(2 d))
        d = half / b
        t = math.sqrt(2.0 * d)
        return b * (t + t * t / 3.0 + t**3 / 36.0)
    x = float(np.real(-lambertw(-math.exp(-c), k=-1)))
    return b * (x - 1.0)


@dataclass(frozen=True)
class Window:
    """A selected range of bins [lo, hi] (inclusive) and what it holds."""

    lo: int
    hi: int
    s: float
    b: float
    m2ll: float


def _running_sums(sig: np.ndarray, bkg: np.ndarray):
    cs = np.concatenate([[0.0], np.cumsum(sig)])
    cb = np.concatenate([[0.0], np.cumsum(bkg)])
    return cs, cb


def _check_hists(sig, bkg):
    sig = np.asarray(sig, dtype=np.float64)
    bkg = np.asarray(bkg, dtype=np.float64)
    if sig.ndim != 1 or sig.shape != bkg.shape or sig.size == 0:
        raise ParameterError("sig, bkg", (sig.shape, bkg.shape), "must be non-empty 1-d histograms of the same shape")
    if not (np.all(np.isfinite(sig)) and np.all(np.isfinite(bkg))):
        raise ParameterError("sig, bkg", "non-finite entries", "histogram contents must be finite")
    return sig, bkg


GROW_BAND = 8
"""Bins on each side of the start that :func:`optimise_window_grow` evaluates at first (x 4 while it needs more)."""


def optimise_window_grow(sig: np.ndarray, bkg: np.ndarray, start: int, rel_unc: float = 0.0) -> Window:
    """The phi-channel window of section 4.2: grow from bin ``start`` while -2 log L rises.

    At each step the window extends by one non-empty bin to the left or to
    the right (whichever gives the larger -2 log L), stepping over bins with
    no signal and no background; it stops when neither extension raises
    -2 log L. ``rel_unc``: the background's relative uncertainty (:func:`m2loglike`).
    """
    sig, bkg = _check_hists(sig, bkg)
    n = sig.size
    if not 0 <= start < n:
        raise ParameterError("start", start, f"must be a bin index in [0, {n - 1}]")
    cs, cb = _running_sums(sig, bkg)
    nonempty = (sig != 0.0) | (bkg != 0.0)
    band = GROW_BAND
    while True:
        win = _grow_within(cs, cb, nonempty, start, max(0, start - band), min(n - 1, start + band), rel_unc)
        if win is not None:
            return win
        band *= 4


def _grow_within(cs, cb, nonempty, start: int, first: int, last: int, rel_unc: float) -> Window | None:
    """:func:`optimise_window_grow` within bins [first, last], or None if the growth steps beyond them.

    -2 log L of every window [lo, hi] with first <= lo <= start <= hi <= last comes from one call: element for
    element the value of each window alone, at the cost of a few of those calls (a band, not all the windows
    of the histogram, which would grow as its bins squared).
    """
    lo_all, hi_all = np.arange(first, start + 1)[:, None], np.arange(start + 1, last + 2)[None, :]
    values = np.asarray(m2loglike(cs[hi_all] - cs[lo_all], cb[hi_all] - cb[lo_all], rel_unc))
    n = nonempty.size
    lo = hi = start
    best = values[start - first, 0]
    while True:
        # next non-empty bin on each side
        left = lo - 1
        while left >= 0 and not nonempty[left]:
            left -= 1
        right = hi + 1
        while right < n and not nonempty[right]:
            right += 1
        if 0 <= left < first or last < right < n:
            return None
        v_left = values[left - first, hi - start] if left >= 0 else -math.inf
        v_right = values[lo - first, right - start] if right < n else -math.inf
        if max(v_left, v_right) <= best:
            break
        if v_right >= v_left:
            hi, best = right, v_right
        else:
            lo, best = left, v_left
    return Window(lo, hi, float(cs[hi + 1] - cs[lo]), float(cb[hi + 1] - cb[lo]), float(best))


def optimise_window_from_zero(sig: np.ndarray, bkg: np.ndarray, rel_unc: float = 0.0) -> Window:
    """The gamma-phi window: bins 0..k with the k that maximises -2 log L (first one on ties)."""
    sig, bkg = _check_hists(sig, bkg)
    cs, cb = _running_sums(sig, bkg)
    values = np.asarray(m2loglike(cs[1:], cb[1:], rel_unc))
    k = int(np.argmax(values))
    return Window(0, k, float(cs[k + 1]), float(cb[k + 1]), float(values[k]))


def whole_histogram(sig: np.ndarray, bkg: np.ndarray, rel_unc: float = 0.0) -> Window:
    """No selection: every bin (the cut-and-count comparison of figure 12)."""
    sig, bkg = _check_hists(sig, bkg)
    s, b = float(sig.sum()), float(bkg.sum())
    return Window(0, sig.size - 1, s, b, float(m2loglike(s, b, rel_unc)))


STRATEGIES = ("grow", "from_zero", "all")


def optimise_window(sig: np.ndarray, bkg: np.ndarray, strategy: str, start: int = 0, rel_unc: float = 0.0) -> Window:
    """Dispatch on ``strategy``: "grow" (phi, from ``start``), "from_zero" (gamma-phi) or "all" (no selection);
    ``rel_unc``: the background's relative uncertainty, in the statistic the windows maximise."""
    if strategy == "grow":
        return optimise_window_grow(sig, bkg, start, rel_unc)
    if strategy == "from_zero":
        return optimise_window_from_zero(sig, bkg, rel_unc)
    if strategy == "all":
        return whole_histogram(sig, bkg, rel_unc)
    raise ParameterError("strategy", strategy, f"must be one of {STRATEGIES}")


@dataclass(frozen=True)
class EpsReach:
    """The 95 % CL reach in eps and the window that gives it."""

    eps: float
    window: Window | None
    iterations: int


def eps_reach(
    sig_ref: np.ndarray, bkg: np.ndarray, eps_ref: float, strategy: str, start: int = 0,
    target: float = CL95, max_iter: int = 50, rel_unc: float = 0.0,
) -> EpsReach:
    """The eps at which -2 log L of the optimised window reaches ``target``.

    ``sig_ref`` is the signal histogram at ``eps_ref``; S(eps) = S_ref (eps /
    eps_ref)^2 exactly. Iterates "optimise the window at eps, solve eps for
    that window in closed form" to a fixed point, where the window is the
    optimal one at the eps it predicts; if the windows cycle instead, the
    smallest eps of the cycle is returned. Returns eps = inf when there
    is no signal at all, or none in the windows chosen up to eps = 10^6. ``rel_unc``: the background's relative uncertainty (windows and statistic).
    """
    sig_ref, bkg = _check_hists(sig_ref, bkg)
    if not eps_ref > 0:
        raise ParameterError("eps_ref", eps_ref, "must be > 0")
    if not np.any(sig_ref > 0):
        return EpsReach(math.inf, None, 0)
    eps = eps_ref
    history: list[tuple[tuple[int, int], float]] = []
    for it in range(1, max_iter + 1):
        scale = (eps / eps_ref) ** 2
        win = optimise_window(sig_ref * scale, bkg, strategy, start, rel_unc)
        key = (win.lo, win.hi)
        s_ref = win.s / scale
        if s_ref <= 0.0:
            # the window chosen at this eps holds no signal: look at larger eps - up to 10^6, far beyond eps <= 1:
            # a signal that small in every window the optimiser reaches gives no reach
            if eps > 1e6:
                return EpsReach(math.inf, None, it)
            eps *= 10.0
            continue
        keys = [k for k, _ in history]
        if key in keys:
            # a fixed point (cycle of length 1) or, rarely, a cycle: take its smallest eps
            cycle = history[keys.index(key):]
            (lo, hi), eps_best = min(cycle, key=lambda item: item[1])
            s = float(sig_ref[lo : hi + 1].sum()) * (eps_best / eps_ref) ** 2
            b = float(bkg[lo : hi + 1].sum())
            return EpsReach(eps_best, Window(lo, hi, s, b, float(m2loglike(s, b, rel_unc))), it)
        eps = eps_ref * math.sqrt(signal_for_m2ll(win.b, target, rel_unc) / s_ref)
        history.append((key, eps))
    raise RuntimeError("eps reach did not converge")  # pragma: no cover - bounded by the number of windows


def interpolate_crossing(x0: float, x1: float, g0: float, g1: float, target: float = CL95) -> float:
    """Where the line through (x0, g0), (x1, g1) crosses ``target`` (log-scale inputs expected)."""
    if g1 == g0:
        return 0.5 * (x0 + x1)
    return x0 + (target - g0) * (x1 - x0) / (g1 - g0)


def band_edges(log_x: np.ndarray, g: np.ndarray, target: float = CL95) -> tuple[list[int], list[int]]:
    """Indices k where g crosses ``target`` upward (g[k] < t <= g[k+1]) and downward (g[k] >= t > g[k+1])."""
    above = np.asarray(g) >= target
    up = [k for k in range(len(above) - 1) if not above[k] and above[k + 1]]
    down = [k for k in range(len(above) - 1) if above[k] and not above[k + 1]]
    return up, down


@dataclass(frozen=True)
class ChannelHists:
    """One channel's inputs to a combination: signal at ``eps_ref``, background, window strategy and start bin,
    and the background's relative uncertainty."""

    sig_ref: np.ndarray
    bkg: np.ndarray
    eps_ref: float
    strategy: str
    start: int = 0
    rel_unc: float = 0.0

    def m2ll(self, eps: float) -> float:
        """-2 log L of this channel's window optimised at ``eps`` (S scales as eps^2)."""
        return optimise_window(self.sig_ref * (eps / self.eps_ref) ** 2, self.bkg, self.strategy, self.start,
                               self.rel_unc).m2ll


def combined_m2ll(channels: list[ChannelHists], eps: float) -> float:
    """-2 log L of independent channels at ``eps``: the sum of each channel's (window optimised per channel)."""
    return float(sum(c.m2ll(eps) for c in channels))


def combined_eps_reach(channels: list[ChannelHists], target: float = CL95, rtol: float = 1e-12) -> float:
    """The eps where the summed -2 log L of independent channels reaches ``target`` (inf: no signal anywhere).

    Each channel's -2 log L, maximised over its windows, is a convex,
    increasing function of t = eps^2 that vanishes at 0 (2(S - B log(1 + S/B))
    is convex in S). So if t_min is the smallest single-channel reach, the n
    channels sum to at most ``target`` at t_min / n: the combined reach lies
    in [eps_min / sqrt(n), eps_min], where it is found by bisection in log eps.
    """
    if not channels:
        raise ParameterError("channels", channels, "give at least one channel")
    singles = [eps_reach(c.sig_ref, c.bkg, c.eps_ref, c.strategy, c.start, target, rel_unc=c.rel_unc).eps
               for c in channels]
    hi = min(singles)
    if not math.isfinite(hi):
        return math.inf
    lo = hi / math.sqrt(len(channels))
    if combined_m2ll(channels, lo) >= target:  # only at the rounding floor of the bound
        return lo
    while hi - lo > rtol * hi:
        mid = math.sqrt(lo * hi)
        if mid <= lo or mid >= hi:
            break
        if combined_m2ll(channels, mid) >= target:
            hi = mid
        else:
            lo = mid
    return hi
