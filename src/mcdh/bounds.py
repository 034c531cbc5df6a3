"""External exclusion limits drawn next to the reach in figure 11 (package data, with provenance).

The curves are published results, digitised by others (``data/bounds/README.md`` gives the
source of each). :func:`babar_invisible` is BaBar's 90 % CL upper limit on eps for an invisibly
decaying dark photon; :func:`theta_exclusions` are the excluded regions of a Higgs-mixed scalar
in (m_phi, sin theta), closed contours, which :func:`theta_exclusion_in_mA` maps to
(m_A', theta) for a benchmark through its fixed mass ratio.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from .errors import ParameterError
from .physics.model import BENCHMARKS


@dataclass(frozen=True)
class Bound:
    """One external limit: its points, a legend label and where it comes from."""

    name: str
    x: np.ndarray
    y: np.ndarray
    label: str
    source: str
    closed: bool  # a closed contour (excluded inside) or an upper limit (excluded above)


BABAR = ("babar_2017_invisible_dark_photon.txt", "BaBar 2017, $A'\\to$ invisible (90% CL)",
         "BaBar, PRL 119 (2017) 131804, arXiv:1702.03327, fig. 5 (digitised by darkcast)")
THETA_BOUNDS = {
    "charm": ("dark_higgs_charm.txt", "CHARM", "CHARM recast, Winkler arXiv:1809.01876 (tabulated by FORESEE)"),
    "lsnd_microboone_charm": ("dark_higgs_lsnd_microboone_charm.txt", "LSND, MicroBooNE, CHARM",
                              "as tabulated by the FORESEE project (bounds_LLP.txt)"),
    "kaon_decays": ("dark_higgs_kaon_decays.txt", r"$K\to\pi\phi$ (E949, NA62)",
                    "as tabulated by the FORESEE project (bounds_Kdecay.txt)"),
}


@cache
def _columns(filename: str) -> tuple[np.ndarray, np.ndarray]:
    text = resources.files("mcdh").joinpath("data").joinpath("bounds").joinpath(filename).read_text()
    data = np.loadtxt(text.splitlines(), comments="#", ndmin=2)
    x, y = data[:, 0].copy(), data[:, 1].copy()
    x.flags.writeable = y.flags.writeable = False
    return x, y


def babar_invisible() -> Bound:
    """BaBar's 90 % CL upper limit on eps (m_A' in GeV): excluded above the curve."""
    filename, label, source = BABAR
    return Bound("babar_invisible", *_columns(filename), label, source, closed=False)


def theta_exclusions() -> list[Bound]:
    """The excluded regions in (m_phi [GeV], sin theta): closed contours."""
    return [Bound(name, *_columns(f), label, source, closed=True) for name, (f, label, source) in THETA_BOUNDS.items()]


def theta_exclusion_in_mA(bound: Bound, benchmark: str) -> Bound:
    """A (m_phi, sin theta) contour as (m_A' = r m_phi, theta = arcsin(min(sin theta, 1))) for a benchmark."""
    if benchmark not in BENCHMARKS:
        raise ParameterError("benchmark", benchmark, f"must be one of {', '.join(BENCHMARKS)}")
    theta = np.arcsin(np.clip(bound.y, 0.0, 1.0))
    return Bound(bound.name, bound.x / BENCHMARKS[benchmark][1], theta, bound.label, bound.source, bound.closed)


def provenance() -> str:
    """The README of the bounds folder: where every curve comes from."""
    return resources.files("mcdh").joinpath("data").joinpath("bounds").joinpath("README.md").read_text()


__all__ = ["Bound", "babar_invisible", "theta_exclusions", "theta_exclusion_in_mA", "provenance"]

