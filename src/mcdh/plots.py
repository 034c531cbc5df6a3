"""Figures of the paper, drawn from the project's own computation."""
from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._atomic import atomic_path
from .channels import CHANNELS
from .errors import ParameterError
from .events import Events
from .kinematics.variables import cos_theta, pair_mass
from .settings import EPS_REF, THETA_EPS_SCAN

if TYPE_CHECKING:
    from .generate.signal import CrossSection

STYLE: dict[str, Any] = {
    "font.size": 10, "axes.labelsize": 11, "axes.titlesize": 10, "legend.fontsize": 8, "legend.frameon": False,
    "xtick.direction": "in", "ytick.direction": "in", "xtick.top": True, "ytick.right": True,
    "xtick.minor.visible": True, "ytick.minor.visible": True, "lines.linewidth": 1.6, "savefig.dpi": 150,
    "figure.dpi": 100, "mathtext.default": "regular", "axes.formatter.use_mathtext": True,
}
"""The one style of mcdh's figures (matplotlib rcParams, after mplhep's HEP conventions: inward ticks on
all sides, minor ticks, frameless legends, powers of ten in mathtext)."""


class _Figures:
    """pyplot's constructors without pyplot: figures that belong to no backend and no window manager, so drawing
    one never switches the user's backend (a notebook's stays inline) and never leaves a figure open."""

    @staticmethod
    def subplots(*args, figsize=None, constrained_layout: bool = False, **kwargs):
        fig = _Figures.figure(figsize=figsize, constrained_layout=constrained_layout)
        return fig, fig.subplots(*args, **kwargs)

    @staticmethod
    def figure(figsize=None, constrained_layout: bool = False):
        from matplotlib.figure import Figure

        return Figure(figsize=figsize, layout="constrained" if constrained_layout else None)

    @staticmethod
    def get_cmap(name: str):
        import matplotlib

        return matplotlib.colormaps[name]


def _canvas(axes, shape: tuple[int, int], figsize: tuple[float, float]):
    """(figure, axes as a ``shape`` array): the caller's axes, or those of a new figure of ``figsize``.

    The caller's ``axes`` (one Axes for a one-panel figure, else any sequence or array of ``shape``'s size) are
    drawn into as they are: their figure, style and layout stay the caller's."""
    n = shape[0] * shape[1]
    if axes is None:
        return _Figures.subplots(*shape, figsize=figsize, constrained_layout=True, squeeze=False)
    arr = np.empty(n, dtype=object)
    flat = [axes] if not isinstance(axes, (list, tuple, np.ndarray)) else list(np.asarray(axes, dtype=object).ravel())
    if len(flat) != n or not all(hasattr(a, "plot") for a in flat):
        raise ParameterError("ax", f"{len(flat)} object(s)", f"needs {n} matplotlib Axes ({shape[0]} x {shape[1]})")
    arr[:] = flat
    return flat[0].figure, arr.reshape(shape)


def _target(fig, figsize: tuple[float, float]):
    """The figure (or subfigure) a multi-grid figure is drawn into: the caller's, or a new one of ``figsize``."""
    if fig is None:
        return _Figures.figure(figsize=figsize, constrained_layout=True)
    if not hasattr(fig, "add_gridspec"):
        raise ParameterError("fig", type(fig).__name__, "must be a matplotlib Figure or SubFigure")
    return fig


def styled(fn):
    """Run a figure function inside mcdh's style (:data:`STYLE`, a ``matplotlib.rc_context``): the user's
    rcParams are never changed."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        import matplotlib

        with matplotlib.rc_context(STYLE):  # type: ignore[arg-type]  # (rcParams' keys are typed as a Literal)
            return fn(*args, **kwargs)

    return wrapper


def save(fig, stem: str | os.PathLike, formats=("png", "pdf"), csv: bool = True, caption: str | None = None) -> list[Path]:
    """Save ``fig`` as ``stem.png``, ``stem.pdf`` and ``stem.csv`` (the numbers drawn) atomically; return the paths.

    ``csv=False`` where the caller writes the figure's data itself (figure 4: the cross-section table);
    ``caption``: also ``stem.txt``, the caption text.
    """
    out = []
    for fmt in formats:
        path = Path(f"{stem}.{fmt}")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=150, bbox_inches="tight")
        out.append(path)
    if csv:
        panels, rows = _drawn_rows(fig)
        out.append(write_rows(Path(f"{stem}.csv"), rows, comments=panels))
    if caption:
        path = Path(f"{stem}.txt")
        with atomic_path(path) as tmp:
            tmp.write_text(caption.strip() + "\n")
        out.append(path)
    return out


def write_rows(path: Path, rows: list[dict], comments=()) -> Path:
    """Rows (dicts with the same keys) as CSV with a header, atomically; ``comments`` first, as ``#`` lines."""
    import csv
    import io

    buf = io.StringIO()
    for line in comments:
        buf.write(f"# {line}\n")
    if rows:
        w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    with atomic_path(path) as tmp:
        tmp.write_text(buf.getvalue())
    return path


def _label(artist) -> str:
    """The series name of an artist in a figure's CSV: its legend label, or for an artist kept out of the
    legend its gid (e.g. the edges of a shaded band)."""
    lab = artist.get_label()
    return (artist.get_gid() or "") if lab.startswith("_") else lab


