"""Probability that the dark Higgs decays inside a detector region, eqs. (3.1)-(3.2).

A phi with lab transverse momentum p_T, mass m_phi and width Gamma_phi flies a
mean transverse distance (the decay length projected on the plane transverse
to the beam pipe)

    d = p_T / (Gamma_phi m_phi)  x hbar c      (mm)

and decays between the cylinders r_in and r_out with probability

    p = exp(-r_in / d) - exp(-r_out / d).

Each event's weight w^0 becomes w = p w^0. Regions are annular cylinders
around the beam pipe (table 1); the analysis uses the uninstrumented region by
default.

Numerics: written as ``exp(-r_in/d) * -expm1(-(r_out - r_in)/d)``, p keeps
full relative precision both for d -> infinity (theta -> 0, where p ~
(r_out - r_in)/d and the naive difference of two exponentials near 1
cancels) and for d -> 0 (where both terms underflow gracefully to 0).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._jit import nb
from ..errors import ParameterError, check_finite, check_nonnegative
from ..physics.constants import HBAR_C_GEV_MM


@dataclass(frozen=True)
class Region:
    """An annular cylinder r_in <= sqrt(x^2 + y^2) <= r_out around the beam pipe (mm)."""

    name: str
    r_in: float
    r_out: float

    def __post_init__(self):
        r_in = check_nonnegative(f"regions[{self.name!r}].r_in", self.r_in)
        try:
            r_out = float(self.r_out)
        except (TypeError, ValueError):
            raise ParameterError(f"regions[{self.name!r}].r_out", self.r_out, "must be a number (inf allowed)") from None
        if math.isnan(r_out) or not r_out > r_in:
            raise ParameterError(f"regions[{self.name!r}].r_out", self.r_out, f"must be > r_in = {r_in} mm (inf allowed)")


REGIONS: dict[str, Region] = {
    r.name: r
    for r in (
        Region("prompt", 0.0, 2.0),
        Region("uninstrumented", 2.0, 9.0),
        Region("instrumented", 9.0, 1100.0),
        Region("invisible", 1100.0, math.inf),
        Region("all", 0.0, math.inf),
    )
}
"""The regions of the paper's table 1 (mm)."""

DEFAULT_REGION = "uninstrumented"


def get_region(region: str | Region | tuple[float, float]) -> Region:
    """A :class:`Region` from a table-1 name, a Region or an ``(r_in, r_out)`` pair in mm."""
    if isinstance(region, Region):
        return region
    if isinstance(region, str):
        try:
            return REGIONS[region]
        except KeyError:
            raise ParameterError("region", region, f"must be one of {', '.join(REGIONS)} or (r_in, r_out) in mm") from None
    try:
        r_in, r_out = region
    except (TypeError, ValueError):
        raise ParameterError("region", region, f"must be one of {', '.join(REGIONS)} or (r_in, r_out) in mm") from None
    try:
        return Region(f"({r_in}, {r_out})", r_in, r_out)
    except ParameterError as exc:  # a user's pair: name the parameter they gave
        raise ParameterError("region", region, f"(r_in, r_out) in mm: {exc.allowed}") from None


@nb.njit(cache=True, nogil=True)
def _probability(d, r_in, r_out):
    if d <= 0.0:
        # at rest (or zero lifetime) the phi decays at r = 0
        return 1.0 if r_in == 0.0 else 0.0
    a = r_in / d
    if a > 746.0:
        return 0.0  # exp(-a) underflows to exactly 0 beyond a = 745.13: skip both exponentials
    head = math.exp(-a)
    if r_out == math.inf:
        return head
    b = (r_out - r_in) / d
    if b > 40.0:
        return head  # expm1(-b) is exactly -1.0 beyond b = 38.9 (e^-b below half an ulp of 1)
    return head * -math.expm1(-b)


@nb.njit(cache=True, nogil=True)
def _probability_array(d, r_in, r_out, out):
    for i in range(d.size):
        out[i] = _probability(d[i], r_in, r_out)


def decay_probability(d_mm: np.ndarray | float, region: str | Region | tuple[float, float] = DEFAULT_REGION) -> np.ndarray | float:
    """p = exp(-r_in/d) - exp(-r_out/d) for transverse decay lengths ``d_mm`` (mm), eq. (3.1)."""
    reg = get_region(region)
    d = np.ascontiguousarray(d_mm, dtype=np.float64)
    if np.any(np.isnan(d)) or np.any(d < 0):
        raise ParameterError("d_mm", "array with NaN or negative entries", "decay lengths must be >= 0")
    out = np.empty(d.size)
    _probability_array(d.ravel(), float(reg.r_in), float(reg.r_out), out)
    return out.reshape(d.shape) if d.ndim else float(out[0])


def decay_probability_reference(d_mm, region=DEFAULT_REGION) -> np.ndarray:
    """Plain numpy eq. (3.1), the naive difference of exponentials (tests use it as the reference)."""
    reg = get_region(region)
    d = np.asarray(d_mm, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.exp(-reg.r_in / d) - np.exp(-reg.r_out / d)


def transverse_decay_length(p_t: np.ndarray, m_phi: float, width_phi: float) -> np.ndarray:
    """d = p_T hbar c / (Gamma_phi m_phi) in mm, eq. (3.2); p_T, m_phi, Gamma_phi in GeV."""
    m_phi = check_finite("m_phi", m_phi)
    width_phi = check_finite("width_phi", width_phi)
    if not m_phi > 0 or not width_phi > 0:
        raise ParameterError("m_phi, width_phi", (m_phi, width_phi), "must both be > 0")
    return np.asarray(p_t, dtype=np.float64) * (HBAR_C_GEV_MM / (width_phi * m_phi))


@nb.njit(cache=True, nogil=True)
def _probability_matrix(d_ref, scale, r_in, r_out, out):
    # d(theta_k) = d_ref / scale[k]  (scale = Gamma(theta_k) / Gamma(theta_ref))
    n, k_max = out.shape
    for i in range(n):
        for k in range(k_max):
            out[i, k] = _probability(d_ref[i] / scale[k], r_in, r_out)


def decay_probabilities(
    d_ref_mm: np.ndarray, width_scale: np.ndarray, region: str | Region | tuple[float, float] = DEFAULT_REGION
) -> np.ndarray:
    """Probabilities (n_events, n_points) for decay lengths ``d_ref / width_scale[k]``.

    Lets one set of events be reweighted for many widths at once: Gamma_phi
    is proportional to sin^2(theta), so ``width_scale[k] = sin^2(theta_k) /
    sin^2(theta_ref)``.
    """
    reg = get_region(region)
    d = np.ascontiguousarray(d_ref_mm, dtype=np.float64).ravel()
    s = np.ascontiguousarray(width_scale, dtype=np.float64).ravel()
    if np.any(~(s > 0)):
        raise ParameterError("width_scale", "entries <= 0", "every width ratio must be > 0")
    out = np.empty((d.size, s.size))
    _probability_matrix(d, s, float(reg.r_in), float(reg.r_out), out)
    return out
