"""Decay widths of the A' and of the dark Higgs phi (PHYSICS.md section 4).

A' widths (GeV)
    chi chibar:      g_chi^2 m_A (1 + 2 r) sqrt(1 - 4 r) / (12 pi),  r = m_chi^2 / m_A^2
    l+ l-:           eps^2 alpha_em m_A (1 + 2 r_l) sqrt(1 - 4 r_l) / 3   (l = e, mu, tau)
    chi chibar phi:  three-body integral of the amplitude of PHYSICS.md section 5.1,
                     A' -> A'* phi, A'* -> chi chibar (Gauss-Legendre over the Dalitz plot).
The three-body width contains the A' propagator, so the total width is found
self-consistently (a fixed point reached in a few iterations). Hadronic A'
decays are eps^2-suppressed like the leptons and are left out: they change
BR(chi chibar) by less than eps^2 / g_chi^2.

phi widths (GeV), all proportional to sin^2(theta)
    l+ l-:   sin^2 theta m_l^2 m_phi beta^3 / (8 pi v^2)
    pi pi, K K:  Winkler, PRD 99 (2019) 015018 (tables shipped in mcdh/data,
             interpolated linearly, rising linearly from zero at threshold to the
             first tabulated point), or the hipsofcobra package
             (Blackstone et al., arXiv:2407.13587) with its uncertainty band.
Above 1.2 GeV 4 pi and eta eta channels, which neither model includes, start
to matter: a :class:`HadronicValidityWarning` is issued.
"""
from __future__ import annotations

import contextlib
import math
import os
import tempfile
import threading
import warnings
from functools import cache, lru_cache
from importlib import resources

import numpy as np

from ..errors import ParameterError, check_finite, check_nonnegative, check_positive
from .constants import HBAR_C_GEV_MM, HIGGS_VEV, pdg_mass

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


def _dalitz_nodes(m_A: float, m_chi: float, m_phi: float, n_outer: int, n_inner: int):
    """Nodes and weights over (s12, s23) of A' -> chi(1) chibar(2) phi(3).

    s12 = m_chichi^2 is mapped as s12 = a + (b - a)(1 - cos t)/2 so that the
    square-root behaviour of the Dalitz boundary at both ends becomes smooth;
    at fixed s12 the integrand is quadratic in s23, so a few nodes are exact.
    """
    a, b = 4.0 * m_chi**2, (m_A - m_phi) ** 2
    x, wx = np.polynomial.legendre.leggauss(n_outer)
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
    y, wy = np.polynomial.legendre.leggauss(n_inner)
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


@cache
def winkler_table(channel: str) -> tuple[np.ndarray, np.ndarray]:
    """(m_phi, Gamma at sin theta = 1) of the shipped Winkler table, ``"pipi"`` or ``"KK"``."""
    fname = {"pipi": "winkler_pi.txt", "KK": "winkler_K.txt"}[channel]
    with (resources.files("mcdh") / "data" / fname).open("r") as fh:
        data = np.loadtxt(fh, comments="#")
    m, g = data[:, 0], data[:, 1]
    if not np.all(np.diff(m) > 0):
        raise RuntimeError(f"mcdh/data/{fname}: masses must increase strictly")
    return m, g


def _threshold(channel: str) -> float:
    # the lightest two-meson state of the summed channel (pi0 pi0, K+ K-)
    return 2.0 * (pdg_mass(111) if channel == "pipi" else pdg_mass(321))


def winkler_width(channel: str, m_phi: float) -> float:
    """Hadronic width (GeV, sin theta = 1) interpolated from the Winkler table."""
    m, g = winkler_table(channel)
    thr = _threshold(channel)
    if m_phi <= thr:
        return 0.0
    if m_phi > m[-1]:
        raise ParameterError(
            "m_phi", m_phi,
            f"the Winkler {channel} table ends at {m[-1]:.3f} GeV; use width_model='hipsofcobra' (to 2.45 GeV)",
        )
    if m_phi < m[0]:
        return float(g[0] * (m_phi - thr) / (m[0] - thr))
    return float(np.interp(m_phi, m, g))


_HIPSOFCOBRA_LOCK = threading.Lock()


