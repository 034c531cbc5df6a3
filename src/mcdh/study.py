"""The paper's study, point by point: samples -> analysis -> tables and reach.

A *point* is (benchmark, m_A, channel). Its random streams come from
``SeedSequence(seed, spawn_key=(1, benchmark, m_A in MeV, channel))``, so a
point's numbers do not depend on which other points are computed, in which
order, or on how many threads run them.

Entry points: :func:`analyse_point` (one :class:`ChannelAnalysis`),
:func:`efficiency_table` (Appendix B tables), :func:`point_results` (all
numbers the figures need at one point) and :func:`run_points` (a thread pool
with a progress bar).
"""
from __future__ import annotations

import math
import threading
import warnings
from dataclasses import asdict
from typing import Any

import numpy as np

from ._progress import ordered_map
from .analysis.pipeline import AnalysisConfig, ChannelAnalysis, TableRow
from .channels import CHANNELS, check_channel
from .errors import ParameterError, check_count, check_positive
from .events import Events
from .generate.background import generate_background
from .generate.signal import generate_signal
from .physics.model import BENCHMARKS, DarkSector
from .physics.widths import HadronicValidityWarning
from .settings import EPS_REF, LUMINOSITY_FB, MASSES, NB_VALUES, THETA_EPS_SCAN, THETA_TABLE

DEFAULT_N_SIGNAL = 100_000
"""Weighted signal events per point."""
DEFAULT_N_BACKGROUND = 100_000
"""Weighted background events per point."""


def point_seed(seed: int, benchmark: str, m_A: float, channel: str) -> np.random.SeedSequence:
    """The seed of one point, independent of every other point."""
    bench = list(BENCHMARKS).index(benchmark) if benchmark in BENCHMARKS else 99
    # the leading 1 keeps these streams apart from the cross-section grid's (2, ...)
    return np.random.SeedSequence(int(seed), spawn_key=(1, bench, int(round(m_A * 1000)), CHANNELS.index(channel)))


_WARM_LOCK = threading.Lock()
_warm = False


def warm_up() -> None:
    """Compile (or load from numba's cache) every kernel of the chain, once per process.

    numba's first compilation of a function is not thread-safe (concurrent
    first calls can fail in type inference), so the points run on threads
    only after one tiny point of each channel has gone through the whole
    chain under a lock.
    """
    global _warm
    with _WARM_LOCK:
        if _warm:
            return
        model = DarkSector.from_benchmark("B1", 3.0)
        config = AnalysisConfig(theta_range=(1e-4, 1e-2), theta_per_decade=1, theta_refinements=1)
        for ch in CHANNELS:
            sig = generate_signal(model, ch, 200, 0, n_threads=1)
            bkg = generate_background(ch, model.m_phi, model.m_chi, 200, 0, n_threads=1)
            a = ChannelAnalysis(model, ch, sig, bkg, config)
            point_results(a)
            a.signal_hist_unsmeared(1e-4)
        _warm = True


def analyse_point(
    benchmark: str,
    m_A: float,
    channel: str,
    *,
    n_signal: int = DEFAULT_N_SIGNAL,
    n_background: int = DEFAULT_N_BACKGROUND,
    seed: int = 0,
    config: AnalysisConfig | None = None,
    model: DarkSector | None = None,
    m_A_hypothesis: float | None = None,
    signal: Events | None = None,
    background: Events | None = None,
    n_threads: int = 1,
) -> ChannelAnalysis:
    """Generate signal and background for one point and set up its analysis.

    Parameters
    ----------
    benchmark : {"B1", "B2", "B3"}
        Mass ratios (ignored when ``model`` is given, except for the seed).
    m_A : float
        Dark-photon mass (GeV).
    channel : {"phi", "gammaphi"}
    n_signal, n_background : int
        Weighted events of each sample.
    seed : int
        Master seed; see :func:`point_seed`.
    config : AnalysisConfig, optional
    model : DarkSector, optional
        Use this model instead of the benchmark at m_A with eps = theta = 1e-4.
    m_A_hypothesis : float, optional
        m_A assumed by the analysis (v and the m_chichi binning).
    signal, background : Events, optional
        Use these samples (e.g. read from files) instead of generating them;
        the seeds of what is generated and of the smearing stay those of the point.
    n_threads : int
        Threads for generating the samples (results do not depend on it).
    """
    check_channel(channel)
    n_signal = check_count("n_signal", n_signal, 100)
    n_background = check_count("n_background", n_background, 100)
    config = config if config is not None else AnalysisConfig()
    warm_up()
    if model is None:
        model = DarkSector.from_benchmark(benchmark, m_A, eps=EPS_REF, theta=THETA_TABLE)
    ss = point_seed(seed, benchmark, model.m_A, channel)
    s_sig, s_bkg, s_smear = ss.spawn(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HadronicValidityWarning)
        if signal is None:
            signal = generate_signal(model, channel, n_signal, np.random.default_rng(s_sig), n_threads=n_threads)
        if background is None:
            background = generate_background(
                channel, model.m_phi, model.m_chi, n_background, np.random.default_rng(s_bkg), n_b=1.0,
                luminosity_fb=LUMINOSITY_FB, sqrt_s=model.sqrt_s, n_threads=n_threads,
            )
        return ChannelAnalysis(model, channel, signal, background, config, seed=s_smear, m_A_hypothesis=m_A_hypothesis)


