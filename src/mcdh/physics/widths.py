"""Decay widths of the A' and of the dark Higgs phi (docs/physics-notes.md section 4).

A' widths (GeV)
    chi chibar:      g_chi^2 m_A (1 + 2 r) sqrt(1 - 4 r) / (12 pi),  r = m_chi^2 / m_A^2
    l+ l-:           eps^2 alpha_em m_A (1 + 2 r_l) sqrt(1 - 4 r_l) / 3   (l = e, mu, tau)
    chi chibar phi:  three-body integral of the amplitude of docs/physics-notes.md section 5.1,
                     A' -> A'* phi, A'* -> chi chibar (Gauss-Legendre over the Dalitz plot).
The three-body width contains the A' propagator, so the total width is found
self-consistently (a fixed point reached in a few iterations). Hadronic A'
decays are eps^2-suppressed like the leptons and are left out: they change
BR(chi chibar) by less than eps^2 / g_chi^2.

phi widths (GeV), all proportional to sin^2(theta)
    l+ l-:   sin^2 theta m_l^2 m_phi beta^3 / (8 pi v^2)
    pi pi, K K:  width models (:data:`HADRONIC_MODELS`): Winkler, PRD 99 (2019) 015018
             (tables shipped in mcdh/data, interpolated linearly, following the
             phase space from threshold to the first tabulated point; the paper's
             choice and the default), or the corrected dispersive widths "dgl" and
             "btpz" (:mod:`mcdh.physics.dispersive`: hipsofcobra's Omnes solutions,
             Blackstone et al., arXiv:2407.13587, with two upstream defects fixed),
             and their envelope (:func:`width_envelope`) as a theory band.
Above 1.2 GeV 4 pi and eta eta channels, which neither model includes, start
to matter: a :class:`HadronicValidityWarning` is issued.
"""
from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

import numpy as np

from ..errors import ParameterError, check_finite, check_nonnegative, check_positive
from .constants import HBAR_C_GEV_MM, HIGGS_VEV, pdg_mass
from .dispersive import shipped_table

HADRONIC_VALIDITY_GEV = 1.2
"""Above this m_phi the two-meson tables miss 4 pi / eta eta (paper section 2)."""

LEPTONS = {"e": 11, "mu": 13, "tau": 15}


class HadronicValidityWarning(UserWarning):
    """m_phi is above the range where pi pi + K K is the whole hadronic width."""


# ----------------------------------------------------------------------
# A'


def vector_to_fermions(coupling: float, m_V: float, m_f: float) -> float:
    """Width of a vector of mass ``m_V`` into a fermion pair with vector coupling ``coupling``.

    ``coupling**2 * m_V * (1 + 2 r) * sqrt(1 - 4 r) / (12 pi)`` with r = m_f^2 / m_V^2;
    zero below threshold.
    """
    r = (m_f / m_V) ** 2
    if 4.0 * r >= 1.0:
        return 0.0
    return coupling**2 * m_V * (1.0 + 2.0 * r) * math.sqrt(1.0 - 4.0 * r) / (12.0 * math.pi)


@functools.lru_cache(maxsize=8)
def _gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    """numpy's Gauss-Legendre rule of ``n`` nodes, made once (each call solves an n x n eigenproblem; every model
    point's widths ask for the same rules)."""
    x, w = np.polynomial.legendre.leggauss(n)
    x.flags.writeable = w.flags.writeable = False
    return x, w


def _dalitz_nodes(m_A: float, m_chi: float, m_phi: float, n_outer: int, n_inner: int):
    """Nodes and weights over (s12, s23) of A' -> chi(1) chibar(2) phi(3).

    s12 = m_chichi^2 is mapped as s12 = a + (b - a)(1 - cos t)/2 so that the
    square-root behaviour of the Dalitz boundary at both ends becomes smooth;
    at fixed s12 the integrand is quadratic in s23, so a few nodes are exact.
    """
    a, b = 4.0 * m_chi**2, (m_A - m_phi) ** 2
    x, wx = _gauss_legendre(n_outer)
    t = 0.5 * math.pi * (x + 1.0)
    s12 = a + 0.5 * (b - a) * (1.0 - np.cos(t))
    jac12 = 0.5 * (b - a) * np.sin(t) * 0.5 * math.pi * wx
    rs = np.sqrt(s12)
    e2 = 0.5 * rs
    e3 = (m_A**2 - s12 - m_phi**2) / (2.0 * rs)
    p2 = np.sqrt(np.maximum(e2**2 - m_chi**2, 0.0))
    p3 = np.sqrt(np.maximum(e3**2 - m_phi**2, 0.0))
    lo = (e2 + e3) ** 2 - (p2 + p3) ** 2
    hi = (e2 + e3) ** 2 - (p2 - p3) ** 2
    y, wy = _gauss_legendre(n_inner)
    s23 = lo[:, None] + 0.5 * (hi - lo)[:, None] * (y[None, :] + 1.0)
    w = jac12[:, None] * 0.5 * (hi - lo)[:, None] * wy[None, :]
    return np.broadcast_to(s12[:, None], s23.shape), s23, w