@lru_cache(maxsize=8)
def hipsofcobra_band(
    channel: str, method: str = "DGL", seed: int = 0, couplings: tuple[float, float, float] = (1.0, 1.0, 1.0)
) -> tuple[np.ndarray, np.ndarray]:
    """hipsofcobra's ``channel`` width band at sin theta = 1.

    Returns ``m_phi`` (GeV) and an array (n, 3) of (central, lower, upper)
    widths in GeV. hipsofcobra creates a ``results/`` folder in the working
    directory and draws from an unseeded module-level generator; here it
    runs in a temporary directory that is removed afterwards, with its
    generator replaced by a seeded one, so it leaves nothing behind and is
    reproducible. ``couplings`` is hipsofcobra's ``clist`` (light-quark,
    strange and heavy-quark/gluon couplings in units of the SM Higgs ones);
    a Higgs-mixed scalar has all three equal to 1.
    """
    if method not in ("DGL", "BTPZ"):
        raise ParameterError("method", method, "must be 'DGL' or 'BTPZ'")
    pname = {"pipi": "pi", "KK": "K"}[channel]
    with _HIPSOFCOBRA_LOCK, tempfile.TemporaryDirectory(prefix="mcdh-hipsofcobra-") as tmp:
        cwd = os.getcwd()
        os.chdir(tmp)
        os.mkdir("results")  # made by hipsofcobra's import, which runs once per process
        try:
            with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
                try:
                    import hipsofcobra.classes as hc
                except ImportError:
                    raise ParameterError(
                        "width_model", "hipsofcobra", "needs the hipsofcobra package: pip install 'mcdh[hadronic]'"
                    ) from None
                saved = hc.rng
                hc.rng = np.random.default_rng(seed)
                try:
                    obj = hc.HipsofCobra([float(c) for c in couplings], pname, method)
                finally:
                    hc.rng = saved
        finally:
            os.chdir(cwd)
    band = np.asarray(obj.width_band_list, dtype=float)
    return np.sqrt(band[:, 0]), band[:, 1:4]


@lru_cache(maxsize=1)
def hipsofcobra_table() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The shipped hipsofcobra band (``data/hipsofcobra_band.txt``): what :func:`hipsofcobra_band` gives with
    its defaults, per channel ``(m_phi, (central, lower, upper))`` in GeV."""
    text = resources.files("mcdh").joinpath("data").joinpath("hipsofcobra_band.txt").read_text()
    data = np.loadtxt(text.splitlines(), comments="#")
    return {"pipi": (data[:, 0], data[:, 1:4]), "KK": (data[:, 0], data[:, 4:7])}


def hipsofcobra_width(channel: str, m_phi: float, which: str = "central", **kwargs) -> float:
    """hipsofcobra width (GeV, sin theta = 1); ``which`` is central, lower or upper.

    With the default settings the shipped table is used (no hipsofcobra import, which costs
    ~250 MB); other ``kwargs`` (method, seed, couplings) run hipsofcobra.
    """
    col = {"central": 0, "lower": 1, "upper": 2}
    if which not in col:
        raise ParameterError("which", which, "must be 'central', 'lower' or 'upper'")
    m, band = hipsofcobra_band(channel, **kwargs) if kwargs else hipsofcobra_table()[channel]
    if m_phi > m[-1]:
        raise ParameterError("m_phi", m_phi, f"hipsofcobra tabulates up to {m[-1]:.3f} GeV")
    return float(np.interp(m_phi, m, band[:, col[which]]))


def dark_higgs_widths(m_phi: float, theta: float, model: str = "winkler", which: str = "central") -> dict[str, float]:
    """Partial widths of phi in GeV: ee, mumu, tautau, pipi, KK (all proportional to sin^2 theta)."""
    m_phi = check_positive("m_phi", m_phi)
    theta = check_finite("theta", theta)
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
        if model == "winkler":
            out[ch] = s2 * winkler_width(ch, m_phi)
        elif model == "hipsofcobra":
            out[ch] = s2 * hipsofcobra_width(ch, m_phi, which)
        else:
            raise ParameterError("width_model", model, "must be 'winkler' or 'hipsofcobra'")
    return out


def unit_mixing_width(m_phi: float, model: str = "winkler", which: str = "central") -> float:
    """Gamma_phi at sin(theta) = 1 (GeV): Gamma_phi(theta) = sin^2(theta) times this. No validity warning
    (the callers say where the hadronic widths are incomplete)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HadronicValidityWarning)
        return sum(dark_higgs_widths(m_phi, math.pi / 2, model=model, which=which).values())


def ctau_mm(width: float) -> float:
    """Proper decay length c tau = hbar c / Gamma in mm (inf for a zero width)."""
    width = check_nonnegative("width", width)
    return math.inf if width == 0.0 else HBAR_C_GEV_MM / width


def decay_length_mm(p: np.ndarray | float, mass: float, width: float) -> np.ndarray | float:
    """Mean decay length (mm) of a particle of momentum ``p`` (GeV): p c tau / m."""
    return np.asarray(p) * ctau_mm(width) / check_positive("mass", mass)
