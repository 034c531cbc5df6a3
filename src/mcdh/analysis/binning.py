"""Histogram binnings of the analysis variables (docs/physics-notes.md section 9, paper eq. (4.10)).

* gamma-phi: sqrt|v| with e_0 = 0, e_1 = 0.01 GeV and relative bin width
  (e_{i+1} - e_i) / (1/2 (e_{i+1} + e_i)) = 30 %, i.e. geometric edges
  e_{i+1} = e_i (1 + 0.15) / (1 - 0.15) from e_1 on, with as many bins as
  needed to hold every event.
* phi: m_chichi in bins of constant width ``width_sigma`` x sigma(m_A), the
  detector resolution (A.1) at the dark-photon mass, laid out so that one bin
  is centred on m_A (the bin the window search starts from, paper section
  4.2). The paper does not state its m_chichi binning. One resolution per bin
  is the finest binning whose contents are stable under the smearing (the
  criterion of appendix A.2): a signal peak of width ~max(Gamma_A, sigma)
  spans a few bins, so the window search can trade signal against
  background bin by bin.

A :class:`Binning` knows how to find a bin quickly (closed form for uniform
and geometric edges), which the numba kernels use; values outside the edges
are counted in the first or last bin, so the histogram holds every event.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError, check_finite, check_positive
from .smearing import Resolution

UNIFORM, GEOMETRIC, VARIABLE = 0, 1, 2


@dataclass(frozen=True, eq=False)
class Binning:
    """Bin edges plus the closed-form rule that finds a bin.

    Attributes
    ----------
    edges : ndarray
        Increasing bin edges (n_bins + 1).
    kind : int
        UNIFORM (p0 = first edge, p1 = 1 / width), GEOMETRIC (edges 0, p0,
        p0 r, p0 r^2, ...; p1 = 1 / log r) or VARIABLE (binary search).
    p0, p1 : float
        Parameters of the rule (see ``kind``).
    label : str
        Axis label with units.
    """

    edges: np.ndarray
    kind: int = VARIABLE
    p0: float = 0.0
    p1: float = 0.0
    label: str = ""

    def __post_init__(self):
        e = np.ascontiguousarray(self.edges, dtype=np.float64)
        if e.ndim != 1 or e.size < 2 or not np.all(np.isfinite(e)) or np.any(np.diff(e) <= 0):
            raise ParameterError("edges", e.tolist()[:5], "need at least two finite, strictly increasing edges")
        object.__setattr__(self, "edges", e)

    @property
    def n_bins(self) -> int:
        """Number of bins."""
        return self.edges.size - 1

    @property
    def centers(self) -> np.ndarray:
        """Bin centres."""
        return 0.5 * (self.edges[1:] + self.edges[:-1])

    @property
    def widths(self) -> np.ndarray:
        """Bin widths."""
        return np.diff(self.edges)

    def index(self, x: np.ndarray) -> np.ndarray:
        """Bin of each value, out-of-range values clamped into the first/last bin (numpy reference)."""
        i = np.searchsorted(self.edges, np.asarray(x, dtype=np.float64), side="right") - 1
        return np.clip(i, 0, self.n_bins - 1)

    def find(self, x: float) -> int:
        """Bin holding ``x`` (clamped)."""
        return int(self.index(np.array([x]))[0])


def uniform_binning(lo: float, hi: float, width: float, center: float | None = None, label: str = "") -> Binning:
    """Equal bins of ``width`` covering [lo, hi]; if given, one bin is centred on ``center``."""
    lo, hi = check_finite("lo", lo), check_finite("hi", hi)
    width = check_positive("width", width)
    if not hi > lo:
        raise ParameterError("hi", hi, f"must be > lo = {lo}")
    origin = lo if center is None else center - 0.5 * width
    j_lo = math.floor((lo - origin) / width)
    j_hi = math.ceil((hi - origin) / width)
    if j_hi - j_lo > 5_000_000:
        raise ParameterError("width", width, f"gives {j_hi - j_lo} bins on [{lo}, {hi}]; use a wider bin")
    edges = origin + width * np.arange(j_lo, j_hi + 1)
    return Binning(edges, UNIFORM, float(edges[0]), 1.0 / width, label)


def mchichi_binning(
    m_A: float,
    m_min: float,
    m_max: float,
    width_sigma: float = 1.0,
    resolution: Resolution | None = None,
    margin_sigma: float = 6.0,
) -> Binning:
    """The phi-channel m_chichi binning: width ``width_sigma`` x sigma(m_A), one bin centred on m_A.

    Parameters
    ----------
    m_A : float
        Hypothesised dark-photon mass (GeV).
    m_min, m_max : float
        Kinematic range of m_chichi (GeV), e.g. 2 m_chi and sqrt_s - m_phi.
    width_sigma : float
        Bin width in units of the resolution sigma(m_A) of (A.1).
    resolution : Resolution, optional
        Detector resolution (default: A.1).
    margin_sigma : float
        The edges extend this many resolutions beyond [m_min, m_max], so the
        smeared tails land in their own bins.
    """
    res = resolution if resolution is not None else Resolution()
    m_A = check_positive("m_A", m_A)
    width_sigma = check_positive("width_sigma", width_sigma)
    w = width_sigma * float(res.sigma(m_A))
    lo = max(0.0, m_min - margin_sigma * float(res.sigma(m_min)))
    hi = m_max + margin_sigma * float(res.sigma(m_max))
    return uniform_binning(lo, hi, w, center=m_A, label=r"$m_{\chi\chi}$ [GeV]")


def v_binning(max_value: float, e1: float = 0.01, step: float = 0.30) -> Binning:
    """The gamma-phi sqrt|v| binning (4.10): edges 0, e1, then relative width ``step``, up to ``max_value``.

    Parameters
    ----------
    max_value : float
        Largest sqrt|v| (GeV) to hold; the last edge is the first one above it.
    e1 : float
        First non-zero edge (GeV), 0.01 in the paper.
    step : float
        (e_{i+1} - e_i) / (1/2 (e_{i+1} + e_i)), 0.30 in the paper (0 < step < 2).
    """
    e1 = check_positive("e1", e1)
    step = check_positive("step", step)
    if not step < 2.0:
        raise ParameterError("step", step, "must be < 2 (relative width of a bin to its centre)")
    max_value = check_finite("max_value", max_value)
    ratio = (1.0 + step / 2.0) / (1.0 - step / 2.0)
    n_geo = max(1, math.ceil(math.log(max(max_value, e1) / e1) / math.log(ratio) + 1e-12))
    if max_value >= e1 * ratio**n_geo:
        n_geo += 1
    edges = np.concatenate([[0.0], e1 * ratio ** np.arange(n_geo + 1)])
    return Binning(edges, GEOMETRIC, e1, 1.0 / math.log(ratio), r"$\sqrt{|v|}$ [GeV]")


def sqrt_abs_v_max(sqrt_s: float, m_A: float, m_min: float) -> float:
    """Largest kinematically possible sqrt|v| (GeV) for photon energies in [0, sqrt_s/2] and m_chichi in [m_min, sqrt_s]."""
    e_bar = (sqrt_s**2 - m_A**2) / (2.0 * sqrt_s)
    de = max(e_bar, 0.5 * sqrt_s - e_bar)
    dm = max(abs(m_A - m_min), sqrt_s - m_A)
    return math.sqrt(de * dm)