def _drawn_rows(fig) -> tuple[list[str], list[dict]]:
    """The numbers behind everything drawn in ``fig``: a line per panel (its title and axis labels) and one
    tidy table of panel, series, kind, x, y (and z).

    Lines give their points, filled areas their outline, step histograms
    their bin edges and values, colour meshes their cell centres and values,
    text notes their text. So the CSV of a figure is what the figure shows.
    """
    from matplotlib.collections import PolyCollection, QuadMesh
    from matplotlib.lines import Line2D
    from matplotlib.patches import Polygon, StepPatch

    rows: list[dict] = []
    panels: list[str] = []

    def add(k, ax, series, kind, x, y, z=""):
        rows.append({"panel": k, "series": series, "kind": kind, "x": x, "y": y, "z": z})

    for k, ax in enumerate(fig.axes):
        if ax.get_label() == "<colorbar>":
            continue
        panels.append(f"panel {k}: {' '.join(ax.get_title().split())} | x: {ax.get_xlabel()} | y: {ax.get_ylabel()}")
        for a in ax.get_children():
            if isinstance(a, Line2D) and a.get_visible():
                for x, y in zip(np.asarray(a.get_xdata(), float).ravel(), np.asarray(a.get_ydata(), float).ravel()):
                    add(k, ax, _label(a), "line", x, y)
            elif isinstance(a, StepPatch):
                values, edges = (np.asarray(v, float) for v in a.get_data()[:2])
                for lo, hi, v in zip(edges[:-1], edges[1:], values):
                    add(k, ax, _label(a), "bin", f"{lo:.6g}-{hi:.6g}", v)
            elif isinstance(a, QuadMesh):
                c = np.asarray(a.get_coordinates(), float)
                xc = 0.25 * (c[:-1, :-1] + c[1:, :-1] + c[:-1, 1:] + c[1:, 1:])
                z_values: np.ndarray = np.ma.filled(np.ma.asarray(a.get_array(), dtype=float), np.nan).ravel()
                for (x, y), z in zip(xc.reshape(-1, 2), z_values):
                    add(k, ax, _label(a), "cell", x, y, z)
            elif isinstance(a, PolyCollection):
                for path in a.get_paths():
                    for x, y in np.asarray(path.vertices, float):
                        add(k, ax, _label(a), "area", x, y)
            elif isinstance(a, Polygon):
                for x, y in a.get_xy():
                    add(k, ax, _label(a), "area", x, y)
        for t in ax.texts:
            add(k, ax, "note", "text", "", "", " ".join(t.get_text().split()))
    return panels, rows


@styled
def figure6(phi: Events, gammaphi: Events, stem: str | os.PathLike) -> list[Path]:
    """Figure 6 (:func:`draw_figure6`) saved as ``stem``.png, .pdf and .csv."""
    return save(draw_figure6(phi, gammaphi)[0], stem)


def draw_figure6(phi: Events, gammaphi: Events, axes=None):
    """Figure 6: m_chichi against cos theta_phi for the two RAMBO mock backgrounds, into ``axes`` (two) or a new
    figure; returns (figure, axes).

    Weighted 2D histograms (expected events per bin in the sample's
    normalisation) of the CMS-frame mock backgrounds.
    """
    fig, axes = _canvas(axes, (1, 2), (11, 4.2))
    for ax, ev, title in zip(axes[0], (phi, gammaphi), (r"$\phi$ channel ($2\to3$)", r"$\gamma\phi$ channel ($2\to4$)")):
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
            f"{title}\n" + rf"$\sqrt{{s}}={p['sqrt_s']}$ GeV, $m_\phi={p['m_phi']}$ GeV, $m_\chi={p['m_chi']}$ GeV, $N_b={pow10(p['n_b'])}$",
            fontsize=9,
        )
    return fig, axes[0]


BENCHMARK_COLORS = {"B1": "tab:blue", "B2": "tab:orange", "B3": "tab:green"}
BENCHMARK_LINES = {"B1": ("-", 2.6), "B2": ("--", 1.6), "B3": ("-.", 1.6)}
"""Line style and width per benchmark: B1 drawn widest and solid, so no other curve hides it."""
BENCHMARK_MARKERS = {"B1": "o", "B2": "s", "B3": "^"}


@styled
def figure3(stem: str | os.PathLike, m_A=None) -> list[Path]:
    """Figure 3 (:func:`draw_figure3`) saved as ``stem``.png, .pdf and .csv."""
    return save(draw_figure3(m_A)[0], stem)


def draw_figure3(m_A=None, ax=None):
    """Figure 3: g_chi reproducing the relic density, eqs. (2.11)-(2.13), against m_A (default 1.2-7.5 GeV), into
    ``ax`` or a new figure; returns (figure, ax)."""
    from .physics.model import BENCHMARKS, g_chi_relic

    m_A = np.linspace(1.2, 7.5, 200) if m_A is None else np.asarray(m_A, float)
    fig, axes = _canvas(ax, (1, 1), (5.5, 4))
    ax = axes[0, 0]
    for b, (r_chi, _r_phi) in BENCHMARKS.items():
        ls, lw = BENCHMARK_LINES[b]
        ax.plot(m_A, [g_chi_relic(b, r_chi * m) for m in m_A], color=BENCHMARK_COLORS[b], ls=ls, lw=lw,
                label=f"{b}: $m_\\chi = {r_chi:.3g}\\,m_{{A'}}$")
    ax.axhline(1.0, color="gray", ls=":", label=r"$g_\chi = 1$ (analysis)")
    ax.set_xlabel(r"$m_{A'}$ [GeV]")
    ax.set_ylabel(r"$g_\chi^{\rm relic} = (m_\chi / C_B)^{1/4}$")
    ax.legend(fontsize=8)
    return fig, ax


@styled
def figure4(rows: list[CrossSection], stem: str | os.PathLike) -> list[Path]:
    """Figure 4 (:func:`draw_figure4`) saved as ``stem``.png and .pdf (its data: figure4.csv, the caller's)."""
    return save(draw_figure4(rows)[0], stem, csv=False)


