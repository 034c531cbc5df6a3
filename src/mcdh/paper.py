"""``mcdh reproduce``: every figure and table of the paper from the project's own computation.

Outputs in the folder (PNG, PDF and the CSV of the plotted numbers for every figure):

* figure 3 (relic g_chi), 4 (figure4.csv: the cross sections), 5 (reweighting),
  6 (mock backgrounds), 7 (gamma-phi Dalitz plots), 8 (regimes),
  9 (E_gamma and v), 10 (windows), 11 (reach in eps and theta, with the
  external bounds and the band of the hadronic-width envelope; figure11.txt: the caption),
  12 (reach ratios against cut-and-count);
* table3 - table6 as .csv (units, settings, 4 significant digits) and .tex
  (Appendix B: B1, phi and gamma-phi, N_b = 1, 1e4, eps = theta = 1e-4);
* summary.json: settings, time per stage, peak memory, cross sections,
  reach curves for every benchmark, channel and N_b, and the tables in full precision.

:func:`figure` draws any one of them on its own, with the same numbers.

Settings follow section 5 (:mod:`mcdh.settings`): the eps scan at the paper's
theta, the theta scan at eps = 1e-4, N_b in {1, 1e4}, L = 10 ab^-1, the
uninstrumented region.
"""
from __future__ import annotations

import contextlib
import json
import os
import resource
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import plots, seeds, settings
from ._atomic import json_default, write_text
from ._version import __version__
from .analysis import limits
from .analysis.displacement import REGIONS
from .channels import CHANNELS
from .errors import FileAccessError, FileFormatError, ParameterError, check_count, check_nonnegative, check_positive
from .generate.background import background_summary, generate_background
from .generate.signal import CrossSection, cross_section_table, generate_signal
from .kinematics.variables import e_bar, pair_mass
from .physics.model import BENCHMARKS, DarkSector, check_theta
from .physics.widths import HadronicValidityWarning
from .plots import write_rows
from .study import PAPER_SCAN, PointResult, ReachScan, Study, combined_reach, point_results, reach_result, run_points
from .tables import table_csv, table_latex

TABLES = {
    "table3": ("phi", 1.0),
    "table4": ("phi", 1e4),
    "table5": ("gammaphi", 1.0),
    "table6": ("gammaphi", 1e4),
}
FIGURE5_POINT = ("B1", 2.7)
FIGURE7_POINTS = (("B1", 1.5, "hard"), ("B1", 3.0, "bimodal"), ("B1", 6.0, "soft"))
FIGURE9_POINT = ("B2", 7.0)
FIGURE10_POINT = ("B1", 7.5)
FIGURE10_NB = (5.0, 1e3)


def _peak_memory_mb() -> float:
    # ru_maxrss is in kilobytes on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _figure5_panels(a_phi, a_gphi, theta: float) -> dict:
    regions = ["none", "prompt", "uninstrumented", "instrumented", "invisible"]
    out: dict[str, Any] = {"title": rf"B1, $m_{{A'}} = {a_phi.model.m_A:g}$ GeV, $\theta = {plots.pow10(theta)}$, "
                                    rf"$\epsilon = {plots.pow10(a_phi.model.eps)}$, "
                                    rf"{a_phi.config.luminosity_fb / 1e3:g} ab$^{{-1}}$"}
    for key, a, var, edges, label in (
        ("pt_phi", a_phi, "p_t", np.linspace(0, 5.5, 56), r"$p_T^\phi$ [GeV] (lab)"),
        ("pt_gammaphi", a_gphi, "p_t", np.linspace(0, 5.5, 56), r"$p_T^\phi$ [GeV] (lab)"),
        ("e_gamma", a_gphi, "x", np.linspace(0, 5.3, 54), r"$E_\gamma$ [GeV] (CMS)"),
        ("mchichi", a_gphi, "y", np.linspace(2 * a_gphi.model.m_chi, min(2.5 * a_gphi.model.m_A, a_gphi.sqrt_s - a_gphi.model.m_phi), 55),
         r"$m_{\chi\chi}$ [GeV]"),
    ):
        t = a.truth()
        hists = {}
        for r in regions:
            w = t["events"] if r == "none" else t["events"] * a.decay_probability(theta, REGIONS[r])
            hists[r] = np.histogram(t[var], bins=edges, weights=w)[0]  # expected events at the analysis' luminosity
        title = (r"$\phi$ production" if a.channel == "phi" else r"$\gamma\phi$ production")
        out[key] = {"edges": edges, "hists": hists, "label": label, "title": title}
    return out


