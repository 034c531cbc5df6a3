"""Figures of the paper, drawn from the project's own computation."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ._atomic import atomic_path
from .analysis.variables import cos_theta, pair_mass
from .events import Events


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, stem: str | os.PathLike, formats=("png", "pdf")) -> list[Path]:
    """Save ``fig`` as ``stem.png`` and ``stem.pdf`` atomically; return the paths."""
    out = []
    for fmt in formats:
        path = Path(f"{stem}.{fmt}")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=150, bbox_inches="tight")
        out.append(path)
    return out


def figure6(phi: Events, gammaphi: Events, stem: str | os.PathLike) -> list[Path]:
    """Figure 6: m_chichi against cos theta_phi for the two RAMBO mock backgrounds.

    Weighted 2D histograms (expected events per bin in the sample's
    normalisation) of the CMS-frame mock backgrounds.
    """
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    for ax, ev, title in zip(axes, (phi, gammaphi), (r"$\phi$ channel ($2\to3$)", r"$\gamma\phi$ channel ($2\to4$)")):
        m = pair_mass(ev.momentum("chi"), ev.momentum("chibar"))
        c = cos_theta(ev.momentum("phi"))
        lo = 2 * ev.parameters["m_chi"]
        hi = ev.parameters["sqrt_s"] - ev.parameters["m_phi"]
        n_exp = ev.weights * ev.parameters["luminosity_fb"]
        h, xe, ye = np.histogram2d(c, m, bins=(40, 40), range=((-1, 1), (lo, hi)), weights=n_exp)
        mesh = ax.pcolormesh(xe, ye, h.T, cmap="viridis", shading="flat")
        lumi_ab = ev.parameters["luminosity_fb"] / 1e3
        fig.colorbar(mesh, ax=ax, label=f"expected events / bin ({lumi_ab:g} ab$^{{-1}}$)")
        ax.set_xlabel(r"$\cos\theta_\phi$ (CMS)")
        ax.set_ylabel(r"$m_{\chi\chi}$ [GeV]")
        p = ev.parameters
        ax.set_title(
            f"{title}\n" + rf"$\sqrt{{s}}={p['sqrt_s']}$ GeV, $m_\phi={p['m_phi']}$ GeV, $m_\chi={p['m_chi']}$ GeV, $N_b={p['n_b']:g}$",
            fontsize=9,
        )
    paths = save(fig, stem)
    plt.close(fig)
    return paths
