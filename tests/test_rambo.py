"""RAMBO: phase-space volumes, distributions, exactness, reproducibility, errors."""
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import integrate

import mcdh
from mcdh import _rambo
from mcdh.generate.phasespace import (
    CHUNK_EVENTS,
    chunk_bit_generators,
    massless_volume,
    rambo,
    rambo_from_uniforms,
    rambo_numpy,
    uniforms_from_words,
)

SQRT_S = 10.58


def kallen(a, b, c):
    return a * a + b * b + c * c - 2 * a * b - 2 * a * c - 2 * b * c


def phi2(M2, m1, m2):
    """Two-body volume pi p*/M = pi sqrt(lambda)/(2 M^2) (no 2 pi factors)."""
    lam = kallen(M2, m1 * m1, m2 * m2)
    return math.pi * math.sqrt(max(lam, 0.0)) / (2.0 * M2)


def phi3(sqrt_s, m1, m2, m3):
    """Three-body volume by integrating over the (2,3) pair mass."""
    s = sqrt_s**2

    def f(M2):
        return phi2(s, m1, math.sqrt(M2)) * phi2(M2, m2, m3)

    val, err = integrate.quad(f, (m2 + m3) ** 2, (sqrt_s - m1) ** 2, epsabs=0, epsrel=1e-10, limit=200)
    return val


def phi4(sqrt_s, m1, m2, m3, m4):
    """Four-body volume: (12) and (34) pair masses, then two-body decays."""
    s = sqrt_s**2

    def f(M34, M12):
        return phi2(s, M12, M34) * phi2(M12**2, m1, m2) * phi2(M34**2, m3, m4) * 4 * M12 * M34

    val, err = integrate.dblquad(
        f, m1 + m2, sqrt_s - m3 - m4, lambda M12: m3 + m4, lambda M12: sqrt_s - M12, epsabs=0, epsrel=1e-9
    )
    return val


def check_exact(p, masses, sqrt_s, tol=1e-12):
    total = p.sum(axis=1)
    scale = sqrt_s
    assert np.max(np.abs(total[:, 0] - sqrt_s)) / scale < tol
    assert np.max(np.abs(total[:, 1:])) / scale < tol
    m2 = p[..., 0] ** 2 - np.sum(p[..., 1:] ** 2, axis=-1)
    assert np.max(np.abs(m2 - np.asarray(masses) ** 2)) / sqrt_s**2 < tol
    assert np.all(p[..., 0] >= np.asarray(masses) * (1 - 1e-12))


# ----------------------------------------------------------------------------
# volumes


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6])
def test_massless_volume_closed_form(n):
    p, w = rambo(SQRT_S, [0.0] * n, 2000, 1)
    expected = (math.pi / 2) ** (n - 1) * SQRT_S ** (2 * (n - 2)) / (math.factorial(n - 1) * math.factorial(n - 2))
    # massless RAMBO weights are constant: the volume itself
    np.testing.assert_allclose(w, expected, rtol=1e-13)
    assert massless_volume(n, SQRT_S) == pytest.approx(expected, rel=1e-14)
    check_exact(p, [0.0] * n, SQRT_S)


@pytest.mark.parametrize("n", [3, 4, 5])
def test_massless_closed_form_against_recursion(n):
    """Independent check of the closed form: Phi_n = int dM^2 Phi_2(s; 0, M) Phi_{n-1}(M^2)."""
    s = SQRT_S**2

    def f(M2):
        return phi2(s, 0.0, math.sqrt(M2)) * massless_volume(n - 1, math.sqrt(M2))

    val, _ = integrate.quad(f, 0.0, s, epsrel=1e-12)
    assert val == pytest.approx(massless_volume(n, SQRT_S), rel=1e-9)


def test_two_body_massive_volume():
    m1, m2 = 1.3, 4.1
    p, w = rambo(SQRT_S, [m1, m2], 5000, 3)
    np.testing.assert_allclose(w, phi2(SQRT_S**2, m1, m2), rtol=1e-12)
    check_exact(p, [m1, m2], SQRT_S)


@pytest.mark.parametrize("masses", [(1.0, 2.0, 2.0), (0.5, 0.0, 3.0), (0.1, 0.1, 0.1), (3.0, 3.3, 4.0)])
def test_three_body_massive_volume(masses):
    p, w = rambo(SQRT_S, masses, 400_000, 7)
    ref = phi3(SQRT_S, *masses)
    err = w.std() / math.sqrt(w.size)
    assert abs(w.mean() - ref) < 5 * err, (w.mean(), ref, err)
    assert err / ref < 0.01


def test_four_body_massive_volume():
    masses = (0.0, 1.0, 2.0, 2.0)
    p, w = rambo(SQRT_S, masses, 400_000, 11)
    ref = phi4(SQRT_S, *masses)
    err = w.std() / math.sqrt(w.size)
    assert abs(w.mean() - ref) < 5 * err, (w.mean(), ref, err)
    assert err / ref < 0.01