def _figure10_panel(a, n_b: float, eps: float, theta: float) -> dict:
    sig = a.signal_hists([theta])[0] * (eps / a.model.eps) ** 2
    bkg = a.background_hist(n_b)
    win = a.window(eps, theta, n_b)
    e = a.binning.edges
    if a.channel == "phi":
        label = r"$m_{\chi\chi}$ [GeV]"
        title = rf"$\phi$: $N_b = {plots.pow10(n_b)}$, window {e[win.lo]:.3f}-{e[win.hi + 1]:.3f} GeV, $-2\log L = {win.m2ll:.3g}$"
        xlim = (2 * a.model.m_chi - 0.2, a.sqrt_s - a.model.m_phi + 0.2)
    else:
        label = r"$\sqrt{|v|}$ [GeV]"
        title = rf"$\gamma\phi$: $N_b = {plots.pow10(settings.GAMMAPHI_BACKGROUND_RATIO * n_b)}$ ({settings.GAMMAPHI_BACKGROUND_RATIO:g} x ${plots.pow10(n_b)}$), $|v| < {e[win.hi + 1] ** 2:.3g}$ GeV$^2$, $-2\log L = {win.m2ll:.3g}$"
        xlim = (0.0, float(e[np.nonzero((sig > 0) | (bkg > 0))[0].max() + 1]))
    return {"edges": e, "sig": sig, "bkg": bkg, "lo": win.lo, "hi": win.hi, "label": label, "title": title, "xlim": xlim}


def _point_task(key, study: Study, width_band: bool = False, scan: ReachScan = PAPER_SCAN):
    """The results of one point; ``scan``: figure 11's N_b values and scan settings (default the paper's)."""
    bm, m_A, ch = key
    a = study.analysis(bm, m_A, ch, keep=False)
    res = point_results(a, scan, width_envelope=width_band, statistic=study.limit_statistic)
    extras: dict[str, Any] = {}
    if (bm, round(m_A, 6)) == FIGURE10_POINT:
        extras["figure10"] = [_figure10_panel(a, n_b, settings.EPS_REF, settings.THETA_TABLE) for n_b in FIGURE10_NB]
    if (bm, round(m_A, 6)) == FIGURE5_POINT:
        extras["figure5"] = a
    return res, extras


def _figure7_panels(n_events: int, seed: int) -> list[dict]:
    panels = []
    for k, (bm, m_A, name) in enumerate(FIGURE7_POINTS):
        model = DarkSector.from_benchmark(bm, m_A)
        ev = generate_signal(model, "gammaphi", n_events, np.random.default_rng(seeds.figure(seed, 7, k)))
        m = pair_mass(ev.momentum("chi"), ev.momentum("chibar"))
        from .physics.regimes import regime_ratio

        r = float(regime_ratio(m_A, model.m_phi))
        panels.append({
            "e_gamma": ev.momentum("gamma")[:, 0], "mchichi": m, "weights": ev.weights, "m_A": m_A,
            "m_phi": model.m_phi, "m_chi": model.m_chi, "sqrt_s": model.sqrt_s,
            "title": rf"{name} regime: {bm}, $m_{{A'}} = {m_A:g}$ GeV ($r = {r:.2f}$)", "regime": name,
        })
    order = ("soft", "bimodal", "hard")  # the paper's caption: soft left, bimodal centre, hard right
    return sorted(panels, key=lambda p: order.index(p["regime"]))


