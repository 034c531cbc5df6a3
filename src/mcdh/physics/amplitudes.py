"""Matrix elements of the two signal processes, compiled with numba (docs/physics-notes.md section 5).

    phi:        e-(p1) e+(p2) -> phi(pphi) chi(k1) chibar(k2)
    gamma-phi:  e-(p1) e+(p2) -> gamma(k) phi(pphi) chi(k1) chibar(k2)

Both go through e+e- -> A'*(Q) -> A'(P) phi, A'(P) -> chi chibar with the
A'A'phi vertex 2 q_phi g_chi m_A g^{mu nu}. The q^mu q^nu / m_A^2 parts of the
unitary-gauge propagators vanish against the conserved electron current
(massless electrons; with the photon both emission diagrams are needed for
this) and the conserved chi current, so they are dropped here; the slow
reference in :mod:`mcdh.physics.reference` keeps them and the tests compare.

Helicity amplitudes (HELAS style) use the chiral representation: a Dirac
spinor is a tuple (L0, L1, R0, R1) of complex numbers, gamma^mu =
[[0, sigma^mu], [sigmabar^mu, 0]], helicity eigenstates for u and v (Peskin &
Schroeder conventions), photon helicity vectors eps(k, +-) = (-+e1 - i e2)/sqrt2
and eps* for the outgoing photon. All functions are scalar code (tuples, no
heap allocation) so that the generator can call them per event.

Couplings are factored out: the functions return the spin-averaged |M|^2
*divided by* ``couplings**2`` where

    phi:        couplings = (eps e) g_chi (2 q_phi g_chi m_A)
    gamma-phi:  couplings = e (eps e) g_chi (2 q_phi g_chi m_A)

(see :func:`couplings_phi`, :func:`couplings_gammaphi`).
"""
from __future__ import annotations

import math

import numpy as np

from .._jit import njit

_INV_SQRT2 = 1.0 / math.sqrt(2.0)


def couplings_phi(model) -> float:
    """(eps e) g_chi (2 q_phi g_chi m_A) for ``model`` (a DarkSector)."""
    return model.eps_eff * model.e * model.g_chi * model.g_AAphi


def couplings_gammaphi(model) -> float:
    """e (eps e) g_chi (2 q_phi g_chi m_A) for ``model``."""
    return model.e * couplings_phi(model)


# ----------------------------------------------------------------------
# kinematics helpers


@njit(cache=True)
def mdot(a, b):
    """Minkowski product a.b with metric (+,-,-,-) (works for complex)."""
    return a[0] * b[0] - a[1] * b[1] - a[2] * b[2] - a[3] * b[3]


@njit(cache=True)
def _two_spinors(px, py, pz):
    """Helicity two-spinors xi_+ and xi_- along (px, py, pz).

    Written without angles so that directions near -z keep full precision.
    """
    pa = math.sqrt(px * px + py * py + pz * pz)
    if pa == 0.0:
        return (1.0 + 0j, 0j), (0j, 1.0 + 0j)
    if pz >= 0.0:
        a = pa + pz
    else:
        a = (px * px + py * py) / (pa - pz)
    if a == 0.0:  # exactly along -z: theta = pi, phi = 0
        return (0j, 1.0 + 0j), (-1.0 + 0j, 0j)
    n = 1.0 / math.sqrt(2.0 * pa * a)
    return (a * n + 0j, complex(px * n, py * n)), (complex(-px * n, py * n), a * n + 0j)


@njit(cache=True)
def spinor_u(p, m, hel):
    """u(p, hel) for a fermion of mass m, helicity hel = +1 or -1."""
    px, py, pz = p[1], p[2], p[3]
    pa = math.sqrt(px * px + py * py + pz * pz)
    e = p[0]
    xp, xm = _two_spinors(px, py, pz)
    hi = math.sqrt(e + pa)
    lo = m / hi if m > 0.0 else 0.0  # sqrt(E - |p|) without cancellation
    if hel > 0:
        return (lo * xp[0], lo * xp[1], hi * xp[0], hi * xp[1])
    return (hi * xm[0], hi * xm[1], lo * xm[0], lo * xm[1])


