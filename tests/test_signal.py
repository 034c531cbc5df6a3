"""The native signal generator: normalisation against independent integrations,
the narrow-width limit, kinematics, frames, reproducibility and unweighting."""
import math

import numpy as np
import pytest

from mcdh import ParameterError, rambo
from mcdh.generate.phasespace import lips_factor
from mcdh.generate.signal import cross_section, generate_signal, overweight_threshold
from mcdh.kinematics.acceptance import PhotonAcceptance
from mcdh.kinematics.beams import Beams
from mcdh.kinematics.variables import e_b, e_bar, m_chichi, mass, v_variable
from mcdh.physics import regimes
from mcdh.physics.amplitudes import couplings_gammaphi, couplings_phi, me2_array
from mcdh.physics.constants import GEV2_TO_FB
from mcdh.physics.model import DarkSector


def sigma_nwa(m: DarkSector) -> float:
    """sigma(e+e- -> A' phi) of PHYSICS.md 5.1 (narrow A'), fb."""
    s = m.sqrt_s**2
    x, y = m.m_A**2 / s, m.m_phi**2 / s
    lam = 1 + x * x + y * y - 2 * (x + y + x * y)
    return (m.eps_eff * m.e) ** 2 * m.q_phi**2 * m.g_chi**2 * math.sqrt(lam) * (lam + 12 * x) * s / (
        48 * math.pi * (s - m.m_A**2) ** 2
    ) * GEV2_TO_FB


@pytest.mark.parametrize("g_chi", [0.1, 0.01])
def test_narrow_width_limit_of_phi_cross_section(g_chi):
    m = DarkSector.from_benchmark("B1", 3.0, g_chi=g_chi)
    res = cross_section(m, "phi", 1_000_000, 2)
    ref = sigma_nwa(m) * m.branching_ratios_A["chichi"]
    dev = res.sigma_fb / ref - 1
    assert abs(dev) < 5 * res.sigma_err_fb / res.sigma_fb
    assert abs(dev) < 2e-3  # "well under 1 %"
    assert m.width_A / m.m_A < 1e-3


def _rambo_sigma(m, process, n, seed, acceptance=None):
    """Independent integration: flat RAMBO phase space times the matrix element."""
    rs = m.sqrt_s
    p1 = np.array([rs / 2, 0, 0, rs / 2])
    p2 = np.array([rs / 2, 0, 0, -rs / 2])
    masses = [m.m_phi, m.m_chi, m.m_chi] if process == "phi" else [0.0, m.m_phi, m.m_chi, m.m_chi]
    mom, w = rambo(rs, masses, n, seed)
    if process == "gammaphi":
        ok = acceptance.accepts(mom[:, 0])
        w = np.where(ok, w, 0.0)
    coup = couplings_phi(m) if process == "phi" else couplings_gammaphi(m)
    me = me2_array(process, p1, p2, mom, m.m_chi, m.m_A, m.width_A)
    vals = w * me * coup**2 / (2 * rs**2) * lips_factor(len(masses)) * GEV2_TO_FB
    return mom, vals


@pytest.mark.parametrize("process", ["phi", "gammaphi"])
def test_cross_section_against_flat_phase_space(process):
    """A broad A' (g_chi = 3) so that flat RAMBO sampling converges: both must agree."""
    m = DarkSector.from_benchmark("B1", 3.0, g_chi=3.0)
    acc = PhotonAcceptance()
    _, vals = _rambo_sigma(m, process, 1_500_000, 9, acc)
    mc, mc_err = vals.mean(), vals.std() / math.sqrt(vals.size)
    res = cross_section(m, process, 400_000, 10)
    pull = (res.sigma_fb - mc) / math.hypot(mc_err, res.sigma_err_fb)
    assert abs(pull) < 4, (res.sigma_fb, mc, mc_err)
    assert mc_err / mc < 0.02