def test_three_body_pair_mass_distribution():
    """Weighted m_23^2 spectrum against dPhi_3/dM^2 = Phi_2(s; m1, M) Phi_2(M^2; m2, m3)."""
    masses = (1.0, 2.0, 2.0)
    p, w = rambo(SQRT_S, masses, 400_000, 5)
    m23sq = (p[:, 1, 0] + p[:, 2, 0]) ** 2 - np.sum((p[:, 1, 1:] + p[:, 2, 1:]) ** 2, axis=1)
    edges = np.linspace(16.0, (SQRT_S - 1.0) ** 2, 21)
    h, _ = np.histogram(m23sq, edges, weights=w / w.size)
    h2, _ = np.histogram(m23sq, edges, weights=(w / w.size) ** 2)
    s = SQRT_S**2
    ref = np.array(
        [
            integrate.quad(lambda M2: phi2(s, 1.0, math.sqrt(M2)) * phi2(M2, 2.0, 2.0), a, b)[0]
            for a, b in zip(edges[:-1], edges[1:])
        ]
    )
    pull = (h - ref) / np.sqrt(h2)
    chi2 = float(np.sum(pull**2))
    assert chi2 < 20 + 5 * math.sqrt(40), chi2
    assert np.max(np.abs(pull)) < 5


def test_massless_dalitz_energy_spectrum():
    """Massless 3-body: flat Dalitz plot, so E_1 has density 8 E_1 / s on [0, sqrt_s/2]."""
    p, w = rambo(SQRT_S, [0.0, 0.0, 0.0], 200_000, 9)
    e1 = p[:, 0, 0]
    assert e1.max() <= SQRT_S / 2 * (1 + 1e-12)
    edges = np.linspace(0.0, SQRT_S / 2, 21)
    h, _ = np.histogram(e1, edges)
    prob = 4.0 * (edges[1:] ** 2 - edges[:-1] ** 2) / SQRT_S**2
    expected = prob * e1.size
    chi2 = float(np.sum((h - expected) ** 2 / expected))
    assert chi2 < 20 + 5 * math.sqrt(40), chi2


# ----------------------------------------------------------------------------
# exactness, isotropy


@pytest.mark.parametrize("masses", [(0.0, 1.0, 2.0, 2.0), (0.0, 0.0), (1.76, 0.5, 0.5), (0.0,) * 7])
def test_conservation_and_on_shell_every_event(masses):
    p, w = rambo(SQRT_S, masses, 100_000, 13)
    check_exact(p, masses, SQRT_S)
    assert np.all(np.isfinite(w)) and np.all(w > 0)


def test_isotropy():
    p, w = rambo(SQRT_S, (0.0, 1.0, 2.0, 2.0), 400_000, 17)
    wn = w / w.sum()
    neff = w.sum() ** 2 / np.sum(w**2)
    for i in range(4):
        pa = np.sqrt(np.sum(p[:, i, 1:] ** 2, axis=1))
        c = p[:, i, 3] / pa
        ph = np.arctan2(p[:, i, 2], p[:, i, 1])
        # <cos>, <P2(cos)>, <cos phi>, <sin phi>, <cos 2 phi> all vanish
        for f, var in [(c, 1 / 3), (1.5 * c * c - 0.5, 0.2), (np.cos(ph), 0.5), (np.sin(ph), 0.5), (np.cos(2 * ph), 0.5)]:
            assert abs(np.sum(wn * f)) < 5 * math.sqrt(var / neff)


# ----------------------------------------------------------------------------
# against the plain numpy reference and the kernel's math


def conformal_gamma(u, n):
    """gamma = R0/M of the massless momenta made from the uniforms."""
    u = u.reshape(-1, n, 4)
    c = 2 * u[..., 0] - 1
    s = np.sqrt(1 - c * c)
    ph = 2 * np.pi * u[..., 1]
    e = -np.log((1 - u[..., 2]) * (1 - u[..., 3]))
    r0 = e.sum(1)
    r = np.stack([(e * s * np.cos(ph)).sum(1), (e * s * np.sin(ph)).sum(1), (e * c).sum(1)], 1)
    return r0 / np.sqrt(r0**2 - np.sum(r**2, axis=1))


def test_c_matches_numpy_reference_on_same_uniforms():
    rng = np.random.default_rng(21)
    for masses in [(0.0, 1.0, 2.0, 2.0), (0.0, 0.0, 0.0), (0.3, 0.3), (1.0, 2.0, 2.0, 0.0, 0.1)]:
        u = rng.random((3000, 4 * len(masses)))
        # the generator never keeps gamma > 20 (rounding grows like gamma^2)
        u = u[conformal_gamma(u, len(masses)) <= 20.0]
        pc, wc = rambo_from_uniforms(SQRT_S, masses, u)
        pn, wn = rambo_numpy(SQRT_S, masses, u)
        np.testing.assert_allclose(pc, pn, rtol=0, atol=1e-12 * SQRT_S)
        np.testing.assert_allclose(wc, wn, rtol=1e-12)


