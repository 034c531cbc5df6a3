"""Kinematic variables of four-momenta arrays (..., 4) = (E, px, py, pz), GeV."""
from __future__ import annotations

import numpy as np


def mass(p: np.ndarray) -> np.ndarray:
    """Invariant mass sqrt(E^2 - |p|^2); tiny negative squares from rounding give 0."""
    p = np.asarray(p)
    m2 = p[..., 0] ** 2 - p[..., 1] ** 2 - p[..., 2] ** 2 - p[..., 3] ** 2
    return np.sqrt(np.maximum(m2, 0.0))


def pair_mass(p1: np.ndarray, p2: np.ndarray) -> np.ndarray:
    """Invariant mass of the pair, e.g. m_chichi of chi and chibar."""
    return mass(np.asarray(p1) + np.asarray(p2))


def energy(p: np.ndarray) -> np.ndarray:
    """Energy component."""
    return np.asarray(p)[..., 0]


def p_abs(p: np.ndarray) -> np.ndarray:
    """Magnitude of the three-momentum."""
    p = np.asarray(p)
    return np.sqrt(p[..., 1] ** 2 + p[..., 2] ** 2 + p[..., 3] ** 2)


def p_t(p: np.ndarray) -> np.ndarray:
    """Momentum transverse to the z axis (the beam pipe in the lab frame)."""
    p = np.asarray(p)
    return np.hypot(p[..., 1], p[..., 2])


def cos_theta(p: np.ndarray) -> np.ndarray:
    """Cosine of the polar angle to the +z axis (the e- beam in the CMS)."""
    p = np.asarray(p)
    pa = p_abs(p)
    # a zero momentum counts as along +z; clip guards arccos against rounding
    c = np.divide(p[..., 3], pa, out=np.ones_like(pa), where=pa > 0.0)
    return np.clip(c, -1.0, 1.0, out=c)


def theta(p: np.ndarray) -> np.ndarray:
    """Polar angle in radians."""
    return np.arccos(cos_theta(p))


# ----------------------------------------------------------------------
# the analysis variables of the paper's section 4


def e_bar(m_A: float, sqrt_s: float) -> float:
    """Photon energy E_bar = (s - m_A^2) / (2 sqrt_s) recoiling against an on-shell A' (4.4), GeV."""
    return (sqrt_s**2 - m_A**2) / (2.0 * sqrt_s)


def e_b(m_A: float, m_phi: float, sqrt_s: float) -> float:
    """Largest photon energy E_b = (s - (m_A + m_phi)^2) / (2 sqrt_s) with the second A' on shell (4.5), GeV."""
    return (sqrt_s**2 - (m_A + m_phi) ** 2) / (2.0 * sqrt_s)


def v_variable(e_gamma: np.ndarray, m_chichi: np.ndarray, m_A: float, sqrt_s: float) -> np.ndarray:
    """v = (E_gamma - (s - m_A^2)/(2 sqrt_s)) (m_chichi - m_A), eq. (4.8), GeV^2.

    ``m_A`` is the hypothesised dark-photon mass (v peaks at 0 for the signal
    only when it is the true one).
    """
    return (np.asarray(e_gamma) - e_bar(m_A, sqrt_s)) * (np.asarray(m_chichi) - m_A)


def m_chichi(events) -> np.ndarray:
    """Missing (chi chibar) invariant mass of each event of an :class:`~mcdh.events.Events`."""
    return pair_mass(events.momentum("chi"), events.momentum("chibar"))