def _figure9_data(n_events: int, seed: int) -> dict:
    bm, m_A = FIGURE9_POINT
    model = DarkSector.from_benchmark(bm, m_A)
    rng = np.random.default_rng(seeds.figure(seed, 9))
    sig = generate_signal(model, "gammaphi", n_events, rng)
    bkg = generate_background("gammaphi", model.m_phi, model.m_chi, n_events, rng, n_b=1.0)
    out: dict[str, Any] = {"e_edges": np.linspace(0, model.sqrt_s / 2, 81), "v_edges": np.linspace(-4.0, 4.0, 161), "v_sig": {}, "v_bkg": {},
           "title": rf"$\gamma\phi$, {bm}, $m_{{A'}} = {m_A:g}$ GeV (truth level)"}
    for name, ev in (("sig", sig), ("bkg", bkg)):
        e = ev.momentum("gamma")[:, 0]
        m = pair_mass(ev.momentum("chi"), ev.momentum("chibar"))
        out[f"e_{name}"] = np.histogram(e, out["e_edges"], weights=ev.weights)[0]
        for lab, hyp in ((r"$m_{A'}$", m_A), (r"$m_{A'} - 1$ GeV", m_A - 1.0), (r"$m_{A'} + 1$ GeV", m_A + 1.0)):
            v = (e - e_bar(hyp, model.sqrt_s)) * (m - hyp)
            # fraction of all events per bin (the tails beyond |v| = 4 GeV^2 are left out, not piled up)
            out[f"v_{name}"][lab] = np.histogram(v, out["v_edges"], weights=ev.weights)[0] / ev.weights.sum()
    return out


def _reach_summary(results: list[PointResult], keys: list[tuple], theta_eps_scan: float = settings.THETA_EPS_SCAN,
                   eps_theta_scan: float = settings.EPS_REF) -> dict:
    reach: dict = {}
    for (bm, m_A, ch), point in zip(keys, results):
        res = point.as_dict()
        entry = reach.setdefault(bm, {"settings": {"theta_eps_scan": theta_eps_scan, "eps_theta_scan": eps_theta_scan}})
        c = entry.setdefault(ch, {"m_A": []})
        c["m_A"].append(m_A)
        for key in ("eps95", "eps95_note", "eps95_cut_and_count", "theta_band", "theta_band_cut_and_count"):
            for n_b, v in res[key].items():
                c.setdefault(key, {}).setdefault(n_b, []).append(v)
        # the width envelope (figure 11 only): None where it was not computed, so the lists stay aligned
        for key in ("eps95_width_band", "theta_band_width_envelope"):
            for n_b in res["eps95"]:
                c.setdefault(key, {}).setdefault(n_b, []).append(res.get(key, {}).get(n_b))
    return reach


@dataclass(frozen=True)
class Reproduction:
    """What ``mcdh reproduce`` wrote: its folder and the content of its ``summary.json``.

    ``summary`` is that JSON document (settings, files, stage_seconds, cross_sections, backgrounds, reach,
    tables, points); the properties name its parts. :meth:`read` reads a folder back.
    """

    folder: Path
    summary: dict[str, Any] = field(repr=False)

    @property
    def files(self) -> dict[str, list[str]]:
        """The files written, by figure number or table name."""
        return self.summary.get("files", {})

    @property
    def total_seconds(self) -> float:
        """The wall time of the run."""
        return float(self.summary.get("total_seconds", 0.0))

    @classmethod
    def read(cls, path: str | os.PathLike) -> Reproduction:
        """The results in a ``mcdh reproduce`` folder (or its summary.json), checked to be a complete run's."""
        path = Path(path)
        file = path / "summary.json" if path.is_dir() else path
        if not file.is_file():
            raise FileFormatError(file, "no such file (give the folder mcdh reproduce wrote, or its summary.json)")
        try:
            summary = json.loads(file.read_text())
        except (ValueError, UnicodeDecodeError) as exc:
            raise FileFormatError(file, f"is not JSON ({exc})") from None
        if not isinstance(summary, dict) or not {"settings", "reach", "tables"} <= set(summary):
            raise FileFormatError(file, "is not the summary of a complete mcdh reproduce run (needs settings, reach "
                                  "and tables)")
        return cls(file.parent, summary)