def three_body_width(
    m_A: float,
    m_chi: float,
    m_phi: float,
    g_chi: float,
    q_phi: float,
    width_A: float,
    *,
    n_outer: int = 96,
    n_inner: int = 4,
) -> float:
    """Gamma(A' -> chi chibar phi) in GeV by numerical integration.

    Spin-averaged square of A'(q) -> A'*(P) phi, A'*(P) -> chi(k1) chibar(k2):

        (1/3) (2 q_phi g_chi m_A)^2 g_chi^2 / |s12 - m_A^2 + i m_A Gamma_A|^2
              x [2 s12 + 8 m_chi^2 + 8 (q.k1)(q.k2) / m_A^2]

    integrated as dGamma = |M|^2 ds12 ds23 / ((2 pi)^3 32 m_A^3).
    """
    if not m_A > 2.0 * m_chi + m_phi:
        return 0.0
    s12, s23, w = _dalitz_nodes(m_A, m_chi, m_phi, n_outer, n_inner)
    mA2, m2 = m_A**2, m_chi**2
    s13 = mA2 + 2.0 * m2 + m_phi**2 - s12 - s23
    qk1 = 0.5 * (mA2 + m2 - s23)
    qk2 = 0.5 * (mA2 + m2 - s13)
    bracket = 2.0 * s12 + 8.0 * m2 + 8.0 * qk1 * qk2 / mA2
    prop = (s12 - mA2) ** 2 + (m_A * width_A) ** 2
    me2 = (2.0 * q_phi * g_chi * m_A) ** 2 * g_chi**2 * bracket / (3.0 * prop)
    return float(np.sum(w * me2) / ((2.0 * math.pi) ** 3 * 32.0 * m_A**3))


def dark_photon_widths(m_A: float, m_chi: float, m_phi: float, g_chi: float, q_phi: float,
                       lepton_coupling: float) -> dict[str, float]:
    """Partial widths (GeV) of the A': chichi, ee, mumu, tautau, chichiphi.

    Masses in GeV; ``lepton_coupling`` is the A' coupling to a unit-charge
    lepton, eps e (or eps e cos theta_W for hypercharge mixing).
    """
    out = {"chichi": vector_to_fermions(g_chi, m_A, m_chi)}
    # eps e Q_l, with (eps e)^2 / (12 pi) = eps^2 alpha / 3
    coupling = lepton_coupling
    for name, pdg in LEPTONS.items():
        out[name * 2] = vector_to_fermions(coupling, m_A, pdg_mass(pdg))
    two_body = sum(out.values())
    # fixed point Gamma = two_body + Gamma_3(Gamma): Gamma_3 depends on Gamma only through the
    # far off-shell propagator, so this converges in a few steps
    g3 = 0.0
    for _ in range(50):
        prev = g3
        g3 = three_body_width(m_A, m_chi, m_phi, g_chi, q_phi, two_body + g3)
        if abs(g3 - prev) <= 1e-14 * (two_body + g3):
            break
    out["chichiphi"] = g3
    return out


# ----------------------------------------------------------------------
# phi


def lepton_width(m_phi: float, m_l: float, theta: float = math.pi / 2) -> float:
    """Gamma(phi -> l+ l-) = sin^2 theta m_l^2 m_phi beta^3 / (8 pi v^2), GeV."""
    if m_phi <= 2.0 * m_l:
        return 0.0
    beta = math.sqrt(1.0 - 4.0 * m_l**2 / m_phi**2)
    return math.sin(theta) ** 2 * m_l**2 * m_phi * beta**3 / (8.0 * math.pi * HIGGS_VEV**2)