def draw_figure4(rows: list[CrossSection], ax=None):
    """Figure 4: signal cross sections (:class:`~mcdh.generate.signal.CrossSection`) against m_A (solid: phi,
    dashed: gamma-phi), into ``ax`` or a new figure; returns (figure, ax)."""
    fig, axes = _canvas(ax, (1, 1), (6, 4.5))
    ax = axes[0, 0]
    for b in sorted({r.model.benchmark or "custom" for r in rows}):
        for proc, ls, lab in (("phi", "-", r"$\phi$"), ("gammaphi", "--", r"$\gamma\phi$")):
            sel = sorted((r for r in rows if (r.model.benchmark or "custom") == b and r.process == proc),
                         key=lambda r: r.model.m_A)
            if not sel:
                continue
            x = [r.model.m_A for r in sel]
            y = np.array([r.sigma_fb for r in sel])
            e = np.array([r.sigma_err_fb for r in sel])
            ax.plot(x, y, ls=ls, color=BENCHMARK_COLORS.get(b), marker=BENCHMARK_MARKERS.get(b), ms=4,
                    lw=2.4 if b == "B1" else 1.4, label=f"{b} {lab}")
            ax.fill_between(x, y - e, y + e, color=BENCHMARK_COLORS.get(b), alpha=0.3, lw=0)
    eps = rows[0].model.eps if rows else None
    ax.set_yscale("log")
    ax.set_xlabel(r"$m_{A'}$ [GeV]")
    ax.set_ylabel(r"$\sigma$ [fb]")
    ax.set_title(rf"$\sqrt{{s}} = 10.58$ GeV, $\epsilon = {pow10(eps)}$, $g_\chi = 1$" if eps else "", fontsize=9)
    ax.legend(fontsize=8, ncol=2)
    return fig, ax


@styled
def figure8(stem: str | os.PathLike, sqrt_s: float = 10.58, e0: float = 0.25) -> list[Path]:
    """Figure 8 (:func:`draw_figure8`) saved as ``stem``.png, .pdf and .csv."""
    return save(draw_figure8(sqrt_s, e0)[0], stem)


def draw_figure8(sqrt_s: float = 10.58, e0: float = 0.25, ax=None):
    """Figure 8: soft / bimodal / hard photon regimes of gamma-phi in the (m_A, m_phi) plane, into ``ax`` or a new
    figure; returns (figure, ax)."""
    from matplotlib.colors import ListedColormap

    from .physics.model import BENCHMARKS
    from .physics.regimes import m_phi_for_ratio, regime_map

    mA = np.linspace(0.02, sqrt_s - e0, 300)  # (a 300 x 300 map: its CSV lists every cell)
    mphi = np.linspace(0.0, sqrt_s / 2, 300)
    reg = regime_map(mA, mphi, sqrt_s, e0).astype(float)
    reg[reg < 0] = np.nan
    fig, axes = _canvas(ax, (1, 1), (6, 4.5))
    ax = axes[0, 0]
    cmap = ListedColormap(["tab:green", "tab:orange", "tab:blue"])
    ax.pcolormesh(mA, mphi, reg, cmap=cmap, vmin=-0.5, vmax=2.5, shading="auto", alpha=0.6, rasterized=True)
    for r, ls in ((1.0, "-"), (4.0, "-")):
        with np.errstate(invalid="ignore"):
            ax.plot(mA, m_phi_for_ratio(mA, r, sqrt_s, e0), color="k", lw=0.8, ls=ls)
    ax.plot(mA, np.zeros_like(mA), color="tab:blue", lw=2, label=r"$m_\phi = 0$")
    ax.plot(mA, mA, color="darkgreen", ls="--", label=r"$m_\phi = m_{A'}$")
    ax.plot(mA, sqrt_s - mA - e0, color="k", ls="--", label=r"$m_\phi = \sqrt{s} - m_{A'} - E_0$")
    ratios: dict[float, list[str]] = {}
    for b, (_rc, rp) in BENCHMARKS.items():  # B1 and B2 share m_phi = m_A'/6: one line, named for both
        ratios.setdefault(rp, []).append(b)
    for rp, names in ratios.items():
        ax.plot(mA, rp * mA, color=BENCHMARK_COLORS[names[0]], ls=":", lw=2.0,
                label=f"{', '.join(names)}: $m_\\phi = m_{{A'}}/{1 / rp:.0f}$")
    for x, y, t in ((4.5, 2.5, "soft"), (1.9, 0.58, "bimodal"), (3.6, 0.04, "hard")):
        ax.text(x, y, t, fontsize=9, weight="bold")
    ax.set_xlim(0, sqrt_s)
    ax.set_ylim(0, sqrt_s / 2)
    ax.set_xlabel(r"$m_{A'}$ [GeV]")
    ax.set_ylabel(r"$m_\phi$ [GeV]")
    ax.set_title(rf"$\gamma\phi$ photon-energy regimes ($E_0 = {e0}$ GeV; $r<1$ soft, $1\leq r\leq4$ bimodal, $r>4$ hard)", fontsize=8)
    ax.legend(fontsize=7, loc="upper right")
    return fig, ax


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


@styled
def figure5(data: dict, stem: str | os.PathLike) -> list[Path]:
    """Figure 5 (:func:`draw_figure5`) saved as ``stem``.png, .pdf and .csv."""
    return save(draw_figure5(data)[0], stem)


def draw_figure5(data: dict, axes=None):
    """Figure 5: effect of the decay-probability reweighting on kinematic distributions, into ``axes`` (2 x 2) or
    a new figure; returns (figure, axes).

    ``data[panel] = {"edges": ..., "label": ..., "hists": {region: values}}``
    for panels "pt_phi", "pt_gammaphi", "e_gamma", "mchichi"; expected events
    (log scale; the luminosity is in the title), so both the loss and the change of shape show.
    """
    fig, axes = _canvas(axes, (2, 2), (10, 7))
    for ax, panel in zip(axes.ravel(), ("pt_phi", "pt_gammaphi", "e_gamma", "mchichi")):
        d = data[panel]
        for region, h in d["hists"].items():
            total = h.sum()
            if total <= 0:
                continue
            color, ls = REGION_STYLES.get(region, ("k", "-"))
            _step(ax, d["edges"], h, color=color, ls=ls, label="no reweighting" if region == "none" else region)
        ax.set_yscale("log")
        ax.set_xlabel(d["label"])
        ax.set_ylabel("expected events / bin")
        ax.set_title(d.get("title", ""), fontsize=9)
        ax.legend(fontsize=7)
    fig.suptitle(data.get("title", ""), fontsize=10)
    return fig, axes


