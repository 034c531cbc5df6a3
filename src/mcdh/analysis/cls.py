"""The asymptotic expected CLs upper limit on the binned likelihood mcdh exports to pyhf.

The likelihood of one channel is HistFactory's, as pyhf builds it from :mod:`mcdh.publish`'s workspace:
every bin i of the channel's observable (not a window) is a Poisson count with mean

    nu_i = mu s_i + gamma_i kappa(alpha) b_i,        mu = (eps / eps_ref)^2,

``normsys`` kappa(alpha) with pyhf's default interpolation ("code4", HistFactory's InterpCode 4): the
exponential (1 + sigma_b)^alpha for alpha >= 1 and (1 - sigma_b)^(-alpha) for alpha <= -1, and between them the
polynomial 1 + sum_k=1..6 a_k alpha^k that matches the exponentials' values and first and second derivatives
at alpha = +-1; alpha constrained by a unit Gaussian. ``staterror`` gamma_i with a
Gaussian constraint of width delta_i = (the background's Monte Carlo error / b_i) in the bins where it is
> 0 (gamma_i = 1 elsewhere, as pyhf fixes them).

The expected (median, background-only) limit uses the Asimov data set n_i = b_i with the nuisance
parameters at their nominal values (Cowan, Cranmer, Gross and Vitells, EPJC 71 (2011) 1554, section 3.8).
There mu-hat = 0, so q~_mu = q_mu = -2 ln [L(mu, theta-hat-hat) / L(0, nominal)], and the median expected
CLs = 2 Phi(-sqrt(q_mu,A)): the 95 % CL limit is the mu with q_mu,A = Phi^-1(0.975)^2 = 3.8415 - what pyhf's
``upper_limit`` returns as the median of its expected band. The profile over gamma is closed form (a
quadratic per bin); over alpha a bounded one-dimensional minimisation in pyhf's range [-5, 5].
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import ParameterError

CLS95 = 3.841458820694124
"""q_mu,A of the median expected 95 % CL CLs limit: Phi^-1(0.975)^2."""
ALPHA_RANGE = (-5.0, 5.0)
"""pyhf's bounds of a normsys parameter."""


@dataclass(frozen=True)
class BinnedChannel:
    """One channel's binned expectation: signal at ``eps_ref`` and background (expected events per bin), the
    background's Monte Carlo error per bin (``staterror``; zeros: none) and its relative normalisation
    uncertainty (``normsys``; 0: none)."""

    sig_ref: np.ndarray
    bkg: np.ndarray
    bkg_err: np.ndarray
    eps_ref: float
    rel_unc: float = 0.0
    _bins: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        s, b, e = (np.asarray(a, dtype=np.float64) for a in (self.sig_ref, self.bkg, self.bkg_err))
        if not (s.shape == b.shape == e.shape and s.ndim == 1):
            raise ParameterError("sig_ref, bkg, bkg_err", (s.shape, b.shape, e.shape), "must be 1-d of one shape")
        check_background_uncertainty(self.rel_unc)
        keep = (s > 0) | (b > 0)  # a bin with neither changes no likelihood
        s, b, e = np.maximum(s[keep], 0.0), np.maximum(b[keep], 0.0), np.maximum(e[keep], 0.0)
        delta = np.where((b > 0) & (e > 0), e / np.where(b > 0, b, 1.0), 0.0)
        object.__setattr__(self, "_bins", (s, b, delta))

    def q(self, mu: float) -> float:
        """q_mu,A: -2 ln L(mu, profiled) + 2 ln L(0, nominal) on the Asimov background-only data."""
        s, b, delta = self._bins
        if mu <= 0.0 or s.size == 0:
            return 0.0
        a = mu * s
        if self.rel_unc == 0.0:
            return _profiled(a, b, delta, 1.0)
        from scipy.optimize import minimize_scalar

        kappa = normsys_factor(self.rel_unc)

        def objective(alpha: float) -> float:
            return _profiled(a, b, delta, kappa(alpha)) + alpha * alpha

        best = minimize_scalar(objective, bounds=ALPHA_RANGE, method="bounded", options={"xatol": 1e-10})
        return float(min(best.fun, objective(0.0)))


