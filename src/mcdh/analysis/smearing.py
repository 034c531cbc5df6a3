"""Detector smearing (appendix A.1) fused with weighted histogram filling.

Resolution (A.1), E in GeV:

    dE / E = sqrt[(0.066 % / E)^2 + (0.81 % / E^(1/4))^2 + (1.34 %)^2],

so sigma(E) = sqrt(a^2 + b^2 E^(3/2) + c^2 E^2). It is applied to E_gamma and
to m_chichi (treated as an energy). Each event is replaced by ``n_copies``
(default 100) Gaussian copies of weight w / n_copies.

The kernel never materialises the copies: for each event it draws them, finds
their bins, counts them in a small per-event scratch histogram and then adds
``w_k x count / n_copies`` for every weight column k (e.g. one per value of
the Higgs mixing theta). Memory is O(events x columns + bins), the random
numbers are drawn once however many weight columns there are.

Random numbers: a counter-based stream per event. Event ``i`` (its global
index in the sample) starts a SplitMix64 sequence from ``mix(key + i *
gamma)``; each 64-bit output gives a normal by Marsaglia and Tsang's
ziggurat (256 layers; about 99 % of draws need one output and no
transcendental function). So the
smeared copies of an event depend only on (seed, i): they are identical
whatever the chunking, thread count, or set of weight columns, which makes
the smeared histogram a deterministic, smooth function of the weights (the
theta root finding relies on this), and a run is reproducible bit for bit.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._jit import nb
from ..errors import ParameterError, check_count, check_nonnegative

# SplitMix64 constants (Steele, Lea, Flood 2014)
_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_TWO_M53 = 2.0**-53
_LN2 = math.log(2.0)

DEFAULT_COPIES = 100


def _ziggurat_tables(n_layers: int = 256, r: float = 3.6541528853610088):
    """Layer widths and heights of a ziggurat for exp(-x^2/2) (Marsaglia & Tsang 2000).

    Layer 0 is the base rectangle [0, r] x [0, f(r)] plus the tail beyond r;
    layer i >= 1 spans heights f(x_i)..f(x_{i+1}) with width x_i; all have
    the area V. ``width[0]`` is the base layer's virtual width V / f(r).
    """
    from scipy.special import erfc

    f = lambda t: math.exp(-0.5 * t * t)  # noqa: E731
    area = r * f(r) + math.sqrt(math.pi / 2.0) * erfc(r / math.sqrt(2.0))
    x = [r]
    for _ in range(1, n_layers - 1):
        x.append(math.sqrt(-2.0 * math.log(f(x[-1]) + area / x[-1])))
    x.append(0.0)  # x_N: the top layer has no inner rectangle
    xs = np.array(x)  # x_1 .. x_N
    width = np.concatenate([[area / f(r)], xs[:-1]])  # X_0 .. X_{N-1}
    inner = xs.copy()  # layer i accepts |x| < x_{i+1} at once
    f_lo = np.concatenate([[0.0], np.exp(-0.5 * xs[:-1] ** 2)])  # f(x_i)
    f_hi = np.exp(-0.5 * xs**2)  # f(x_{i+1})
    return width, inner, f_lo, f_hi


_ZIG_WIDTH, _ZIG_INNER, _ZIG_FLO, _ZIG_FHI = _ziggurat_tables()
_ZIG_R = 3.6541528853610088
_MASK8 = np.uint64(255)
_BIT8 = np.uint64(256)


@dataclass(frozen=True)
class Resolution:
    """Relative energy resolution dE/E = sqrt((a/E)^2 + (b/E^(1/4))^2 + c^2) (A.1), E in GeV.

    Attributes
    ----------
    a, b, c : float
        Noise, stochastic and constant terms as fractions (A.1: 0.066 %,
        0.81 %, 1.34 %).
    """

    a: float = 0.066e-2
    b: float = 0.81e-2
    c: float = 1.34e-2

    def __post_init__(self):
        for name in ("a", "b", "c"):
            check_nonnegative(f"resolution.{name}", getattr(self, name))

    def relative(self, e: np.ndarray | float) -> np.ndarray | float:
        """dE / E at energy ``e`` (GeV > 0)."""
        e = np.asarray(e, dtype=np.float64)
        return np.sqrt((self.a / e) ** 2 + (self.b / e**0.25) ** 2 + self.c**2)

    def sigma(self, e: np.ndarray | float) -> np.ndarray | float:
        """Absolute resolution dE (GeV); finite (= a) at e = 0."""
        e = np.maximum(np.asarray(e, dtype=np.float64), 0.0)
        out = np.sqrt(self.a**2 + self.b**2 * e**1.5 + self.c**2 * e**2)
        return float(out) if out.ndim == 0 else out

    def as_array(self) -> np.ndarray:
        """The coefficients (a, b, c) as an array."""
        return np.array([self.a, self.b, self.c])


def seed_key(seed: int | np.random.SeedSequence) -> np.uint64:
    """The 64-bit key of the smearing streams derived from ``seed``."""
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return np.uint64(ss.generate_state(1, dtype=np.uint64)[0])


# ----------------------------------------------------------------------
# numba kernels


@nb.njit(cache=True, nogil=True, inline="always")
def _mix(z):
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@nb.njit(cache=True, nogil=True, inline="always")
def _uniform(z):
    # (0, 1) exclusive: log() below never sees 0
    return (np.float64(z >> _S11) + 0.5) * _TWO_M53


@nb.njit(cache=True, nogil=True, inline="always")
def _zig_draw(state):
    # one 64-bit output: layer from the low 8 bits, sign from bit 8, position from the top 53
    state += _GAMMA
    z = _mix(state)
    layer = z & _MASK8
    x = _uniform(z) * _ZIG_WIDTH[layer]
    if z & _BIT8:
        x = -x
    return state, layer, x


@nb.njit(cache=True, nogil=True)
def _normal_slow(state, layer, x):
    # the ~1 % of draws outside a layer's inner rectangle: wedge or tail test
    while True:
        if layer == 0:
            while True:
                state += _GAMMA
                t = -math.log(_uniform(_mix(state))) / _ZIG_R
                state += _GAMMA
                e = -math.log(_uniform(_mix(state)))
                if 2.0 * e > t * t:
                    return state, (_ZIG_R + t if x > 0 else -(_ZIG_R + t))
        state += _GAMMA
        y = _ZIG_FLO[layer] + _uniform(_mix(state)) * (_ZIG_FHI[layer] - _ZIG_FLO[layer])
        if y < math.exp(-0.5 * x * x):
            return state, x
        state, layer, x = _zig_draw(state)
        if abs(x) < _ZIG_INNER[layer]:
            return state, x


@nb.njit(cache=True, nogil=True, inline="always")
def _normal(state):
    """Advance the SplitMix64 ``state`` and return (state, a standard normal) by the ziggurat."""
    state, layer, x = _zig_draw(state)
    if abs(x) < _ZIG_INNER[layer]:
        return state, x
    return _normal_slow(state, layer, x)


@nb.njit(cache=True, nogil=True, inline="always")
def _sigma(e, a2, b2, c2):
    if e < 0.0:
        e = 0.0
    return math.sqrt(a2 + b2 * e * math.sqrt(e) + c2 * e * e)


@nb.njit(cache=True, nogil=True, inline="always")
def _settle(x, j, edges):
    # clamp a closed-form guess j into the histogram and correct it against the
    # edges (the closed forms can be off at an edge through rounding)
    last = edges.size - 2
    if j < 0:
        j = 0
    elif j > last:
        j = last
    while j > 0 and x < edges[j]:
        j -= 1
    while j < last and x >= edges[j + 1]:
        j += 1
    return j


@nb.njit(cache=True, nogil=True, inline="always")
def _bin(x, kind, p0, p1, edges):
    if kind == 0:
        j = int(math.floor((x - p0) * p1)) if x > p0 else 0
    elif kind == 1:
        j = 1 + int(math.floor(math.log(x / p0) * p1)) if x >= p0 else 0
    else:
        j = np.searchsorted(edges, x, side="right") - 1
    return _settle(x, j, edges)


@nb.njit(cache=True, nogil=True, inline="always")
def _bin_geometric_sq(av, e1_sq, p1_half, edges_sq):
    # the bin of sqrt(av) among geometric edges, found from av against squared edges
    if av >= e1_sq:
        # log(av / e1_sq) from the binary exponent and a chord of log on [1/2, 1):
        # accurate to 0.06, the edge checks below make the bin exact
        m, e = math.frexp(av / e1_sq)
        j = 1 + int((e * _LN2 - 2.0 * _LN2 * (1.0 - m)) * p1_half)
    else:
        j = 0
    return _settle(av, j, edges_sq)


@nb.njit(cache=True, nogil=True)
def normals(key, first_index, n_events, n_per_event):
    """The standard normals the kernels draw, in order: (n_events, n_per_event)."""
    out = np.empty((n_events, n_per_event))
    for i in range(n_events):
        state = _mix(key + np.uint64(first_index + i) * _GAMMA)
        for j in range(n_per_event):
            state, out[i, j] = _normal(state)
    return out


@nb.njit(cache=True, nogil=True)
def _smear_record(x, y, mode, e_bar, m_A, res, n_copies, key, first_index, kind, p0, p1, edges):
    """Where the smeared copies of every event land: (offsets, bins, counts), compressed by event.

    Event i's copies fall in ``bins[offsets[i]:offsets[i + 1]]`` (in the order first met), ``counts``
    copies each. mode 0: value x smeared; 1: sqrt|(E' - e_bar)(m' - m_A)| with E' = x and m' = y both
    smeared; 2: x unsmeared; 3: sqrt|v| unsmeared (one bin, all copies).
    """
    n = x.size
    n_bins = edges.size - 1
    a2, b2, c2 = res[0] ** 2, res[1] ** 2, res[2] ** 2
    per_event = n_copies if mode < 2 else 1
    offsets = np.empty(n + 1, np.int64)
    bins = np.empty(n * per_event, np.int32)
    counts = np.empty(n * per_event, np.int32)
    tally = np.zeros(n_bins, np.int64)
    touched = np.empty(max(n_copies, 1), np.int64)
    edges_sq = edges * edges
    pos = 0
    for i in range(n):
        offsets[i] = pos
        n_touched = 0
        if mode >= 2:
            v = x[i] if mode == 2 else math.sqrt(abs((x[i] - e_bar) * (y[i] - m_A)))
            j = _bin(v, kind, p0, p1, edges)
            tally[j] = n_copies
            touched[0] = j
            n_touched = 1
        else:
            state = _mix(key + np.uint64(first_index + i) * _GAMMA)
            sx = _sigma(x[i], a2, b2, c2)
            sy = _sigma(y[i], a2, b2, c2) if mode == 1 else 0.0
            for _ in range(n_copies):
                if mode == 0:
                    state, z0 = _normal(state)
                    j = _bin(x[i] + sx * z0, kind, p0, p1, edges)
                else:
                    state, z0 = _normal(state)
                    state, z1 = _normal(state)
                    av = abs((x[i] + sx * z0 - e_bar) * (y[i] + sy * z1 - m_A))
                    if kind == 1:
                        j = _bin_geometric_sq(av, p0 * p0, 0.5 * p1, edges_sq)
                    else:
                        j = _bin(math.sqrt(av), kind, p0, p1, edges)
                if tally[j] == 0:
                    touched[n_touched] = j
                    n_touched += 1
                tally[j] += 1
        for t in range(n_touched):
            j = touched[t]
            bins[pos] = j
            counts[pos] = tally[j]
            tally[j] = 0
            pos += 1
    offsets[n] = pos
    return offsets, bins, counts  # bins/counts hold offsets[n] entries (the caller trims what it keeps)


@nb.njit(cache=True, nogil=True)
def _replay_fill(offsets, bins, counts, n_copies, weights, hist, sumw2):
    """Fill ``hist`` (K, n_bins) and ``sumw2`` from a record of :func:`_smear_record`: event i adds
    weights[i, k] * counts / n_copies to each of its bins, in the recorded order."""
    inv = 1.0 / n_copies
    n_cols = weights.shape[1]
    for i in range(offsets.size - 1):
        for t in range(offsets[i], offsets[i + 1]):
            j = bins[t]
            f = counts[t] * inv
            for k in range(n_cols):
                wf = weights[i, k] * f
                hist[k, j] += wf
                sumw2[k, j] += wf * wf


# ----------------------------------------------------------------------
# expected smearing: the limit of infinitely many copies

SMEARINGS = ("copies", "expected")
"""How events are smeared: ``n_copies`` Gaussian copies each (the paper's, A.1) or ``"expected"``: each event's
probability to land in every bin, the exact limit of infinitely many copies."""

EXPECTED_TAIL = 7.0
"""Expected smearing drops the Gaussian beyond this many standard deviations (2.6e-12 per side)."""
EXPECTED_P_MIN = 1e-13
"""Bin probabilities below this are not recorded (expected smearing)."""
_SPLIT_SNR = 6.0
_LOG_STEP = 0.125
_RSQRT2 = 1.0 / math.sqrt(2.0)
_RSQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)


# Gauss-Hermite rules for E[P(|W| < c / |U|)] over U: the integrand varies on a scale ~ 1 / r standard deviations
# of U, r = (mw / sw + 7) / (mu / su), so r < _GH_R[i] takes rule i (its error below 5e-8 absolute, measured
# against adaptive quadrature; the last rule 1.2e-6 at mu / su = 6).
_GH_R = np.array([0.1, 0.2, 0.35, 0.6, 1.0, np.inf])
_GH_N = (3, 4, 6, 8, 12, 16)


def _hermite_rules() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All rules' nodes and weights (normalised to 1) end to end, and where each starts."""
    z, w, start = [], [], [0]
    for n in _GH_N:
        zi, wi = np.polynomial.hermite_e.hermegauss(n)
        z.append(zi)
        w.append(wi / wi.sum())
        start.append(start[-1] + n)
    return np.concatenate(z), np.concatenate(w), np.array(start)


_GH_Z, _GH_W, _GH_START = _hermite_rules()


def _ndtr_table(step: float, z_max: float) -> tuple[np.ndarray, np.ndarray]:
    """The normal CDF and density at the nodes -z_max, -z_max + step, ..., z_max (scipy's ndtr: to rounding)."""
    from scipy.special import ndtr

    z = np.linspace(-z_max, z_max, int(round(2 * z_max / step)) + 1)
    return ndtr(z), np.exp(-0.5 * z * z) * _RSQRT2PI


_NDTR_STEP, _NDTR_ZMAX = 1.0 / 32.0, 9.0
_NDTR_CDF, _NDTR_PDF = _ndtr_table(_NDTR_STEP, _NDTR_ZMAX)


@nb.njit(cache=True, nogil=True, inline="always")
def _ndtr_in_table(z):
    """The normal CDF for |z| < 9: Taylor series about the nearest node of a table (|d| <= 1/64), Phi(z_k + d) =
    Phi(z_k) + phi(z_k) sum_{n=1..6} (-1)^(n-1) He_(n-1)(z_k) d^n / n!, within 4e-16 and 2e-10 relative in
    the tails (beyond the table it reads the end node: no accuracy, but no read outside). Without a branch,
    so that a loop over edges vectorises: a third of erfc's cost or less, paid ~15 times an event."""
    k = min(max(int((z + _NDTR_ZMAX) * (1.0 / _NDTR_STEP) + 0.5), 0), _NDTR_CDF.size - 1)
    z_k = k * _NDTR_STEP - _NDTR_ZMAX
    d = z - z_k
    z2 = z_k * z_k
    he2, he3 = z2 - 1.0, z_k * (z2 - 3.0)
    he4, he5 = z2 * (z2 - 6.0) + 3.0, z_k * (z2 * (z2 - 10.0) + 15.0)
    total = d * (1.0 + d * (-0.5 * z_k + d * (he2 * (1.0 / 6.0) + d * (he3 * (-1.0 / 24.0) + d * (
        he4 * (1.0 / 120.0) - d * he5 * (1.0 / 720.0))))))
    return _NDTR_CDF[k] + _NDTR_PDF[k] * total


@nb.njit(cache=True, nogil=True, inline="always")
def _ndtr(z):
    """The normal CDF: :func:`_ndtr_in_table`, erfc beyond |z| = 9."""
    if not abs(z) < _NDTR_ZMAX:
        return 0.5 * math.erfc(-z * _RSQRT2)
    return _ndtr_in_table(z)


@nb.njit(cache=True, nogil=True)
def _abs_cdf(x, b, inv_s):
    """P(|W| < x) for W ~ N(mu, s), given b = mu / s >= 0 and inv_s = 1 / s, x >= 0 (the term below 1e-19
    skipped; for x < 0.02 s, mu < 7 s its odd series 2 phi(b) [xi + He_2(b) xi^3 / 3! + He_4(b) xi^5 / 5!],
    xi = x / s, to 1e-9)."""
    xi = x * inv_s
    if xi < 0.02 and b < 7.0:
        b2, xi2 = b * b, xi * xi
        return 2.0 * _RSQRT2PI * math.exp(-0.5 * b2) * xi * (
            1.0 + xi2 * ((b2 - 1.0) / 6.0 + xi2 * (b2 * b2 - 6.0 * b2 + 3.0) / 120.0))
    z2 = -xi - b
    g = _ndtr(xi - b)
    return g - _ndtr(z2) if z2 > -9.0 else g


@nb.njit(cache=True, nogil=True)
def _product_cdf(c, log_ratio, mu, su, mw, sw, out, work):
    """out[k] = P(|U W| < c[k]) for U ~ N(mu, su), W ~ N(mw, sw), mu, mw >= 0 and mu / su >= mw / sw.

    U far from zero (mu / su > 6): Gauss-Hermite over U of P(|W| < c / |U|) (3 to 16 nodes, see _GH_R). Otherwise both
    reach zero and the integrand has a 1 / |U| tail: P = 1 - integral over l = log|U| of the density of l
    times P(|W| > c e^-l), by the trapezoidal rule in l (step <= 0.125: the integrand is analytic and
    varies on scales >= 1/6, so the rule converges exponentially). With geometric ``c`` (``log_ratio`` > 0:
    c[k] = c[0] e^(k log_ratio)) the step divides log_ratio and P(|W| > x) is tabulated once on the common
    grid of x. ``work``: scratch space (used if large enough; no allocation per event).
    """
    n_c = c.size
    b_w, inv_sw = mw / sw, 1.0 / sw
    if mu > _SPLIT_SNR * su:
        for k in range(n_c):
            out[k] = 0.0
        rule = np.searchsorted(_GH_R, (mw / sw + EXPECTED_TAIL) / (mu / su), side="right")
        x_lo, x_hi = mw - EXPECTED_TAIL * sw, mw + EXPECTED_TAIL * sw  # P(|W| < x) is 0 below, 1 above (to 1e-12)
        for i in range(_GH_START[rule], _GH_START[rule + 1]):
            u = abs(mu + su * _GH_Z[i])
            inv_u = 1.0 / u if u > 0.0 else math.inf
            w = _GH_W[i]
            for k in range(n_c):
                x = c[k] * inv_u
                if x >= x_hi:
                    for j in range(k, n_c):  # the edges are increasing
                        out[j] += w
                    break
                if x > x_lo:
                    out[k] += w * _abs_cdf(x, b_w, inv_sw)
        return
    top = math.log(mu + EXPECTED_TAIL * su)
    x_max = mw + EXPECTED_TAIL * sw
    steps = max(1, int(math.ceil(log_ratio / _LOG_STEP))) if log_ratio > 0.0 else 1
    h = log_ratio / steps if log_ratio > 0.0 else _LOG_STEP
    n = max(2, int(math.ceil((top - math.log(c[0] / x_max)) / h)) + 1)
    n_q = (n_c - 1) * steps + n if log_ratio > 0.0 else 0
    scratch = work if work.size >= n + n_q else np.empty(n + n_q)
    fu = scratch[:n]
    for j in range(n):  # node l_j = top - j h
        u = math.exp(top - j * h)
        fu[j] = h * u * (math.exp(-0.5 * ((u - mu) / su) ** 2) + math.exp(-0.5 * ((u + mu) / su) ** 2)) * (
            _RSQRT2PI / su)
    if log_ratio > 0.0:
        # x = c[k] e^(-l_j) = c[0] e^((k steps + j) h - top): one table over q = k steps + j
        tail = scratch[n:n + n_q]
        for q in range(n_q):
            x = c[0] * math.exp(q * h - top)
            tail[q] = 0.0 if x > x_max else 1.0 - _abs_cdf(x, b_w, inv_sw)
        for k in range(n_c):
            s = 0.0
            for j in range(n):
                s += fu[j] * tail[k * steps + j]
            out[k] = 1.0 - s
        return
    for k in range(n_c):
        s = 0.0
        for j in range(n):
            x = c[k] * math.exp(j * h - top)
            if x <= x_max:
                s += fu[j] * (1.0 - _abs_cdf(x, b_w, inv_sw))
        out[k] = 1.0 - s


@nb.njit(cache=True, nogil=True)
def _expected_cdf(xi, yi, mode, e_bar, m_A, a2, b2, c2, kind, p0, p1, edges, edges_sq, log_ratio, cdf, work):
    """One event's smeared CDF at the edges it can reach: (lo, hi), with cdf[lo + 1 .. hi] = P(value < edge);
    below edge lo + 1 lies bin lo, above edge hi bin hi (to EXPECTED_TAIL standard deviations). mode 0: x
    smeared (the Gaussian's CDF); 1: sqrt|(E' - e_bar)(m' - m_A)| with E' = x and m' = y smeared
    (:func:`_product_cdf` at the squared edges)."""
    if mode == 0:
        s = _sigma(xi, a2, b2, c2)
        lo = _bin(xi - EXPECTED_TAIL * s, kind, p0, p1, edges)
        hi = _bin(xi + EXPECTED_TAIL * s, kind, p0, p1, edges)
        inv_s = 1.0 / s
        for j in range(lo + 1, hi + 1):  # edges[lo + 1] > xi - 7 s and edges[hi] <= xi + 7 s: in the table
            cdf[j] = _ndtr_in_table((edges[j] - xi) * inv_s)
        return lo, hi
    mu, su = abs(xi - e_bar), _sigma(xi, a2, b2, c2)
    mw, sw = abs(yi - m_A), _sigma(yi, a2, b2, c2)
    if mw * su > mu * sw:  # integrate over the factor further from zero
        mu, su, mw, sw = mw, sw, mu, su
    t = EXPECTED_TAIL
    v_lo = max(0.0, mu - t * su) * max(0.0, mw - t * sw)
    v_hi = (mu + t * su) * (mw + t * sw)
    lo = _bin(math.sqrt(v_lo), kind, p0, p1, edges)
    hi = _bin(math.sqrt(v_hi), kind, p0, p1, edges)
    first = lo + 1
    while first <= hi and edges[first] <= 0.0:  # P(|v| < 0) = 0
        cdf[first] = 0.0
        first += 1
    if first <= hi:
        _product_cdf(edges_sq[first:hi + 1], log_ratio, mu, su, mw, sw, cdf[first:hi + 1], work)
    return lo, hi


@nb.njit(cache=True, nogil=True)
def _expected(x, y, mode, e_bar, m_A, res, kind, p0, p1, edges, fill, weights, hist, sumw2):
    """Every event's probability to land in each bin after smearing (those >= EXPECTED_P_MIN; everything below
    the first edge is in the first bin and above the last in the last, as the copies' clamping; ``mode`` as
    :func:`_expected_cdf`): recorded as (offsets, bins, probabilities) or, with ``fill``, added at once as
    weights[i, k] x p to hist[k] (and its square to sumw2), in the order a replay of the record adds them.
    One kernel for both, compiled once."""
    n = x.size
    a2, b2, c2 = res[0] ** 2, res[1] ** 2, res[2] ** 2
    edges_sq = edges * edges
    size = 0 if fill else max(20 * n, 20)  # 15-17 entries an event in the paper's binnings
    offsets = np.zeros(0 if fill else n + 1, np.int64)
    bins = np.empty(size, np.int32)
    probs = np.empty(size)
    cdf = np.empty(edges.size)
    work = np.empty(4096)
    log_ratio = 2.0 / p1 if kind == 1 else 0.0
    n_cols = weights.shape[1]
    pos = 0
    for i in range(n):
        lo, hi = _expected_cdf(x[i], y[i], mode, e_bar, m_A, a2, b2, c2, kind, p0, p1, edges, edges_sq, log_ratio,
                               cdf, work)
        if not fill:
            offsets[i] = pos
            if pos + hi - lo + 1 > bins.size:
                grow = max(2 * bins.size, pos + hi - lo + 1)
                bins2 = np.empty(grow, np.int32)
                probs2 = np.empty(grow)
                bins2[:pos] = bins[:pos]
                probs2[:pos] = probs[:pos]
                bins, probs = bins2, probs2
        below = 0.0
        for j in range(lo, hi + 1):
            above = 1.0 if j == hi else min(1.0, max(below, cdf[j + 1]))  # monotone; the last bin takes the rest
            p = above - below
            below = above
            if p >= EXPECTED_P_MIN:
                if fill:
                    for k in range(n_cols):
                        wf = weights[i, k] * p
                        hist[k, j] += wf
                        sumw2[k, j] += wf * wf
                else:
                    bins[pos] = j
                    probs[pos] = p
                    pos += 1
    if fill:
        return offsets, bins, probs
    offsets[n] = pos
    if 4 * pos < 3 * bins.size:  # trimmed when a quarter or more is unused (a copy costs ~10 % of the record)
        return offsets, bins[:pos].copy(), probs[:pos].copy()
    return offsets, bins[:pos], probs[:pos]


_NO_WEIGHTS = np.zeros((0, 0))


def _expected_record(x, y, mode, e_bar, m_A, res, kind, p0, p1, edges):
    """Every event's probability to land in each bin after smearing: (offsets, bins, probabilities), event i's
    being ``probs[offsets[i]:offsets[i + 1]]`` for ``bins[...]`` (:func:`_expected`)."""
    return _expected(x, y, mode, e_bar, m_A, res, kind, p0, p1, edges, False, _NO_WEIGHTS, _NO_WEIGHTS, _NO_WEIGHTS)


def _expected_fill(x, y, mode, e_bar, m_A, res, kind, p0, p1, edges, weights, hist, sumw2):
    """:func:`_expected_record` and :func:`_replay_fill` in one pass, without the record (a sample filled once):
    the same sums in the same order (:func:`_expected`)."""
    _expected(x, y, mode, e_bar, m_A, res, kind, p0, p1, edges, True, weights, hist, sumw2)


# ----------------------------------------------------------------------
# Python interface


def check_smearing(smearing: str) -> str:
    """``smearing`` if it is one of :data:`SMEARINGS`, else a ParameterError."""
    if smearing not in SMEARINGS:
        raise ParameterError("smearing", smearing, f"must be one of {SMEARINGS}")
    return smearing

MODES = ("value", "sqrt_abs_v")


def _smear_fill(
    x: np.ndarray,
    weights: np.ndarray,
    binning,
    *,
    mode: str = "value",
    y: np.ndarray | None = None,
    e_bar: float = 0.0,
    m_A: float = 0.0,
    resolution: Resolution | None = None,
    n_copies: int = DEFAULT_COPIES,
    seed: int | np.random.SeedSequence | np.uint64 = 0,
    first_index: int = 0,
    smear: bool = True,
    out: tuple[np.ndarray, np.ndarray] | None = None,
    smearing: str = "copies",
) -> tuple[np.ndarray, np.ndarray]:
    """Smear each event into ``n_copies`` Gaussian copies (or its expected distribution) and fill weighted
    histograms.

    Parameters
    ----------
    x : ndarray (n,)
        The variable to histogram (mode "value", e.g. m_chichi in GeV) or
        E_gamma in GeV (mode "sqrt_abs_v").
    weights : ndarray (n,) or (n, K)
        Event weights; each column k fills its own histogram row.
    binning : Binning
        Bins of the histogrammed quantity; out-of-range values are counted in
        the first or last bin.
    mode : {"value", "sqrt_abs_v"}
        "value" histograms the smeared x; "sqrt_abs_v" histograms
        sqrt|(E' - e_bar)(m' - m_A)| from smeared E' = x and m' = y (eq. 4.8).
    y : ndarray (n,), optional
        m_chichi in GeV for mode "sqrt_abs_v".
    e_bar, m_A : float
        E_bar (4.4) and the hypothesised m_A of v (GeV), mode "sqrt_abs_v".
    resolution : Resolution, optional
        (A.1) by default.
    n_copies : int
        Gaussian copies per event, each of weight w / n_copies (A.1: 100).
    seed : int, SeedSequence or np.uint64
        Seed of the smearing streams (a np.uint64 is used as the key itself).
    first_index : int
        Global index of the first event (for filling a sample in chunks).
    smear : bool
        False fills the unsmeared values (weight w per event).
    out : (hist, sumw2), optional
        Arrays (K, n_bins) to add into, e.g. from the previous chunk.
    smearing : {"copies", "expected"}
        ``"expected"``: instead of copies, each event adds w x (its probability to land in the bin) to every
        bin (:func:`_expected_fill`; ``n_copies`` and ``seed`` are not used).

    Returns
    -------
    hist, sumw2 : ndarray (K, n_bins)
        Sum of weights and sum of squared per-event contributions (the Monte
        Carlo variance) in every bin. K = 1 for 1-d ``weights``.
    """
    if mode not in MODES:
        raise ParameterError("mode", mode, f"must be one of {MODES}")
    x = np.ascontiguousarray(x, dtype=np.float64).ravel()
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim == 1:
        w = w[:, None]
    w = np.ascontiguousarray(w)
    if w.ndim != 2 or w.shape[0] != x.size:
        raise ParameterError("weights", w.shape, f"must have shape ({x.size},) or ({x.size}, K)")
    if mode == "sqrt_abs_v":
        if y is None:
            raise ParameterError("y", None, "mode 'sqrt_abs_v' needs m_chichi as y")
        y = np.ascontiguousarray(y, dtype=np.float64).ravel()
        if y.size != x.size:
            raise ParameterError("y", y.shape, f"must have shape ({x.size},)")
    else:
        y = x
    n_copies = check_count("n_copies", n_copies, 1)
    key = seed if isinstance(seed, np.uint64) else seed_key(seed)
    if out is None:
        hist = np.zeros((w.shape[1], binning.n_bins))
        sumw2 = np.zeros_like(hist)
    else:
        hist, sumw2 = out
        if hist.shape != (w.shape[1], binning.n_bins) or sumw2.shape != hist.shape:
            raise ParameterError("out", hist.shape, f"must be two arrays of shape ({w.shape[1]}, {binning.n_bins})")
    if check_smearing(smearing) == "expected" and smear:
        _expected_fill(x, y, MODES.index(mode), float(e_bar), float(m_A),
                       (resolution if resolution is not None else Resolution()).as_array(), int(binning.kind),
                       float(binning.p0), float(binning.p1), binning.edges, w, hist, sumw2)
        return hist, sumw2
    # record and replay block by block: the recorded bins never exceed BLOCK x n_copies entries
    for lo in range(0, x.size, BLOCK):
        hi = min(x.size, lo + BLOCK)
        record = _smear_chunk(x[lo:hi], binning, mode=mode, y=y[lo:hi], e_bar=e_bar, m_A=m_A, resolution=resolution,
                              n_copies=n_copies, seed=key, first_index=first_index + lo, smear=smear, compact=False,
                              smearing=smearing)
        replay_fill(record, w[lo:hi], (hist, sumw2))
    return hist, sumw2


BLOCK = 8192
"""Events recorded at a time by :func:`_smear_fill` (bounds its temporary memory)."""


@dataclass(frozen=True)
class SmearRecord:
    """Where the smeared copies of a chunk of events landed (see :func:`_smear_record`): event i has ``counts[t]``
    of its ``n_copies`` copies in bin ``bins[t]`` for t in offsets[i]:offsets[i + 1]. Expected smearing
    (:func:`_expected_record`) records the probabilities themselves as ``counts``, with ``n_copies`` = 1."""

    offsets: np.ndarray
    bins: np.ndarray
    counts: np.ndarray
    n_copies: int

    @property
    def n_events(self) -> int:
        """Events recorded."""
        return self.offsets.size - 1


def _smear_chunk(x, binning, *, mode="value", y=None, e_bar=0.0, m_A=0.0, resolution=None, n_copies=DEFAULT_COPIES,
                 seed=0, first_index=0, smear=True, compact=True, smearing="copies") -> SmearRecord:
    """Smear each event into ``n_copies`` Gaussian copies and record the bins they land in (no weights).

    The expensive part of :func:`_smear_fill` (drawing the normals, binning), done once per sample:
    :func:`replay_fill` then fills histograms for any weights (e.g. every theta) from the record,
    with the same sums in the same order as :func:`_smear_fill`, bit for bit. Arguments as there;
    ``compact=False`` skips trimming the arrays to the entries used (a record replayed once); ``smearing="expected"``
    records each event's bin probabilities instead of copies (:func:`_expected_record`).
    """
    x = np.ascontiguousarray(x, dtype=np.float64).ravel()
    y = x if mode == "value" or y is None else np.ascontiguousarray(y, dtype=np.float64).ravel()
    n_copies = check_count("n_copies", n_copies, 1)
    res = (resolution if resolution is not None else Resolution()).as_array()
    if check_smearing(smearing) == "expected" and smear:
        offsets, probs_bins, probs = _expected_record(x, y, MODES.index(mode), float(e_bar), float(m_A), res,
                                                      int(binning.kind), float(binning.p0), float(binning.p1),
                                                      binning.edges)
        return SmearRecord(offsets, probs_bins, probs, 1)
    key = seed if isinstance(seed, np.uint64) else seed_key(seed)
    code = MODES.index(mode) + (0 if smear else 2)
    offsets, bins, counts = _smear_record(x, y, code, float(e_bar), float(m_A), res, n_copies, key, int(first_index),
                                          int(binning.kind), float(binning.p0), float(binning.p1), binning.edges)
    if compact:
        bins, counts = bins[:offsets[-1]].copy(), counts[:offsets[-1]].copy()
    return SmearRecord(offsets, bins, counts, n_copies)


def replay_fill(record: SmearRecord, weights: np.ndarray, out: tuple[np.ndarray, np.ndarray]) -> None:
    """Add the weighted copies of a :class:`SmearRecord` into ``out = (hist, sumw2)``, arrays (K, n_bins).

    ``weights``: (n_events, K). Each event adds weights[i, k] x (copies in the bin) / n_copies to every bin
    its copies reached, and the square of that to sumw2.
    """
    w = np.ascontiguousarray(weights, dtype=np.float64)
    if w.ndim != 2 or w.shape[0] != record.n_events:
        raise ParameterError("weights", w.shape, f"must have shape ({record.n_events}, K)")
    _replay_fill(record.offsets, record.bins, record.counts, record.n_copies, w, out[0], out[1])


def _smear_fill_reference(
    x, weights, binning, *, mode="value", y=None, e_bar=0.0, m_A=0.0, resolution=None,
    n_copies=DEFAULT_COPIES, seed=0, first_index=0,
):
    """Plain numpy version of :func:`_smear_fill` that materialises all copies (tests only).

    Uses the same normals (:func:`normals`), so the two agree to rounding.
    """
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    w = w[:, None] if w.ndim == 1 else w
    res = resolution if resolution is not None else Resolution()
    key = seed if isinstance(seed, np.uint64) else seed_key(seed)
    per_event = n_copies if mode == "value" else 2 * n_copies
    z = normals(key, first_index, x.size, per_event)
    if mode == "value":
        vals = x[:, None] + np.asarray(res.sigma(x))[:, None] * z[:, :n_copies]
    else:
        y = np.asarray(y, dtype=np.float64)
        e = x[:, None] + np.asarray(res.sigma(x))[:, None] * z[:, 0::2]
        m = y[:, None] + np.asarray(res.sigma(y))[:, None] * z[:, 1::2]
        vals = np.sqrt(np.abs((e - e_bar) * (m - m_A)))
    idx = binning.index(vals.ravel()).reshape(vals.shape)
    hist = np.zeros((w.shape[1], binning.n_bins))
    sumw2 = np.zeros_like(hist)
    for k in range(w.shape[1]):
        np.add.at(hist[k], idx.ravel(), np.repeat(w[:, k] / n_copies, n_copies))
        # per-event contribution to each bin: w * (copies in bin) / n_copies
        for i in range(x.size):
            contrib = np.bincount(idx[i], minlength=binning.n_bins) * (w[i, k] / n_copies)
            sumw2[k] += contrib**2
    return hist, sumw2