@styled
def figure7(panels: list[dict], stem: str | os.PathLike) -> list[Path]:
    """Figure 7 (:func:`draw_figure7`) saved as ``stem``.png, .pdf and .csv."""
    return save(draw_figure7(panels), stem)


def draw_figure7(panels: list[dict], fig=None):
    """Figure 7: gamma-phi Dalitz plots (E_gamma, m_chichi) with the E_gamma histogram on top, into ``fig`` (a
    Figure or SubFigure: two rows of panels) or a new figure; returns the figure.

    Each panel: ``{"e_gamma", "mchichi", "weights", "m_A", "m_phi", "m_chi",
    "sqrt_s", "title"}``. Lines: the boundary E_gamma < E_b(m_chichi) of
    (4.5) (black) and the locus v = 0 (dotted green).
    """
    from .kinematics.variables import e_bar

    if not panels:
        raise ParameterError("panels", "[]", "needs at least one panel")
    fig = _target(fig, (4.2 * len(panels), 5.2))
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
        mesh = ax.pcolormesh(xe, ye, np.where(h > 0, h, np.nan).T,
                             norm=LogNorm(vmin=pos.max() * 1e-4, vmax=pos.max()) if pos.size else None,
                             cmap="viridis", shading="flat", rasterized=True)
        fig.colorbar(mesh, ax=ax, label=r"expected events / bin (10 ab$^{-1}$)", pad=0.01)
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
    return fig


@styled
def figure9(data: dict, stem: str | os.PathLike) -> list[Path]:
    """Figure 9 (:func:`draw_figure9`) saved as ``stem``.png, .pdf and .csv."""
    return save(draw_figure9(data)[0], stem)


def draw_figure9(data: dict, axes=None):
    """Figure 9: E_gamma (left) and v (right) for gamma-phi signal and background, normalised, into ``axes`` (two)
    or a new figure; returns (figure, axes).

    ``data = {"e_edges", "e_sig", "e_bkg", "v_edges", "v_sig": {label: h},
    "v_bkg": {label: h}, "title"}``; the v histograms are fractions of all
    events (the E_gamma ones are normalised here).
    """
    fig, axes = _canvas(axes, (1, 2), (11, 4.2))
    a0, a1 = axes[0]
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
    return fig, axes[0]


@styled
def figure10(panels: list[dict], stem: str | os.PathLike) -> list[Path]:
    """Figure 10 (:func:`draw_figure10`) saved as ``stem``.png, .pdf and .csv."""
    return save(draw_figure10(panels)[0], stem)


def draw_figure10(panels: list[dict], axes=None):
    """Figure 10: expected signal and background with the selected window shaded, into ``axes`` (2 x 2) or a new
    figure; returns (figure, axes).

    Panels (row-major, 2x2): ``{"edges", "sig", "bkg", "lo", "hi", "label",
    "title"}`` with bins lo..hi selected.
    """
    fig, axes = _canvas(axes, (2, 2), (11, 7.5))
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
    return fig, axes


def _reach_series(reach: dict, benchmark: str, channel: str, key: str, n_b: str, field: str | None = None):
    pts = reach[benchmark][channel]
    x = np.array(pts["m_A"])
    vals = pts[key][n_b]
    y = np.array([np.nan if v is None else (v if field is None else (np.nan if v[field] is None else v[field])) for v in vals], float)
    return x, y


def pow10(x: float, digits: int = 3) -> str:
    """``x`` for a title or legend in mathtext: 2.5e-5 as 2.5\\times10^{-5}, 10000 as 10^{4}, 0.5 as 0.5."""
    if x == 0 or 1e-2 <= abs(x) < 1e3:
        return f"{x:.{digits}g}"
    mant, exp = f"{x:.{digits - 1}e}".split("e")
    mant = mant.rstrip("0").rstrip(".")
    return (f"10^{{{int(exp)}}}" if mant == "1" else f"{mant}\\times10^{{{int(exp)}}}")


def _note(ax, lines: list[str], top: bool) -> None:
    """Curves that are not drawn (no sensitivity), named on the panel instead of in the legend."""
    if lines:
        ax.text(0.02, 0.97 if top else 0.03, "\n".join(lines), transform=ax.transAxes, fontsize=7,
                va="top" if top else "bottom", bbox={"facecolor": "white", "alpha": 0.8, "lw": 0})


def _envelope_series(reach, bm, ch, key, n_b, edge, which=None):
    """The width envelope's ``edge`` ("lower"/"upper") of one curve per m_A; for the theta band (``which`` 0
    or 1) the min or max of that edge over the envelope. NaN where it is not known."""
    pts = reach[bm][ch]
    vals = pts.get(key, {}).get(n_b) or [None] * len(pts["m_A"])
    out = []
    for v in vals:
        x = None if v is None else v.get(edge)
        if x is not None and which is not None:
            x = x[which]
        out.append(np.nan if x is None else x)
    return np.array(out, float)


def _envelope(ax, x, lo, hi, color, label, series):
    """A shaded band between ``lo`` and ``hi`` (the legend entry ``label``) with its two edges as thin
    lines: kept out of the legend, named ``series`` + " min" / " max" in the figure's CSV."""
    ok = np.isfinite(lo) & np.isfinite(hi)
    if not ok.any():
        return False
    ax.fill_between(x, lo, hi, where=ok, color=color, alpha=0.2, lw=0, label=label)
    for y, name in ((lo, "min"), (hi, "max")):
        (line,) = ax.plot(x, y, color=color, lw=0.5, alpha=0.6, label="_edge")
        line.set_gid(f"{series} {name}")
    return True


