"""Photon-energy regimes of gamma-phi production (paper eqs. (4.6)-(4.7), figure 8).

r = M(hard gamma) / M(soft gamma) compares the propagator enhancement of a
photon at the upper end E_b of the horizontal branch (A'(P) on shell,
E_gamma -> E_b) with one at the soft end E_0:

    r = 2 sqrt(s) E_0 (s - m_A^2 - 2 sqrt(s) E_0) / (((m_A + m_phi)^2 - m_A^2) (s - (m_A + m_phi)^2))

which is eq. (4.7) solved for r (the two are inverse functions; tests check
the round trip). Regimes: soft r < 1, bimodal 1 <= r <= 4, hard r > 4.
"""
from __future__ import annotations

import numpy as np

from .constants import SQRT_S

SOFT, BIMODAL, HARD = 0, 1, 2
REGIME_NAMES = ("soft", "bimodal", "hard")
E0_DEFAULT = 0.25


def regime_ratio(m_A, m_phi, sqrt_s: float = SQRT_S, e0: float = E0_DEFAULT):
    """The ratio r of eq. (4.6) (array-friendly); nan outside the allowed region."""
    m_A = np.asarray(m_A, dtype=float)
    m_phi = np.asarray(m_phi, dtype=float)
    s = sqrt_s**2
    M2 = (m_A + m_phi) ** 2
    num = 2.0 * sqrt_s * e0 * (s - m_A**2 - 2.0 * sqrt_s * e0)
    den = (M2 - m_A**2) * (s - M2)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = num / den
    ok = (m_phi > 0) & (m_phi < m_A) & (m_phi < sqrt_s - m_A - e0)
    return np.where(ok, r, np.nan)


def m_phi_for_ratio(m_A, r, sqrt_s: float = SQRT_S, e0: float = E0_DEFAULT):
    """Eq. (4.7): the m_phi at which the ratio takes the value r."""
    m_A = np.asarray(m_A, dtype=float)
    s = sqrt_s**2
    rad = 8.0 * e0 * sqrt_s * (2.0 * e0 * sqrt_s + m_A**2 - s) / r + (s - m_A**2) ** 2
    return np.sqrt(0.5 * (s + m_A**2 - np.sqrt(rad))) - m_A


def regime(m_A, m_phi, sqrt_s: float = SQRT_S, e0: float = E0_DEFAULT):
    """SOFT (0), BIMODAL (1) or HARD (2) for each (m_A, m_phi); -1 outside the allowed region."""
    r = regime_ratio(m_A, m_phi, sqrt_s, e0)
    out = np.where(r < 1.0, SOFT, np.where(r <= 4.0, BIMODAL, HARD))
    return np.where(np.isnan(r), -1, out)


def regime_map(m_A_grid, m_phi_grid, sqrt_s: float = SQRT_S, e0: float = E0_DEFAULT):
    """Regime labels on a grid: array (len(m_phi_grid), len(m_A_grid)) for figure 8."""
    A, P = np.meshgrid(np.asarray(m_A_grid, float), np.asarray(m_phi_grid, float))
    return regime(A, P, sqrt_s, e0)
