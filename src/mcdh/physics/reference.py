"""Slow, independent evaluations of the matrix elements: explicit 4x4 Dirac
matrices (Dirac representation) and spin sums as traces, in plain numpy.

Used only by the tests, to check the compiled helicity amplitudes of
:mod:`mcdh.physics.amplitudes`. Unlike the fast code this keeps the full
unitary-gauge A' propagators, (-g^{mu nu} + q^mu q^nu / m_A^2) / D(q^2), and
sums photon polarisations over explicit real transverse vectors built by
Gram-Schmidt, so the only shared ingredient is the physics.
"""
from __future__ import annotations

import numpy as np

G = np.diag([1.0, -1.0, -1.0, -1.0])
_I2 = np.eye(2)
_SIGMA = [
    np.array([[0, 1], [1, 0]], dtype=complex),
    np.array([[0, -1j], [1j, 0]], dtype=complex),
    np.array([[1, 0], [0, -1]], dtype=complex),
]
GAMMA = np.zeros((4, 4, 4), dtype=complex)
GAMMA[0] = np.block([[_I2, 0 * _I2], [0 * _I2, -_I2]])
for _i, _s in enumerate(_SIGMA):
    GAMMA[_i + 1] = np.block([[0 * _I2, _s], [-_s, 0 * _I2]])
ONE = np.eye(4, dtype=complex)


def slash(p) -> np.ndarray:
    """p-slash = gamma^mu p_mu for a (possibly complex) four-vector with upper index."""
    p = np.asarray(p)
    return p[0] * GAMMA[0] - p[1] * GAMMA[1] - p[2] * GAMMA[2] - p[3] * GAMMA[3]


def dot(a, b):
    """Minkowski product a.b (metric +, -, -, -)."""
    return a[0] * b[0] - a[1] * b[1] - a[2] * b[2] - a[3] * b[3]


def dirac_bar(m: np.ndarray) -> np.ndarray:
    """gamma^0 M^dagger gamma^0."""
    return GAMMA[0] @ m.conj().T @ GAMMA[0]


def propagator_tensor(q, m_A: float, width_A: float) -> np.ndarray:
    """(-g^{mu nu} + q^mu q^nu / m_A^2) / (q^2 - m_A^2 + i m_A Gamma), upper indices (phase -i dropped)."""
    q = np.asarray(q, dtype=float)
    return (-G + np.outer(q, q) / m_A**2) / (dot(q, q) - m_A**2 + 1j * m_A * width_A)


def chi_tensor(k1, k2, m_chi: float) -> np.ndarray:
    """X^{nu nu'} = Tr[gamma^nu (k2slash - m) gamma^nu' (k1slash + m)] = sum |ubar gamma v|^2 structure."""
    a = slash(k2) - m_chi * ONE
    b = slash(k1) + m_chi * ONE
    return np.einsum("nij,jk,mkl,li->nm", GAMMA, a, GAMMA, b)


def _contract(lepton: np.ndarray, kernel: np.ndarray, chi: np.ndarray) -> float:
    """sum L^{mu mu'} K_{mu nu} K*_{mu' nu'} X^{nu nu'} (lower-index kernel K)."""
    return float(np.einsum("ab,an,bm,nm->", lepton, kernel, kernel.conj(), chi).real)


def me2_phi_trace(p1, p2, k1, k2, m_chi: float, m_A: float, width_A: float) -> float:
    """Spin-averaged |M|^2 / couplings^2 of e+e- -> phi chi chibar from traces."""
    p1, p2, k1, k2 = (np.asarray(x, dtype=float) for x in (p1, p2, k1, k2))
    Q = p1 + p2
    P = k1 + k2
    # kernel with lower indices: g Pi(Q) g Pi(P) g (the vertex is g_{alpha beta})
    K = G @ propagator_tensor(Q, m_A, width_A) @ G @ propagator_tensor(P, m_A, width_A) @ G
    # L^{mu mu'} = Tr[gamma^mu p1slash gamma^mu' p2slash]
    L = np.einsum("aij,jk,bkl,li->ab", GAMMA, slash(p1), GAMMA, slash(p2))
    return 0.25 * _contract(L, K, chi_tensor(k1, k2, m_chi))


def transverse_polarizations(k) -> list[np.ndarray]:
    """Two real unit vectors orthogonal to k (and to time), by Gram-Schmidt."""
    kv = np.asarray(k, dtype=float)[1:]
    n = kv / np.linalg.norm(kv)
    trial = np.array([1.0, 0.0, 0.0]) if abs(n[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    e1 = trial - n * (trial @ n)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(n, e1)
    return [np.concatenate([[0.0], e1]), np.concatenate([[0.0], e2])]


def radiative_vertex(p1, p2, k, eps) -> np.ndarray:
    """Gamma^mu (4, 4, 4): gamma^mu S(p1-k) eps*slash + eps*slash S(k-p2) gamma^mu, S(q) = qslash / q^2."""
    p1, p2, k = (np.asarray(x, dtype=float) for x in (p1, p2, k))
    es = slash(np.conj(np.asarray(eps, dtype=complex)))
    q1 = p1 - k
    q2 = k - p2
    s1 = slash(q1) / dot(q1, q1)
    s2 = slash(q2) / dot(q2, q2)
    return np.stack([GAMMA[m] @ s1 @ es + es @ s2 @ GAMMA[m] for m in range(4)])


def _me2_gammaphi_trace(p1, p2, k, k1, k2, m_chi: float, m_A: float, width_A: float, polarizations=None) -> float:
    """Spin-averaged |M|^2 / couplings^2 of e+e- -> gamma phi chi chibar from traces.

    ``polarizations``: photon polarisation vectors to sum over (default: two
    real transverse vectors); pass ``[k]`` for the Ward-identity check.
    """
    p1, p2, k, k1, k2 = (np.asarray(x, dtype=float) for x in (p1, p2, k, k1, k2))
    Q = p1 + p2 - k
    P = k1 + k2
    K = G @ propagator_tensor(Q, m_A, width_A) @ G @ propagator_tensor(P, m_A, width_A) @ G
    X = chi_tensor(k1, k2, m_chi)
    if polarizations is None:
        polarizations = transverse_polarizations(k)
    tot = 0.0
    for eps in polarizations:
        V = radiative_vertex(p1, p2, k, eps)
        Vb = np.stack([dirac_bar(V[m]) for m in range(4)])
        # sum_spins (vbar V^mu u)(vbar V^mu' u)^* = Tr[V^mu p1slash Vbar^mu' p2slash]
        L = np.einsum("aij,jk,bkl,li->ab", V, slash(p1), Vb, slash(p2))
        tot += _contract(L, K, X)
    return 0.25 * tot


def width_chichiphi_integrand(q, k1, k2, m_chi: float, m_A: float, width_A: float) -> float:
    """Spin-averaged |M|^2 / (g_AAphi g_chi)^2 of A'(q) -> chi chibar phi from traces (3 polarisations)."""
    q, k1, k2 = (np.asarray(x, dtype=float) for x in (q, k1, k2))
    pol_sum = -G + np.outer(q, q) / m_A**2  # sum eps^mu eps*^mu'
    P = k1 + k2
    K = G @ propagator_tensor(P, m_A, width_A) @ G
    return _contract(pol_sum, K, chi_tensor(k1, k2, m_chi)) / 3.0
