"""Units and constants (PHYSICS.md section 1).

Natural units with energies in GeV; detector lengths in mm; cross sections
in fb; luminosities in fb^-1.
"""
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

LUMINOSITY_FB = 1.0e4
"""Default integrated luminosity: 10 ab^-1 = 1e4 fb^-1."""

GAMMAPHI_BACKGROUND_RATIO = 0.22
"""sigma(ee -> 3 gamma) / sigma(ee -> 2 gamma): scales the gamma-phi mock
background to 0.22 N_b (paper section 3.2)."""
