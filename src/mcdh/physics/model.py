"""The dark sector: A', Dirac dark matter chi and the dark Higgs phi (paper section 2).

A :class:`DarkSector` holds every parameter the rates depend on and checks
them once, at construction. Benchmarks B1-B3 fix the mass ratios
(m_A, m_chi, m_phi) = m_A (1, 1/3, 1/6), (1, 1/4, 1/6), (1, 1/4, 1/8).

How the user parameters scale the rates
---------------------------------------
The phi cross section is proportional to ``eps**2 * alpha_em * q_phi**2``
(the e e A' vertex is ``eps e``; the A'A'phi vertex is ``2 q_phi g_chi
m_A``); the gamma-phi cross section carries one more e^2 from the photon
emission, so it scales as ``eps**2 * alpha_em**2 * q_phi**2``. Both are
times a function of g_chi that is flat while BR(A' -> chi chibar) is close
to 1 (paper section 2). (alpha_em also enters Gamma_A through A' -> l l, an
eps^2-suppressed, negligible effect.) ``kinetic_mixing``
picks what eps multiplies: ``"photon"`` (default, the paper's text and
docs/physics-notes.md: the A' couples to eps e J_em) or ``"hypercharge"`` (eps mixes
with hypercharge, so the coupling to J_em is eps e cos(theta_W) and every
eps-dependent rate is multiplied by cos^2(theta_W) = 0.769). The phi decay
width scales as sin^2(theta) and does not depend on the production
parameters.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ..errors import ParameterError, check_finite, check_positive
from .constants import ALPHA_EM, SIN2_THETA_W, SQRT_S
from .widths import check_width_model, ctau_mm, dark_higgs_widths, dark_photon_widths

BENCHMARKS: dict[str, tuple[float, float]] = {
    "B1": (1.0 / 3.0, 1.0 / 6.0),
    "B2": (1.0 / 4.0, 1.0 / 6.0),
    "B3": (1.0 / 4.0, 1.0 / 8.0),
}
"""(m_chi / m_A, m_phi / m_A) of the benchmarks, eqs. (2.7)-(2.9)."""

RELIC_COEFFICIENT_GEV: dict[str, float] = {"B1": 0.89, "B2": 0.07, "B3": 0.66}
"""C_B of m_chi^relic = C_B g_chi^4, eqs. (2.11)-(2.13), GeV."""

KINETIC_MIXING = ("photon", "hypercharge")


def check_eps(eps: Any, parameter: str = "eps") -> float:
    """Kinetic mixing: a number in (0, 1]."""
    e = check_positive(parameter, eps)
    if e > 1.0:
        raise ParameterError(parameter, eps, "must be in (0, 1] (kinetic mixing)")
    return e


THETA_MIN = 1e-12
"""The smallest non-zero Higgs mixing angle (rad): below, the phi's width, ~sin^2 theta, leaves the range where
the decay probabilities are computed with double precision (and the phi is stable at any experiment)."""


def check_theta(theta: Any, parameter: str = "theta", *, allow_zero: bool = False) -> float:
    """Higgs mixing angle: a number in [THETA_MIN, pi/2] rad (or 0 with ``allow_zero``: a stable phi)."""
    t = check_finite(parameter, theta)
    if not ((THETA_MIN <= t or (allow_zero and t == 0.0)) and t <= math.pi / 2):
        raise ParameterError(parameter, theta, f"must be in [{THETA_MIN:g}, pi/2] rad (Higgs mixing angle)"
                             + (" or 0 (a stable phi)" if allow_zero else ""))
    return t


def _check_benchmark(name: Any) -> str:
    key = str(name).upper()
    if key not in BENCHMARKS:
        raise ParameterError("benchmark", name, f"must be one of {', '.join(BENCHMARKS)}")
    return key


COUPLING_MAX = 4.0 * math.pi
"""Largest g_chi and q_phi a DarkSector accepts (results above sqrt(4 pi) are flagged as beyond perturbativity)."""
MASS_MIN, COUPLING_MIN = 1e-6, 1e-12
"""Smallest masses (GeV: 1 keV) and couplings (g_chi, q_phi, eps, alpha_em) a DarkSector accepts."""


def m_chi_relic(benchmark: str, g_chi: float) -> float:
    """Dark-matter mass (GeV) giving the observed relic density, eqs. (2.11)-(2.13)."""
    g = check_positive("g_chi", g_chi)
    return RELIC_COEFFICIENT_GEV[_check_benchmark(benchmark)] * g**4


def g_chi_relic(benchmark: str, m_chi: float) -> float:
    """The g_chi that reproduces the relic density for ``m_chi`` (GeV): (m_chi / C_B)^(1/4)."""
    m = check_positive("m_chi", m_chi)
    return (m / RELIC_COEFFICIENT_GEV[_check_benchmark(benchmark)]) ** 0.25


@dataclass(frozen=True)
class DarkSector:
    """Parameters of the model (masses in GeV).

    Parameters
    ----------
    m_A, m_chi, m_phi : float
        Dark photon, dark matter and dark Higgs masses. Required:
        m_A > 2 m_chi + m_phi (A' -> chi chibar phi open), m_chi > m_phi
        (phi -> chi chibar closed) and m_A + m_phi < sqrt_s.
    g_chi : float
        Dark gauge coupling of chi (g' with q_chi = 1). Default 1.
    eps : float
        Kinetic mixing. Default 1e-4.
    theta : float
        Higgs mixing angle in radians, 0 <= theta <= pi/2. Default 1e-4.
    q_phi : float
        U(1)' charge of the dark Higgs (paper eq. (2.1): 1); m_A = q_phi g_chi w.
    alpha_em : float
        Fine-structure constant used at the e e gamma and e e A' vertices.
    kinetic_mixing : {"photon", "hypercharge"}
        See the module docstring.
    sqrt_s : float
        Collider energy in GeV (only used by the validity check).
    width_model : {"winkler", "dgl", "btpz"}
        Hadronic phi widths: the shipped Winkler tables (default, the
        paper's) or the corrected dispersive widths (central values,
        :mod:`mcdh.physics.dispersive`). The envelope of all of them is a
        band, not a model: ``Study(width_model="envelope")``.
    benchmark : str or None
        The benchmark the masses came from, if any (a label).
    """

    m_A: float
    m_chi: float
    m_phi: float
    g_chi: float = 1.0
    eps: float = 1e-4
    theta: float = 1e-4
    q_phi: float = 1.0
    alpha_em: float = ALPHA_EM
    kinetic_mixing: str = "photon"
    sqrt_s: float = SQRT_S
    width_model: str = "winkler"
    benchmark: str | None = None

    def __post_init__(self):
        for name in ("m_A", "m_chi", "m_phi", "g_chi", "eps", "q_phi", "alpha_em", "sqrt_s"):
            object.__setattr__(self, name, check_positive(name, getattr(self, name)))
        object.__setattr__(self, "theta", check_theta(self.theta, allow_zero=True))
        check_eps(self.eps)
        for name, least in (("m_A", MASS_MIN), ("m_chi", MASS_MIN), ("m_phi", MASS_MIN), ("g_chi", COUPLING_MIN),
                            ("q_phi", COUPLING_MIN), ("eps", COUPLING_MIN), ("alpha_em", COUPLING_MIN)):
            if not getattr(self, name) >= least:  # below, widths and rates underflow: no finite answer
                raise ParameterError(name, getattr(self, name), f"must be at least {least:g} (smaller values underflow "
                                     "the widths and rates of double precision)")
        for name in ("g_chi", "q_phi"):  # beyond 4 pi no perturbative (or finite) answer exists
            if not getattr(self, name) <= COUPLING_MAX:
                raise ParameterError(name, getattr(self, name), f"must be at most 4 pi = {COUPLING_MAX:.4g} (the model "
                                     "is perturbative below sqrt(4 pi); reaches beyond are reported as such)")
        if not self.alpha_em < 1.0:
            raise ParameterError("alpha_em", self.alpha_em, "must be in (0, 1)")
        if self.kinetic_mixing not in KINETIC_MIXING:
            raise ParameterError("kinetic_mixing", self.kinetic_mixing, f"must be one of {KINETIC_MIXING}")
        check_width_model(self.width_model)
        if self.benchmark is not None:
            object.__setattr__(self, "benchmark", _check_benchmark(self.benchmark))
        masses = (self.m_A, self.m_chi, self.m_phi)
        if not self.m_A > 2.0 * self.m_chi + self.m_phi:
            raise ParameterError(
                "masses", masses,
                f"need m_A > 2 m_chi + m_phi (A' -> chi chibar phi open): {self.m_A:g} <= {2 * self.m_chi + self.m_phi:g}",
            )
        if not self.m_chi > self.m_phi:
            raise ParameterError(
                "masses", masses, f"need m_chi > m_phi (phi -> chi chibar closed): {self.m_chi:g} <= {self.m_phi:g}"
            )
        if not self.m_A + self.m_phi < self.sqrt_s:
            raise ParameterError(
                "masses", masses,
                f"need m_A + m_phi < sqrt_s = {self.sqrt_s:g} GeV (e+e- -> A' phi open): {self.m_A + self.m_phi:g}",
            )

    # ------------------------------------------------------------------
    @classmethod
    def from_benchmark(cls, benchmark: str, m_A: float, **kwargs) -> DarkSector:
        """The benchmark masses for dark-photon mass ``m_A`` (GeV), eqs. (2.7)-(2.9)."""
        key = _check_benchmark(benchmark)
        m_A = check_positive("m_A", m_A)
        r_chi, r_phi = BENCHMARKS[key]
        return cls(m_A=m_A, m_chi=r_chi * m_A, m_phi=r_phi * m_A, benchmark=key, **kwargs)

    def replace(self, **changes) -> DarkSector:
        """A copy with some parameters changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """The model's parameters in JSON form (what files record)."""
        return dataclasses.asdict(self)

    # ------------------------------------------------------------------
    @property
    def e(self) -> float:
        """Electromagnetic coupling sqrt(4 pi alpha_em)."""
        return math.sqrt(4.0 * math.pi * self.alpha_em)

    @property
    def eps_eff(self) -> float:
        """Mixing parameter multiplying e J_em: eps, or eps cos(theta_W) for hypercharge mixing."""
        if self.kinetic_mixing == "hypercharge":
            return self.eps * math.sqrt(1.0 - SIN2_THETA_W)
        return self.eps

    @property
    def g_AAphi(self) -> float:
        """A'A'phi coupling 2 q_phi g_chi m_A (GeV)."""
        return 2.0 * self.q_phi * self.g_chi * self.m_A

    @cached_property
    def widths_A(self) -> dict[str, float]:
        """Partial widths of the A' in GeV: chichi, ee, mumu, tautau, chichiphi."""
        return dark_photon_widths(self.m_A, self.m_chi, self.m_phi, self.g_chi, self.q_phi, self.eps_eff * self.e)

    @property
    def width_A(self) -> float:
        """Total A' width in GeV (includes A' -> chi chibar phi)."""
        return sum(self.widths_A.values())

    @property
    def branching_ratios_A(self) -> dict[str, float]:
        """The A' branching ratios by channel."""
        tot = self.width_A
        return {k: v / tot for k, v in self.widths_A.items()}

    @cached_property
    def widths_phi(self) -> dict[str, float]:
        """Partial widths of phi in GeV at this theta: ee, mumu, tautau, pipi, KK."""
        return dark_higgs_widths(self.m_phi, self.theta, model=self.width_model)

    @property
    def width_phi(self) -> float:
        """Total phi width in GeV (proportional to sin^2 theta)."""
        return sum(self.widths_phi.values())

    @property
    def ctau_phi_mm(self) -> float:
        """Proper decay length c tau of phi in mm (inf for theta = 0)."""
        return ctau_mm(self.width_phi)
