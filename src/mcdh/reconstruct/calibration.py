"""What a fit's own numbers cannot say, from toys: the global significance and the goodness of fit.

**The look-elsewhere effect.** The fit's significance sqrt(q0) is *local*:
m_A, m_phi and theta were free to find the largest excess. Its global
p-value is P(max q0 > q0_obs) under the background-only hypothesis. We
estimate it with the method of Gross and Vitells (Eur. Phys. J. C 70 (2010)
525, arXiv:1005.1891; Vitells and Gross, Astropart. Phys. 35 (2011) 230,
arXiv:1105.4355): at large u,

    P(max q0 > u) ~ E[EC(u)] = rho_0(z) + sum_{d=1..D} N_d rho_d(z),   z = sqrt(u),

the expected Euler characteristic of the excursion set of the (one-sided)
significance field over the D free parameters among m_A, m_phi, theta, with
the Gaussian-field densities rho_0 = 1 - Phi(z), rho_1 = e^{-z^2/2} / (2 pi),
rho_2 = z e^{-z^2/2} / (2 pi)^{3/2}, rho_3 = (z^2 - 1) e^{-z^2/2} / (2 pi)^2.
The coefficients N_d (>= 0) are fitted to background-only toys - each fitted
exactly as the data were, from the same start - at thresholds the toys
populate, and the formula carries the p-value to any observed q0, where
toys could never reach. *Over the m_A range searched* (default the paper's
masses), the window's excess over the local p-value is multiplied by the
range's length over the window's, both measured in units of the m_chichi
resolution: the range is that many windows side by side (conservative: their
shared edges are counted twice).

**Goodness of fit.** The Poisson deviance of the best fit (per channel and
combined) has no known distribution for sparse bins (and the saturated
deviance can even be lower for a wrong model), so its p-value comes from toys
drawn from the best fit and refitted: p = (1 + #toys with a larger deviance) /
(1 + toys). A p-value below 1 % gets a note.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from .. import seeds as streams
from ..errors import ParameterError, check_count
from ..settings import FIT_TOYS, MASSES
from .fit import FitResult, GoodnessOfFit, Likelihood, LookElsewhere, _minuit, _null_fit, map_toys
from .model import DataModel

P_GOF_WARNING = 0.01
"""A goodness-of-fit p-value below this gets a note."""
TOYS = FIT_TOYS
"""Toys per calibration by default (each for the global significance and for the goodness of fit)."""


def _z(p: float) -> float:
    """The one-sided Gaussian significance of a p-value (0 for p >= 1/2)."""
    from scipy.stats import norm

    return max(0.0, float(norm.isf(p))) if p < 0.5 else 0.0


def ec_densities(u, dims: int) -> np.ndarray:
    """(dims + 1, len(u)): the Euler-characteristic densities rho_0 .. rho_dims of the one-sided significance
    field at the thresholds ``u`` of q0."""
    from scipy.special import ndtr

    z = np.sqrt(np.maximum(np.asarray(u, dtype=np.float64), 0.0))
    g = np.exp(-0.5 * z * z)
    rho = [ndtr(-z), g / (2 * math.pi), z * g / (2 * math.pi) ** 1.5, (z * z - 1.0) * g / (2 * math.pi) ** 2]
    return np.array(rho[:dims + 1])


def _resolution_length(model: DataModel, lo: float, hi: float) -> float:
    """The length of [lo, hi] in m_A in units of the m_chichi resolution (int dm / sigma_m(m))."""
    m = np.linspace(lo, hi, 401)
    return float(np.trapezoid(1.0 / np.asarray(model.config.resolution.sigma(m)), m))


def _q0_toy(shared, seed) -> float:
    model, mu0, start, fix = shared
    rng = np.random.default_rng(seed)
    counts = {c: rng.poisson(m).astype(np.float64) for c, m in mu0.items()}
    return local_q0(model, counts, start, fix)


def local_q0(model: DataModel, counts: dict[str, np.ndarray], start: dict, fix=()) -> float:
    """q0 as :func:`~mcdh.reconstruct.fit.fit` computes it: MIGRAD from ``start``, then eps = 0 with b refitted."""
    if sum(float(n.sum()) for n in counts.values()) <= 0:
        return 0.0
    lk = Likelihood(model, counts)
    m = _minuit(lk, start, tuple(fix))
    m.migrad()
    values = {k: float(m.values[k]) for k in lk.names}
    if not values["eps"] > 0:
        return 0.0
    return max(0.0, _null_fit(lk, values)[0] - float(m.fval))


@dataclass(frozen=True)
class EulerCharacteristic:
    """P(max q0 > u) over the template window from background-only toys ``q``: their survival fraction where
    at least ten toys reach u, beyond that rho_0 + sum_d N_d rho_d (the N_d fitted to the toys' tail, the
    sum anchored to the toys' survival at the last such u, so that the two agree there)."""

    coefficients: tuple[float, ...]
    dims: int
    toys: tuple[float, ...] = ()

    @classmethod
    def fit(cls, q, dims: int) -> EulerCharacteristic:
        """Fit N_1 .. N_dims (>= 0, weighted least squares) to the survival function of the toys' q0 ``q`` at
        12 thresholds in its tail (where the formula holds): from the larger of q0 = 1 and the toys' 80 %
        quantile to the tenth largest toy."""
        from scipy.optimize import nnls

        q = np.sort(np.asarray(q, dtype=np.float64))
        top = q[-10] if q.size >= 10 else 0.0
        bottom = max(1.0, float(np.quantile(q, 0.8))) if q.size else 1.0
        if not (dims and top > bottom):
            return cls((0.0,) * dims, dims, tuple(q))
        u = np.linspace(bottom, top, 12)
        surv = np.array([(q >= x).mean() for x in u])
        sigma = np.sqrt(np.maximum(surv * (1 - surv), 1.0 / q.size) / q.size)
        rho = ec_densities(u, dims)
        coef = nnls((rho[1:] / sigma).T, (surv - rho[0]) / sigma)[0]
        return cls(tuple(float(c) for c in coef), dims, tuple(q))

    def p_window(self, q0: float) -> float:
        """The global p-value of ``q0`` over the window (never below the local one)."""
        q = np.asarray(self.toys)
        local = float(ec_densities([q0], 0)[0, 0])
        if q.size >= 10 and q0 <= q[-10]:
            return max(local, float((q >= q0).mean()))
        extra = self._excess(q0)
        if q.size >= 10:  # anchored to the toys where they stop
            anchor, top = self._excess(q[-10]), float(q[-10])
            measured = (q >= top).mean() - float(ec_densities([top], 0)[0, 0])
            extra = extra * measured / anchor if anchor > 0 else extra
        return float(min(1.0, max(local, local + extra)))

    def _excess(self, u: float) -> float:
        return float(np.dot(self.coefficients, ec_densities([u], self.dims)[1:, 0])) if self.dims else 0.0


def background_q0(model: DataModel, background: dict[str, np.ndarray], start: dict, fix=(), *, n_toys: int = TOYS,
                  n_workers: int = 1, seed: int = 0, progress: bool = False) -> np.ndarray:
    """q0 of ``n_toys`` Poisson toys of ``background`` (seeded), each fitted as :func:`local_q0` fits data."""
    n_toys = check_count("n_toys", n_toys, 1)
    seeds = streams.toys(seed, "look_elsewhere", n_toys)
    return np.array(map_toys(_q0_toy, (model, background, start, tuple(fix)), seeds, n_workers, progress,
                             "look-elsewhere toys"))


def _look_elsewhere(model: DataModel, background: dict[str, np.ndarray], q0: float, start: dict, fix=(), *,
                   n_toys: int = TOYS, n_workers: int = 1, seed: int = 0,
                   search_range: tuple[float, float] | None = None, progress: bool = False) -> LookElsewhere:
    """The global significance of ``q0`` (see the module docstring); ``background``: the background-only
    expectation the toys are drawn from (the data's background-only fit), ``start``/``fix`` as the data's fit."""
    n_toys = check_count("n_toys", n_toys, 20)
    try:  # the range first: a bad one is refused before any toy runs
        lo, hi = (min(MASSES), max(MASSES)) if search_range is None else (float(x) for x in search_range)
    except (TypeError, ValueError):
        lo = hi = math.nan
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo > 0):
        raise ParameterError("search_range", search_range, "must be (m_lo, m_hi) with 0 < m_lo < m_hi in GeV")
    g = model.grid["m_A"]
    lo, hi = min(lo, float(g[0])), max(hi, float(g[-1]))  # the window is always searched
    windows = _resolution_length(model, lo, hi) / _resolution_length(model, float(g[0]), float(g[-1]))
    q = background_q0(model, background, start, fix, n_toys=n_toys, n_workers=n_workers, seed=seed, progress=progress)
    ec = EulerCharacteristic.fit(q, sum(k not in fix for k in ("m_A", "m_phi", "theta")))
    p_loc = float(ec_densities([q0], 0)[0, 0])
    p_win = ec.p_window(q0)
    p_rng = min(1.0, p_loc + windows * (p_win - p_loc))
    return LookElsewhere(q0, p_loc, _z(p_loc), p_win, _z(p_win), p_rng, _z(p_rng), (lo, hi), windows,
                         ec.coefficients, n_toys, int((q >= q0).sum()))