@njit(cache=True)
def spinor_v(p, m, hel):
    """v(p, hel) for an antifermion of mass m, helicity hel = +1 or -1."""
    px, py, pz = p[1], p[2], p[3]
    pa = math.sqrt(px * px + py * py + pz * pz)
    e = p[0]
    xp, xm = _two_spinors(px, py, pz)
    hi = math.sqrt(e + pa)
    lo = m / hi if m > 0.0 else 0.0
    if hel > 0:  # eta = xi_-:  (sqrt(E+|p|) xi_-, -sqrt(E-|p|) xi_-)
        return (hi * xm[0], hi * xm[1], -lo * xm[0], -lo * xm[1])
    return (lo * xp[0], lo * xp[1], -hi * xp[0], -hi * xp[1])


@njit(cache=True)
def bar(s):
    """Dirac adjoint as a row: psi^dagger gamma^0 = (psi_R^*, psi_L^*)."""
    return (s[2].conjugate(), s[3].conjugate(), s[0].conjugate(), s[1].conjugate())


@njit(cache=True)
def photon_polarization(k, hel):
    """Helicity polarisation vector eps^mu(k, hel) of a massless vector (not conjugated)."""
    kx, ky, kz = k[1], k[2], k[3]
    pt2 = kx * kx + ky * ky
    pa = math.sqrt(pt2 + kz * kz)
    if pt2 > 0.0:
        pt = math.sqrt(pt2)
        ct, st = kz / pa, pt / pa
        cp, sp = kx / pt, ky / pt
    else:
        ct, st, cp, sp = (1.0 if kz >= 0.0 else -1.0), 0.0, 1.0, 0.0
    e1 = (0.0, ct * cp, ct * sp, -st)
    e2 = (0.0, -sp, cp, 0.0)
    s = -float(hel)
    return (
        0j,
        complex(s * e1[1] * _INV_SQRT2, -e2[1] * _INV_SQRT2),
        complex(s * e1[2] * _INV_SQRT2, -e2[2] * _INV_SQRT2),
        complex(s * e1[3] * _INV_SQRT2, -e2[3] * _INV_SQRT2),
    )


@njit(cache=True)
def slash_ket(a, s):
    """a-slash times a column spinor s (a: complex or real four-vector, upper index)."""
    a0, a1, a2, a3 = a[0], a[1], a[2], a[3]
    # a.sigma = a0 - a.vec(sigma) acts on the R part; a.sigmabar on the L part
    r0 = (a0 - a3) * s[2] - (a1 - 1j * a2) * s[3]
    r1 = -(a1 + 1j * a2) * s[2] + (a0 + a3) * s[3]
    l0 = (a0 + a3) * s[0] + (a1 - 1j * a2) * s[1]
    l1 = (a1 + 1j * a2) * s[0] + (a0 - a3) * s[1]
    return (r0, r1, l0, l1)


@njit(cache=True)
def bra_slash(r, a):
    """A row spinor r times a-slash."""
    a0, a1, a2, a3 = a[0], a[1], a[2], a[3]
    # (r_first, r_second) [[0, a.sigma], [a.sigmabar, 0]] = (r_second a.sigmabar, r_first a.sigma)
    f0 = r[2] * (a0 + a3) + r[3] * (a1 + 1j * a2)
    f1 = r[2] * (a1 - 1j * a2) + r[3] * (a0 - a3)
    g0 = r[0] * (a0 - a3) - r[1] * (a1 + 1j * a2)
    g1 = -r[0] * (a1 - 1j * a2) + r[1] * (a0 + a3)
    return (f0, f1, g0, g1)


