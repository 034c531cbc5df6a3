"""Units and constants (docs/physics-notes.md section 1).

Natural units with energies in GeV; detector lengths in mm; cross sections
in fb; luminosities in fb^-1.
"""
from functools import cache

from ..errors import ParameterError

HBAR_C_GEV_MM = 1.973269804e-13
"""hbar c in GeV mm: a decay length in mm is HBAR_C_GEV_MM * p / (m Gamma)."""

GEV2_TO_FB = 0.3893794e12
"""1 GeV^-2 in fb."""

ALPHA_EM = 1.0 / 137.035999
"""Default fine-structure constant (a user parameter everywhere it enters)."""

HIGGS_VEV = 246.22
"""Higgs vacuum expectation value v in GeV."""

SQRT_S = 10.58
"""Nominal Belle II centre-of-mass energy in GeV (the paper's choice)."""

SIN2_THETA_W = 0.23122
"""sin^2 of the weak mixing angle (MS-bar at M_Z, PDG); only used by the
``kinetic_mixing="hypercharge"`` convention, where the A' coupling to the
electromagnetic current is eps e cos(theta_W)."""


def pdg_mass(pdgid: int) -> float:
    """Mass in GeV of a particle from the ``particle`` package (PDG data)."""
    return _pdg_mass(int(pdgid))


@cache
def _pdg_mass(pdgid: int) -> float:
    from particle import Particle

    mass_mev = Particle.from_pdgid(pdgid).mass
    if mass_mev is None:
        raise ParameterError("pdgid", pdgid, "has no mass in the particle package's PDG table")
    return mass_mev / 1000.0
