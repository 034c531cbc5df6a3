"""Model, benchmarks, relic relation and widths (PHYSICS.md sections 2 and 4)."""
import math
import warnings

import numpy as np
import pytest
from scipy import integrate

from mcdh import ParameterError, rambo
from mcdh.generate.phasespace import lips_factor
from mcdh.physics import widths as W
from mcdh.physics.constants import ALPHA_EM, HBAR_C_GEV_MM, HIGGS_VEV, SIN2_THETA_W, pdg_mass
from mcdh.physics.model import BENCHMARKS, DarkSector, g_chi_relic, m_chi_relic
from mcdh.physics.reference import width_chichiphi_integrand


@pytest.mark.parametrize("name,ratios", [("B1", (1 / 3, 1 / 6)), ("B2", (1 / 4, 1 / 6)), ("B3", (1 / 4, 1 / 8))])
def test_benchmark_masses(name, ratios):
    m = DarkSector.from_benchmark(name, 3.6)
    assert m.benchmark == name
    assert m.m_chi == pytest.approx(3.6 * ratios[0], rel=1e-15)
    assert m.m_phi == pytest.approx(3.6 * ratios[1], rel=1e-15)
    assert (m.g_chi, m.eps, m.theta, m.q_phi) == (1.0, 1e-4, 1e-4, 1.0)
    assert BENCHMARKS[name] == pytest.approx(ratios)


@pytest.mark.parametrize(
    "kwargs,needle",
    [
        (dict(m_A=1.0, m_chi=0.4, m_phi=0.3), "m_A > 2 m_chi + m_phi"),
        (dict(m_A=3.0, m_chi=0.5, m_phi=0.6), "m_chi > m_phi"),
        (dict(m_A=10.0, m_chi=2.0, m_phi=1.0), "m_A + m_phi < sqrt_s"),
        (dict(m_A=3.0, m_chi=1.0, m_phi=0.5, g_chi=0.0), "g_chi"),
        (dict(m_A=3.0, m_chi=1.0, m_phi=0.5, eps=-1e-4), "eps"),
        (dict(m_A=3.0, m_chi=1.0, m_phi=0.5, theta=2.0), "theta"),
        (dict(m_A=float("nan"), m_chi=1.0, m_phi=0.5), "m_A"),
        (dict(m_A=3.0, m_chi=1.0, m_phi=0.5, kinetic_mixing="Z"), "kinetic_mixing"),
        (dict(m_A=3.0, m_chi=1.0, m_phi=0.5, alpha_em=2.0), "alpha_em"),
    ],
)
def test_invalid_models_name_the_condition(kwargs, needle):
    with pytest.raises(ParameterError) as exc:
        DarkSector(**kwargs)
    assert needle in str(exc.value)


def test_unknown_benchmark():
    with pytest.raises(ParameterError, match="benchmark"):
        DarkSector.from_benchmark("B7", 3.0)


def test_relic_relation_round_trip():
    assert m_chi_relic("B1", 1.0) == pytest.approx(0.89)
    assert m_chi_relic("B2", 2.0) == pytest.approx(0.07 * 16)
    for b in BENCHMARKS:
        assert m_chi_relic(b, g_chi_relic(b, 1.3)) == pytest.approx(1.3, rel=1e-14)


def test_two_body_widths_closed_form():
    m = DarkSector(m_A=3.0, m_chi=1.0, m_phi=0.5, g_chi=0.7, eps=1e-3)
    r = (1.0 / 3.0) ** 2
    assert m.widths_A["chichi"] == pytest.approx(0.49 * 3.0 * (1 + 2 * r) * math.sqrt(1 - 4 * r) / (12 * math.pi), rel=1e-14)
    rmu = (pdg_mass(13) / 3.0) ** 2
    assert m.widths_A["mumu"] == pytest.approx(1e-6 * ALPHA_EM * 3.0 * (1 + 2 * rmu) * math.sqrt(1 - 4 * rmu) / 3, rel=1e-13)
    assert m.widths_A["tautau"] == 0.0  # 2 m_tau > 3 GeV
    hyper = m.replace(kinetic_mixing="hypercharge")
    assert hyper.widths_A["ee"] / m.widths_A["ee"] == pytest.approx(1 - SIN2_THETA_W, rel=1e-12)
    assert hyper.widths_A["chichi"] == m.widths_A["chichi"]


def test_three_body_integrand_matches_traces():
    """The Dalitz-plot formula of the three-body width equals the trace evaluation point by point."""
    m_A, m_chi, m_phi, gam = 3.0, 1.0, 0.5, 0.07
    mom, _ = rambo(m_A, [m_chi, m_chi, m_phi], 20, 3)
    q = np.array([m_A, 0, 0, 0.0])
    for k1, k2, pp in mom:
        s12 = W_dot(k1 + k2)
        s23 = W_dot(k2 + pp)
        s13 = W_dot(k1 + pp)
        qk1 = 0.5 * (m_A**2 + m_chi**2 - s23)
        qk2 = 0.5 * (m_A**2 + m_chi**2 - s13)
        formula = (2 * s12 + 8 * m_chi**2 + 8 * qk1 * qk2 / m_A**2) / (3 * ((s12 - m_A**2) ** 2 + (m_A * gam) ** 2))
        assert width_chichiphi_integrand(q, k1, k2, m_chi, m_A, gam) == pytest.approx(formula, rel=1e-12)