@njit(cache=True)
def current(r, c):
    """Vector current r gamma^mu c (upper index) of a row spinor r and a column spinor c."""
    # r gamma^mu c = r_first sigma^mu c_R + r_second sigmabar^mu c_L
    x0, x1, y0, y1 = r[0], r[1], c[2], c[3]
    u0, u1, w0, w1 = r[2], r[3], c[0], c[1]
    a0 = x0 * y0 + x1 * y1
    a1 = x0 * y1 + x1 * y0
    a2 = -1j * x0 * y1 + 1j * x1 * y0
    a3 = x0 * y0 - x1 * y1
    b0 = u0 * w0 + u1 * w1
    b1 = u0 * w1 + u1 * w0
    b2 = -1j * u0 * w1 + 1j * u1 * w0
    b3 = u0 * w0 - u1 * w1
    return (a0 + b0, a1 - b1, a2 - b2, a3 - b3)


@njit(cache=True)
def _scale(v, x):
    return (v[0] * x, v[1] * x, v[2] * x, v[3] * x)


@njit(cache=True)
def _add(a, b):
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3])


@njit(cache=True)
def _conj(v):
    return (v[0].conjugate(), v[1].conjugate(), v[2].conjugate(), v[3].conjugate())


@njit(cache=True)
def propagator(q2, m_A, width_A):
    """Scalar part 1 / (q^2 - m_A^2 + i m_A Gamma_A) of the A' propagator."""
    return 1.0 / complex(q2 - m_A * m_A, m_A * width_A)


# ----------------------------------------------------------------------
# currents


@njit(cache=True)
def electron_current(p1, p2, h1, h2):
    """vbar(p2, h2) gamma^mu u(p1, h1) for massless beams."""
    return current(bar(spinor_v(p2, 0.0, h2)), spinor_u(p1, 0.0, h1))


@njit(cache=True)
def radiative_current(p1, p2, k, eps_star, h1, h2):
    """Electron current with a photon of momentum k and (conjugated) polarisation eps_star emitted.

    vbar(p2) [gamma^mu (p1-k)slash eps*slash / (-2 p1.k)
              + eps*slash (k-p2)slash gamma^mu / (-2 p2.k)] u(p1)
    """
    q1 = (p1[0] - k[0], p1[1] - k[1], p1[2] - k[2], p1[3] - k[3])
    q2 = (k[0] - p2[0], k[1] - p2[1], k[2] - p2[2], k[3] - p2[3])
    return _radiative_current(
        spinor_u(p1, 0.0, h1), bar(spinor_v(p2, 0.0, h2)), q1, q2, -2.0 * mdot(p1, k), -2.0 * mdot(p2, k), eps_star
    )


@njit(cache=True)
def _radiative_current(u1, vb, q1, q2, d1, d2, eps_star):
    """:func:`radiative_current` from the spinors u(p1), vbar(p2), the fermion-propagator momenta and denominators."""
    f = slash_ket(q1, slash_ket(eps_star, u1))
    g = bra_slash(bra_slash(vb, eps_star), q2)
    return _add(_scale(current(vb, f), 1.0 / d1), _scale(current(g, u1), 1.0 / d2))


@njit(cache=True)
def chi_current(k1, k2, m_chi, s1, s2):
    """ubar(k1, s1) gamma^nu v(k2, s2) of the dark-matter pair."""
    return current(bar(spinor_u(k1, m_chi, s1)), spinor_v(k2, m_chi, s2))


# ----------------------------------------------------------------------
# phi production


@njit(cache=True)
def me2_phi(p1, p2, k1, k2, m_chi, m_A, width_A):
    """Closed-form spin-averaged |M|^2 / couplings^2 of e+e- -> phi chi chibar.

    8 [ (p1.k1)(p2.k2) + (p1.k2)(p2.k1) + m_chi^2 (p1.p2) ]
      / (|s - m_A^2 + i m_A G|^2 |m_chichi^2 - m_A^2 + i m_A G|^2)
    """
    s = 2.0 * mdot(p1, p2)
    P = (k1[0] + k2[0], k1[1] + k2[1], k1[2] + k2[2], k1[3] + k2[3])
    mchichi2 = mdot(P, P)
    num = mdot(p1, k1) * mdot(p2, k2) + mdot(p1, k2) * mdot(p2, k1) + m_chi * m_chi * 0.5 * s
    mw2 = (m_A * width_A) ** 2
    d1 = (s - m_A * m_A) ** 2 + mw2
    d2 = (mchichi2 - m_A * m_A) ** 2 + mw2
    return 8.0 * num / (d1 * d2)