@dataclass(frozen=True)
class Overlay:
    """A curve of the user's (an exclusion, another tool's projection) drawn on the eps panels of figure 11."""

    label: str
    x: np.ndarray
    y: np.ndarray

    @classmethod
    def read(cls, spec: str) -> Overlay:
        """``FILE.csv[:label]``: two numeric columns, m_A' in GeV and eps (a header line and ``#`` comments are
        skipped); the label defaults to the file's stem."""
        path, _, label = spec.partition(":")
        p = Path(path)
        if not p.is_file():
            raise ParameterError("overlay", spec, f"needs an existing CSV file: {p} is not one")
        rows, header = [], False
        for k, line in enumerate(p.read_text(errors="replace").splitlines(), 1):
            cells = [c.strip() for c in line.split(",")]
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                rows.append((float(cells[0]), float(cells[1])))
            except (ValueError, IndexError):
                if rows or header:  # only the first line that is not a comment may be a header
                    raise ParameterError("overlay", spec, f"line {k} of {p} is not two numbers m_A,eps") from None
                header = True
        xy = np.array(rows, dtype=float).reshape(-1, 2)
        if len(xy) < 2 or not np.all(np.isfinite(xy)) or np.any(xy <= 0):
            raise ParameterError("overlay", spec, f"{p} needs at least two rows of positive, finite m_A,eps")
        return cls(label.strip() or p.stem, xy[:, 0], xy[:, 1])


@styled
def figure11(reach: dict, stem: str | os.PathLike, lumi_ab: float = 10.0, overlays: tuple = ()) -> list[Path]:
    """Figure 11 (:func:`draw_figure11`) saved as ``stem``.png, .pdf, .csv and its caption ``stem``.txt."""
    from .bounds import babar_invisible, theta_exclusions

    fig, _ = draw_figure11(reach, lumi_ab, overlays)
    return save(fig, stem, caption=FIGURE11_CAPTION + _dip_numbers(reach) + "\n\nSources of the external bounds:\n"
                + "\n".join(f"- {b.label}: {b.source}" for b in (babar_invisible(), *theta_exclusions())))


def draw_figure11(reach: dict, lumi_ab: float = 10.0, overlays: tuple = (), axes=None):
    """Figure 11 into ``axes`` (benchmarks x 2) or a new figure; returns (figure, axes). ``reach``: the
    ``reach`` of ``mcdh reproduce``'s summary.json (:class:`~mcdh.paper.Reproduction`).

    95 % CL reach in eps (left) and theta (right) for each benchmark (rows); ``overlays``
    (:class:`Overlay`): the user's curves, drawn in black on every eps panel.

    Red: phi, green: gamma-phi; solid N_b = 1, dashed N_b = 10^4. Left: the
    eps reach at the paper's theta with the band of the hadronic-width
    envelope around each curve (``eps95_width_band``: Winkler's, the corrected
    DGL and BTPZ widths and their 1 sigma; its edges are named in the CSV), and
    BaBar's 90 % CL exclusion of an invisibly decaying dark photon (grey).
    Right: the sensitive theta band (between the two lines of a style), the
    range each edge moves over the width envelope (shaded), and the low-mass
    theta exclusions mapped to m_A' through the benchmark's mass ratio (grey).
    A curve with no sensitivity anywhere is named in a note on its panel, not
    in the legend.
    """
    from .bounds import babar_invisible, theta_exclusion_in_mA, theta_exclusions

    bms = list(reach)
    fig, axes = _canvas(axes, (len(bms), 2), (14, 3.6 * len(bms)))
    babar = babar_invisible()
    for row, bm in zip(axes, bms):
        ax_e, ax_t = row
        notes: dict = {ax_e: [], ax_t: []}
        m_all, eps_all = [], []
        for ch in CHANNELS:
            if ch not in reach[bm]:
                continue
            for n_b, ls in zip(reach[bm][ch]["eps95"], ("-", "--", ":", "-.")):
                label = f"{CHANNEL_LABELS[ch]}, $N_b = {pow10(float(n_b))}$"
                x, y = _reach_series(reach, bm, ch, "eps95", n_b)
                m_all.append(x)
                if np.isfinite(y).any():
                    ax_e.plot(x, y, color=CHANNEL_COLORS[ch], ls=ls, label=label)
                    eps_all.append(y[np.isfinite(y)])
                else:
                    notes[ax_e].append(f"{label}: no sensitivity")
                # the band of the hadronic-width envelope around every curve (smallest and largest reach)
                lo = _envelope_series(reach, bm, ch, "eps95_width_band", n_b, "lower")
                hi = _envelope_series(reach, bm, ch, "eps95_width_band", n_b, "upper")
                if _envelope(ax_e, x, lo, hi, CHANNEL_COLORS[ch], f"{label}: width envelope", f"{label}: width envelope"):
                    eps_all.append(lo[np.isfinite(lo)])
                x, lo = _reach_series(reach, bm, ch, "theta_band", n_b, "lower")
                _, hi = _reach_series(reach, bm, ch, "theta_band", n_b, "upper")
                if np.isfinite(lo).any() or np.isfinite(hi).any():
                    ax_t.plot(x, lo, color=CHANNEL_COLORS[ch], ls=ls, label=f"{label} (band edges)")
                    ax_t.plot(x, hi, color=CHANNEL_COLORS[ch], ls=ls)[0].set_gid(f"{label} (band edges): upper")
                    for edge in ("lower", "upper"):  # each edge moves with Gamma_phi over the envelope
                        e_lo, e_hi = (_envelope_series(reach, bm, ch, "theta_band_width_envelope", n_b, edge, k) for k in (0, 1))
                        _envelope(ax_t, x, e_lo, e_hi, CHANNEL_COLORS[ch],
                                  f"{label}: width envelope" if edge == "lower" else "_nolegend_",
                                  f"{label} (band edges): {edge} edge, width envelope")
                else:
                    notes[ax_t].append(f"{label}: no sensitivity")
        m = np.concatenate(m_all) if m_all else np.array([1.0, 8.0])
        xlim = (max(0.0, m.min() - 0.2), m.max() + 0.2)
        inside = (babar.x >= xlim[0]) & (babar.x <= xlim[1])
        ax_e.fill_between(babar.x, babar.y, 1.0, color="0.8", lw=0, zorder=0, label=babar.label)
        for ov, ls in zip(overlays, ("-", "--", ":", "-.") * 3):
            ax_e.plot(ov.x, ov.y, color="k", ls=ls, lw=1.2, label=ov.label)
            eps_all.append(ov.y)
        low = min([v.min() for v in eps_all if v.size] or [1e-6])
        ax_e.set_ylim(low / 3, 3 * float(babar.y[inside].max() if inside.any() else 1e-3))
        for k, b in enumerate(theta_exclusions()):
            mb = theta_exclusion_in_mA(b, bm)
            if (mb.x >= xlim[0]).any():
                ax_t.fill(mb.x, mb.y, color=("0.55", "0.7", "0.85")[k % 3], alpha=0.6, lw=0, zorder=0,
                          label=f"{mb.label} (excluded)")
        run = reach[bm].get("settings", {})
        ax_e.set_ylabel(r"$\epsilon$ (95% CL)")
        ax_e.set_title(rf"{bm}: $\theta = {pow10(run.get('theta_eps_scan', THETA_EPS_SCAN))}$, "
                       rf"${pow10(lumi_ab)}$ ab$^{{-1}}$", fontsize=9)
        ax_t.set_ylabel(r"$\theta$ (95% CL sensitive band)")
        ax_t.set_title(rf"{bm}: $\epsilon = {pow10(run.get('eps_theta_scan', EPS_REF))}$, "
                       rf"${pow10(lumi_ab)}$ ab$^{{-1}}$", fontsize=9)
        ax_t.set_ylim(1e-6, 1e-1)
        for ax in row:
            ax.set_yscale("log")
            ax.set_xlim(*xlim)
            ax.set_xlabel(r"$m_{A'}$ [GeV]")
            ax.legend(fontsize=6.5, loc="upper left", bbox_to_anchor=(1.01, 1.0))
            _note(ax, notes[ax], top=False)
    return fig, axes