PHI_DECAY_MODES: dict[str, tuple[tuple[tuple[int, int], float], ...]] = {
    "ee": (((11, -11), 1.0),),
    "mumu": (((13, -13), 1.0),),
    "pipi": (((211, -211), 2.0), ((111, 111), 1.0)),
    "KK": (((321, -321), 1.0), ((311, -311), 1.0)),
}
"""phi width key -> its sub-modes (daughter PDG ids, isospin weight). A channel's width is shared among its
sub-modes as isospin weight x the pair's velocity (an s-wave scalar into two spin-0 or spin-1/2 particles)."""


def pair_velocity(m_parent, m_daughter: float):
    """beta = sqrt(1 - 4 m_d^2 / m^2) of a pair from a parent of mass ``m_parent`` (array or float); 0 below
    threshold."""
    m = np.asarray(m_parent, dtype=float)
    x = 1.0 - 4.0 * m_daughter**2 / np.where(m > 0, m, np.inf) ** 2
    return np.sqrt(np.clip(x, 0.0, None))


def phase_space(channel: str, m_phi, masses: tuple[float, ...] | None = None):
    """The velocity sum of a two-meson channel's sub-modes, normalised to its charged mode:
    beta_pi+- + beta_pi0 / 2 (``"pipi"``) or beta_K+- + beta_K0 (``"KK"``) (:data:`PHI_DECAY_MODES`),
    PDG masses unless ``masses`` (one per sub-mode) are given; 0 below each threshold.

    Gamma_channel = Gamma_hat x this, with Gamma_hat = |G|^2 / (16 pi m_phi) (the dispersive widths,
    :mod:`mcdh.physics.dispersive`); in the isospin limit (equal masses) Gamma(pi0 pi0) = Gamma(pi+ pi-) / 2 and
    Gamma(K0 K0bar) = Gamma(K+ K-).
    """
    modes = PHI_DECAY_MODES[channel]
    if masses is None:
        masses = tuple(pdg_mass(abs(ids[0])) for ids, _ in modes)
    w0 = modes[0][1]
    return sum((w / w0) * pair_velocity(m_phi, md) for (_, w), md in zip(modes, masses))


WINKLER_PIPI_FIRST_GEV = 0.2965
"""Digitised Winkler pi pi points below this mass are not used: between 0.2806 and 0.2931 GeV they scatter by up
to 40 % point to point (the steep threshold rise read off a log-scaled figure; Gamma / Gamma_LET jumps between 1.0
and 2.1), so the width follows the phase space at a constant form factor from threshold up to the point at
0.2969 GeV (Gamma / Gamma_LET = 2.2-2.3 there). No mass of the paper's grid lies in that range."""


@cache
def winkler_table(channel: str) -> tuple[np.ndarray, np.ndarray]:
    """(m_phi, Gamma at sin theta = 1) of the shipped Winkler table, ``"pipi"`` or ``"KK"`` (pi pi from
    :data:`WINKLER_PIPI_FIRST_GEV` on)."""
    fname = {"pipi": "winkler_pi.txt", "KK": "winkler_K.txt"}[channel]
    with (resources.files("mcdh") / "data" / fname).open("r") as fh:
        data = np.loadtxt(fh, comments="#")
    m, g = data[:, 0], data[:, 1]
    if not np.all(np.diff(m) > 0):
        raise RuntimeError(f"mcdh/data/{fname}: masses must increase strictly")
    if channel == "pipi":
        keep = m >= WINKLER_PIPI_FIRST_GEV
        m, g = m[keep], g[keep]
    return m, g


def _threshold(channel: str) -> float:
    # the lightest two-meson state of the summed channel (pi0 pi0, K+ K-)
    return 2.0 * (pdg_mass(111) if channel == "pipi" else pdg_mass(321))


