"""Signal histograms at any Higgs mixing in microseconds: moments of the events' inverse decay lengths.

With smearing recorded as bin probabilities p_ib (:func:`~mcdh.analysis.smearing._expected_record`), the
signal histogram at mixing theta is

    H_b(s) = sum_i c_ib [exp(-s r_in lambda_i) - exp(-s r_out lambda_i)] = L_b(s r_in) - L_b(s r_out),

with s = sin^2(theta), c_ib = w_i p_ib (expected events times bin probability), lambda_i = 1 / d_i the
inverse transverse decay length at sin(theta) = 1 (eq. 3.1-3.2: d = d_1 / s), and L_b(y) = sum_i c_ib
exp(-y lambda_i). The events are grouped by lambda in bins of width DELTA in log lambda; in a group with
centre lambda_q, u = lambda / lambda_q - 1 is below DELTA / 2 (+ 1 %) in size, and

    exp(-y lambda) = exp(-x) sum_m (-x u)^m / m!,   x = y lambda_q,

so L_b(y) = sum_q exp(-x_q) sum_{m < ORDER} (-x_q)^m / m! nu_qbm with the moments nu_qbm = sum_{i in q}
c_ib u_i^m, made once per point; the difference L_b(s r_in) - L_b(s r_out) is taken term by term (no
cancellation for long-lived phi, where both exponentials are near 1). The series is cut after ORDER terms:
with |x u| <= 0.41 (x <= X_MAX) the remainder is below 4e-11 of the group's term; groups with x > X_MAX
hold less than exp(-39.6) = 6e-18 of their events' weight, and are dropped (a histogram that small is no
signal for any statistic). Each histogram then costs (groups x ORDER) + (cells x ORDER)
operations, not (events x bins): the band search's theta values come at about 1 % of a replay of the
record, and agree with it to ~1e-10 (a test compares them).
"""
from __future__ import annotations

import math

import numpy as np

from .._jit import nb
from ..errors import ParameterError
from .smearing import SmearRecord

DELTA = 0.02
"""Width of the groups in log lambda."""
ORDER = 10
"""Terms of the series in each group."""
X_MAX = 40.0
"""Groups with y lambda_q above this are dropped (exp(-40 (1 - 1 %)) < 1e-17 of their weight)."""


@nb.njit(cache=True, nogil=True)
def _mark_cells(group, offsets, bins, n_bins, cell_of):
    """cell_of[group * n_bins + bin] = 0 for every (group, bin) a record's entries reach (group -1: an event left
    out)."""
    for i in range(offsets.size - 1):
        if group[i] >= 0:
            for t in range(offsets[i], offsets[i + 1]):
                cell_of[group[i] * n_bins + bins[t]] = 0


@nb.njit(cache=True, nogil=True)
def _add_moments(group, u, weights, offsets, bins, probs, n_bins, cell_of, nu):
    """nu[cell, m] += sum w p u^m over a record's entries."""
    n_moments = nu.shape[1]
    power = np.empty(n_moments)  # w_i u_i^m: made once per event, so each entry's terms are independent
    for i in range(offsets.size - 1):
        if group[i] >= 0:
            power[0] = weights[i]
            for m in range(1, n_moments):
                power[m] = power[m - 1] * u[i]
            for t in range(offsets[i], offsets[i + 1]):
                c = cell_of[group[i] * n_bins + bins[t]]
                p = probs[t]
                for m in range(n_moments):
                    nu[c, m] += p * power[m]


