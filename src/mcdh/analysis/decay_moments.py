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
def _build(group, u, weights, offsets, bins, probs, n_bins, n_groups, n_moments):
    """Cells (group, bin) with content and their moments nu[cell, m] = sum c u^m over the record's entries (group
    -1: an event left out). The groups are the occupied ones, numbered densely: the map of cells is at most
    (events x bins) and in practice (a few hundred groups x bins)."""
    cell_of = np.full(n_groups * n_bins, -1, np.int32)
    n_cells = 0
    for i in range(offsets.size - 1):
        if group[i] >= 0:
            for t in range(offsets[i], offsets[i + 1]):
                key = group[i] * n_bins + bins[t]
                if cell_of[key] < 0:
                    cell_of[key] = n_cells
                    n_cells += 1
    cell_group = np.empty(n_cells, np.int64)
    cell_bin = np.empty(n_cells, np.int64)
    for key in range(cell_of.size):
        c = cell_of[key]
        if c >= 0:
            cell_group[c] = key // n_bins
            cell_bin[c] = key % n_bins
    nu = np.zeros((n_cells, n_moments))
    for i in range(offsets.size - 1):
        if group[i] >= 0:
            for t in range(offsets[i], offsets[i + 1]):
                c = cell_of[group[i] * n_bins + bins[t]]
                term = weights[i] * probs[t]
                for m in range(n_moments):
                    nu[c, m] += term
                    term *= u[i]
    return cell_group, cell_bin, nu


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
        occupied, inverse = np.unique(bucket[usable], return_inverse=True)
        group = np.full(lam.size, -1, np.int64)
        group[usable] = inverse
        self.centres = np.exp((occupied + 0.5) * DELTA)
        u = np.zeros(lam.size)
        u[usable] = lam[usable] / self.centres[inverse] - 1.0
        offsets = np.concatenate([[0], np.cumsum([rec.offsets[-1] for rec in records])])
        all_offsets = np.concatenate([rec.offsets[:-1] + o for rec, o in zip(records, offsets[:-1])] + [offsets[-1:]])
        self.n_bins = int(n_bins)
        self.r_in, self.r_out = float(r_in), float(r_out)
        self.cell_group, self.cell_bin, self.nu = _build(
            group, u, np.ascontiguousarray(weights, dtype=np.float64), all_offsets.astype(np.int64),
            np.concatenate([rec.bins for rec in records]), np.concatenate([rec.counts for rec in records]),
            self.n_bins, occupied.size, ORDER)

    def hist(self, theta: float) -> np.ndarray:
        """The histogram at mixing ``theta``: sum_i w_i p_i(theta) p_ib."""
        s = math.sin(theta) ** 2
        out = np.zeros(self.n_bins)
        _histogram(s * self.r_in, s * self.r_out, self.centres, self.cell_group, self.cell_bin, self.nu, out)
        return out