def deviances(lk: Likelihood, x) -> dict[str, float]:
    """The Poisson deviance per channel (:meth:`Likelihood.deviances`) and ``combined`` at parameters ``x``."""
    out = lk.deviances(x)
    out["combined"] = sum(out.values())
    return out


def _gof_toy(shared, seed) -> dict[str, float]:
    model, mu, values, fix = shared
    rng = np.random.default_rng(seed)
    counts = {c: rng.poisson(m).astype(np.float64) for c, m in mu.items()}
    if sum(float(n.sum()) for n in counts.values()) <= 0:
        return {c: 0.0 for c in (*mu, "combined")}
    lk = Likelihood(model, counts)
    m = _minuit(lk, values, tuple(fix))
    m.migrad()
    return deviances(lk, list(m.values))


def goodness_of_fit(model: DataModel, lk: Likelihood, values: dict, fix=(), *, n_toys: int = TOYS,
                    n_workers: int = 1, seed: int = 0, progress: bool = False) -> GoodnessOfFit:
    """The deviance of the best fit ``values`` of ``lk``'s data and its p-value from toys of the best fit."""
    n_toys = check_count("n_toys", n_toys, 20)
    observed = deviances(lk, [values[k] for k in lk.names])
    mu = model.expected(values, channels=tuple(lk.counts))
    seeds = streams.toys(seed, "goodness_of_fit", n_toys)
    dev = map_toys(_gof_toy, (model, mu, values, tuple(fix)), seeds, n_workers, progress, "goodness-of-fit toys")
    p = {c: (1 + sum(d[c] >= v for d in dev)) / (1 + n_toys) for c, v in observed.items()}
    return GoodnessOfFit(observed, p, n_toys)