def winkler_width(channel: str, m_phi: float) -> float:
    """Hadronic width (GeV, sin theta = 1) interpolated from the Winkler table.

    Between the threshold and the first tabulated point the width follows the phase space of the
    sub-modes at a constant form factor (Gamma proportional to (beta_charged + w beta_neutral) / m_phi,
    :func:`phase_space`), as the low-energy theorem does.
    """
    m, g = winkler_table(channel)
    if m_phi <= _threshold(channel):
        return 0.0
    if m_phi > m[-1]:
        raise ParameterError(
            "m_phi", m_phi,
            f"the Winkler {channel} table ends at {m[-1]:.3f} GeV; use width_model='dgl' or 'btpz' (to 2.45 GeV)",
        )
    if m_phi < m[0]:
        return float(g[0] * (phase_space(channel, m_phi) / m_phi) / (phase_space(channel, m[0]) / m[0]))
    return float(np.interp(m_phi, m, g))


def dispersive_width(method: str, channel: str, m_phi: float, which: str = "central") -> float:
    """The corrected dispersive width (GeV, sin theta = 1) of ``channel`` by ``method`` ("DGL" or "BTPZ"):
    the shipped reduced width (:mod:`mcdh.physics.dispersive`) interpolated in m_phi, times the phase space
    of the sub-modes with physical masses. ``which``: central, lower or upper (its sampled 1 sigma)."""
    col = {"central": 0, "lower": 1, "upper": 2}
    if which not in col:
        raise ParameterError("which", which, "must be 'central', 'lower' or 'upper'")
    m, band = shipped_table()[(method, channel)]
    if m_phi > m[-1]:
        raise ParameterError("m_phi", m_phi, f"the dispersive widths are tabulated up to {m[-1]:.3f} GeV")
    return float(np.interp(m_phi, m, band[:, col[which]]) * phase_space(channel, m_phi))


HADRONIC_MODELS = ("winkler", "dgl", "btpz")
"""Width models with one Gamma_phi: Winkler's (the paper's) and the corrected dispersive DGL and BTPZ ones."""
ENVELOPE = "envelope"
"""Not a width but a band: min and max of Gamma_phi over the models of :data:`HADRONIC_MODELS` and the
dispersive models' sampled 1 sigma (:func:`width_envelope`), around Winkler's width."""
WIDTH_MODELS = (*HADRONIC_MODELS, ENVELOPE)


def check_width_model(model, *, envelope: bool = False, name: str = "width_model") -> str:
    """``model`` if it names a width model (``"envelope"`` only where ``envelope``), else a ParameterError
    listing the choices."""
    choices = WIDTH_MODELS if envelope else HADRONIC_MODELS
    if model in choices:
        return model
    if model == "hipsofcobra":
        raise ParameterError(name, model, "was withdrawn: hipsofcobra 0.0.8's widths are 2-4x too large (a factor 2 "
                             "in its width normalisation and a 1.85x gluon coupling); use 'dgl' or 'btpz', the "
                             "corrected dispersive widths")
    if model == ENVELOPE:
        raise ParameterError(name, model, f"is a band, not one width: here give one of {', '.join(choices)} "
                             "(the envelope is for reaches: Study.reach, mcdh reach, figure 11)")
    raise ParameterError(name, model, f"must be one of {', '.join(choices)}")


def hadronic_width(channel: str, m_phi: float, model: str = "winkler", which: str = "central") -> float:
    """Gamma(phi -> ``channel``) at sin theta = 1 (GeV) in a width model of :data:`HADRONIC_MODELS`;
    ``which`` (central, lower, upper) selects the dispersive models' sampled 1 sigma (Winkler's has none)."""
    check_width_model(model)
    if model == "winkler":
        return winkler_width(channel, m_phi)
    return dispersive_width(model.upper(), channel, m_phi, which)


def dark_higgs_widths(m_phi: float, theta: float, model: str = "winkler", which: str = "central") -> dict[str, float]:
    """Partial widths of phi in GeV: ee, mumu, tautau, pipi, KK (all proportional to sin^2 theta)."""
    m_phi = check_positive("m_phi", m_phi)
    theta = check_finite("theta", theta)
    check_width_model(model)
    s2 = math.sin(theta) ** 2
    out = {name * 2: lepton_width(m_phi, pdg_mass(pdg), theta) for name, pdg in LEPTONS.items()}
    if m_phi > HADRONIC_VALIDITY_GEV:
        warnings.warn(
            f"m_phi = {m_phi:.3g} GeV > {HADRONIC_VALIDITY_GEV} GeV: 4 pi and eta eta decays, "
            "missing from the hadronic width models, become relevant",
            HadronicValidityWarning,
            stacklevel=3,
        )
    for ch in ("pipi", "KK"):
        out[ch] = s2 * hadronic_width(ch, m_phi, model, which)
    return out


