"""Mock backgrounds (paper section 3.2): kinematics, acceptance, normalisation."""
import math

import numpy as np
import pytest
from scipy import integrate

import mcdh
from mcdh.generate.background import generate_background
from mcdh.kinematics.acceptance import PhotonAcceptance
from mcdh.kinematics.variables import cos_theta, mass, pair_mass

SQRT_S = 10.58


def test_phi_background_normalisation_and_kinematics():
    ev = generate_background("phi", 1.0, 2.0, 50_000, 1, n_b=7.0)
    assert ev.particles == ("phi", "chi", "chibar")
    assert ev.sigma_fb == pytest.approx(7.0 / 1e4, rel=1e-12)
    assert ev.expected_events(1e4) == pytest.approx(7.0, rel=1e-12)
    np.testing.assert_allclose(mass(ev.momentum("phi")), 1.0, atol=1e-6)
    mchichi = pair_mass(ev.momentum("chi"), ev.momentum("chibar"))
    assert mchichi.min() >= 4.0 - 1e-9 and mchichi.max() <= SQRT_S - 1.0 + 1e-9
    np.testing.assert_allclose(ev.momenta.sum(axis=1), np.tile([SQRT_S, 0, 0, 0], (len(ev), 1)), atol=1e-11)


def test_phi_background_missing_mass_spectrum_is_flat_phase_space():
    """Weighted m_chichi^2 density = Phi_2(s; m_phi, M) Phi_2(M^2; m_chi, m_chi) / Phi_3."""
    m_phi, m_chi = 1.0, 2.0
    ev = generate_background("phi", m_phi, m_chi, 300_000, 2)
    m2 = pair_mass(ev.momentum("chi"), ev.momentum("chibar")) ** 2
    edges = np.linspace(4 * m_chi**2, (SQRT_S - m_phi) ** 2, 16)
    h, _ = np.histogram(m2, edges, weights=ev.weights)
    h2, _ = np.histogram(m2, edges, weights=ev.weights**2)

    def lam(a, b, c):
        return a * a + b * b + c * c - 2 * (a * b + a * c + b * c)

    def dens(M2):
        s = SQRT_S**2
        return math.sqrt(max(lam(s, m_phi**2, M2), 0)) / s * math.sqrt(max(lam(M2, m_chi**2, m_chi**2), 0)) / M2

    parts = np.array([integrate.quad(dens, a, b)[0] for a, b in zip(edges[:-1], edges[1:])])
    ref = parts / parts.sum() * ev.sigma_fb
    chi2 = float(np.sum((h - ref) ** 2 / h2))
    assert chi2 < 15 + 5 * math.sqrt(30), chi2


def test_gammaphi_background_acceptance_and_normalisation():
    acc = PhotonAcceptance()
    ev = generate_background("gammaphi", 0.5, 1.0, 40_000, 3, n_b=100.0)
    assert len(ev) == 40_000
    assert ev.sigma_fb == pytest.approx(0.22 * 100.0 / 1e4, rel=1e-12)
    g = ev.momentum("gamma")
    assert np.all(acc.accepts(g))
    assert g[:, 0].min() >= 0.25
    ct = cos_theta(g)
    assert ct.max() <= math.cos(math.radians(22)) + 1e-12
    assert ct.min() >= math.cos(math.radians(158)) - 1e-12
    np.testing.assert_allclose(mass(g), 0.0, atol=1e-5)
    mchichi = pair_mass(ev.momentum("chi"), ev.momentum("chibar"))
    assert mchichi.min() >= 2.0 - 1e-9 and mchichi.max() <= SQRT_S - 0.5 + 1e-9
    eff = ev.parameters["acceptance_efficiency"]
    assert 0.5 < eff < 0.95


def test_angular_acceptance_alone_is_cos_22_degrees():
    """Flat phase space is isotropic: with no energy cut the weighted acceptance is cos 22 deg."""
    acc = PhotonAcceptance(e_min=0.0)
    p, w = mcdh.rambo(SQRT_S, (0.0, 0.5, 1.0, 1.0), 400_000, 4)
    ok = acc.accepts(p[:, 0, :])
    frac = w[ok].sum() / w.sum()
    err = math.sqrt(frac * (1 - frac) / 400_000) * 1.5
    assert abs(frac - math.cos(math.radians(22))) < 5 * err


def test_gammaphi_phase_space_inside_acceptance_matches_direct_estimate():
    ev = generate_background("gammaphi", 0.5, 1.0, 100_000, 5)
    p, w = mcdh.rambo(SQRT_S, (0.0, 0.5, 1.0, 1.0), 400_000, 6)
    direct = float(np.mean(w * PhotonAcceptance().accepts(p[:, 0, :])))
    err = float(np.std(w * PhotonAcceptance().accepts(p[:, 0, :]))) / math.sqrt(400_000)
    assert ev.parameters["phase_space_volume"] == pytest.approx(direct, abs=6 * err)