def reproduce(
    out: str | Path,
    study: Study | None = None,
    *,
    xsec_events: int = 200_000,
    figure_events: int = 200_000,
    benchmarks=tuple(BENCHMARKS),
    masses=settings.MASSES,
    progress: bool = True,
) -> Reproduction:
    """Regenerate the paper's figures and tables into ``out``; return what was written (summary.json's content).

    Parameters
    ----------
    out : path
        Output folder (created).
    study : Study, optional
        The analysis settings (default ``Study()``: the paper's): events per
        analysis point, seed, luminosity, region, width model, the chain's
        options; its ``n_threads`` points are analysed in parallel. The
        tables use the paper's N_b values (1 and 10^4), not the study's ``n_b``.
    xsec_events : int
        Events per cross-section point of figure 4.
    figure_events : int
        Events of the samples drawn in figures 6, 7 and 9.
    benchmarks, masses :
        The grid of figure 11 (default B1-B3, m_A = 1.2, 1.5, ..., 7.5 GeV).
    progress : bool
        Progress bars.
    """
    study = _checked_study(study)
    xsec_events = check_count("xsec_events", xsec_events, 100)
    figure_events = check_count("figure_events", figure_events, 100)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    n_threads, seed, config = study.threads, study.seed, study.config
    benchmarks, masses = _checked_grid(benchmarks, masses)
    t_start = time.perf_counter()
    stages: dict[str, float] = {}
    files: dict[str, list[str]] = {}
    summary: dict = {
        "version": __version__,
        "settings": {
            "seed": seed, "n_signal": study.n_signal, "n_background": study.n_background, "xsec_events": xsec_events,
            "figure_events": figure_events, "threads": n_threads, "benchmarks": benchmarks, "masses": masses,
            "luminosity_fb": config.luminosity_fb, "region": asdict(config.region), "n_copies": config.n_copies,
            "width_model": study.width_model,
            "eps_table": settings.EPS_REF, "theta_table": settings.THETA_TABLE, "theta_eps_scan": settings.THETA_EPS_SCAN,
            "eps_theta_scan": settings.EPS_REF, "n_b": list(settings.NB_VALUES), "theta_range": list(config.theta_range),
            "sqrt_s": "nominal 10.58 GeV (lab-frame boost from the 7 x 4 GeV beams)",
        },
    }
    if study.limit_statistic != limits.PAPER:  # recorded where it is not the paper's (summaries stay as they were)
        summary["settings"] |= {"statistic": study.statistic, "background_uncertainty": study.background_uncertainty}
    if study.smearing != "copies":
        summary["settings"]["smearing"] = study.smearing
    point_study = study.replace(n_threads=1)  # the points run in parallel, each on one thread

    @contextlib.contextmanager
    def stage(name):
        t0 = time.perf_counter()
        if progress:
            print(f"[mcdh reproduce] {name} ...", flush=True)
        yield
        stages[name] = time.perf_counter() - t0

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HadronicValidityWarning)
        with stage("figures 3 and 8 (closed form)"):
            files["3"] = [p.name for p in plots.figure3(out / "figure3")]
            files["8"] = [p.name for p in plots.figure8(out / "figure8")]

        with stage("cross sections (figure 4)"):
            paths, rows = _figure4(out, benchmarks, masses, xsec_events, seed, n_threads, progress)
            files["4"] = [p.name for p in paths]
            summary["cross_sections"] = [r.as_row() for r in rows]

        with stage("mock backgrounds (figure 6)"):
            bkgs = _figure6_samples(figure_events, seed, n_threads)
            files["6"] = [p.name for p in plots.figure6(bkgs["phi"], bkgs["gammaphi"], out / "figure6")]
            summary["backgrounds"] = {ch: background_summary(ev).as_dict() for ch, ev in bkgs.items()}
            del bkgs

        with stage("gamma-phi Dalitz plots (figure 7)"):
            files["7"] = [p.name for p in plots.figure7(_figure7_panels(figure_events, seed), out / "figure7")]

        with stage("E_gamma and v (figure 9)"):
            files["9"] = [p.name for p in plots.figure9(_figure9_data(figure_events, seed), out / "figure9")]

        keys = [(bm, m, ch) for bm in benchmarks for m in masses for ch in CHANNELS]
        with stage(f"analysis: {len(keys)} points (signal, background, smearing, windows, reach)"):
            outputs = _analyse(keys, point_study, n_threads, progress, width_band=True)
            results = [o[0] for o in outputs]
            extras: dict = {}
            for (_, _, ch), (_, ex) in zip(keys, outputs):
                for name, val in ex.items():
                    extras.setdefault(name, {})[ch] = val
            del outputs
            # figures 5 and 10 need fixed points; compute them if the grid skipped them
            for name, (bm, m) in (("figure5", FIGURE5_POINT), ("figure10", FIGURE10_POINT)):
                for ch in CHANNELS:
                    if ch not in extras.get(name, {}):
                        _, ex = _point_task((bm, m, ch), point_study)
                        extras.setdefault(name, {})[ch] = ex[name]

        with stage("figures 5, 10, 11, 12 and tables 3-6"):
            f5 = _figure5_panels(extras["figure5"]["phi"], extras["figure5"]["gammaphi"], settings.THETA_TABLE)
            files["5"] = [p.name for p in plots.figure5(f5, out / "figure5")]
            panels = extras["figure10"]["phi"] + extras["figure10"]["gammaphi"]
            files["10"] = [p.name for p in plots.figure10(panels, out / "figure10")]
            reach = _reach_summary(results, keys)
            files["11"] = [p.name for p in plots.figure11(reach, out / "figure11", config.luminosity_fb / 1e3)]
            files["12"] = [p.name for p in plots.figure12(reach, out / "figure12")]
            summary["reach"] = reach
            tables = {}
            for name, (table_channel, n_b) in TABLES.items():
                rows_t = [res.rows[n_b] for (bm, m, c), res in zip(keys, results)
                          if bm == "B1" and c == table_channel]
                if rows_t:
                    table_settings = {"benchmark": "B1", "channel": table_channel, "eps": settings.EPS_REF,
                                      "theta": settings.THETA_TABLE, "n_b": n_b, "luminosity_fb": config.luminosity_fb,
                                      "region": config.region.name, "seed": seed, "width_model": study.width_model}
                    write_text(out / f"{name}.csv", table_csv(rows_t, table_settings))
                    write_text(out / f"{name}.tex", table_latex(rows_t, table_settings))
                    files[name] = [f"{name}.csv", f"{name}.tex"]
                tables[name] = {"channel": table_channel, "n_b": n_b, "rows": [r.as_csv_dict() for r in rows_t]}
            summary["tables"] = tables
            summary["points"] = [{"benchmark": k[0], **r.as_dict()} for k, r in zip(keys, results)]

    summary["files"] = files
    summary["stage_seconds"] = stages
    summary["total_seconds"] = time.perf_counter() - t_start
    summary["peak_memory_mb"] = _peak_memory_mb()
    # allow_nan=False: a non-finite number would make invalid JSON; the reach is None where undefined
    write_text(out / "summary.json", json.dumps(summary, indent=1, default=json_default, allow_nan=False) + "\n")
    return Reproduction(out, summary)