@njit(cache=True)
def _amplitude_phi(p1, p2, k1, k2, m_chi, m_A, width_A, h1, h2, s1, s2):
    """Helicity amplitude / couplings of e+e- -> phi chi chibar (overall phase dropped)."""
    J = electron_current(p1, p2, h1, h2)
    X = chi_current(k1, k2, m_chi, s1, s2)
    Q = (p1[0] + p2[0], p1[1] + p2[1], p1[2] + p2[2], p1[3] + p2[3])
    P = (k1[0] + k2[0], k1[1] + k2[1], k1[2] + k2[2], k1[3] + k2[3])
    return mdot(J, X) * propagator(mdot(Q, Q), m_A, width_A) * propagator(mdot(P, P), m_A, width_A)


@njit(cache=True)
def me2_phi_helicity(p1, p2, k1, k2, m_chi, m_A, width_A):
    """Spin-averaged |M|^2 / couplings^2 of the phi process summed over helicity amplitudes."""
    tot = 0.0
    for h1 in (-1, 1):
        for h2 in (-1, 1):
            for s1 in (-1, 1):
                for s2 in (-1, 1):
                    a = _amplitude_phi(p1, p2, k1, k2, m_chi, m_A, width_A, h1, h2, s1, s2)
                    tot += a.real * a.real + a.imag * a.imag
    return 0.25 * tot


# ----------------------------------------------------------------------
# gamma-phi production


@njit(cache=True)
def _amplitude_gammaphi(p1, p2, k, k1, k2, m_chi, m_A, width_A, h1, h2, hg, s1, s2):
    """Helicity amplitude / couplings of e+e- -> gamma phi chi chibar (overall phase dropped)."""
    return _amplitude_gammaphi_eps(p1, p2, k, _conj(photon_polarization(k, hg)), k1, k2, m_chi, m_A, width_A, h1, h2, s1, s2)


@njit(cache=True)
def _amplitude_gammaphi_eps(p1, p2, k, eps_star, k1, k2, m_chi, m_A, width_A, h1, h2, s1, s2):
    """The gamma-phi amplitude for an arbitrary (conjugated) photon polarisation vector ``eps_star``."""
    J = radiative_current(p1, p2, k, eps_star, h1, h2)
    X = chi_current(k1, k2, m_chi, s1, s2)
    Q = (p1[0] + p2[0] - k[0], p1[1] + p2[1] - k[1], p1[2] + p2[2] - k[2], p1[3] + p2[3] - k[3])
    P = (k1[0] + k2[0], k1[1] + k2[1], k1[2] + k2[2], k1[3] + k2[3])
    return mdot(J, X) * propagator(mdot(Q, Q), m_A, width_A) * propagator(mdot(P, P), m_A, width_A)


@njit(cache=True)
def _chi_tensor_contract(L, k1, k2, m_chi):
    """sum over chi spins of |L.J_chi|^2 = L^mu L^nu* X_mu nu, X = 4[k1 k2 + k2 k1 - g (k1.k2 + m^2)]."""
    a = mdot(L, k1)
    b = mdot(L, k2)
    ll = (L[0] * L[0].conjugate() - L[1] * L[1].conjugate() - L[2] * L[2].conjugate() - L[3] * L[3].conjugate()).real
    return 4.0 * (2.0 * (a * b.conjugate()).real - ll * (mdot(k1, k2) + m_chi * m_chi))