@styled
def figure_systematics(rows: list[dict], stem: str | os.PathLike, statistic: str, theta: float,
                       lumi_ab: float = 10.0) -> list[Path]:
    """The systematics figure (:func:`draw_figure_systematics`) saved as ``stem``.png, .pdf, .csv and .txt."""
    return save(draw_figure_systematics(rows, statistic, theta, lumi_ab)[0], stem, caption=SYSTEMATICS_CAPTION)


def draw_figure_systematics(rows: list[dict], statistic: str, theta: float, lumi_ab: float = 10.0, axes=None):
    """Into ``axes`` (one per benchmark) or a new figure; returns (figure, axes). The combined eps reach against m_A' for each background uncertainty (colours) and N_b (solid: the
    first, dashed: the second), one panel per benchmark; a curve without sensitivity is named in a note."""
    bms = list(dict.fromkeys(r["benchmark"] for r in rows))
    fig, axes = _canvas(axes, (1, len(bms)), (6.4 * len(bms), 4.2))
    levels = list(dict.fromkeys(r["n_b"] for r in rows))
    uncs = list(dict.fromkeys(r["background_uncertainty"] for r in rows))
    colors = _Figures.get_cmap("viridis")(np.linspace(0.0, 0.85, len(uncs)))
    for ax, bm in zip(axes[0], bms):
        notes = []
        for nb, ls in zip(levels, ("-", "--", ":", "-.")):
            for r_unc, color in zip(uncs, colors):
                pts = [r for r in rows if r["benchmark"] == bm and r["n_b"] == nb and r["background_uncertainty"] == r_unc]
                x = np.array([p["mA"] for p in pts])
                y = np.array([np.nan if p["eps95"] is None else p["eps95"] for p in pts])
                label = rf"$N_b = {pow10(nb)}$, $\sigma_b = {r_unc:.0%}$".replace("%", r"\%")
                if np.isfinite(y).any():
                    ax.plot(x, y, color=color, ls=ls, label=label)
                else:
                    notes.append(f"{label}: no sensitivity")
        ax.set_yscale("log")
        ax.set_xlabel(r"$m_{A'}$ [GeV]")
        ax.set_ylabel(r"$\epsilon$ (95% CL, $\phi + \gamma\phi$)")
        ax.set_title(rf"{bm}: $\theta = {pow10(theta)}$, ${pow10(lumi_ab)}$ ab$^{{-1}}$, {statistic} statistic",
                     fontsize=9)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        _note(ax, notes, top=False)
    return fig, axes[0]


SYSTEMATICS_CAPTION = """\
The combined (phi + gamma-phi) 95 % CL reach in eps against m_A' at the paper's two background levels, with the
background normalisation known to 0, 10 and 30 %. With the paper's statistic the uncertainty is profiled in each
optimised window (an on/off Poisson constraint, mcdh.analysis.limits.m2loglike_syst): nothing outside the window
measures the background, so where B >> S the reach needs S ~ 2 sigma_b B instead of ~2 sqrt(B), and the
N_b = 10^4 curves weaken (at 10 ab^-1, B1, by about 1.5x at 10 % and 2.3x at 30 %), while at N_b = 1 (B < 1 event
in the window) they do not move. With the CLs statistic every bin of the observable enters the likelihood and
the bins without signal measure the background's level, so the same uncertainties cost a few per cent: how much
the paper's N_b = 10^4 projections hold depends on the background's shape being known (its section 5)."""