FIGURE_NUMBERS = tuple(range(3, 13))


def _checked_grid(benchmarks, masses) -> tuple[list[str], list[float]]:
    benchmarks = [str(b).upper() for b in benchmarks]
    for b in benchmarks:
        if b not in BENCHMARKS:
            raise ParameterError("benchmarks", b, f"must be among {', '.join(BENCHMARKS)}")
    masses = [check_positive("masses", m) for m in masses]
    if not benchmarks or not masses:
        raise ParameterError("benchmarks, masses", (benchmarks, masses), "need at least one of each")
    return benchmarks, masses


@dataclass(frozen=True)
class FigureOptions:
    """What :func:`figure` draws beyond the study's settings (the paper's by default).

    Attributes
    ----------
    xsec_events, figure_events : int
        Events per cross-section point (figure 4) and of the samples drawn in figures 6, 7 and 9.
    benchmarks, masses :
        The grid of figures 11 and 12 (``benchmarks`` x ``masses`` x both channels).
    scan : ReachScan
        Figure 11's background levels (up to four: solid, dashed, dotted, dash-dotted), the theta of its eps
        reach and the eps of its theta band.
    overlays : tuple of Overlay
        The user's curves (:class:`~mcdh.plots.Overlay`) on figure 11's eps panels.
    """

    xsec_events: int = 200_000
    figure_events: int = 200_000
    benchmarks: tuple[str, ...] = tuple(BENCHMARKS)
    masses: tuple[float, ...] = tuple(settings.MASSES)
    scan: ReachScan = PAPER_SCAN
    overlays: tuple = ()

    def __post_init__(self):
        check_count("xsec_events", self.xsec_events, 100)
        check_count("figure_events", self.figure_events, 100)
        benchmarks, masses = _checked_grid(self.benchmarks, self.masses)
        object.__setattr__(self, "benchmarks", tuple(benchmarks))
        object.__setattr__(self, "masses", tuple(masses))
        object.__setattr__(self, "overlays", tuple(self.overlays))