@njit(cache=True)
def me2_gammaphi(p1, p2, k, k1, k2, m_chi, m_A, width_A):
    """Spin-averaged |M|^2 / couplings^2 of e+e- -> gamma phi chi chibar (fast form used by the generator).

    The e+e-gamma side is built from helicity amplitudes: massless beams
    annihilate only with opposite helicities, and flipping every helicity
    (beams and photon) complex-conjugates the current up to a phase, which
    leaves L^mu L^nu* X_mu nu unchanged because the chi tensor X is real and
    symmetric. So two currents (e- helicity +, photon helicity +-) times 2
    give the full sum. The chi spins are summed in closed form. Equal to
    :func:`me2_gammaphi_helicity` (all 32 amplitudes) and to the trace
    reference, as the tests check.
    """
    Q = (p1[0] + p2[0] - k[0], p1[1] + p2[1] - k[1], p1[2] + p2[2] - k[2], p1[3] + p2[3] - k[3])
    P = (k1[0] + k2[0], k1[1] + k2[1], k1[2] + k2[2], k1[3] + k2[3])
    prop = propagator(mdot(Q, Q), m_A, width_A) * propagator(mdot(P, P), m_A, width_A)
    pabs2 = prop.real * prop.real + prop.imag * prop.imag
    q1 = (p1[0] - k[0], p1[1] - k[1], p1[2] - k[2], p1[3] - k[3])
    q2 = (k[0] - p2[0], k[1] - p2[1], k[2] - p2[2], k[3] - p2[3])
    d1 = -2.0 * mdot(p1, k)
    d2 = -2.0 * mdot(p2, k)
    u_p = spinor_u(p1, 0.0, 1)
    vb_m = bar(spinor_v(p2, 0.0, -1))
    La = _radiative_current(u_p, vb_m, q1, q2, d1, d2, _conj(photon_polarization(k, 1)))
    Lb = _radiative_current(u_p, vb_m, q1, q2, d1, d2, _conj(photon_polarization(k, -1)))
    tot = _chi_tensor_contract(La, k1, k2, m_chi) + _chi_tensor_contract(Lb, k1, k2, m_chi)
    # x 2 for the mirrored helicities, / 4 for the beam-spin average
    return 0.5 * tot * pabs2


@njit(cache=True)
def me2_gammaphi_helicity(p1, p2, k, k1, k2, m_chi, m_A, width_A):
    """Spin-averaged |M|^2 / couplings^2 summing all 32 helicity amplitudes (beams, photon, chi, chibar)."""
    tot = 0.0
    for h1 in (-1, 1):
        for h2 in (-1, 1):
            for hg in (-1, 1):
                for s1 in (-1, 1):
                    for s2 in (-1, 1):
                        a = _amplitude_gammaphi(p1, p2, k, k1, k2, m_chi, m_A, width_A, h1, h2, hg, s1, s2)
                        tot += a.real * a.real + a.imag * a.imag
    return 0.25 * tot


@njit(cache=True)
def _ward_gammaphi(p1, p2, k, k1, k2, m_chi, m_A, width_A, h1, h2, s1, s2):
    """The amplitude with the photon polarisation replaced by k (zero by gauge invariance)."""
    kc = (k[0] + 0j, k[1] + 0j, k[2] + 0j, k[3] + 0j)
    return _amplitude_gammaphi_eps(p1, p2, k, kc, k1, k2, m_chi, m_A, width_A, h1, h2, s1, s2)


def me2_array(process: str, p1, p2, momenta, m_chi, m_A, width_A) -> np.ndarray:
    """|M|^2 / couplings^2 for arrays of events (python loop over a numba kernel; for tests and tools).

    ``momenta`` has shape (n, 3, 4) for phi (phi, chi, chibar) or (n, 4, 4)
    for gamma-phi (gamma, phi, chi, chibar); p1, p2 are the beams.
    """
    return _me2_array(process == "gammaphi", np.ascontiguousarray(p1, float), np.ascontiguousarray(p2, float),
                      np.ascontiguousarray(momenta, float), m_chi, m_A, width_A)


@njit(cache=True)
def _me2_array(gamma, p1, p2, mom, m_chi, m_A, width_A):
    out = np.empty(mom.shape[0])
    for i in range(mom.shape[0]):
        if gamma:
            out[i] = me2_gammaphi(p1, p2, mom[i, 0], mom[i, 2], mom[i, 3], m_chi, m_A, width_A)
        else:
            out[i] = me2_phi(p1, p2, mom[i, 1], mom[i, 2], m_chi, m_A, width_A)
    return out