def _dense_groups(bucket: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of ``bucket`` in order and each entry's index among them (np.unique's, without its sort
    when the values span less than a few times their number)."""
    if bucket.size == 0:
        return bucket, np.zeros(0, np.int64)
    low = int(bucket.min())
    span = int(bucket.max()) - low + 1
    if span > 4 * bucket.size:
        return np.unique(bucket, return_inverse=True)
    seen = np.zeros(span, np.bool_)
    seen[bucket - low] = True
    rank = np.cumsum(seen) - 1
    return np.flatnonzero(seen) + low, rank[bucket - low]


@nb.njit(cache=True, nogil=True)
def _histogram(y1, y2, centres, cell_group, cell_bin, nu, out):
    """out[b] = L_b(y1) - L_b(y2) from the moments (y2 may be infinite). The difference is taken term by term,
    the leading one as exp(-x1) (-expm1(x1 - x2)): no cancellation where both exponentials are near 1."""
    n_groups, order = centres.size, nu.shape[1]
    coef = np.zeros((n_groups, order))
    live = np.zeros(n_groups, np.bool_)
    for q in range(n_groups):
        x1, x2 = y1 * centres[q], y2 * centres[q]
        if x1 > X_MAX:
            continue
        live[q] = True
        e1 = math.exp(-x1)
        far = not x2 <= X_MAX  # also an infinite r_out
        coef[q, 0] = e1 if far else e1 * -math.expm1(x1 - x2)
        t1, t2 = e1, 0.0 if far else math.exp(-x2)
        for m in range(1, order):
            t1 *= -x1 / m
            t2 *= -x2 / m
            coef[q, m] = t1 - t2
    for c in range(cell_group.size):
        q = cell_group[c]
        if live[q]:
            s = 0.0
            for m in range(order):
                s += coef[q, m] * nu[c, m]
            out[cell_bin[c]] += s


class DecayMoments:
    """The moments of one sample's recorded bin probabilities, ready to give its histogram at any theta.

    Parameters
    ----------
    d_unit : ndarray (n,)
        Transverse decay lengths at sin(theta) = 1 (mm).
    weights : ndarray (n,)
        Expected events of each event before the decay probability.
    records : list of SmearRecord
        The sample's expected smearing, chunk after chunk (probabilities as ``counts``, ``n_copies`` = 1).
    n_bins : int
        Bins of the histogram.
    r_in, r_out : float
        The decay region (mm); r_out may be infinite.
    """

    def __init__(self, d_unit: np.ndarray, weights: np.ndarray, records: list[SmearRecord], n_bins: int,
                 r_in: float, r_out: float):
        if any(rec.n_copies != 1 for rec in records):
            raise ParameterError("records", "copies", "decay moments need expected smearing (bin probabilities)")
        with np.errstate(divide="ignore"):
            lam = 1.0 / np.asarray(d_unit, dtype=np.float64)
        usable = np.isfinite(lam) & (lam > 0)  # d = 0 never reaches the region
        bucket = np.floor(np.log(np.where(usable, lam, 1.0)) / DELTA).astype(np.int64)
        # the groups that hold events, numbered in order (however wide the range of decay lengths)
        occupied, inverse = _dense_groups(bucket[usable])
        group = np.full(lam.size, -1, np.int64)
        group[usable] = inverse
        self.centres = np.exp((occupied + 0.5) * DELTA)
        u = np.zeros(lam.size)
        u[usable] = lam[usable] / self.centres[inverse] - 1.0
        weights = np.ascontiguousarray(weights, dtype=np.float64)
        self.n_bins = int(n_bins)
        self.r_in, self.r_out = float(r_in), float(r_out)
        # the cells (group, bin) with content, numbered in (group, bin) order, so an event's bins are
        # neighbouring cells; at most (events x bins), in practice (a few hundred groups x bins)
        cell_of = np.full(occupied.size * self.n_bins, -1, np.int32)
        starts = np.cumsum([0] + [rec.n_events for rec in records])
        for rec, a in zip(records, starts):
            _mark_cells(group[a:a + rec.n_events], rec.offsets, rec.bins, self.n_bins, cell_of)
        keys = np.flatnonzero(cell_of == 0)
        cell_of[keys] = np.arange(keys.size)
        self.cell_group, self.cell_bin = keys // self.n_bins, keys % self.n_bins
        self.nu = np.zeros((keys.size, ORDER))
        for rec, a in zip(records, starts):
            _add_moments(group[a:a + rec.n_events], u[a:a + rec.n_events], weights[a:a + rec.n_events],
                         rec.offsets, rec.bins, rec.counts, self.n_bins, cell_of, self.nu)

    def hist(self, theta: float) -> np.ndarray:
        """The histogram at mixing ``theta``: sum_i w_i p_i(theta) p_ib."""
        s = math.sin(theta) ** 2
        out = np.zeros(self.n_bins)
        _histogram(s * self.r_in, s * self.r_out, self.centres, self.cell_group, self.cell_bin, self.nu, out)
        return out