def _dip_numbers(reach: dict, m_A: float = 6.0) -> str:
    """The eps reach at m_A' = 6 GeV with its width envelope, per benchmark and channel (first N_b), for the caption."""
    lines = []
    for bm, entry in reach.items():
        for ch in CHANNELS:
            pts = entry.get(ch)
            if not pts or m_A not in pts["m_A"]:
                continue
            i = pts["m_A"].index(m_A)
            n_b = next(iter(pts["eps95"]))
            eps = pts["eps95"][n_b][i]
            band = (pts.get("eps95_width_band", {}).get(n_b) or [None] * (i + 1))[i] or {}
            if eps is None or band.get("lower") is None:
                continue
            lines.append(f"{bm} {ch}, N_b = {float(n_b):g}: eps95 = {eps:.3g}, over the width envelope "
                         f"{band['lower']:.3g} - {band['upper']:.3g}")
    return ("\nAt m_A' = 6 GeV (this run): " + "; ".join(lines) + ".") if lines else ""


FIGURE11_CAPTION = """\
Figure 11 (mcdh). Left: 95% CL reach in the kinetic mixing eps at the paper's theta; right: the band of
theta that Belle II would exclude at eps = 1e-4 (between the two lines of one style). Red: phi channel,
green: gamma-phi channel; solid: N_b = 1, dashed: N_b = 10^4 (phi-channel background events at 10 ab^-1;
gamma-phi: 0.22 N_b). A channel with no sensitivity anywhere is named in a note on its panel.
Shaded bands: the hadronic-width envelope - the same analysis with every phi width between the smallest and
the largest of Winkler's widths (the paper's, drawn as the curves), the corrected dispersive DGL and BTPZ widths
and their sampled 1 sigma (mcdh.physics.dispersive: hipsofcobra's Omnes solutions with its factor-2 width
normalisation and 1.85x gluon coupling corrected). Left: the smallest and largest eps reach over the envelope;
right: the range over which each edge of the theta band moves. Where m_phi is below the pi pi threshold every
model has the same (leptonic) width and the band closes onto the curve. It spans a factor 2.2 in Gamma_phi at
m_phi = 0.5 GeV and 6 at 0.9 GeV; near 1 GeV (the f0(980) and the K K threshold) a factor 20.
The dip of the reach at m_A' = 6 GeV (B1, B2: m_phi = 1 GeV) is physics of the hadronic width model:
near m_phi = 2 m_K ~ 0.99 GeV the pi pi and K K widths have the f0(980) structure and the K K threshold,
so Gamma_phi at m_phi = 1.0 GeV is larger than 25 MeV higher up (c tau = 29 mm at m_A' = 6.0 GeV
against 49 mm at 6.15 GeV at theta = 1e-4), more phis decay inside the 2-9 mm region, and the reach
improves. How large the effect is depends on the width model: the envelope shows it.
Grey areas: excluded by other experiments - left, BaBar's 90% CL limit on an invisibly decaying dark
photon; right, the low-mass theta exclusions of a Higgs-mixed scalar, mapped from (m_phi, sin theta)
to m_A' through the benchmark's mass ratio."""


@styled
def figure12(reach: dict, stem: str | os.PathLike) -> list[Path]:
    """Figure 12 (:func:`draw_figure12`) saved as ``stem``.png, .pdf and .csv."""
    return save(draw_figure12(reach)[0], stem)


def draw_figure12(reach: dict, axes=None):
    """Figure 12 into ``axes`` (benchmarks x 2) or a new figure; returns (figure, axes). Reach ratio N_b = 10^4 over N_b = 1 in eps (left) and theta (right, lower edge).

    Coloured: the optimised selection; gray: cut-and-count (no selection),
    solid for phi, dashed for gamma-phi. Gaps mark masses where a reach lies
    outside the scanned theta range; a ratio with no finite point is named in
    a note on its panel instead of the legend.
    """
    bms = list(reach)
    fig, axes = _canvas(axes, (len(bms), 2), (11, 3.3 * len(bms)))
    for row, bm in zip(axes, bms):
        notes: dict = {row[0]: [], row[1]: []}
        for ch, ls in (("phi", "-"), ("gammaphi", "--")):
            if ch not in reach[bm]:
                continue
            for ax, key_sel, key_cc, field in ((row[0], "eps95", "eps95_cut_and_count", None),
                                               (row[1], "theta_band", "theta_band_cut_and_count", "lower")):
                for key, color, lab in ((key_sel, CHANNEL_COLORS[ch], "optimised"), (key_cc, "gray", "cut and count")):
                    x, a = _reach_series(reach, bm, ch, key, "10000", field)
                    _, b = _reach_series(reach, bm, ch, key, "1", field)
                    ratio = a / b
                    label = f"{CHANNEL_LABELS[ch]} {lab}"
                    if np.isfinite(ratio).any():
                        ax.plot(x, ratio, color=color, ls=ls, label=label)
                    else:
                        notes[ax].append(f"{label}: no sensitivity at $N_b = 10^{{4}}$")
        row[0].set_ylabel(r"$\epsilon_{95}(N_b=10^4) / \epsilon_{95}(N_b=1)$")
        row[1].set_ylabel(r"$\theta_{95}(N_b=10^4) / \theta_{95}(N_b=1)$")
        for ax in row:
            ax.set_xlabel(r"$m_{A'}$ [GeV]")
            ax.set_title(bm, fontsize=9)
            ax.set_ylim(bottom=1.0)
            ax.legend(fontsize=7)
            _note(ax, notes[ax], top=True)
    return fig, axes