def test_unweighted_sample_has_equal_weights_and_same_shape():
    weighted = generate_background("phi", 1.0, 2.0, 200_000, 7, n_b=10.0)
    unw = generate_background("phi", 1.0, 2.0, 200_000, 7, n_b=10.0, unweight=True)
    eff = unw.parameters["unweighting_efficiency"]
    assert 0.05 < eff <= 1.0
    assert len(unw) == pytest.approx(eff * 200_000, rel=0.05)
    assert np.all(unw.weights == unw.weights[0])
    assert unw.sigma_fb == pytest.approx(10.0 / 1e4, rel=1e-12)
    m_w = pair_mass(weighted.momentum("chi"), weighted.momentum("chibar"))
    m_u = pair_mass(unw.momentum("chi"), unw.momentum("chibar"))
    mean_w = np.average(m_w, weights=weighted.weights)
    assert np.mean(m_u) == pytest.approx(mean_w, abs=5 * np.std(m_u) / math.sqrt(len(unw)))


def test_background_is_reproducible_and_thread_independent():
    a = generate_background("gammaphi", 0.5, 1.0, 70_000, 9, n_threads=1)
    b = generate_background("gammaphi", 0.5, 1.0, 70_000, 9, n_threads=2)
    assert np.array_equal(a.momenta, b.momenta) and np.array_equal(a.weights, b.weights)


@pytest.mark.parametrize(
    "args, kwargs, parameter",
    [
        (("pi0", 1.0, 2.0, 10), {}, "channel"),
        (("phi", -1.0, 2.0, 10), {}, "m_phi"),
        (("phi", 1.0, float("nan"), 10), {}, "m_chi"),
        (("phi", 3.0, 4.0, 10), {}, "m_phi, m_chi"),
        (("phi", 1.0, 2.0, 0), {}, "n_events"),
        (("phi", 1.0, 2.0, 10), {"n_b": -1.0}, "n_b"),
        (("gammaphi", 1.0, 2.0, 10), {"acceptance": PhotonAcceptance(e_min=6.0)}, "acceptance.e_min"),
    ],
)
def test_bad_background_input(args, kwargs, parameter):
    with pytest.raises(mcdh.ParameterError) as exc:
        generate_background(*args, **kwargs)
    assert exc.value.parameter == parameter


def test_bad_acceptance():
    with pytest.raises(mcdh.ParameterError) as exc:
        PhotonAcceptance(theta_min_deg=100.0, theta_max_deg=80.0)
    assert "theta_min_deg" in exc.value.parameter


def test_cos_theta_edges():
    p = np.array([[1.0, 0, 0, 0], [1.0, 0, 0, -1.0], [3.0, 1.0, 2.0, 2.0]])
    np.testing.assert_allclose(cos_theta(p), [1.0, -1.0, 2.0 / 3.0], rtol=1e-15)


@pytest.mark.parametrize("channel", ["phi", "gammaphi"])
def test_background_stream_equals_in_memory_sample(channel, tmp_path):
    """The stream (two passes, bounded memory) gives generate_background's events in its order, the
    weights to the rounding of the sums, and the same record; through the CLI's writer the file too."""
    from mcdh.generate.background import BackgroundStream
    from mcdh.io import open_writer, read_events

    n = 150_001  # three batches of 65536 on one thread, the last one cut
    ref = generate_background(channel, 1.3, 2.1, n, 11, n_b=7.0, n_threads=2)
    stream = BackgroundStream(channel, 1.3, 2.1, n, 11, n_b=7.0, n_threads=1)
    with open_writer(tmp_path / "b.root", n, tree="b") as out:
        for chunk in stream:
            assert len(chunk) <= 1 << 16
            out.write(chunk)
        out.set_parameters(stream.parameters)
    back = read_events(tmp_path / "b.root", tree="b")
    assert np.array_equal(back.momenta, ref.momenta)
    np.testing.assert_allclose(back.weights, ref.weights, rtol=1e-14, atol=0)
    assert back.weights.sum() == pytest.approx(stream.sigma_fb, rel=1e-14)
    assert stream.sigma_fb == pytest.approx(ref.sigma_fb, rel=1e-14)
    assert set(stream.parameters) <= set(ref.parameters)
    for key, value in stream.parameters.items():
        if key == "phase_space_volume":
            assert value == pytest.approx(ref.parameters[key], rel=1e-13)
        else:
            assert value == ref.parameters[key], key