def _chi2_compare(x1, w1, x2, w2, edges):
    h1, _ = np.histogram(x1, edges, weights=w1)
    v1, _ = np.histogram(x1, edges, weights=w1**2)
    h2, _ = np.histogram(x2, edges, weights=w2)
    v2, _ = np.histogram(x2, edges, weights=w2**2)
    ok = (v1 + v2) > 0
    return float(np.sum((h1 - h2)[ok] ** 2 / (v1 + v2)[ok])), int(ok.sum())


def test_distributions_match_flat_phase_space_reweighted():
    """Generated m_chichi and E_gamma spectra equal RAMBO x |M|^2 (chi^2 test)."""
    m = DarkSector.from_benchmark("B1", 3.0, g_chi=3.0)
    acc = PhotonAcceptance()
    mom_r, vals = _rambo_sigma(m, "gammaphi", 1_500_000, 21, acc)
    ev = generate_signal(m, "gammaphi", 300_000, 22)
    wr = vals / vals.size
    mr = mass(mom_r[:, 2] + mom_r[:, 3])
    chi2, nd = _chi2_compare(m_chichi(ev), ev.weights, mr, wr, np.linspace(2 * m.m_chi, 10.58 - m.m_phi, 25))
    assert chi2 < nd + 5 * math.sqrt(2 * nd)
    chi2, nd = _chi2_compare(ev.momenta[:, 0, 0], ev.weights, mom_r[:, 0, 0], wr, np.linspace(0.25, 5.3, 25))
    assert chi2 < nd + 5 * math.sqrt(2 * nd)


@pytest.mark.parametrize("process", ["phi", "gammaphi"])
def test_events_conserve_momentum_and_are_on_shell(process):
    m = DarkSector.from_benchmark("B2", 6.3)
    ev = generate_signal(m, process, 20_000, 3)
    tot = ev.momenta.sum(axis=1)
    assert np.max(np.abs(tot - [10.58, 0, 0, 0])) < 1e-12 * 10.58
    masses = {"gamma": 0.0, "phi": m.m_phi, "chi": m.m_chi, "chibar": m.m_chi}
    for name in ev.particles:
        p = ev.momentum(name)
        m2 = p[:, 0] ** 2 - np.sum(p[:, 1:] ** 2, axis=1)
        assert np.max(np.abs(m2 - masses[name] ** 2)) < 1e-10 * 10.58**2
    if process == "gammaphi":
        assert PhotonAcceptance().accepts(ev.momentum("gamma")).all()
    assert ev.sigma_fb == pytest.approx(ev.parameters["sigma_fb"])


def test_lab_frame():
    beams = Beams(electron_mass=1e-9)
    rs = beams.sqrt_s
    assert rs == pytest.approx(10.574, abs=5e-4)
    assert Beams().sqrt_s == pytest.approx(10.574, abs=5e-4)
    m = DarkSector.from_benchmark("B1", 4.2, sqrt_s=rs)
    cms = generate_signal(m, "gammaphi", 5_000, 4)
    lab = generate_signal(m, "gammaphi", 5_000, 4, frame="lab", beams=beams)
    assert lab.frame == "lab"
    np.testing.assert_allclose(lab.momenta.sum(axis=1), np.broadcast_to(beams.total, (5000, 4)), atol=1e-11)
    def m2(p):
        return p[..., 0] ** 2 - np.sum(p[..., 1:] ** 2, axis=-1)

    np.testing.assert_allclose(m2(lab.momenta), m2(cms.momenta), atol=1e-10 * rs**2)
    np.testing.assert_array_equal(lab.weights, cms.weights)
    # the CMS beams map onto the lab beams
    np.testing.assert_allclose(beams.to_lab(np.array([rs / 2, 0, 0, rs / 2])), beams.p_minus, atol=1e-12)
    np.testing.assert_allclose(beams.to_lab(np.array([rs / 2, 0, 0, -rs / 2])), beams.p_plus, atol=1e-12)


def test_reproducible_and_thread_independent():
    m = DarkSector.from_benchmark("B3", 2.4)
    a = generate_signal(m, "gammaphi", 70_000, 5, n_threads=1)
    b = generate_signal(m, "gammaphi", 70_000, 5, n_threads=2)
    np.testing.assert_array_equal(a.momenta, b.momenta)
    np.testing.assert_array_equal(a.weights, b.weights)
    c = generate_signal(m, "gammaphi", 70_000, 6, n_threads=2)
    assert not np.array_equal(a.weights, c.weights)
    assert cross_section(m, "gammaphi", 70_000, 5).sigma_fb == a.sigma_fb


