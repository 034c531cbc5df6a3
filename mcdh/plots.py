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


BENCHMARK_COLORS = {"B1": "tab:blue", "B2": "tab:orange", "B3": "tab:green"}


def figure3(stem: str | os.PathLike, m_A=None) -> list[Path]:
    """Figure 3: g_chi reproducing the relic density, eqs. (2.11)-(2.13), against m_A."""
    from .physics.model import BENCHMARKS, g_chi_relic

    plt = _pyplot()
    m_A = np.linspace(1.2, 7.5, 200) if m_A is None else np.asarray(m_A, float)
    fig, ax = plt.subplots(figsize=(5.5, 4), constrained_layout=True)
    for b, (r_chi, _r_phi) in BENCHMARKS.items():
        ax.plot(m_A, [g_chi_relic(b, r_chi * m) for m in m_A], color=BENCHMARK_COLORS[b], label=f"{b}: $m_\\chi = {r_chi:.3g}\\,m_{{A'}}$")
    ax.axhline(1.0, color="gray", ls=":", label=r"$g_\chi = 1$ (analysis)")
    ax.set_xlabel(r"$m_{A'}$ [GeV]")
    ax.set_ylabel(r"$g_\chi^{\rm relic} = (m_\chi / C_B)^{1/4}$")
    ax.legend(fontsize=8)
    paths = save(fig, stem)
    plt.close(fig)
    return paths


def figure4(rows: list[dict], stem: str | os.PathLike) -> list[Path]:
    """Figure 4: signal cross sections against m_A (solid: phi, dashed: gamma-phi)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.5), constrained_layout=True)
    for b in sorted({r["benchmark"] for r in rows}):
        for proc, ls, lab in (("phi", "-", r"$\phi$"), ("gammaphi", "--", r"$\gamma\phi$")):
            sel = sorted((r for r in rows if r["benchmark"] == b and r["process"] == proc), key=lambda r: r["m_A"])
            if not sel:
                continue
            x = [r["m_A"] for r in sel]
            y = np.array([r["sigma_fb"] for r in sel])
            e = np.array([r["sigma_err_fb"] for r in sel])
            ax.plot(x, y, ls=ls, color=BENCHMARK_COLORS.get(b), label=f"{b} {lab}")
            ax.fill_between(x, y - e, y + e, color=BENCHMARK_COLORS.get(b), alpha=0.3, lw=0)
    eps = rows[0]["eps"] if rows else None
    ax.set_yscale("log")
    ax.set_xlabel(r"$m_{A'}$ [GeV]")
    ax.set_ylabel(r"$\sigma$ [fb]")
    ax.set_title(rf"$\sqrt{{s}} = 10.58$ GeV, $\epsilon = {eps:g}$, $g_\chi = 1$" if eps else "", fontsize=9)
    ax.legend(fontsize=8, ncol=2)
    paths = save(fig, stem)
    plt.close(fig)
    return paths


def figure8(stem: str | os.PathLike, sqrt_s: float = 10.58, e0: float = 0.25) -> list[Path]:
    """Figure 8: soft / bimodal / hard photon regimes of gamma-phi in the (m_A, m_phi) plane."""
    from matplotlib.colors import ListedColormap

    from .physics.model import BENCHMARKS
    from .physics.regimes import m_phi_for_ratio, regime_map

    plt = _pyplot()
    mA = np.linspace(0.02, sqrt_s - e0, 600)
    mphi = np.linspace(0.0, sqrt_s / 2, 600)
    reg = regime_map(mA, mphi, sqrt_s, e0).astype(float)
    reg[reg < 0] = np.nan
    fig, ax = plt.subplots(figsize=(6, 4.5), constrained_layout=True)
    cmap = ListedColormap(["tab:green", "tab:orange", "tab:blue"])
    ax.pcolormesh(mA, mphi, reg, cmap=cmap, vmin=-0.5, vmax=2.5, shading="auto", alpha=0.6, rasterized=True)
    for r, ls in ((1.0, "-"), (4.0, "-")):
        with np.errstate(invalid="ignore"):
            ax.plot(mA, m_phi_for_ratio(mA, r, sqrt_s, e0), color="k", lw=0.8, ls=ls)
    ax.plot(mA, np.zeros_like(mA), color="tab:blue", lw=2, label=r"$m_\phi = 0$")
    ax.plot(mA, mA, color="darkgreen", ls="--", label=r"$m_\phi = m_{A'}$")
    ax.plot(mA, sqrt_s - mA - e0, color="k", ls="--", label=r"$m_\phi = \sqrt{s} - m_{A'} - E_0$")
    for b, (_rc, rp) in BENCHMARKS.items():
        ax.plot(mA, rp * mA, ls=":", lw=1.2, label=f"{b}: $m_\\phi = m_{{A'}}/{1 / rp:.0f}$")
    for x, y, t in ((4.5, 2.5, "soft"), (1.9, 0.58, "bimodal"), (3.6, 0.04, "hard")):
        ax.text(x, y, t, fontsize=9, weight="bold")
    ax.set_xlim(0, sqrt_s)
    ax.set_ylim(0, sqrt_s / 2)
    ax.set_xlabel(r"$m_{A'}$ [GeV]")
    ax.set_ylabel(r"$m_\phi$ [GeV]")
    ax.set_title(rf"$\gamma\phi$ photon-energy regimes ($E_0 = {e0}$ GeV; $r<1$ soft, $1\leq r\leq4$ bimodal, $r>4$ hard)", fontsize=8)
    ax.legend(fontsize=7, loc="upper right")
    paths = save(fig, stem)
    plt.close(fig)
    return paths