def W_dot(p):
    return p[0] ** 2 - p[1] ** 2 - p[2] ** 2 - p[3] ** 2


def test_three_body_width_quadrature_against_dblquad_and_rambo():
    m_A, m_chi, m_phi, g, qphi, gam = 3.0, 1.0, 0.5, 1.0, 1.0, 0.07
    gl = W.three_body_width(m_A, m_chi, m_phi, g, qphi, gam)
    # scipy adaptive quadrature of the same Dalitz integral
    mA2, m2 = m_A**2, m_chi**2

    def f(s23, s12):
        s13 = mA2 + 2 * m2 + m_phi**2 - s12 - s23
        b = 2 * s12 + 8 * m2 + 8 * 0.25 * (mA2 + m2 - s23) * (mA2 + m2 - s13) / mA2
        return (2 * qphi * g * m_A) ** 2 * g**2 * b / (3 * ((s12 - mA2) ** 2 + (m_A * gam) ** 2))

    def lim(s12):
        rs = math.sqrt(s12)
        e2, e3 = rs / 2, (mA2 - s12 - m_phi**2) / (2 * rs)
        p2, p3 = math.sqrt(max(e2**2 - m2, 0)), math.sqrt(max(e3**2 - m_phi**2, 0))
        return (e2 + e3) ** 2 - (p2 + p3) ** 2, (e2 + e3) ** 2 - (p2 - p3) ** 2

    val, _ = integrate.dblquad(f, 4 * m2, (m_A - m_phi) ** 2, lambda s: lim(s)[0], lambda s: lim(s)[1], epsabs=0, epsrel=1e-11)
    dq = val / ((2 * math.pi) ** 3 * 32 * m_A**3)
    assert gl == pytest.approx(dq, rel=1e-9)
    # Monte Carlo over RAMBO phase space (independent of the Dalitz parametrisation)
    mom, w = rambo(m_A, [m_chi, m_chi, m_phi], 400_000, 5)
    k1, k2, pp = mom[:, 0], mom[:, 1], mom[:, 2]
    s12 = W_dot(np.moveaxis(k1 + k2, -1, 0))
    s23 = W_dot(np.moveaxis(k2 + pp, -1, 0))
    vals = w * f(s23, s12) * lips_factor(3) / (2 * m_A)
    mc, err = vals.mean(), vals.std() / math.sqrt(vals.size)
    assert abs(mc - gl) < 4 * err
    assert err / mc < 3e-3


def test_total_width_is_self_consistent_and_includes_three_body():
    m = DarkSector.from_benchmark("B1", 6.0)
    wA = m.widths_A
    g3 = W.three_body_width(m.m_A, m.m_chi, m.m_phi, m.g_chi, m.q_phi, m.width_A)
    assert wA["chichiphi"] == pytest.approx(g3, rel=1e-12)
    assert 0 < wA["chichiphi"] < wA["chichi"]
    assert m.width_A == pytest.approx(sum(wA.values()))
    assert sum(m.branching_ratios_A.values()) == pytest.approx(1.0, rel=1e-14)
    # BR(chi chibar) ~ 1 for g_chi >> eps e (paper section 2)
    assert m.branching_ratios_A["chichi"] > 0.98


def test_phi_lepton_widths_and_theta_scaling():
    theta = 3e-4
    w = W.dark_higgs_widths(0.5, theta)
    mmu = pdg_mass(13)
    beta = math.sqrt(1 - 4 * mmu**2 / 0.25)
    assert w["mumu"] == pytest.approx(math.sin(theta) ** 2 * mmu**2 * 0.5 * beta**3 / (8 * math.pi * HIGGS_VEV**2), rel=1e-13)
    w2 = W.dark_higgs_widths(0.5, 2 * theta)
    for k in w:
        assert w2[k] == pytest.approx(w[k] * (math.sin(2 * theta) / math.sin(theta)) ** 2, rel=1e-12)
    # below 2 m_mu only e+e- is open
    low = W.dark_higgs_widths(0.2, theta)
    assert low["mumu"] == low["pipi"] == low["KK"] == 0.0 and low["ee"] > 0


def test_winkler_tables_interpolate_and_vanish_below_threshold():
    m, g = W.winkler_table("pipi")
    i = len(m) // 2
    assert W.winkler_width("pipi", m[i]) == pytest.approx(g[i], rel=1e-14)
    mid = 0.5 * (m[i] + m[i + 1])
    assert min(g[i], g[i + 1]) <= W.winkler_width("pipi", mid) <= max(g[i], g[i + 1])
    assert W.winkler_width("pipi", 2 * pdg_mass(111) * 0.999) == 0.0
    assert W.winkler_width("KK", 0.9) == 0.0
    assert W.winkler_width("KK", 1.1) > 0
    with pytest.raises(ParameterError, match="m_phi"):
        W.winkler_width("pipi", 2.5)


def test_hadronic_validity_warning():
    with pytest.warns(W.HadronicValidityWarning):
        W.dark_higgs_widths(1.3, 1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        W.dark_higgs_widths(1.0, 1e-4)


def test_lifetime_helpers():
    m = DarkSector.from_benchmark("B1", 4.5)
    assert m.ctau_phi_mm == pytest.approx(HBAR_C_GEV_MM / m.width_phi)
    assert W.decay_length_mm(2.0, m.m_phi, m.width_phi) == pytest.approx(2.0 / m.m_phi * m.ctau_phi_mm)
    assert W.ctau_mm(0.0) == math.inf