def unit_mixing_width(m_phi: float, model: str = "winkler", which: str = "central") -> float:
    """Gamma_phi at sin(theta) = 1 (GeV): Gamma_phi(theta) = sin^2(theta) times this. No validity warning
    (the callers say where the hadronic widths are incomplete)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HadronicValidityWarning)
        return sum(dark_higgs_widths(m_phi, math.pi / 2, model=model, which=which).values())


@dataclass(frozen=True)
class WidthEnvelope:
    """The range of Gamma_phi at sin theta = 1 over the width models (GeV).

    ``members`` holds every width that entered (``"dgl_upper"``, ...); ``lower`` and ``upper`` are their
    min and max; ``note`` says which models are missing at this m_phi (beyond a table's end).
    """

    m_phi: float
    lower: float
    upper: float
    members: dict
    note: str | None

    def ratios(self, width: float) -> tuple[float, float]:
        """(lower, upper) over ``width``: the factors that take a model's Gamma_phi to the envelope's edges."""
        return self.lower / width, self.upper / width


@lru_cache(maxsize=4096)
def width_envelope(m_phi: float) -> WidthEnvelope:
    """Min and max of Gamma_phi (sin theta = 1) over Winkler's width and the corrected DGL and BTPZ widths
    with their sampled 1 sigma: the theory uncertainty of the hadronic widths as a band. By construction it
    contains every model's central width; below the pi pi threshold it has zero size (leptons only)."""
    m_phi = check_positive("m_phi", m_phi)
    members: dict[str, float] = {}
    missing = []
    for model in HADRONIC_MODELS:
        for which in (("central",) if model == "winkler" else ("central", "lower", "upper")):
            try:
                members[model if which == "central" else f"{model}_{which}"] = unit_mixing_width(m_phi, model, which)
            except ParameterError:
                if model not in missing:
                    missing.append(model)
    if not members:
        raise ParameterError("m_phi", m_phi, "is beyond every hadronic width table")
    note = (f"at m_phi = {m_phi:.3g} GeV the envelope lacks {', '.join(missing)} (beyond its table)" if missing else None)
    return WidthEnvelope(m_phi, min(members.values()), max(members.values()), members, note)


def low_energy_theorem_pipi(m_phi: float, theta: float = math.pi / 2) -> float:
    """Gamma(S -> pi pi) of the low-energy theorem (Voloshin; leading order, three heavy quarks), GeV:

        G_F m^3 sin^2 theta / (8 sqrt(2) pi) sum_sub w [(2/9)(1 + 11 m_pi^2 / (2 m^2))]^2 beta_pi,

    summed over pi+ pi- (w = 1) and pi0 pi0 (w = 1/2) with their masses; in the isospin limit
    3 G_F m^3 sin^2 theta / (16 sqrt(2) pi) [(2/9)(1 + 11 m_pi^2 / (2 m^2))]^2 beta_pi. Valid near threshold
    only: the dispersive and Winkler widths exceed it by the pi pi rescattering enhancement (~2-3 at 0.3 GeV).
    """
    m = check_positive("m_phi", m_phi)
    modes = PHI_DECAY_MODES["pipi"]
    total = 0.0
    for ids, w in modes:
        md = pdg_mass(abs(ids[0]))
        total += w / modes[0][1] * (2.0 / 9.0 * (1.0 + 11.0 * md**2 / (2.0 * m**2))) ** 2 * float(pair_velocity(m, md))
    # G_F / (8 sqrt 2 pi) = 1 / (16 pi v^2)
    return math.sin(theta) ** 2 * m**3 * total / (16.0 * math.pi * HIGGS_VEV**2)


def ctau_mm(width: float) -> float:
    """Proper decay length c tau = hbar c / Gamma in mm (inf for a zero width)."""
    width = check_nonnegative("width", width)
    return math.inf if width == 0.0 else HBAR_C_GEV_MM / width


def decay_length_mm(p: np.ndarray | float, mass: float, width: float) -> np.ndarray | float:
    """Mean decay length (mm) of a particle of momentum ``p`` (GeV): p c tau / m."""
    return np.asarray(p) * ctau_mm(width) / check_positive("mass", mass)