def _visible(edges: np.ndarray) -> slice:
    """The bins worth drawing: without a catch-all outer bin (wider than 4 times every other)."""
    w = np.diff(edges)
    lo, hi = 0, w.size
    if w.size > 2 and w[0] > 4 * w[1:-1].max():
        lo = 1
    if w.size > 2 and w[-1] > 4 * w[lo:-1].max():
        hi = w.size - 1
    return slice(lo, hi)


@styled
def fit_projections(channels: list[dict], stem: str | os.PathLike) -> list[Path]:
    """The fit's projections (:func:`draw_fit_projections`) saved as ``stem``.png, .pdf and .csv."""
    return save(draw_fit_projections(channels), stem)


def draw_fit_projections(channels: list[dict], fig=None):
    """Into ``fig`` (a Figure or SubFigure) or a new figure; returns the figure. Data against the fitted model, each observable's projection, with pulls (data - model) / sqrt(model).

    ``channels``: one dict per channel, {"title", "panels": [{"label", "unit", "edges", "data", "signal",
    "background"}]} (events per bin, drawn per unit of the observable: the bins have unequal widths); one
    row of panels per channel, pulls underneath. Catch-all outer bins are in the fit but not drawn.
    """
    n_col = max(len(c["panels"]) for c in channels)
    fig = _target(fig, (3.4 * n_col, 4.2 * len(channels)))
    outer = fig.add_gridspec(len(channels), 1)
    for row, ch in enumerate(channels):
        gs = outer[row].subgridspec(2, n_col, height_ratios=(3, 1), hspace=0.0)
        for col, p in enumerate(ch["panels"]):
            ax = fig.add_subplot(gs[0, col])
            axp = fig.add_subplot(gs[1, col], sharex=ax)
            keep = _visible(p["edges"])
            d, s, b = (np.asarray(p[k])[keep] for k in ("data", "signal", "background"))
            # empty end bins (no data, next to no expectation) would only squeeze the rest
            busy = np.nonzero((d > 0) | (s + b > 1e-3 * (s + b).max()))[0]
            lo, hi = (busy[0], busy[-1] + 1) if busy.size else (0, d.size)
            d, s, b = d[lo:hi], s[lo:hi], b[lo:hi]
            e = p["edges"][keep.start + lo:keep.start + hi + 1]
            centres, w = 0.5 * (e[1:] + e[:-1]), np.diff(e)  # densities: the bins have unequal widths
            ax.stairs(b / w, e, fill=True, color="0.8", label="background (fit)")
            ax.stairs((s + b) / w, e, color="tab:red", label="signal + background (fit)")
            ax.errorbar(centres, d / w, yerr=np.sqrt(np.maximum(d, 0)) / w, fmt="o", ms=3, color="k", label="data")
            ax.set_ylabel(f"events / {p['unit']}")
            ax.set_title(ch["title"] if col == 0 else "", loc="left", fontsize=9)
            ax.tick_params(labelbottom=False)
            model = s + b
            pull = np.where(model > 0, (d - model) / np.sqrt(np.where(model > 0, model, 1.0)), 0.0)
            axp.axhline(0.0, color="0.5", lw=0.8)
            axp.plot(centres, pull, "o", ms=3, color="k", label="pull")
            axp.set_ylim(-3.5, 3.5)
            axp.set_ylabel("pull")
            axp.set_xlabel(p["label"])
            if col == 0:
                ax.legend(fontsize=7)
    return fig


@styled
def fit_contours(panels: list[dict], stem: str | os.PathLike) -> list[Path]:
    """The fit's contours (:func:`draw_fit_contours`) saved as ``stem``.png, .pdf and .csv."""
    return save(draw_fit_contours(panels)[0], stem)


def draw_fit_contours(panels: list[dict], axes=None):
    """Into ``axes`` (one per panel) or a new figure; returns (figure, axes). 2-D profile-likelihood contours (68 and 95 % CL) with the best fit and, when known, the truth.

    ``panels``: {"x", "y" (labels), "contours": {level: [[x, y], ...]}, "best": (x, y), "truth": (x, y) or
    None}; and optionally {"profile": {"x": [...], "delta": [...]}, "label": ...} for a 1-D profile panel.
    """
    fig, axes = _canvas(axes, (1, len(panels)), (3.6 * len(panels), 3.4))
    for ax, p in zip(axes[0], panels):
        if "profile" in p:
            ax.plot(p["profile"]["x"], p["profile"]["delta"], color="k", label=r"$-2\,\Delta\log L$ (profile)")
            for level, ls in ((1.0, "--"), (4.0, ":")):
                ax.axhline(level, color="0.5", ls=ls, lw=0.8)
            if p.get("truth") is not None:
                ax.axvline(p["truth"], color="tab:green", lw=1, label="truth")
            ax.set_xlabel(p["label"])
            ax.set_ylabel(r"$-2\,\Delta\log L$")
            ax.legend(fontsize=7)
            continue
        for level, color in ((0.68, "tab:blue"), (0.95, "tab:cyan")):
            pts = np.asarray(p["contours"].get(level, []), dtype=float)
            if pts.size:
                closed = np.vstack([pts, pts[:1]])
                ax.plot(closed[:, 0], closed[:, 1], color=color, label=f"{level:.0%} CL")
            else:
                ax.text(0.03, 0.03 + 0.07 * (level > 0.9), f"{level:.0%} contour not found", transform=ax.transAxes,
                        fontsize=7)
        if p.get("failure"):  # why, and what to do (fit.json's notes say it in full)
            ax.set_title(textwrap.fill(p["failure"], 48), fontsize=5.5, loc="left")
        ax.plot(*p["best"], "k+", ms=9, label="best fit")
        if p.get("truth") is not None:
            ax.plot(*p["truth"], "*", color="tab:green", ms=9, label="truth")
        ax.set_xlabel(p["x"])
        ax.set_ylabel(p["y"])
        ax.margins(x=0.08, y=0.35)  # room for the legend above the contours
        ax.legend(fontsize=7, loc="upper center", ncol=2)
    return fig, axes[0]