def test_large_boost_rejection_keeps_two_body_isotropic():
    """Redrawing gamma > 20 events (3-4 per mille for n = 2) must not bias angles."""
    p, w = rambo(SQRT_S, (0.0, 0.0), 400_000, 23)
    c = p[:, 0, 3] / p[:, 0, 0]
    h, _ = np.histogram(c, np.linspace(-1, 1, 21))
    expected = c.size / 20
    assert float(np.sum((h - expected) ** 2 / expected)) < 20 + 5 * math.sqrt(40)


def test_generator_consumes_the_stream_as_documented():
    """rambo(seed) equals the uniform map applied to the chunk stream's words."""
    masses = (0.0, 1.0, 2.0, 2.0)
    n_ev = 1000
    p, w = rambo(SQRT_S, masses, n_ev, np.random.default_rng(5))
    (bg,) = chunk_bit_generators(np.random.default_rng(5), n_ev)
    u = uniforms_from_words(bg.random_raw(2 * len(masses) * n_ev), len(masses))
    pr, wr = rambo_numpy(SQRT_S, masses, u)
    np.testing.assert_allclose(p, pr, rtol=0, atol=1e-12 * SQRT_S)
    np.testing.assert_allclose(w, wr, rtol=1e-12)


def test_kernel_log_accuracy():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.random(200_000), 10.0 ** rng.uniform(-300, 300, 200_000), [1.0, 0.5, 2.0, 1e-300]])
    got = _rambo.c_log(x)
    ref = np.log(x)
    err = np.abs(got - ref) / np.maximum(np.abs(ref), 1e-300)
    # near x = 1 the absolute error matters; elsewhere ~1 ulp relative
    assert np.max(np.abs(got - ref)) < 4e-16 * np.max(np.abs(ref))
    assert np.max(err[np.abs(x - 1) > 1e-3]) < 5e-16
    assert got[x == 1.0][0] == 0.0


def test_kernel_sincos_accuracy():
    u = np.concatenate([np.random.default_rng(1).random(400_000), np.arange(0, 1, 0.125)])
    c, s = _rambo.c_sincos_2pi(u)
    # the reference itself rounds its argument 2 pi u (up to 4 ulp of 2 pi)
    assert np.max(np.abs(c - np.cos(2 * np.pi * u))) < 1e-15
    assert np.max(np.abs(s - np.sin(2 * np.pi * u))) < 1e-15
    exact = np.arange(0, 1, 0.125)
    ce, se = _rambo.c_sincos_2pi(exact)
    assert np.array_equal(np.round(ce * 2**0.5 * 2) / 2, np.round(np.cos(2 * np.pi * exact) * 2**0.5 * 2) / 2)
    assert ce[0] == 1.0 and se[0] == 0.0 and ce[2] == 0.0 and se[2] == 1.0 and ce[4] == -1.0
    assert np.max(np.abs(c * c + s * s - 1)) < 5e-16


# ----------------------------------------------------------------------------
# reproducibility


def test_same_seed_same_arrays_any_thread_count():
    n_ev = 2 * CHUNK_EVENTS + 1234
    p1, w1 = rambo(SQRT_S, (0.0, 1.0, 2.0, 2.0), n_ev, 42, n_threads=1)
    p2, w2 = rambo(SQRT_S, (0.0, 1.0, 2.0, 2.0), n_ev, 42, n_threads=2)
    assert np.array_equal(p1, p2) and np.array_equal(w1, w2)
    p3, _ = rambo(SQRT_S, (0.0, 1.0, 2.0, 2.0), n_ev, 43, n_threads=2)
    assert not np.any(np.all(p3 == p1, axis=(1, 2)))


def test_prefix_stability_and_generator_advances():
    p_long, _ = rambo(SQRT_S, (1.0, 2.0, 2.0), CHUNK_EVENTS + 10, 8)
    p_short, _ = rambo(SQRT_S, (1.0, 2.0, 2.0), 100, 8)
    assert np.array_equal(p_long[:100], p_short)
    g = np.random.default_rng(8)
    a, _ = rambo(SQRT_S, (1.0, 2.0, 2.0), 100, g)
    b, _ = rambo(SQRT_S, (1.0, 2.0, 2.0), 100, g)
    assert np.array_equal(a, p_short) and not np.array_equal(a, b)