@functools.lru_cache(maxsize=16)
def normsys_factor(rel_unc: float):
    """kappa(alpha) of a normsys with hi = 1 + ``rel_unc``, lo = 1 - ``rel_unc`` in pyhf's default interpolation
    (code4: exponential beyond |alpha| = 1, a sixth-order polynomial through 1 at alpha = 0 inside, matching
    the exponentials' value, slope and curvature at alpha = +-1). Made once per uncertainty: every q_mu,A
    evaluation of a limit search uses it."""
    hi, lo = 1.0 + rel_unc, 1.0 - rel_unc
    lh, ll = math.log(hi), math.log(lo)
    # p(alpha) - 1 = sum_k a_k alpha^k: rows are the value, slope and curvature at +1, then at -1
    rows, rhs = [], []
    for x, f, d1, d2 in ((1.0, hi, hi * lh, hi * lh * lh), (-1.0, lo, -lo * ll, lo * ll * ll)):
        rows += [[x**k for k in range(1, 7)], [k * x ** (k - 1) for k in range(1, 7)],
                 [k * (k - 1) * x ** (k - 2) for k in range(1, 7)]]
        rhs += [f - 1.0, d1, d2]
    coef = np.linalg.solve(np.array(rows), np.array(rhs))

    def kappa(alpha: float) -> float:
        if alpha >= 1.0:
            return math.exp(alpha * lh)
        if alpha <= -1.0:
            return math.exp(-alpha * ll)
        return 1.0 + sum(c * alpha ** (k + 1) for k, c in enumerate(coef))

    return kappa


def check_background_uncertainty(value) -> float:
    """A background's relative normalisation uncertainty: a number in [0, 1) (HistFactory's normsys needs
    1 - sigma_b > 0)."""
    v = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan
    if not (0.0 <= v < 1.0):
        raise ParameterError("background_uncertainty", value, "must be a relative uncertainty in [0, 1), e.g. 0.2")
    return v


def _profiled(a: np.ndarray, b: np.ndarray, delta: np.ndarray, kappa: float) -> float:
    """sum_i min over gamma_i of 2 [nu - n - n ln(nu / n)] + (gamma - 1)^2 / delta^2, n = b (Asimov),
    nu = a + gamma c, c = kappa b; gamma = 1 where delta = 0."""
    c = kappa * b
    gamma = np.ones_like(b)
    free = delta > 0
    if np.any(free):
        # d/dgamma = 0: c gamma^2 + (a - c + c^2 d^2) gamma + (c d^2 (a - n) - a) = 0, the positive root
        af, cf, d2, nf = a[free], c[free], delta[free] ** 2, b[free]
        B = af - cf + cf * cf * d2
        C = cf * d2 * (af - nf) - af
        disc = np.sqrt(B * B - 4.0 * cf * C)
        gamma[free] = np.where(B > 0, -2.0 * C / (B + disc), (disc - B) / (2.0 * cf))
    nu = a + gamma * c
    with np.errstate(divide="ignore", invalid="ignore"):
        poisson = np.where(b > 0, 2.0 * (nu - b - b * np.log(nu / np.where(b > 0, b, 1.0))), 2.0 * nu)
        constraint = np.where(free, (gamma - 1.0) ** 2 / np.where(free, delta * delta, 1.0), 0.0)
    return float(np.sum(poisson) + np.sum(constraint))


def q_sum(channels: list[BinnedChannel], eps: float) -> float:
    """q_mu,A of independent channels at ``eps`` (their nuisance parameters apart): the sum."""
    return float(sum(c.q((eps / c.eps_ref) ** 2) for c in channels))


def eps_limit(channels: list[BinnedChannel], target: float = CLS95) -> float:
    """The median expected 95 % CL CLs upper limit on eps (inf without signal): q_mu,A(eps) = ``target``,
    q increasing in eps (bracketed by doubling, then Brent's method to 1e-12)."""
    if not channels:
        raise ParameterError("channels", channels, "give at least one channel")
    if not any(np.any(c._bins[0] > 0) for c in channels):
        return math.inf
    eps_ref = channels[0].eps_ref
    lo, hi = 0.0, eps_ref
    while q_sum(channels, hi) < target:
        lo, hi = hi, 2.0 * hi
        if hi > 1e6 * eps_ref:  # pragma: no cover - a signal this small is no signal
            return math.inf
    from .._optimize import brentq

    return brentq(lambda e: q_sum(channels, e) - target, lo, hi, xtol=1e-300, rtol=1e-12)
