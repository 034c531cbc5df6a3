"""Figures of the paper, drawn from the project's own computation."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ._atomic import atomic_path
from .channels import CHANNELS
from .events import Events
from .kinematics.variables import cos_theta, pair_mass
from .settings import EPS_REF, THETA_EPS_SCAN


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
        p = ev.info.record
        lo = 2 * p["m_chi"]
        hi = p["sqrt_s"] - p["m_phi"]
        n_exp = ev.weights * p["n_b_luminosity_fb"]
        h, xe, ye = np.histogram2d(c, m, bins=(40, 40), range=((-1, 1), (lo, hi)), weights=n_exp)
        mesh = ax.pcolormesh(xe, ye, h.T, cmap="viridis", shading="flat")
        lumi_ab = p["n_b_luminosity_fb"] / 1e3
        fig.colorbar(mesh, ax=ax, label=f"expected events / bin ({lumi_ab:g} ab$^{{-1}}$)")
        ax.set_xlabel(r"$\cos\theta_\phi$ (CMS)")
        ax.set_ylabel(r"$m_{\chi\chi}$ [GeV]")
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


CHANNEL_COLORS = {"phi": "tab:red", "gammaphi": "tab:green"}
CHANNEL_LABELS = {"phi": r"$\phi$", "gammaphi": r"$\gamma\phi$"}
REGION_STYLES = {
    "none": ("k", "-"),
    "prompt": ("tab:purple", "--"),
    "uninstrumented": ("tab:red", "-"),
    "instrumented": ("tab:blue", "-."),
    "invisible": ("tab:gray", ":"),
}


def _step(ax, edges, values, **kw):
    ax.stairs(values, edges, **kw)


def figure5(data: dict, stem: str | os.PathLike) -> list[Path]:
    """Figure 5: effect of the decay-probability reweighting on kinematic distributions.

    ``data[panel] = {"edges": ..., "label": ..., "hists": {region: values}}``
    for panels "pt_phi", "pt_gammaphi", "e_gamma", "mchichi"; each
    histogram is normalised to unit area so the change of shape shows.
    """
    plt = _pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), constrained_layout=True)
    for ax, panel in zip(axes.ravel(), ("pt_phi", "pt_gammaphi", "e_gamma", "mchichi")):
        d = data[panel]
        for region, h in d["hists"].items():
            total = h.sum()
            if total <= 0:
                continue
            color, ls = REGION_STYLES.get(region, ("k", "-"))
            density = h / total / np.diff(d["edges"])
            _step(ax, d["edges"], density, color=color, ls=ls, label="no reweighting" if region == "none" else region)
        ax.set_xlabel(d["label"])
        ax.set_ylabel("normalised distribution")
        ax.set_title(d.get("title", ""), fontsize=9)
        ax.legend(fontsize=7)
    fig.suptitle(data.get("title", ""), fontsize=10)
    paths = save(fig, stem)
    plt.close(fig)
    return paths


def figure7(panels: list[dict], stem: str | os.PathLike) -> list[Path]:
    """Figure 7: gamma-phi Dalitz plots (E_gamma, m_chichi) with the E_gamma histogram on top.

    Each panel: ``{"e_gamma", "mchichi", "weights", "m_A", "m_phi", "m_chi",
    "sqrt_s", "title"}``. Lines: the boundary E_gamma < E_b(m_chichi) of
    (4.5) (black) and the locus v = 0 (dotted green).
    """
    plt = _pyplot()
    from .kinematics.variables import e_bar

    fig = plt.figure(figsize=(4.2 * len(panels), 5.2), constrained_layout=True)
    grid = fig.add_gridspec(2, len(panels), height_ratios=(1, 3))
    for k, p in enumerate(panels):
        top = fig.add_subplot(grid[0, k])
        ax = fig.add_subplot(grid[1, k], sharex=top)
        sq = p["sqrt_s"]
        e_hi = 0.5 * (sq**2 - (p["m_phi"] + 2 * p["m_chi"]) ** 2) / sq
        m_lo, m_hi = 2 * p["m_chi"], sq - p["m_phi"]
        w = p["weights"] * 1e4  # expected events in 10 ab^-1 before the decay probability
        h, xe, ye = np.histogram2d(p["e_gamma"], p["mchichi"], bins=(80, 80), range=((0, e_hi * 1.02), (m_lo, m_hi)), weights=w)
        from matplotlib.colors import LogNorm

        pos = h[h > 0]
        ax.pcolormesh(xe, ye, np.where(h > 0, h, np.nan).T, norm=LogNorm(vmin=pos.max() * 1e-4, vmax=pos.max()) if pos.size else None,
                      cmap="viridis", shading="flat", rasterized=True)
        m = np.linspace(m_lo, m_hi, 300)
        ax.plot((sq**2 - (m + p["m_phi"]) ** 2) / (2 * sq), m, color="k", lw=1.2, label=r"$E_\gamma = E_b(m_{\chi\chi})$ (4.5)")
        eb = e_bar(p["m_A"], sq)
        ax.axhline(p["m_A"], color="tab:green", ls=":", lw=1.5, label=r"$v = 0$")
        ax.axvline(eb, color="tab:green", ls=":", lw=1.5)
        ax.set_xlim(0, e_hi * 1.02)
        ax.set_ylim(m_lo, m_hi)
        ax.set_xlabel(r"$E_\gamma$ [GeV] (CMS)")
        ax.set_ylabel(r"$m_{\chi\chi}$ [GeV]")
        ax.legend(fontsize=7, loc="upper right")
        he, ee = np.histogram(p["e_gamma"], bins=80, range=(0, e_hi * 1.02), weights=w)
        _step(top, ee, he, color="tab:blue")
        top.set_ylabel("events / bin")
        top.set_title(p["title"], fontsize=9)
        top.tick_params(labelbottom=False)
    paths = save(fig, stem)
    plt.close(fig)
    return paths


def figure9(data: dict, stem: str | os.PathLike) -> list[Path]:
    """Figure 9: E_gamma (left) and v (right) for gamma-phi signal and background, normalised.

    ``data = {"e_edges", "e_sig", "e_bkg", "v_edges", "v_sig": {label: h},
    "v_bkg": {label: h}, "title"}``; the v histograms are fractions of all
    events (the E_gamma ones are normalised here).
    """
    plt = _pyplot()
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    for h, color, lab in ((data["e_sig"], "tab:blue", "signal"), (data["e_bkg"], "tab:orange", "background")):
        _step(a0, data["e_edges"], h / max(h.sum(), 1e-300), color=color, label=lab)
    a0.set_xlabel(r"$E_\gamma$ [GeV] (CMS)")
    a0.set_ylabel("fraction of events / bin")
    a0.legend(fontsize=8)
    styles = ("-", ":", "--")
    for (lab, h), ls in zip(data["v_sig"].items(), styles):
        _step(a1, data["v_edges"], h, color="tab:blue", ls=ls, label=f"signal, {lab}")
    for (lab, h), ls in zip(data["v_bkg"].items(), styles):
        _step(a1, data["v_edges"], h, color="tab:orange", ls=ls, label=f"background, {lab}")
    a1.set_yscale("log")
    a1.set_xlabel(r"$v$ [GeV$^2$]")
    a1.set_ylabel("fraction of events / bin")
    a1.legend(fontsize=7)
    fig.suptitle(data.get("title", ""), fontsize=10)
    paths = save(fig, stem)
    plt.close(fig)
    return paths


def figure10(panels: list[dict], stem: str | os.PathLike) -> list[Path]:
    """Figure 10: expected signal and background with the selected window shaded.

    Panels (row-major, 2x2): ``{"edges", "sig", "bkg", "lo", "hi", "label",
    "title"}`` with bins lo..hi selected.
    """
    plt = _pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), constrained_layout=True)
    for ax, p in zip(axes.ravel(), panels):
        e = np.asarray(p["edges"])
        sel = slice(p["lo"], p["hi"] + 1)
        _step(ax, e, p["sig"], color="tab:green", label="signal")
        _step(ax, e, p["bkg"], color="saddlebrown", label="background")
        ax.stairs(p["sig"][sel], e[p["lo"] : p["hi"] + 2], fill=True, color="tab:green", alpha=0.3)
        ax.stairs(p["bkg"][sel], e[p["lo"] : p["hi"] + 2], fill=True, color="saddlebrown", alpha=0.25)
        ax.set_yscale("log")
        pos = np.concatenate([p["sig"][p["sig"] > 0], p["bkg"][p["bkg"] > 0]])
        if pos.size:
            ax.set_ylim(max(pos.min(), pos.max() * 1e-6), pos.max() * 3)
        ax.set_xlim(p.get("xlim", (e[0], e[-1])))
        ax.set_xlabel(p["label"])
        ax.set_ylabel("expected events / bin")
        ax.set_title(p["title"], fontsize=9)
        ax.legend(fontsize=8)
    paths = save(fig, stem)
    plt.close(fig)
    return paths


def _reach_series(reach: dict, benchmark: str, channel: str, key: str, n_b: str, field: str | None = None):
    pts = reach[benchmark][channel]
    x = np.array(pts["m_A"])
    vals = pts[key][n_b]
    y = np.array([np.nan if v is None else (v if field is None else (np.nan if v[field] is None else v[field])) for v in vals], float)
    return x, y


def figure11(reach: dict, stem: str | os.PathLike, lumi_ab: float = 10.0) -> list[Path]:
    """Figure 11: 95 % CL reach in eps (left) and theta (right) for each benchmark (rows).

    Red: phi, green: gamma-phi; solid N_b = 1, dashed N_b = 1e4. In theta
    both edges of the sensitive band are drawn (the band lies between).
    """
    plt = _pyplot()
    bms = list(reach)
    fig, axes = plt.subplots(len(bms), 2, figsize=(10, 3.3 * len(bms)), constrained_layout=True, squeeze=False)
    for row, bm in zip(axes, bms):
        for ch in CHANNELS:
            for n_b, ls in (("1", "-"), ("10000", "--")):
                x, y = _reach_series(reach, bm, ch, "eps95", n_b)
                row[0].plot(x, y, color=CHANNEL_COLORS[ch], ls=ls, label=f"{CHANNEL_LABELS[ch]}, $N_b = {float(n_b):g}$")
                x, lo = _reach_series(reach, bm, ch, "theta_band", n_b, "lower")
                _, hi = _reach_series(reach, bm, ch, "theta_band", n_b, "upper")
                row[1].plot(x, lo, color=CHANNEL_COLORS[ch], ls=ls, label=f"{CHANNEL_LABELS[ch]}, $N_b = {float(n_b):g}$")
                row[1].plot(x, hi, color=CHANNEL_COLORS[ch], ls=ls, lw=0.8)
        run = reach[bm].get("settings", {})
        row[0].set_ylabel(r"$\epsilon$ (95% CL)")
        row[0].set_title(rf"{bm}: $\theta = {run.get('theta_eps_scan', THETA_EPS_SCAN):g}$, {lumi_ab:g} ab$^{{-1}}$", fontsize=9)
        row[1].set_ylabel(r"$\theta$ (95% CL band)")
        row[1].set_title(rf"{bm}: $\epsilon = {run.get('eps_theta_scan', EPS_REF):g}$, {lumi_ab:g} ab$^{{-1}}$", fontsize=9)
        for ax in row:
            ax.set_yscale("log")
            ax.set_xlabel(r"$m_{A'}$ [GeV]")
            ax.legend(fontsize=7)
    paths = save(fig, stem)
    plt.close(fig)
    return paths


def figure12(reach: dict, stem: str | os.PathLike) -> list[Path]:
    """Figure 12: reach ratio N_b = 1e4 over N_b = 1 in eps (left) and theta (right, lower edge).

    Coloured: the optimised selection; gray: cut-and-count (no selection),
    solid for phi, dashed for gamma-phi. Gaps mark masses where a reach lies
    outside the scanned theta range.
    """
    plt = _pyplot()
    bms = list(reach)
    fig, axes = plt.subplots(len(bms), 2, figsize=(10, 3.1 * len(bms)), constrained_layout=True, squeeze=False)
    for row, bm in zip(axes, bms):
        for ch, ls in (("phi", "-"), ("gammaphi", "--")):
            for key, color, lab in (("eps95", CHANNEL_COLORS[ch], "optimised"), ("eps95_cut_and_count", "gray", "cut and count")):
                x, a = _reach_series(reach, bm, ch, key, "10000")
                _, b = _reach_series(reach, bm, ch, key, "1")
                row[0].plot(x, a / b, color=color, ls=ls, label=f"{CHANNEL_LABELS[ch]} {lab}")
            for key, color, lab in (("theta_band", CHANNEL_COLORS[ch], "optimised"), ("theta_band_cut_and_count", "gray", "cut and count")):
                x, a = _reach_series(reach, bm, ch, key, "10000", "lower")
                _, b = _reach_series(reach, bm, ch, key, "1", "lower")
                row[1].plot(x, a / b, color=color, ls=ls, label=f"{CHANNEL_LABELS[ch]} {lab}")
        row[0].set_ylabel(r"$\epsilon_{95}(N_b=10^4) / \epsilon_{95}(N_b=1)$")
        row[1].set_ylabel(r"$\theta_{95}(N_b=10^4) / \theta_{95}(N_b=1)$")
        for ax in row:
            ax.set_xlabel(r"$m_{A'}$ [GeV]")
            ax.set_title(bm, fontsize=9)
            ax.set_ylim(bottom=1.0)
            ax.legend(fontsize=7)
    paths = save(fig, stem)
    plt.close(fig)
    return paths