def _check_masses(masses) -> list[float]:
    out = []
    for m in masses:
        out.append(check_positive("mA", m))
    if not out:
        raise ParameterError("mA-list", list(masses), "needs at least one mass")
    return out


def run_points(fn, items, n_threads: int = 1, progress: bool = False, desc: str = "points") -> list:
    """``[fn(item) for item in items]`` on a thread pool (results in input order), with a progress bar."""
    return ordered_map(fn, items, n_threads=n_threads, progress=progress, desc=desc, unit="pt")


def efficiency_table(
    benchmark: str,
    channel: str,
    n_b: float,
    *,
    eps: float = EPS_REF,
    theta: float = THETA_TABLE,
    masses=MASSES,
    n_signal: int = DEFAULT_N_SIGNAL,
    n_background: int = DEFAULT_N_BACKGROUND,
    seed: int = 0,
    config: AnalysisConfig | None = None,
    n_threads: int = 1,
    progress: bool = False,
) -> list[TableRow]:
    """The Appendix B efficiency table of ``channel`` for a benchmark, N_b, eps and theta."""
    masses = _check_masses(masses)
    eps = check_positive("eps", eps)
    theta = check_positive("theta", theta)
    n_b = float(n_b)
    if not n_b >= 0:
        raise ParameterError("nb", n_b, "must be >= 0")

    def one(m_A):
        a = analyse_point(benchmark, m_A, channel, n_signal=n_signal, n_background=n_background, seed=seed, config=config)
        return a.table_row(eps, theta, n_b)

    return run_points(one, masses, n_threads, progress, desc=f"table {benchmark} {channel}")


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def point_results(
    analysis: ChannelAnalysis,
    n_b_values=NB_VALUES,
    eps_table: float = EPS_REF,
    theta_table: float = THETA_TABLE,
    theta_eps_scan: float = THETA_EPS_SCAN,
    eps_theta_scan: float = EPS_REF,
) -> dict:
    """Everything the tables and figures 11-12 need at one point (JSON-ready).

    Keys: ``table`` (rows per N_b), ``eps95`` and ``eps95_cut_and_count``
    (per N_b, at ``theta_eps_scan``), ``theta_band`` and
    ``theta_band_cut_and_count`` (per N_b, at ``eps_theta_scan``).
    """
    a = analysis
    out: dict[str, Any] = {"m_A": a.model.m_A, "channel": a.channel, "table": {}, "eps95": {}, "eps95_cut_and_count": {},
           "theta_band": {}, "theta_band_cut_and_count": {}}
    for n_b in n_b_values:
        key = f"{n_b:g}"
        row = a.table_row(eps_table, theta_table, n_b)
        out["table"][key] = asdict(row)
        out["eps95"][key] = _finite(a.eps_reach(theta_eps_scan, n_b).eps)
        out["eps95_cut_and_count"][key] = _finite(a.eps_reach(theta_eps_scan, n_b, strategy="all").eps)
    for label, strategy in (("theta_band", None), ("theta_band_cut_and_count", "all")):
        bands = a.theta_band(eps_theta_scan, n_b_values, strategy=strategy)
        for n_b, band in bands.items():
            d = asdict(band)
            d["lower"], d["upper"] = _finite(band.lower), _finite(band.upper)
            out[label][f"{n_b:g}"] = d
    return out
