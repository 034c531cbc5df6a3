"""The paper's analysis settings (arXiv:2508.09247, sections 3-5): defined here once.

Everything that reproduces the paper takes its defaults from this module; a
new study passes its own values instead.
"""
from __future__ import annotations

MASSES: tuple[float, ...] = tuple(round(1.2 + 0.3 * i, 10) for i in range(22))
"""The paper's m_A' grid: 1.2, 1.5, ..., 7.5 GeV."""

EPS_REF = 1e-4
"""Kinetic mixing of the tables (Appendix B) and of the theta scan (section 5)."""

THETA_TABLE = 1e-4
"""Higgs mixing of the tables (Appendix B)."""

THETA_EPS_SCAN = 1.27e-4
"""Higgs mixing at which the eps reach is computed (section 5)."""

NB_VALUES: tuple[float, ...] = (1.0, 1e4)
"""Background levels N_b of figures 11 and 12 and of the tables."""

LUMINOSITY_FB = 1.0e4
"""Reference integrated luminosity: 10 ab^-1 = 1e4 fb^-1. N_b is defined at it."""

GAMMAPHI_BACKGROUND_RATIO = 0.22
"""sigma(ee -> 3 gamma) / sigma(ee -> 2 gamma): the gamma-phi mock background
is 0.22 N_b (section 3.2)."""

FIT_TOYS = 300
"""Toys per calibration of a fit by default (each for the global significance and for the goodness of fit)."""

FIT_MAX_OUTSIDE = 0.5
"""The largest fraction of a channel's events that may lie outside the fit's ranges before the data are refused."""