@pytest.mark.parametrize("process", ["phi", "gammaphi"])
def test_unweighting(process):
    m = DarkSector.from_benchmark("B1", 3.0)
    weighted = generate_signal(m, process, 200_000, 7)
    un = generate_signal(m, process, 200_000, 7, unweight=True)
    eff = un.parameters["unweighting_efficiency"]
    assert eff >= 0.10
    assert len(un) == pytest.approx(eff * 200_000, rel=0.05)
    w_max = un.parameters["w_max"]
    assert np.mean(un.weights == w_max) > 0.97  # the rest are overweight events kept with w > w_max
    assert un.sigma_fb == pytest.approx(weighted.sigma_fb, rel=5 / math.sqrt(len(un)))


def test_overweight_threshold():
    w = np.array([10.0, 1, 1, 1, 1, 1, 1, 1, 1, 1])
    assert overweight_threshold(w, 0.0) == 10.0
    t = overweight_threshold(w, 0.1)  # budget 1.9: 10 - x = 1.9
    assert t == pytest.approx(8.1)
    assert np.sum(np.maximum(w - t, 0)) == pytest.approx(0.1 * w.sum())


def test_coupling_scalings():
    m = DarkSector.from_benchmark("B1", 5.1)
    base = {p: cross_section(m, p, 50_000, 8).sigma_fb for p in ("phi", "gammaphi")}
    for p in ("phi", "gammaphi"):
        assert cross_section(m.replace(eps=3e-4), p, 50_000, 8).sigma_fb / base[p] == pytest.approx(9.0, rel=1e-6)
        # q_phi also raises Gamma(A' -> chi chibar phi), hence Gamma_A: q_phi^2 up to ~1 %
        assert cross_section(m.replace(q_phi=2.0), p, 50_000, 8).sigma_fb / base[p] == pytest.approx(4.0, rel=0.02)
        # theta does not enter production
        assert cross_section(m.replace(theta=1e-2), p, 50_000, 8).sigma_fb == base[p]
    a2 = m.alpha_em * 1.1
    assert cross_section(m.replace(alpha_em=a2), "phi", 50_000, 8).sigma_fb / base["phi"] == pytest.approx(1.1, rel=1e-6)
    assert cross_section(m.replace(alpha_em=a2), "gammaphi", 50_000, 8).sigma_fb / base["gammaphi"] == pytest.approx(1.21, rel=1e-6)
    hyper = cross_section(m.replace(kinetic_mixing="hypercharge"), "phi", 50_000, 8).sigma_fb
    assert hyper / base["phi"] == pytest.approx(1 - 0.23122, rel=1e-6)


def test_photon_spectrum_follows_the_regime():
    """Hard regime (B1, m_A = 1.2): E_gamma piles up near E_bar; soft regime (B1, 7.5): near E_0."""
    for m_A, want in ((1.2, "hard"), (7.5, "soft")):
        m = DarkSector.from_benchmark("B1", m_A)
        assert regimes.REGIME_NAMES[int(regimes.regime(m.m_A, m.m_phi))] == want
        ev = generate_signal(m, "gammaphi", 100_000, 9)
        e = ev.momentum("gamma")[:, 0]
        lo, hi = 0.25, e_bar(m.m_A, 10.58)
        first = ev.weights[e < lo + 0.1 * (hi - lo)].sum()
        last = ev.weights[e > hi - 0.1 * (hi - lo)].sum()
        assert (last > 2 * first) if want == "hard" else (first > 2 * last)


