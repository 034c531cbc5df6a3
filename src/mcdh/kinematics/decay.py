"""Two-body decays of four-momenta (numba kernels), used by the signal generator and the dark Higgs decays.

Four-momenta are (E, px, py, pz) in GeV.
"""
from __future__ import annotations

import math

from .._jit import njit


@njit(cache=True)
def kallen_sqrt(a, b, c):
    """sqrt(lambda(a, b, c)) of the Kallen function (0 below threshold)."""
    lam = a * a + b * b + c * c - 2.0 * (a * b + a * c + b * c)
    return math.sqrt(lam) if lam > 0.0 else 0.0


@njit(cache=True)
def two_body(out, M2, ma, mb2, cos_t, phi, parent):
    """Decay of ``parent`` (mass^2 M2) to a (mass ma) + b; writes a's CMS momentum to out.

    ``mb2`` is m_b^2. Returns |p*| in the parent's rest frame.
    """
    M = math.sqrt(M2)
    pstar = kallen_sqrt(M2, ma * ma, mb2) / (2.0 * M)
    sin_t = math.sqrt(max(0.0, 1.0 - cos_t * cos_t))
    px = pstar * sin_t * math.cos(phi)
    py = pstar * sin_t * math.sin(phi)
    pz = pstar * cos_t
    e = math.sqrt(ma * ma + pstar * pstar)
    # boost from the parent's rest frame
    bp = parent[1] * px + parent[2] * py + parent[3] * pz
    E = (parent[0] * e + bp) / M
    f = (e + E) / (parent[0] + M)
    out[0] = E
    out[1] = px + f * parent[1]
    out[2] = py + f * parent[2]
    out[3] = pz + f * parent[3]
    return pstar


@njit(cache=True)
def decay_two_body(parents, m1, m2, cos_t, phi, out1, out2):
    """Two-body decays of four-momenta ``parents`` (n, 4) to masses m1[i], m2[i], isotropic in the rest frame.

    ``cos_t`` and ``phi`` (n,) are the rest-frame angles of daughter 1; the
    daughters' four-momenta go to ``out1`` and ``out2`` (n, 4); daughter 2 is
    parent - daughter 1, so four-momentum is conserved to rounding.
    """
    for i in range(parents.shape[0]):
        p = parents[i]
        M2 = p[0] * p[0] - p[1] * p[1] - p[2] * p[2] - p[3] * p[3]
        two_body(out1[i], M2, m1[i], m2[i] * m2[i], cos_t[i], phi[i], p)
        for c in range(4):
            out2[i, c] = p[c] - out1[i, c]