def test_out_arrays_are_filled_in_place():
    p = np.empty((500, 3, 4))
    w = np.empty(500)
    rp, rw = rambo(SQRT_S, (1.0, 2.0, 2.0), 500, 3, out=(p, w))
    assert rp is p and rw is w
    ref_p, ref_w = rambo(SQRT_S, (1.0, 2.0, 2.0), 500, 3)
    assert np.array_equal(p, ref_p) and np.array_equal(w, ref_w)


def test_zero_events():
    p, w = rambo(SQRT_S, (1.0, 2.0), 0, 1)
    assert p.shape == (0, 2, 4) and w.shape == (0,)


# ----------------------------------------------------------------------------
# property-based


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(2, 8),
    sqrt_s=st.floats(0.01, 1.0e4),
    fracs=st.lists(st.floats(0.0, 1.0), min_size=8, max_size=8),
    zeros=st.lists(st.booleans(), min_size=8, max_size=8),
    closeness=st.sampled_from([0.9, 0.5, 1e-2, 1e-4, 1e-7, 1e-10]),
    seed=st.integers(0, 2**32),
)
def test_property_random_masses_and_energies(n, sqrt_s, fracs, zeros, closeness, seed):
    f = np.array(fracs[:n]) * ~np.array(zeros[:n])
    if f.sum() == 0:
        f[0] = 1.0
    # sum of masses = sqrt_s (1 - closeness): from far above to just above threshold
    masses = f / f.sum() * sqrt_s * (1.0 - closeness)
    p, w = rambo(sqrt_s, masses, 300, seed)
    assert np.all(np.isfinite(p)) and np.all(np.isfinite(w)) and np.all(w > 0)
    check_exact(p, masses, sqrt_s, tol=2e-12)


# ----------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize(
    "kwargs, parameter",
    [
        (dict(sqrt_s=10.0, masses=[1.0], n_events=10), "masses"),
        (dict(sqrt_s=10.0, masses=[], n_events=10), "masses"),
        (dict(sqrt_s=10.0, masses=[1.0, -0.1], n_events=10), "masses"),
        (dict(sqrt_s=10.0, masses=[5.0, 5.0], n_events=10), "masses"),
        (dict(sqrt_s=10.0, masses=[6.0, 5.0], n_events=10), "masses"),
        (dict(sqrt_s=10.0, masses=[1.0, float("nan")], n_events=10), "masses"),
        (dict(sqrt_s=10.0, masses=[1.0, float("inf")], n_events=10), "masses"),
        (dict(sqrt_s=10.0, masses=["a", 1.0], n_events=10), "masses"),
        (dict(sqrt_s=float("nan"), masses=[1.0, 1.0], n_events=10), "sqrt_s"),
        (dict(sqrt_s=float("inf"), masses=[1.0, 1.0], n_events=10), "sqrt_s"),
        (dict(sqrt_s=-3.0, masses=[0.0, 0.0], n_events=10), "sqrt_s"),
        (dict(sqrt_s=0.0, masses=[0.0, 0.0], n_events=10), "sqrt_s"),
        (dict(sqrt_s=10.0, masses=[1.0, 1.0], n_events=-1), "n_events"),
        (dict(sqrt_s=10.0, masses=[1.0, 1.0], n_events=2.5), "n_events"),
        (dict(sqrt_s=10.0, masses=[1.0, 1.0], n_events=10, rng="x"), "rng"),
        (dict(sqrt_s=10.0, masses=[1.0, 1.0], n_events=10, rng=-4), "seed"),
        (dict(sqrt_s=10.0, masses=[1.0, 1.0], n_events=10, n_threads=0), "n_threads"),
        (dict(sqrt_s=10.0, masses=[1.0, 1.0], n_events=10, out=(np.empty((9, 2, 4)), np.empty(10))), "out"),
    ],
)
def test_bad_input_names_the_parameter(kwargs, parameter):
    with pytest.raises(mcdh.ParameterError) as exc:
        rambo(**kwargs)
    assert isinstance(exc.value, ValueError)
    assert exc.value.parameter == parameter
    assert str(exc.value).startswith(parameter)


def test_c_core_refuses_bad_input_without_crashing():
    """The C layer checks its inputs too (status codes, never NaN)."""
    p = np.empty((4, 2, 4))
    w = np.empty(4)
    u = np.full((4, 8), 0.5)
    assert _rambo.from_uniforms(1.0, np.array([0.6, 0.6]), u, p, w) == -4
    assert _rambo.from_uniforms(-1.0, np.array([0.0, 0.0]), u, p, w) == -3
    assert _rambo.from_uniforms(1.0, np.array([-0.1, 0.0]), u, p, w) == -2
    assert _rambo.from_uniforms(1.0, np.array([np.nan, 0.0]), u, p, w) == -2
    with pytest.raises(ValueError):
        _rambo.from_uniforms(1.0, np.array([0.0, 0.0]), u[:, :4], p, w)
