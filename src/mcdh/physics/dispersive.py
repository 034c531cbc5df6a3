"""Dispersive phi -> pi pi and K K widths: hipsofcobra's Omnes solutions with two upstream defects corrected.

The hadronic widths of a Higgs-mixed scalar below ~2 GeV come from the scalar
form factors G_pi(s), G_K(s) of the pion and kaon, obtained from the
coupled-channel (pi pi, K K) Omnes problem. The package hipsofcobra
(P. Blackstone, J. Tarrus Castella, E. Passemar, J. Zupan, arXiv:2407.13587;
version 0.0.8 on PyPI) ships 100 solutions of that problem ("iterations", one
per variant of the phase-shift input) as the canonical solutions C_1, C_2,
D_1, D_2 on s = 0 ... 6 GeV^2, and builds

    G_pi(s) = C_1(s) (Q_pi0 + s Q_pi1) + D_1(s) (Q_K0 + s Q_K1) / n_pi
    G_K(s)  = C_2(s) (Q_pi0 + s Q_pi1) + D_2(s) (Q_K0 + s Q_K1) / n_K,   n_pi = 1, n_K = sqrt(3)/2,

with the polynomial fixed at s = 0 by chiral perturbation theory (the
normalisations G_P(0) from the NLO values of Gamma_P(0), Delta_P(0) and
theta_P(0), the slopes from the gluon coupling xi_g) in two ways, "DGL"
(Donoghue-Gasser-Leutwyler: the slopes through theta_P(0) and the Omnes
derivatives) and "BTPZ" (through G_P(0) and the Omnes derivatives). The
low-energy constants are drawn from Gaussians once per iteration; the band is
the mean of |G| over the iterations and its standard deviation.

This module is mcdh's own implementation of that construction, reading the
Omnes tables from hipsofcobra's installed ``input/`` folder by path (its
module import is never executed: it creates ``./results`` in the caller's
working directory). It corrects two defects of hipsofcobra 0.0.8:

1. **Width normalisation (factor 2).** With 1/v inside G (hipsofcobra's
   normalisation), Gamma(pi pi) = 3 |G_pi|^2 beta / (32 pi m) and
   Gamma(K K) = |G_K|^2 beta / (8 pi m); hipsofcobra's ``G_to_width`` uses
   3/(16 pi) and 1/(4 pi). The 1/2 of G_F / sqrt(2) = 1 / (2 v^2) was lost
   when 1/v moved into G (upstream commit 3b4aba1, June 2024): the authors'
   own committed result files double (ratio 1.99-2.00) between April and June
   2024 with no change of physics.
2. **Gluon coupling (factor 1.85).** hipsofcobra sets
   xi_g = alpha_s^2 / (3 pi v beta) with beta = -0.0293845, which is
   mu^2 d(alpha_s/pi)/dmu^2 (4 loops, n_f = 4); the formula needs
   beta = mu d alpha_s / dmu and a factor n_h = 3 for the three heavy quarks
   integrated out, giving the low-energy theorem's xi_g v = -2 / 9 (-0.197 at
   4 loops) instead of -0.412. xi_g is the slope of the pion form factor at
   s = 0; the hard-coded kaon slope -0.536731 / v rests on the same value and
   is scaled by the same factor (-2/9) / (-0.412).

With both corrections the threshold agrees with the low-energy theorem
(see :func:`mcdh.physics.widths.low_energy_theorem_pipi`): at m_phi = 0.3 GeV
Winkler / LET = 2.5 (the known pi pi rescattering enhancement), corrected
DGL / LET = 2.5, hipsofcobra as shipped 9.3.

Two further choices differ from hipsofcobra and are physics, not defects:
the phase space uses the physical pion and kaon masses per sub-channel
(Gamma_pipi = Gamma_hat (beta_pi+- + beta_pi0 / 2), Gamma_KK =
Gamma_hat (beta_K+- + beta_K0), Gamma_hat = |G|^2 / (16 pi m):
:func:`mcdh.physics.widths.phase_space`), where
hipsofcobra uses one mass for both (so pi+ pi- opened at 0.268 GeV); and
the low-energy constants are drawn once per iteration and shared by every
quantity that contains them (hipsofcobra draws them anew in each function).

The shipped table ``data/dispersive_widths.txt`` is :func:`table_text` with
the defaults; ``tests/test_widths.py`` recomputes it (a slow test, with the
hipsofcobra package installed: ``pip install 'mcdh[hadronic]'``).
"""
from __future__ import annotations

import importlib.util
import math
import re
from functools import cache
from pathlib import Path

import numpy as np

from ..errors import ParameterError

UPSTREAM = "hipsofcobra 0.0.8 (PyPI; P. Blackstone et al., arXiv:2407.13587)"
METHODS = ("DGL", "BTPZ")
OMNES_FILES = ("hips_c1.txt", "hips_c2.txt", "hips_d1.txt", "hips_d2.txt")

