"""Matrix elements: compiled helicity amplitudes against the slow Dirac-matrix
reference, gauge invariance, the soft-photon limit and Lorentz invariance."""
import math

import numpy as np
import pytest

from mcdh import rambo
from mcdh.physics import amplitudes as A
from mcdh.physics import reference as R

RS = 10.58
P1 = np.array([RS / 2, 0, 0, RS / 2])
P2 = np.array([RS / 2, 0, 0, -RS / 2])
# (m_A, m_chi, m_phi, Gamma_A): a B1-like point and a light one
POINTS = [(3.0, 1.0, 0.5, 0.07), (1.2, 0.4, 0.2, 0.03), (7.5, 2.5, 1.25, 0.18)]


def _events(masses, n, seed):
    mom, _ = rambo(RS, masses, n, seed)
    return mom


@pytest.mark.slow
@pytest.mark.parametrize("m_A,m_chi,m_phi,gam", POINTS)
def test_gammaphi_helicity_sum_matches_traces(m_A, m_chi, m_phi, gam):
    worst = 0.0
    for k, _pp, k1, k2 in _events([0.0, m_phi, m_chi, m_chi], 40, 11):
        fast = A.me2_gammaphi(P1, P2, k, k1, k2, m_chi, m_A, gam)
        full = A.me2_gammaphi_helicity(P1, P2, k, k1, k2, m_chi, m_A, gam)
        ref = R._me2_gammaphi_trace(P1, P2, k, k1, k2, m_chi, m_A, gam)
        assert fast > 0
        worst = max(worst, abs(fast / ref - 1), abs(full / ref - 1))
    assert worst < 1e-10


@pytest.mark.slow
@pytest.mark.parametrize("m_A,m_chi,m_phi,gam", POINTS)
def test_phi_closed_form_helicity_and_traces_agree(m_A, m_chi, m_phi, gam):
    for _pp, k1, k2 in _events([m_phi, m_chi, m_chi], 40, 12):
        closed = A.me2_phi(P1, P2, k1, k2, m_chi, m_A, gam)
        hel = A.me2_phi_helicity(P1, P2, k1, k2, m_chi, m_A, gam)
        ref = R.me2_phi_trace(P1, P2, k1, k2, m_chi, m_A, gam)
        assert hel == pytest.approx(closed, rel=1e-10)
        assert ref == pytest.approx(closed, rel=1e-10)


def test_equal_beam_helicities_vanish():
    m_A, m_chi, m_phi, gam = POINTS[0]
    k, _pp, k1, k2 = _events([0.0, m_phi, m_chi, m_chi], 1, 3)[0]
    big = abs(A._amplitude_gammaphi(P1, P2, k, k1, k2, m_chi, m_A, gam, 1, -1, 1, 1, 1))
    assert big > 0
    for h in (-1, 1):
        for hg in (-1, 1):
            a = A._amplitude_gammaphi(P1, P2, k, k1, k2, m_chi, m_A, gam, h, h, hg, 1, -1)
            assert abs(a) == 0.0


def test_ward_identity():
    """eps -> k gives zero, for every helicity, in both evaluations."""
    m_A, m_chi, m_phi, gam = POINTS[0]
    for k, _pp, k1, k2 in _events([0.0, m_phi, m_chi, m_chi], 20, 4):
        scale = max(
            abs(A._amplitude_gammaphi(P1, P2, k, k1, k2, m_chi, m_A, gam, h, -h, hg, s1, s2))
            for h in (-1, 1) for hg in (-1, 1) for s1 in (-1, 1) for s2 in (-1, 1)
        ) * k[0]  # eps -> k carries the photon energy
        for h in (-1, 1):
            for s1 in (-1, 1):
                for s2 in (-1, 1):
                    w = A._ward_gammaphi(P1, P2, k, k1, k2, m_chi, m_A, gam, h, -h, s1, s2)
                    assert abs(w) < 1e-12 * scale
        ref_k = R._me2_gammaphi_trace(P1, P2, k, k1, k2, m_chi, m_A, gam, polarizations=[k])
        ref_t = R._me2_gammaphi_trace(P1, P2, k, k1, k2, m_chi, m_A, gam)
        assert abs(ref_k) < 1e-12 * ref_t * k[0] ** 2