def test_v_variable_and_energies():
    rs, m_A, m_phi = 10.58, 3.0, 0.5
    assert e_bar(m_A, rs) == pytest.approx((rs**2 - 9) / (2 * rs))
    assert e_b(m_A, m_phi, rs) == pytest.approx((rs**2 - 12.25) / (2 * rs))
    assert v_variable(e_bar(m_A, rs), 2.0, m_A, rs) == 0.0
    assert v_variable(1.0, m_A, m_A, rs) == 0.0
    assert v_variable(e_bar(m_A, rs) - 0.5, m_A - 0.2, m_A, rs) == pytest.approx(0.1)


def test_regime_ratio_inverts_eq_4_7():
    m_A = np.array([1.0, 3.0, 6.0])
    for r in (0.5, 1.0, 4.0, 10.0):
        m_phi = regimes.m_phi_for_ratio(m_A, r)
        inside = m_phi < m_A
        assert inside.any()
        np.testing.assert_allclose(regimes.regime_ratio(m_A[inside], m_phi[inside]), r, rtol=1e-10)
    grid = regimes.regime_map([1.2, 3.0, 7.5], [0.2, 0.5, 1.25])
    assert grid.shape == (3, 3)
    assert regimes.regime(3.0, 3.5) == -1  # m_phi > m_A: outside


@pytest.mark.parametrize(
    "kwargs,needle",
    [
        (dict(process="Z"), "process"),
        (dict(n_events=0), "n_events"),
        (dict(frame="detector"), "frame"),
        (dict(acceptance=PhotonAcceptance(e_min=0.0)), "e_min"),
        (dict(acceptance=PhotonAcceptance(theta_min_deg=0.0)), "theta"),
        (dict(acceptance=PhotonAcceptance(e_min=5.0)), "e_min"),
        (dict(max_overweight=1.5), "max_overweight"),
    ],
)
def test_bad_input(kwargs, needle):
    m = DarkSector.from_benchmark("B1", 3.0)
    args = dict(process="gammaphi", n_events=10)
    args.update(kwargs)
    with pytest.raises(ParameterError, match=needle):
        generate_signal(m, args.pop("process"), args.pop("n_events"), 1, **args)


def test_cross_section_grid_point_does_not_depend_on_the_grid():
    from mcdh.generate.signal import cross_section_table

    both = cross_section_table(benchmarks=["B2"], masses=[3.0, 4.5], processes=["phi"], n_events=3000, seed=4)
    alone = cross_section_table(benchmarks=["B2"], masses=[4.5], processes=["phi"], n_events=3000, seed=4)
    assert alone[0] == both[1]
    assert both[0].sigma_fb != both[1].sigma_fb


def test_cross_section_grid_does_not_depend_on_threads():
    """The grid's points run in parallel (one thread each): the same table, in the grid's order."""
    from mcdh.generate.signal import cross_section_table

    kw = dict(benchmarks=["B1", "B3"], masses=[3.0, 6.0], n_events=3000, seed=4)
    one, two = cross_section_table(n_threads=1, **kw), cross_section_table(n_threads=2, **kw)
    assert one == two
    assert [(r.model.benchmark, r.process, r.model.m_A) for r in two] == [
        (b, p, m) for b in ("B1", "B3") for p in ("phi", "gammaphi") for m in (3.0, 6.0)]


def test_weight_summary_equals_the_in_memory_statistics():
    """The streamed sigma, error and unweighting efficiency (bounded memory) equal those of all the weights."""
    from mcdh.events import sigma_and_error
    from mcdh.generate.signal import WeightSummary, unweighting_efficiency

    rng = np.random.default_rng(4)
    w = rng.pareto(3.0, 500_000) + 1e-3  # a heavy tail, as weighted samples have
    summary = WeightSummary(keep=20_000)
    for lo in range(0, w.size, 65_536):
        summary.add(w[lo:lo + 65_536])
    sigma, err = sigma_and_error(w)
    assert summary.sigma == pytest.approx(sigma, rel=1e-14) and summary.sigma_err == pytest.approx(err, rel=1e-10)
    assert summary.unweighting_efficiency() == pytest.approx(unweighting_efficiency(w), rel=1e-12)
    tiny = WeightSummary(keep=10)  # the threshold needs more of the tail than kept: said, not guessed
    tiny.add(w)
    assert tiny.unweighting_efficiency() is None