# chiral-perturbation-theory inputs at s = 0 as hipsofcobra 0.0.8 uses them (value, Gaussian sigma), GeV
CHPT = {
    "mpi": (0.134, 0.00000018), "mk": (0.497, 0.000016), "meta": (0.547862, 0.000017), "F0": (0.0803, 0.0006),
    "L85": (-0.46e-3, 0.20e-3), "L64": (0.28e-3, 0.17e-3),
}
MU = 0.547862
"""Renormalisation scale of the low-energy constants (m_eta), GeV."""
GAMMA_M = -0.332003
"""Anomalous dimension of the quark mass, as hipsofcobra uses it."""
VEV = 246.0
"""The Higgs vev hipsofcobra's form factors are normalised with (GeV)."""

XI_G_V_UPSTREAM = 0.337848**2 / (3.0 * math.pi * -0.0293845)
"""hipsofcobra's xi_g v = alpha_s(m_c)^2 / (3 pi beta) with its beta (= -0.412; defect 2)."""
XI_G_V = -2.0 / 9.0
"""xi_g v of the low-energy theorem: n_h alpha_s^2 / (3 pi mu d alpha_s/d mu) with n_h = 3, n_f = 3 (LO)."""
PION_SLOPE_REL_SIGMA = 0.0191309
KAON_SLOPE_V_UPSTREAM = -0.536731
KAON_SLOPE_REL_SIGMA = 0.239351

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_COMPLEX = re.compile(r"Complex\(\s*(" + _NUMBER + r")\s*,\s*(" + _NUMBER + r")\s*\)")


def find_omnes_dir() -> Path:
    """The ``input/`` folder of the installed hipsofcobra package, found without importing it."""
    spec = importlib.util.find_spec("hipsofcobra")
    if spec is None or not spec.submodule_search_locations:
        raise ParameterError("omnes_dir", None, "needs hipsofcobra's Omnes tables: pip install 'mcdh[hadronic]', "
                             "or give the folder holding hips_c1.txt ... hips_d2.txt")
    return Path(next(iter(spec.submodule_search_locations))) / "input"


