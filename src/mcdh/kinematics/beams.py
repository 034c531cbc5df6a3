"""SuperKEKB beams and the CMS -> lab transformation (docs/physics-notes.md section 6).

e- : 7 GeV along (sin a, 0, cos a),    a  = +0.0415 rad
e+ : 4 GeV along (-sin a', 0, -cos a'), a' = -0.0415 rad

These beams give sqrt(s) = 10.574 GeV. Events are generated in the CMS with
the e- along +z at a chosen sqrt(s): by default the paper's nominal 10.58 GeV
(``sqrt_s="nominal"``), or ``Beams().sqrt_s`` (``"from beams"``) for exact
consistency with the beam energies. The transformation to the lab first
rotates the CMS z axis onto the e- direction as seen in the CMS and then
boosts with the beams' total momentum over total energy.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..errors import ParameterError, check_finite, check_positive
from ..events import Events


def _boost_matrix(beta: np.ndarray) -> np.ndarray:
    """4x4 Lorentz boost that gives a particle at rest the velocity ``beta``."""
    b2 = float(beta @ beta)
    g = 1.0 / math.sqrt(1.0 - b2)
    L = np.eye(4)
    L[0, 0] = g
    L[0, 1:] = L[1:, 0] = g * beta
    if b2 > 0:
        L[1:, 1:] += (g - 1.0) * np.outer(beta, beta) / b2
    return L


def _rotation_z_to(n: np.ndarray) -> np.ndarray:
    """3x3 rotation taking +z onto the unit vector n (about the axis z x n)."""
    z = np.array([0.0, 0.0, 1.0])
    v = np.cross(z, n)
    s = np.linalg.norm(v)
    c = float(z @ n)
    if s < 1e-300:
        return np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
    k = v / s
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + s * K + (1 - c) * K @ K


@dataclass(frozen=True)
class Beams:
    """Asymmetric beams; energies in GeV, tilts about the y axis in rad."""

    e_minus: float = 7.0
    e_plus: float = 4.0
    alpha_minus: float = 0.0415
    alpha_plus: float = -0.0415
    electron_mass: float | None = None

    def __post_init__(self):
        check_positive("e_minus", self.e_minus)
        check_positive("e_plus", self.e_plus)
        for name in ("alpha_minus", "alpha_plus"):
            a = check_finite(name, getattr(self, name))
            if abs(a) >= math.pi / 2:
                raise ParameterError(name, a, "must be a tilt below pi/2 in magnitude (rad)")

    @cached_property
    def _me(self) -> float:
        if self.electron_mass is not None:
            return check_positive("electron_mass", self.electron_mass)
        from ..physics.constants import pdg_mass

        return pdg_mass(11)

    @cached_property
    def p_minus(self) -> np.ndarray:
        """Lab four-momentum of the e- beam."""
        p = math.sqrt(self.e_minus**2 - self._me**2)
        a = self.alpha_minus
        return np.array([self.e_minus, p * math.sin(a), 0.0, p * math.cos(a)])

    @cached_property
    def p_plus(self) -> np.ndarray:
        """Lab four-momentum of the e+ beam."""
        p = math.sqrt(self.e_plus**2 - self._me**2)
        a = self.alpha_plus
        return np.array([self.e_plus, -p * math.sin(a), 0.0, -p * math.cos(a)])

    @property
    def total(self) -> np.ndarray:
        """Total four-momentum of the two beams (GeV)."""
        return self.p_minus + self.p_plus

    @property
    def sqrt_s(self) -> float:
        """Invariant mass of the two beams (10.574 GeV for the defaults)."""
        t = self.total
        return math.sqrt(t[0] ** 2 - t[1:] @ t[1:])

    @cached_property
    def cms_to_lab(self) -> np.ndarray:
        """4x4 matrix taking CMS four-vectors (e- along +z) to the lab."""
        t = self.total
        beta = t[1:] / t[0]
        to_cms = _boost_matrix(-beta)
        e_cms = to_cms @ self.p_minus
        n = e_cms[1:] / np.linalg.norm(e_cms[1:])
        R = np.eye(4)
        R[1:, 1:] = _rotation_z_to(n)
        return _boost_matrix(beta) @ R

    def to_lab(self, momenta: np.ndarray) -> np.ndarray:
        """Transform four-momenta (..., 4) from the CMS to the lab (new array)."""
        return _transform(momenta, self.cms_to_lab)

    @cached_property
    def lab_to_cms(self) -> np.ndarray:
        """4x4 matrix taking lab four-vectors to the CMS: the inverse of :attr:`cms_to_lab` (made once)."""
        return np.linalg.inv(self.cms_to_lab)

    def to_cms(self, momenta: np.ndarray) -> np.ndarray:
        """Transform four-momenta (..., 4) from the lab to the CMS (new array)."""
        return _transform(momenta, self.lab_to_cms)

    def as_dict(self) -> dict[str, float]:
        """The beams' energies (GeV), crossing angles (rad) and sqrt(s), as recorded with a lab-frame sample."""
        return {
            "e_minus": self.e_minus,
            "e_plus": self.e_plus,
            "alpha_minus": self.alpha_minus,
            "alpha_plus": self.alpha_plus,
            "sqrt_s": self.sqrt_s,
        }


LAB_BLOCK = 8192
"""Four-vectors per block of :func:`_transform`."""


def _transform(momenta: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``momenta @ matrix.T`` for four-vectors (..., 4), in blocks of :data:`LAB_BLOCK`: each small enough for the
    BLAS library to compute on the calling thread (OpenBLAS starts its threads above ~16000 rows of a 4x4
    product, and they then spin for a while: ~0.1 CPU-s an analysis point, taken from mcdh's own threads). The
    same products, element for element."""
    m = np.asarray(momenta, dtype=np.float64)
    flat = m.reshape(-1, 4)
    out = np.empty_like(flat)
    t = matrix.T
    for lo in range(0, flat.shape[0], LAB_BLOCK):
        np.matmul(flat[lo:lo + LAB_BLOCK], t, out=out[lo:lo + LAB_BLOCK])
    return out.reshape(m.shape)


def to_lab(events: Events, beams: Beams | None = None) -> Events:
    """The same events with momenta in the Belle II lab frame."""
    if events.frame == "lab":
        return events
    if events.frame != "cms":
        raise ParameterError("events.frame", events.frame, "must be 'cms' or 'lab'")
    b = beams if beams is not None else Beams()
    return events.with_momenta(b.to_lab(events.momenta), "lab", beams=b.as_dict())