def calibrate(model: DataModel, result: FitResult, counts: dict[str, np.ndarray], *, n_toys: int = TOYS,
              n_workers: int = 1, seed: int = 0, search_range: tuple[float, float] | None = None,
              progress: bool = False) -> FitResult:
    """``result`` (of :func:`~mcdh.reconstruct.fit.fit` on ``counts``) with the global significance and - for a
    valid fit - the goodness of fit; a failed fit is returned as it is."""
    if result.z_local is None:
        return result
    counts = {c: np.asarray(counts[c], dtype=np.float64) for c in result.channels}
    lk = Likelihood(model, counts)
    b0 = _null_fit(lk, result.values)[1]
    lee = _look_elsewhere(model, {c: model.background(c, b0) for c in counts}, result.q0 or 0.0, result.start,
                         result.fixed, n_toys=n_toys, n_workers=n_workers, seed=seed, search_range=search_range,
                         progress=progress)
    gof, notes = None, list(result.notes)
    if result.valid:
        gof = goodness_of_fit(model, lk, result.values, result.fixed, n_toys=n_toys, n_workers=n_workers, seed=seed,
                              progress=progress)
        if gof.p_value_min < P_GOF_WARNING:
            notes.append(gof.warning())
    return dataclasses.replace(result, lee=lee, gof=gof, notes=tuple(notes))


__all__ = ["EulerCharacteristic", "GoodnessOfFit", "LookElsewhere", "background_q0", "calibrate", "deviances", "goodness_of_fit",
           "local_q0"]