def read_omnes(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """One of hipsofcobra's Omnes tables: (s in GeV^2, complex values (n_iterations, n_s)).

    The file is a nested list ``[[s...], [[Complex(re, im), ...], ...]]``; it is parsed as numbers (never
    evaluated as code).
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ParameterError("omnes_dir", str(path.parent), f"cannot read {path.name}: {exc.strerror or exc}") from None
    head = text.find("]")
    try:
        s = np.array([float(x) for x in text[text.index("[[") + 2:head].split(",")])
        v = np.array(_COMPLEX.findall(text, head), dtype=float)
    except ValueError:
        raise ParameterError("omnes_dir", str(path.parent), f"{path.name} is not an Omnes table") from None
    if s.size < 3 or v.size == 0 or v.shape[0] % s.size:
        raise ParameterError("omnes_dir", str(path.parent), f"{path.name} is not an Omnes table")
    return s, (v[:, 0] + 1j * v[:, 1]).reshape(-1, s.size)


def _chpt_at_zero(c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Gamma_P(0), Delta_P(0) (light- and strange-quark scalar form factors) and theta_P(0) = 2 M_P^2 at NLO,
    the expressions hipsofcobra 0.0.8 uses, for arrays of sampled constants ``c``."""
    mpi, mk, meta, f0, l85, l64 = (c[k] for k in ("mpi", "mk", "meta", "F0", "L85", "L64"))
    log_eta = np.log(meta**2 / MU**2)
    gamma_pi = mpi**2 + mpi**4 / f0**2 * (
        (8.0 / 9.0 + np.log(mpi**2 / MU**2) - log_eta / 9.0) / (32.0 * math.pi**2) + 8.0 * l85 + 16.0 * l64)
    delta_pi = mpi**2 * (mk**2 - 0.5 * mpi**2) / f0**2 * (-(1.0 + log_eta) / (72.0 * math.pi**2) + 16.0 * l64)
    gamma_k = 0.5 * mpi**2 * (
        1.0 + np.log(meta**2 / mpi**2) / (32.0 * math.pi**2 * f0**2)
        + 8.0 / f0**2 * ((2.0 * mk**2 - mpi**2) * l85 + 4.0 * mk**2 * l64 + mk**2 * (1.0 + log_eta) / (72.0 * math.pi**2)))
    delta_k = (mk**2 - 0.5 * mpi**2) * (1.0 + mk**2 / f0**2 * ((1.0 + log_eta) / (36.0 * math.pi**2) + 8.0 * (l85 + 2.0 * l64))) \
        + 0.5 * mpi**2 * (np.log(mpi**2 / meta**2) / (32.0 * math.pi**2 * f0**2) - 8.0 / f0**2 * (mk**2 - mpi**2) * l85)
    return {"gamma_pi": gamma_pi, "delta_pi": delta_pi, "theta_pi": 2.0 * gamma_pi,
            "gamma_k": gamma_k, "delta_k": delta_k, "theta_k": 2.0 * (delta_k + gamma_k)}


def form_factors(method: str, omnes: dict[str, tuple[np.ndarray, np.ndarray]], *, seed: int = 0,
                 corrected: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(s, G_pi, G_K): the scalar form factors (GeV, 1/v included) of every Omnes iteration, shape (n_iter, n_s).

    ``omnes`` maps ``"c1", "c2", "d1", "d2"`` to :func:`read_omnes` results; ``corrected=False`` uses
    hipsofcobra's gluon coupling (defect 2) for comparison with the package.
    """
    if method not in METHODS:
        raise ParameterError("method", method, f"must be one of {', '.join(METHODS)}")
    s = omnes["c1"][0]
    tab = {k: v[1] for k, v in omnes.items()}
    n_iter = tab["c1"].shape[0]
    rng = np.random.default_rng(seed)
    c = {k: np.asarray(rng.normal(mean, sigma, n_iter)) for k, (mean, sigma) in CHPT.items()}
    f = _chpt_at_zero(c)
    xi_g_v = XI_G_V if corrected else XI_G_V_UPSTREAM
    xi_g, xi_q = xi_g_v / VEV, 1.0 / VEV  # gluon; light and strange quarks (couplings 1: a Higgs-mixed scalar)
    mass_term = xi_q + (1.0 - GAMMA_M) * xi_g
    g_pi0 = xi_g * f["theta_pi"] - mass_term * (f["gamma_pi"] + f["delta_pi"])
    g_k0 = xi_g * f["theta_k"] - mass_term * (f["gamma_k"] + f["delta_k"])
    kaon_slope = KAON_SLOPE_V_UPSTREAM / VEV * (xi_g_v / XI_G_V_UPSTREAM)
    g_pi_slope = rng.normal(xi_g, abs(xi_g) * PION_SLOPE_REL_SIGMA, n_iter)
    g_k_slope = rng.normal(kaon_slope, abs(kaon_slope) * KAON_SLOPE_REL_SIGMA, n_iter)
    # derivative at s = 0 as hipsofcobra takes it: the mean of the first two difference quotients
    d = {k: 0.5 * ((v[:, 1] - v[:, 0]) / (s[1] - s[0]) + (v[:, 2] - v[:, 1]) / (s[2] - s[1])) for k, v in tab.items()}
    n_pi, n_k = 1.0, math.sqrt(3.0) / 2.0
    q_pi0, q_k0 = n_pi * g_pi0, n_k * g_k0
    if method == "DGL":
        q_pi1 = n_pi * g_pi_slope - xi_g * (n_pi * f["theta_pi"] * d["c1"] + n_k * f["theta_k"] * d["d1"])
        q_k1 = n_k * g_k_slope - xi_g * (n_k * f["theta_k"] * d["d2"] + n_pi * f["theta_pi"] * d["c2"])
    else:
        q_pi1 = n_pi * g_pi_slope - d["c1"] * g_pi0 - d["d1"] * g_k0
        q_k1 = n_k * g_k_slope - d["c2"] * g_pi0 - d["d2"] * g_k0
    poly_pi = q_pi0[:, None] + s[None, :] * q_pi1[:, None]
    poly_k = q_k0[:, None] + s[None, :] * q_k1[:, None]
    g_pi = tab["c1"] * poly_pi + tab["d1"] * poly_k / n_pi
    g_k = tab["c2"] * poly_pi + tab["d2"] * poly_k / n_k
    return s, g_pi, g_k


@cache
def _omnes_tables(directory: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The four Omnes tables of a folder, parsed once per process (12 MB of text)."""
    omnes = {name[5:7]: read_omnes(directory / name) for name in OMNES_FILES}
    if any(not np.array_equal(v[0], omnes["c1"][0]) for v in omnes.values()):
        raise ParameterError("omnes_dir", str(directory), "its four Omnes tables have different s grids")
    return omnes


def dispersive_band(method: str, omnes_dir: str | Path | None = None, *, seed: int = 0,
                    corrected: bool = True) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The reduced widths Gamma_hat = |G|^2 / (16 pi m_phi) at sin theta = 1 per channel: {"pipi"/"KK":
    (m_phi, (central, lower, upper))} in GeV, m_phi > 0 on hipsofcobra's s grid; central, lower and
    upper from the mean of |G| over the iterations and mean -/+ its standard deviation.

    ``corrected=False`` keeps hipsofcobra's gluon coupling (defect 2); the width normalisation (defect 1)
    is applied by :func:`upstream_widths`, which reproduces the package's numbers.
    """
    directory = find_omnes_dir() if omnes_dir is None else Path(omnes_dir)
    s, g_pi, g_k = form_factors(method, _omnes_tables(directory.resolve()), seed=seed, corrected=corrected)
    keep = s > 0
    m = np.sqrt(s[keep])
    out = {}
    for channel, g in (("pipi", g_pi), ("KK", g_k)):
        a = np.abs(g[:, keep])
        mean, sd = a.mean(axis=0), a.std(axis=0)
        band = np.stack([mean, np.clip(mean - sd, 0.0, None), mean + sd], axis=1)
        out[channel] = (m, band**2 / (16.0 * math.pi * m[:, None]))
    return out


def upstream_widths(method: str, omnes_dir: str | Path | None = None, *, seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """hipsofcobra 0.0.8's widths as the package computes them (both defects in; one mass per channel,
    0.134 and 0.497 GeV): {"pipi"/"KK": (m_phi, (central, lower, upper))} in GeV. For comparison only."""
    out = {}
    for channel, (m, hat) in dispersive_band(method, omnes_dir, seed=seed, corrected=False).items():
        md = CHPT["mpi" if channel == "pipi" else "mk"][0]
        iso = 1.5 if channel == "pipi" else 2.0  # (1 + 1/2) and (1 + 1) sub-modes at one mass
        beta = np.sqrt(np.clip(1.0 - 4.0 * md**2 / m**2, 0.0, None))
        out[channel] = (m, 2.0 * iso * hat * beta[:, None])  # 2.0: defect 1
    return out


TABLE_COLUMNS = ("m_phi", "pipi_DGL_central", "pipi_DGL_lower", "pipi_DGL_upper", "KK_DGL_central", "KK_DGL_lower",
                 "KK_DGL_upper", "pipi_BTPZ_central", "pipi_BTPZ_lower", "pipi_BTPZ_upper", "KK_BTPZ_central",
                 "KK_BTPZ_lower", "KK_BTPZ_upper")


def table_text(omnes_dir: str | Path | None = None, seed: int = 0) -> str:
    """The text of ``data/dispersive_widths.txt``: the reduced widths of both methods, both channels."""
    bands = {method: dispersive_band(method, omnes_dir, seed=seed) for method in METHODS}
    m = bands["DGL"]["pipi"][0]
    data = np.column_stack([m, *(bands[method][channel][1] for method in METHODS for channel in ("pipi", "KK"))])
    header = f"""\
Reduced hadronic widths Gamma_hat = |G|^2 / (16 pi m_phi) of a Higgs-mixed scalar at sin(theta) = 1, in GeV;
Gamma(phi -> pi pi) = Gamma_hat_pipi (beta_pi+- + beta_pi0 / 2), Gamma(phi -> K K) = Gamma_hat_KK (beta_K+- + beta_K0).
Computed by mcdh.physics.dispersive.table_text() (seed {seed}) from the Omnes solutions shipped with {UPSTREAM},
input/hips_c1.txt ... hips_d2.txt, methods DGL and BTPZ, couplings (1, 1, 1); central = mean |G| over its 100
iterations, lower / upper = mean -/+ its standard deviation. Two defects of hipsofcobra 0.0.8 are corrected:
(1) its G_to_width is a factor 2 too large (the 1/2 of G_F/sqrt(2) = 1/(2 v^2) lost when 1/v moved into G,
upstream commit 3b4aba1, June 2024); (2) its gluon coupling xi_g v = -0.412 (beta = mu^2 d(alpha_s/pi)/dmu^2,
one heavy quark) is replaced by the low-energy theorem's -2/9, and the kaon slope -0.536731/v by the same
factor. Phase space with physical masses per sub-mode; constants drawn once per iteration. See the module
docstring of mcdh.physics.dispersive; tests/test_widths.py recomputes this file.
columns: {'  '.join(TABLE_COLUMNS)}"""
    lines = ["# " + line for line in header.splitlines()]
    lines += [" ".join(f"{x:.10g}" for x in row) for row in data]
    return "\n".join(lines) + "\n"


@cache
def shipped_table() -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]:
    """``data/dispersive_widths.txt``: {(method, channel): (m_phi, (central, lower, upper) reduced widths)}."""
    from importlib import resources

    text = resources.files("mcdh").joinpath("data").joinpath("dispersive_widths.txt").read_text()
    data = np.loadtxt(text.splitlines(), comments="#")
    out = {}
    k = 1
    for method in METHODS:
        for channel in ("pipi", "KK"):
            out[(method, channel)] = (data[:, 0], data[:, k:k + 3])
            k += 3
    return out