def _boost(p, beta):
    """Boost four-vectors p (..., 4) by velocity vector beta."""
    b2 = beta @ beta
    g = 1 / math.sqrt(1 - b2)
    bp = p[..., 1:] @ beta
    e = g * (p[..., 0] + bp)
    vec = p[..., 1:] + ((g - 1) * bp / b2 + g * p[..., 0])[..., None] * beta
    return np.concatenate([e[..., None], vec], axis=-1)


def _rotate(p, axis, angle):
    axis = axis / np.linalg.norm(axis)
    K = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    Rm = np.eye(3) + math.sin(angle) * K + (1 - math.cos(angle)) * K @ K
    out = p.copy()
    out[..., 1:] = p[..., 1:] @ Rm.T
    return out


def test_lorentz_invariance():
    m_A, m_chi, m_phi, gam = POINTS[0]
    rng = np.random.default_rng(7)
    for ev in _events([0.0, m_phi, m_chi, m_chi], 20, 5):
        k, _pp, k1, k2 = ev
        before = A.me2_gammaphi(P1, P2, k, k1, k2, m_chi, m_A, gam)
        beta = rng.uniform(-0.5, 0.5, 3)
        allp = _rotate(_boost(np.stack([P1, P2, k, k1, k2]), beta), rng.normal(size=3), rng.uniform(0, 2 * math.pi))
        after = A.me2_gammaphi(allp[0], allp[1], allp[2], allp[3], allp[4], m_chi, m_A, gam)
        assert after == pytest.approx(before, rel=1e-10)
        ph_before = A.me2_phi_helicity(P1, P2, k1, k2, m_chi, m_A, gam)
        ph_after = A.me2_phi_helicity(allp[0], allp[1], allp[3], allp[4], m_chi, m_A, gam)
        assert ph_after == pytest.approx(ph_before, rel=1e-10)


def test_soft_photon_eikonal_limit():
    """k -> 0: |M_gphi|^2 -> e^2 2(p1.p2)/((p1.k)(p2.k)) |M_phi|^2 (couplings divided out)."""
    m_A, m_chi, m_phi, gam = POINTS[0]
    hard = _events([m_phi, m_chi, m_chi], 5, 6)  # rest frame of the hard system
    n = np.array([0.3, -0.5, 0.6])
    n /= np.linalg.norm(n)
    for ev in hard:
        devs = []
        for delta in (1e-2, 1e-3, 1e-4):
            k = delta * np.concatenate([[1.0], n])
            Q = P1 + P2 - k
            mq = math.sqrt(Q[0] ** 2 - Q[1:] @ Q[1:])
            devs.append(_soft_ratio(ev, k, Q, mq, m_A, m_chi, m_phi, gam) - 1)
        assert abs(devs[-1]) < 1e-3
        assert abs(devs[-1]) < abs(devs[0]) / 10  # the deviation shrinks with the photon energy


def _soft_ratio(ev, k, Q, mq, m_A, m_chi, m_phi, gam):
    """The hard event, its three-momenta rescaled to total mass mq (bisection) and boosted along Q."""
    p3 = ev[:, 1:]
    masses = np.array([m_phi, m_chi, m_chi])
    lo, hi = 0.0, 2.0
    for _ in range(200):
        x = 0.5 * (lo + hi)
        e = np.sqrt(masses**2 + x**2 * np.sum(p3**2, axis=1)).sum()
        lo, hi = (x, hi) if e < mq else (lo, x)
    x = 0.5 * (lo + hi)
    rest = np.concatenate([np.sqrt(masses**2 + x**2 * np.sum(p3**2, axis=1))[:, None], x * p3], axis=1)
    lab = _boost(rest, Q[1:] / Q[0])
    _pp, k1, k2 = lab
    eik = 2 * A.mdot(P1, P2) / (A.mdot(P1, k) * A.mdot(P2, k))
    return A.me2_gammaphi(P1, P2, k, k1, k2, m_chi, m_A, gam) / (eik * A.me2_phi(P1, P2, k1, k2, m_chi, m_A, gam))