def figure(number: int, out: str | Path, study: Study | None = None, *, options: FigureOptions = FigureOptions(),
           progress: bool = True) -> list[Path]:
    """One figure of the paper into ``out`` (PNG, PDF and the CSV of its numbers); the same numbers as
    ``reproduce`` with the same study (seeds per figure and per point) and ``options`` (:class:`FigureOptions`).

    Figures 11 and 12 analyse the whole grid (``benchmarks`` x ``masses`` x both channels); 5 and 10 one
    point each; 4 computes the cross sections; 6, 7 and 9 draw samples; 3 and 8 are closed forms.
    Figure 12 is the paper's ratio of N_b = 10^4 to N_b = 1.
    """
    if number not in FIGURE_NUMBERS:
        raise ParameterError("number", number, "must be a figure of the paper with results: 3 to 12")
    if options.overlays and number != 11:
        raise ParameterError("overlays", [o.label for o in options.overlays], "draws on figure 11's eps panels only")
    study = _checked_study(study)
    out = _folder(out)
    seed, n_threads = study.seed, study.threads
    xsec_events, figure_events = options.xsec_events, options.figure_events
    benchmarks, masses = list(options.benchmarks), list(options.masses)
    point_study = study.replace(n_threads=1)
    stem = out / f"figure{number}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HadronicValidityWarning)
        if number == 3:
            return plots.figure3(stem)
        if number == 8:
            return plots.figure8(stem)
        if number == 4:
            return _figure4(out, benchmarks, masses, xsec_events, seed, n_threads, progress)[0]
        if number == 6:
            bkgs = _figure6_samples(figure_events, seed, n_threads)
            return plots.figure6(bkgs["phi"], bkgs["gammaphi"], stem)
        if number == 7:
            return plots.figure7(_figure7_panels(figure_events, seed), stem)
        if number == 9:
            return plots.figure9(_figure9_data(figure_events, seed), stem)
        if number in (5, 10):
            name, (bm, m) = ("figure5", FIGURE5_POINT) if number == 5 else ("figure10", FIGURE10_POINT)
            ex = {ch: _point_task((bm, m, ch), point_study)[1][name] for ch in CHANNELS}
            if number == 5:
                return plots.figure5(_figure5_panels(ex["phi"], ex["gammaphi"], settings.THETA_TABLE), stem)
            return plots.figure10(ex["phi"] + ex["gammaphi"], stem)
        keys = [(bm, m, ch) for bm in benchmarks for m in masses for ch in CHANNELS]
        scan = options.scan if number == 11 else PAPER_SCAN  # figure 12 is the paper's ratio
        outputs = _analyse(keys, point_study, n_threads, progress, width_band=number == 11, scan=scan)
        reach = _reach_summary([o[0] for o in outputs], keys, scan.theta_eps_scan, scan.eps_theta_scan)
        if number == 11:
            return plots.figure11(reach, stem, study.config.luminosity_fb / 1e3, options.overlays)
        return plots.figure12(reach, stem)


SYSTEMATICS = (0.0, 0.1, 0.3)
"""The background uncertainties of the systematics figure."""
SYSTEMATICS_NB = (1.0, 1e4)
"""Its background levels (the paper's two)."""


def figure_systematics(out: str | Path, study: Study | None = None, *, benchmarks=("B1",), masses=settings.MASSES,
                       uncertainties=SYSTEMATICS, n_b=SYSTEMATICS_NB, theta: float = settings.THETA_EPS_SCAN,
                       progress: bool = True) -> list[Path]:
    """The combined eps reach against m_A' at each N_b of ``n_b`` for each relative background uncertainty of
    ``uncertainties`` (the study's statistic), one panel per benchmark: what the paper's caveat on the
    N_b = 10^4 curves amounts to. ``systematics.png/.pdf/.csv`` in ``out``."""
    study = _checked_study(study)
    benchmarks, masses = _checked_grid(benchmarks, masses)
    stats = [limits.Statistic(study.statistic, r) for r in uncertainties]  # each one checked before any work
    n_b = [check_nonnegative("n_b_values", v) for v in n_b]
    theta = check_theta(theta)
    out = _folder(out)
    point_study = study.replace(n_threads=1)

    def point(key):
        bm, m_A = key
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", HadronicValidityWarning)
            model = point_study.model(bm, m_A)
            analyses = [point_study.analysis(model, None, ch, keep=False) for ch in CHANNELS]
            return [{"benchmark": bm, "mA": m_A, "n_b": nb, "background_uncertainty": st.background_uncertainty,
                     "eps95": reach_result(combined_reach(analyses, theta, nb, st), "combined", theta, model).eps}
                    for nb in n_b for st in stats]

    keys = [(bm, m) for bm in benchmarks for m in masses]
    rows = [r for rs in run_points(point, keys, study.threads, progress, desc="systematics points") for r in rs]
    return plots.figure_systematics(rows, out / "systematics", study.statistic, theta, study.luminosity_fb / 1e3)


def _figure4(out: Path, benchmarks, masses, xsec_events, seed, n_threads, progress) -> tuple[list[Path], list[CrossSection]]:
    """The cross sections of figure 4 (also its CSV) and the figure; returns (paths, rows)."""
    rows = cross_section_table(benchmarks=benchmarks, masses=masses, n_events=xsec_events, seed=seed,
                               n_threads=n_threads, progress=progress)
    write_rows(out / "figure4.csv", [r.as_row() for r in rows])
    return plots.figure4(rows, out / "figure4") + [out / "figure4.csv"], rows


def _figure6_samples(figure_events: int, seed: int, n_threads: int) -> dict:
    """The two mock backgrounds drawn in figure 6 (m_phi = 1, m_chi = 2 GeV, N_b = 1)."""
    rng = np.random.default_rng(seeds.figure(seed, 6))
    return {ch: generate_background(ch, 1.0, 2.0, figure_events, rng, n_b=1.0, n_threads=n_threads) for ch in CHANNELS}


def _analyse(keys, point_study: Study, n_threads: int, progress: bool, *, width_band: bool,
             scan: ReachScan = PAPER_SCAN):
    """The results (and figure extras) of every (benchmark, m_A, channel) point, points in parallel."""
    return run_points(lambda k: _point_task(k, point_study, width_band, scan), keys, n_threads, progress,
                      desc="analysis points")


def _folder(out: str | Path) -> Path:
    """The output folder, created (the system's refusal names it)."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FileAccessError(out, "create the folder", exc) from None
    return out


def _checked_study(study) -> Study:
    study = study if study is not None else Study()
    if not isinstance(study, Study):
        raise ParameterError("study", type(study).__name__, "must be a mcdh.Study")
    return study


def print_summary(result: Reproduction) -> None:
    """The human-readable end-of-run report."""
    summary = result.summary
    print(f"mcdh reproduce: wrote to {result.folder}/")
    for k, v in summary["files"].items():
        label = f"figure {k}" if k.isdigit() else k
        print(f"  {label}: {', '.join(v)}")
    print("  time by stage:")
    for k, v in summary["stage_seconds"].items():
        print(f"    {v:7.1f} s  {k}")
    print(f"  total {summary['total_seconds']:.1f} s, peak memory {summary['peak_memory_mb']:.0f} MB")
    reach = summary.get("reach", {})
    for bm, entry in reach.items():
        for ch in CHANNELS:
            if ch not in entry:
                continue
            c = entry[ch]
            best = [e for e in c["eps95"]["1"] if e is not None]
            if best:
                i = int(np.argmin(best))
                print(f"  {bm} {ch:8s}: best eps reach (N_b = 1) {best[i]:.3g} at m_A = {c['m_A'][i]:g} GeV")
