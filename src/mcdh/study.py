"""The paper's study, point by point: samples -> analysis -> tables and reach.

A *point* is (benchmark, m_A, channel). Its random streams come from
``SeedSequence(seed, spawn_key=(1, benchmark, m_A in MeV, channel))``, so a
point's numbers do not depend on which other points are computed, in which
order, or on how many threads run them.

Entry point: :class:`Study` (settings once; every question about a point); :func:`point_results` (all
numbers the figures need at one point, a :class:`PointResult`) and :func:`run_points` (a thread pool
with a progress bar) serve ``mcdh reproduce`` and the scans.
"""
from __future__ import annotations

import dataclasses
import math
import os
import threading
import warnings
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from . import seeds
from ._progress import ordered_map
from .analysis import cls, limits
from .analysis.displacement import Region, get_region
from .analysis.pipeline import AnalysisConfig, ChannelAnalysis, TableRow, ThetaBand, theta_bands
from .analysis.smearing import check_smearing
from .analysis.workspace import Workspace, build_workspace
from .channels import CHANNELS, check_channel
from .errors import ParameterError, check_count, check_luminosity, check_nonnegative, check_positive, require
from .events import Events
from .generate.background import check_n_b, generate_background
from .generate.phasespace import default_threads
from .generate.signal import generate_signal
from .kinematics.variables import mass
from .physics.model import DarkSector, check_eps, check_theta
from .physics.widths import ENVELOPE, HadronicValidityWarning, check_width_model, unit_mixing_width, width_envelope
from .reconstruct.calibration import TOYS, calibrate
from .reconstruct.data import Data, asimov_data, poisson_data
from .reconstruct.fit import MAX_OUTSIDE, PAIRS, FitOptions, FitResult, PrecisionRow, check_start, fit, precision_table
from .reconstruct.model import DataModel, FitConfig

if TYPE_CHECKING:
    import hist

from .settings import EPS_REF, LUMINOSITY_FB, MASSES, NB_VALUES, THETA_EPS_SCAN, THETA_TABLE

DEFAULT_N_SIGNAL = 100_000
"""Weighted signal events per point."""
DEFAULT_N_BACKGROUND = 100_000
"""Weighted background events per point."""


_WARM_LOCK = threading.Lock()
_warm: set[str] = set()  # the smearings whose chain is compiled


def warm_up(smearing: str = "copies") -> None:
    """Compile (or load from numba's cache) every kernel of the chain with ``smearing``, once per process.

    numba's first compilation of a function is not thread-safe (concurrent
    first calls can fail in type inference), so the points run on threads
    only after one tiny point of each channel has gone through the whole
    chain under a lock.
    """
    with _WARM_LOCK:
        if smearing in _warm:
            return
        model = DarkSector.from_benchmark("B1", 3.0)
        config = AnalysisConfig(theta_range=(1e-4, 1e-2), theta_per_decade=1, theta_refinements=1, smearing=smearing)
        for ch in CHANNELS:
            sig = generate_signal(model, ch, 200, 0, n_threads=1)
            bkg = generate_background(ch, model.m_phi, model.m_chi, 200, 0, n_threads=1)
            a = ChannelAnalysis(model, ch, sig, bkg, config)
            point_results(a)
            a.signal_hist_unsmeared(1e-4)
        _warm.add(smearing)


def _check_masses(masses) -> list[float]:
    out = []
    for m in masses:
        out.append(check_positive("masses", m))
    if not out:
        raise ParameterError("masses", list(masses), "needs at least one mass")
    return out


def run_points(fn, items, n_threads: int = 1, progress: bool = False, desc: str = "points") -> list:
    """``[fn(item) for item in items]`` on a thread pool (results in input order), with a progress bar."""
    return ordered_map(fn, items, n_threads=n_threads, progress=progress, desc=desc, unit="pt")


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


@dataclass(frozen=True)
class PointResult:
    """Everything the tables and figures 11-12 need at one point (:func:`point_results`), keyed by N_b.

    Attributes
    ----------
    m_A : float
        The dark-photon mass (GeV).
    channel : {"phi", "gammaphi"}
    rows : dict of float to TableRow
        The Appendix B table row at (``eps_table``, ``theta_table``).
    reach, reach_cut_and_count : dict of float to Reach
        The eps reach at ``theta_eps_scan`` (the optimised windows; every bin in one window).
    band, band_cut_and_count : dict of float to ThetaBand
        The theta band at ``eps_theta_scan`` (same two strategies).
    eps_width_band : dict of float to (lower, upper), optional
        The smallest and largest eps reach over the hadronic-width envelope (with ``width_envelope``).
    theta_band_width_envelope : dict of float to (lower, upper), optional
        The range [min, max] each edge of the theta band moves over the envelope (None: edge not known).
    """

    m_A: float
    channel: str
    rows: dict[float, TableRow] = field(repr=False)
    reach: dict[float, Reach]
    reach_cut_and_count: dict[float, Reach] = field(repr=False)
    band: dict[float, ThetaBand] = field(repr=False)
    band_cut_and_count: dict[float, ThetaBand] = field(repr=False)
    eps_width_band: dict[float, tuple[float | None, float | None]] | None = field(default=None, repr=False)
    theta_band_width_envelope: dict[float, tuple[list[float] | None, list[float] | None]] | None = field(
        default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (``summary.json``'s ``points``): N_b keys as text ("1", "10000"), None for no number."""
        def band(b: ThetaBand) -> dict[str, Any]:
            return asdict(b) | {"lower": _finite(b.lower), "upper": _finite(b.upper)}

        out: dict[str, Any] = {
            "m_A": self.m_A, "channel": self.channel,
            "table": {f"{n:g}": asdict(r) for n, r in self.rows.items()},
            "eps95": {f"{n:g}": r.eps for n, r in self.reach.items()},
            "eps95_cut_and_count": {f"{n:g}": r.eps for n, r in self.reach_cut_and_count.items()},
            "eps95_note": {f"{n:g}": r.note for n, r in self.reach.items()},
            "theta_band": {f"{n:g}": band(b) for n, b in self.band.items()},
            "theta_band_cut_and_count": {f"{n:g}": band(b) for n, b in self.band_cut_and_count.items()},
        }
        if self.eps_width_band is not None:
            out["eps95_width_band"] = {f"{n:g}": {"lower": lo, "upper": hi}
                                       for n, (lo, hi) in self.eps_width_band.items()}
        if self.theta_band_width_envelope is not None:
            out["theta_band_width_envelope"] = {f"{n:g}": {"lower": lo, "upper": hi}
                                                for n, (lo, hi) in self.theta_band_width_envelope.items()}
        return out


@dataclass(frozen=True)
class ReachScan:
    """What figure 11 scans at each point: the background levels, the theta of the eps reach and the eps of the
    theta band (the paper's by default). Checked when made."""

    n_b_values: tuple[float, ...] = tuple(NB_VALUES)
    theta_eps_scan: float = THETA_EPS_SCAN
    eps_theta_scan: float = EPS_REF

    def __post_init__(self):
        values = tuple(check_nonnegative("n_b_values", v) for v in np.atleast_1d(np.asarray(self.n_b_values, object)))
        if not 1 <= len(values) <= 4:
            raise ParameterError("n_b_values", list(values), "give one to four background levels")
        object.__setattr__(self, "n_b_values", values)
        object.__setattr__(self, "theta_eps_scan", check_theta(self.theta_eps_scan))
        object.__setattr__(self, "eps_theta_scan", check_eps(self.eps_theta_scan))


PAPER_SCAN = ReachScan()
"""The paper's figure-11 scan: N_b = 1 and 10^4, the eps reach at its theta, the theta band at its eps."""


def point_results(
    analysis: ChannelAnalysis,
    scan: ReachScan = PAPER_SCAN,
    eps_table: float = EPS_REF,
    theta_table: float = THETA_TABLE,
    width_envelope: bool = False,
    statistic: limits.Statistic = limits.PAPER,
) -> PointResult:
    """Everything the tables and figures 11-12 need at one point: table rows at (``eps_table``, ``theta_table``),
    eps reach and theta band per N_b of ``scan`` (optimised windows and cut-and-count), and with
    ``width_envelope`` their ranges over the hadronic-width envelope
    (:func:`~mcdh.physics.widths.width_envelope`)."""
    a = analysis
    n_b_values, theta_eps_scan, eps_theta_scan = scan.n_b_values, scan.theta_eps_scan, scan.eps_theta_scan
    r = statistic.background_uncertainty
    windows = limits.Statistic("paper", r)  # the cut-and-count comparison is a window's, whatever the statistic
    rows, reach, reach_cc = {}, {}, {}
    ratios = envelope_ratios(a.model) if width_envelope else None
    eps_band: dict[float, tuple[float | None, float | None]] | None = None
    theta_env: dict[float, tuple[list[float] | None, list[float] | None]] | None = None
    if ratios is not None:
        a.signal_hists([theta_eps_scan, *(envelope_thetas(ratios, theta_eps_scan) or [])])  # one replay for all
        eps_band, theta_env = {}, {}
    for n_b in n_b_values:
        rows[n_b] = a.table_row(eps_table, theta_table, n_b, r)
        reach[n_b] = reach_result(a.eps_reach(theta_eps_scan, n_b, statistic=statistic).eps, a.channel,
                                  theta_eps_scan, a.model)
        reach_cc[n_b] = reach_result(a.eps_reach(theta_eps_scan, n_b, strategy="all", statistic=windows).eps,
                                     a.channel, theta_eps_scan, a.model)
        if eps_band is not None and ratios is not None:
            eps_band[n_b] = eps_envelope(lambda t, n_b=n_b: a.eps_reach(t, n_b, statistic=statistic).eps, ratios,
                                         theta_eps_scan, reach[n_b], a.model)
    band = a.theta_band(eps_theta_scan, n_b_values, statistic=statistic)
    band_cc = a.theta_band(eps_theta_scan, n_b_values, strategy="all", statistic=windows)
    if theta_env is not None and ratios is not None:
        for n_b, b in band.items():
            theta_env[n_b] = theta_edges_envelope(_finite(b.lower), _finite(b.upper), ratios)
    return PointResult(a.model.m_A, a.channel, rows, reach, reach_cc, band, band_cc, eps_band, theta_env)


ENVELOPE_POINTS = 9
"""Widths across the envelope at which the eps reach is evaluated (log-spaced, ends included, plus the model's)."""


def envelope_ratios(model: DarkSector) -> tuple[float, float]:
    """(lower, upper) of the width envelope over the model's Gamma_phi (the ratios do not depend on theta:
    every partial width scales as sin^2 theta); (1, 1) below the pi pi threshold."""
    return width_envelope(model.m_phi).ratios(unit_mixing_width(model.m_phi, model.width_model))


def envelope_thetas(ratios: tuple[float, float], theta: float) -> list[float] | None:
    """The mixing angles at which the model's widths equal r times its width at ``theta``, for
    :data:`ENVELOPE_POINTS` ratios r across ``ratios`` other than 1: theta enters the signal only through
    Gamma_phi = sin^2(theta) Gamma_1, so the reach with widths r Gamma_1 is the reach at
    sin^2(theta') = r sin^2(theta). None where a width of the envelope would need sin theta' > 1 (it cannot
    be reached at this theta)."""
    r_lo, r_hi = ratios
    if r_lo == r_hi:
        return []
    s = math.sin(theta)
    if math.sqrt(r_hi) * s > 1.0:
        return None
    return [math.asin(math.sqrt(r) * s) for r in np.geomspace(r_lo, r_hi, ENVELOPE_POINTS) if r != 1.0]


def eps_envelope(reach_at, ratios: tuple[float, float], theta: float, reach: Reach,
                 model: DarkSector) -> tuple[float | None, float | None]:
    """The smallest and largest eps reach over the width envelope: ``reach`` (the model's own widths) and
    ``reach_at(theta')`` (the eps reach at another theta) at :func:`envelope_thetas`. (None, None) where no width
    of the envelope gives sensitivity, or where the envelope cannot be reached at this theta."""
    thetas = envelope_thetas(ratios, theta)
    if thetas is None:
        return None, None
    values = [reach.eps] + [reach_result(reach_at(t), reach.channel, theta, model).eps for t in thetas]
    finite = [v for v in values if v is not None]
    return (min(finite), max(finite)) if finite else (None, None)


def theta_edges_envelope(lower: float | None, upper: float | None, ratios: tuple[float, float]):
    """The ranges ([min, max]) each edge of a theta band moves over the width envelope: an edge at theta with
    widths r Gamma sits at sin theta' = sin theta / sqrt(r) (exact, as :func:`envelope_thetas`). None for an
    edge that is not known (beyond the scanned range) or that would pass theta = pi/2."""
    r_lo, r_hi = ratios

    def moved(edge):
        if edge is None:
            return None
        s = math.sin(edge)
        if s / math.sqrt(r_lo) > 1.0:
            return None
        if r_lo == r_hi:
            return [edge, edge]
        return [min(edge, math.asin(s / math.sqrt(r_hi))), max(edge, math.asin(s / math.sqrt(r_lo)))]

    return moved(lower), moved(upper)


# ----------------------------------------------------------------------
# the study facade

PERTURBATIVE_G_CHI = math.sqrt(4.0 * math.pi)
"""g_chi above sqrt(4 pi) is beyond perturbativity: rates computed at tree level mean nothing there."""

COMBINED = "combined"
"""The channel name of the phi + gamma-phi combination (independent channels: -2 log L adds)."""


@dataclass(frozen=True)
class Reach:
    """The 95 % CL reach in eps at one point, or "no sensitivity" with the reason.

    Attributes
    ----------
    eps : float or None
        The smallest eps excluded at 95 % CL (-2 log L = 3.84); None when there is no sensitivity.
    reason : str or None
        Why there is no sensitivity (None when there is).
    channel : str
        ``"phi"``, ``"gammaphi"`` or ``"combined"``.
    theta : float
        The Higgs mixing angle (rad) the reach was computed at.
    eps_lower, eps_upper : float or None
        With ``Study(width_model="envelope")``: the smallest and largest reach over the hadronic-width
        envelope (:func:`~mcdh.physics.widths.width_envelope`); None otherwise, where no width of the
        envelope gives sensitivity, or where the envelope's largest width would need sin(theta) > 1.
    """

    eps: float | None
    reason: str | None
    channel: str
    theta: float
    eps_lower: float | None = None
    eps_upper: float | None = None

    @property
    def sensitive(self) -> bool:
        """Whether there is a number (not "no sensitivity")."""
        return self.eps is not None

    @property
    def note(self) -> str | None:
        """``"no sensitivity: <reason>"`` for tables and JSON, None when there is a number."""
        return None if self.reason is None else f"no sensitivity: {self.reason}"

    def __str__(self) -> str:
        text = f"eps95 = {self.eps:.4g}" if self.eps is not None else f"no sensitivity ({self.reason})"
        if self.eps_lower is not None and self.eps_upper is not None:
            text += f" (width envelope {self.eps_lower:.4g} - {self.eps_upper:.4g})"
        return text


@dataclass(frozen=True)
class Band:
    """The theta range excluded at 95 % CL at one eps, or "no sensitivity" with the reason.

    ``lower`` / ``upper`` are None where the band runs past the scanned
    theta range (``below_range`` / ``above_range`` say so). With
    ``Study(width_model="envelope")``, ``lower_range`` / ``upper_range`` are
    the [min, max] each edge moves over the hadronic-width envelope (None
    for an edge that is not known).
    """

    lower: float | None
    upper: float | None
    below_range: bool
    above_range: bool
    reason: str | None
    channel: str
    eps: float
    lower_range: list[float] | None = None
    upper_range: list[float] | None = None

    @property
    def sensitive(self) -> bool:
        """Whether the band excludes some theta (not "no sensitivity")."""
        return self.reason is None

    @property
    def note(self) -> str | None:
        """``"no sensitivity: <reason>"`` for tables and JSON, None when there is a band."""
        return None if self.reason is None else f"no sensitivity: {self.reason}"


def validity_problem(model: DarkSector) -> str | None:
    """Why results at ``model`` are outside the model's validity (None when they are inside)."""
    if model.g_chi > PERTURBATIVE_G_CHI:
        return f"g_chi = {model.g_chi:g} is beyond perturbativity (> sqrt(4 pi) = {PERTURBATIVE_G_CHI:.3g})"
    return None


def combined_reach(analyses: list[ChannelAnalysis], theta: float, n_b: float,
                   statistic: limits.Statistic = limits.PAPER) -> float:
    """The eps reach of one or more channels of one point (independent: the statistic adds; inf without
    signal) with ``statistic``."""
    if statistic.kind == "cls":
        return cls.eps_limit([a.binned(theta, n_b, statistic.background_uncertainty) for a in analyses])
    if len(analyses) == 1:
        return analyses[0].eps_reach(theta, n_b, statistic=statistic).eps
    return limits.combined_eps_reach([
        limits.ChannelHists(a.signal_hists([theta])[0], a.background_hist(n_b), a.model.eps, a.strategy, a.start_bin,
                            statistic.background_uncertainty) for a in analyses])


def reach_result(eps95: float, channel: str, theta: float, model: DarkSector) -> Reach:
    """A computed eps reach as a :class:`Reach`: a number only inside the model's validity."""
    problem = validity_problem(model)
    if problem is not None:
        return Reach(None, problem, channel, theta)
    if not math.isfinite(eps95):
        return Reach(None, "no signal survives the selection", channel, theta)
    if eps95 >= 1.0:
        return Reach(None, f"the reach would need eps = {eps95:.3g} >= 1 (kinetic mixing is at most 1)", channel, theta)
    return Reach(float(eps95), None, channel, theta)


def band_result(band: ThetaBand, channel: str, eps: float, model: DarkSector, theta_max: float,
                target: float = limits.CL95) -> Band:
    """A computed theta band as a :class:`Band`: edges only inside the model's validity."""
    problem = validity_problem(model)
    lower = _finite(band.lower)
    upper = _finite(band.upper)
    if problem is None and not band.excluded:
        problem = f"-2 log L < {target:.4g} for every theta up to {theta_max:g} rad at eps = {eps:g}"
    if problem is not None:
        return Band(None, None, False, False, problem, channel, eps)
    return Band(lower, upper, band.below_range, band.above_range, None, channel, eps)


@dataclass(frozen=True)
class Study:
    """The settings of a study, held once; methods answer questions about model points.

    A point is given as a benchmark and m_A (``study.eps_reach("B1", 6.0)``)
    or as a :class:`~mcdh.physics.model.DarkSector` (``study.eps_reach(model)``).
    Samples are generated with per-point seeds (or imported: ``signal=``,
    ``background=`` take :class:`~mcdh.events.Events` or a file path) and
    each point's analysis is kept, so asking several questions of one point
    generates and smears its samples once.

    Parameters
    ----------
    luminosity_fb : float
        Integrated luminosity in fb^-1 (default 1e4 = 10 ab^-1). Signal and
        background both scale with it.
    n_b : float
        Background level: events in the phi channel at the reference
        luminosity of 10 ab^-1 (the gamma-phi channel gets 0.22 N_b). The
        background cross section is therefore fixed; at another luminosity
        the expected background is N_b L / 10 ab^-1.
    region : str or (float, float)
        Where the phi must decay: a name of the paper's table 1 (default
        ``"uninstrumented"``, 2-9 mm) or (r_in, r_out) in mm.
    n_signal, n_background : int
        Weighted events per point of each sample (default 100000 each).
    seed : int
        Master seed (default 1, as ``mcdh table`` and ``mcdh reproduce``).
    n_threads : int, optional
        Worker threads (default: all cores): points in parallel for tables
        and ``mcdh reproduce``, generation threads for a single point.
        Results do not depend on it.
    width_model : {"winkler", "dgl", "btpz", "envelope"}
        Hadronic phi widths of benchmark models: Winkler's (the paper's), the corrected dispersive DGL or
        BTPZ widths, or ``"envelope"``: Winkler's widths, with every reach and theta band also given over
        the envelope of all of them (``Reach.eps_lower/eps_upper``, ``Band.lower_range/upper_range``).
    eps_ref : float
        The eps at which samples are generated (results scale exactly as eps^2).
    smearing : {"copies", "expected"}
        How the detector resolution is applied: the paper's 100 Gaussian copies per event (default), or
        ``"expected"``: each event's probability to land in every bin, the exact limit of infinitely many
        copies - no smearing noise, and faster (:mod:`mcdh.analysis.smearing`).
    options : AnalysisConfig
        The rest of the analysis chain's settings: smeared copies,
        resolution, binnings, the theta grid (default: the paper's). Its
        region, luminosity and smearing are replaced by the study's.
    background_uncertainty : float
        Relative uncertainty sigma_b / B of the background normalisation, in [0, 1) (default 0, the
        paper's): profiled in every reach, theta band and table statistic, and the windows optimised with
        it (:func:`~mcdh.analysis.limits.m2loglike_syst`).
    statistic : {"paper", "cls"}
        The reach's statistic: the paper's -2 log L = 3.84 in optimised windows (default), or the
        asymptotic median expected 95 % CL CLs limit on every bin, the background's Monte Carlo error
        included - the number pyhf computes on :meth:`workspace` (:mod:`mcdh.analysis.cls`). Tables keep
        the paper's windows either way.
    """

    luminosity_fb: float = LUMINOSITY_FB
    n_b: float = 1.0
    region: str | tuple[float, float] | Region = "uninstrumented"
    n_signal: int = DEFAULT_N_SIGNAL
    n_background: int = DEFAULT_N_BACKGROUND
    seed: int = 1
    n_threads: int | None = None
    width_model: str = "winkler"
    eps_ref: float = EPS_REF
    smearing: str = "copies"
    options: AnalysisConfig = field(default_factory=AnalysisConfig)
    background_uncertainty: float = 0.0
    statistic: str = "paper"
    _analyses: dict = field(default_factory=dict, init=False, repr=False, compare=False)
    _data_models: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "n_b", check_n_b(self.n_b))
        object.__setattr__(self, "luminosity_fb", check_luminosity("luminosity_fb", self.luminosity_fb))
        check_count("n_signal", self.n_signal, 100)
        check_count("n_background", self.n_background, 100)
        if self.n_threads is not None:
            check_count("n_threads", self.n_threads, 1)
        check_count("seed", self.seed, 0)
        check_eps(self.eps_ref, "eps_ref")
        check_width_model(self.width_model, envelope=True)
        check_smearing(self.smearing)
        object.__setattr__(self, "background_uncertainty", self.limit_statistic.background_uncertainty)
        _ = self.config  # validates region, luminosity, binning and theta settings

    @cached_property
    def limit_statistic(self) -> limits.Statistic:
        """The statistic of this study's reaches (:class:`~mcdh.analysis.limits.Statistic`)."""
        return limits.Statistic(self.statistic, self.background_uncertainty)

    @cached_property
    def config(self) -> AnalysisConfig:
        """The analysis-chain settings of this study: its ``options`` with its region and luminosity."""
        return dataclasses.replace(self.options, region=get_region(self.region), luminosity_fb=self.luminosity_fb,
                                   smearing=self.smearing)

    @property
    def threads(self) -> int:
        """The worker threads in use: :attr:`n_threads`, or all cores."""
        return default_threads() if self.n_threads is None else self.n_threads

    def replace(self, **changes) -> Study:
        """A study with some settings changed (a fresh one: no analyses are shared)."""
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------------
    # points

    def model(self, point: str | DarkSector, m_A: float | None = None) -> DarkSector:
        """The model of a point: a benchmark at ``m_A`` (GeV) at this study's eps_ref, or the given model."""
        if isinstance(point, DarkSector):
            if m_A is not None:
                raise ParameterError("m_A", m_A, "give either a DarkSector or a benchmark and m_A, not both")
            return point
        if m_A is None:
            raise ParameterError("m_A", None, "give m_A (GeV) with a benchmark")
        return DarkSector.from_benchmark(point, m_A, eps=self.eps_ref, theta=THETA_TABLE, width_model=self.model_widths)

    @property
    def model_widths(self) -> str:
        """The width model of this study's benchmark points (Winkler's for the envelope, which is a band)."""
        return "winkler" if self.width_model == ENVELOPE else self.width_model

    def analysis(self, point: str | DarkSector, m_A: float | None = None, channel: str = "phi", *,
                 signal: Events | str | os.PathLike | None = None,
                 background: Events | str | os.PathLike | None = None, eps_gen: float | None = None,
                 check_masses: bool = True, keep: bool = True) -> ChannelAnalysis:
        """The analysis of one channel at one point (generated once, then kept).

        ``signal`` / ``background`` import samples instead of generating
        them: :class:`Events` or a file (ROOT, LHE, HepMC3). An imported
        signal must have been made with this point's masses (its recorded
        model and its momenta are checked) unless ``check_masses=False``, and
        its weights are read at the eps it was generated at: the one mcdh
        recorded in it, or ``eps_gen`` for a sample that records none (a
        foreign file: then ``eps_gen`` is required - the model's eps is never
        taken for it). The imported analysis is kept: every later question
        about this point and channel (``eps_reach``, ``reach``, ``theta_band``,
        ``table_row`` ...) uses it, until another import replaces it.
        ``keep=False`` does not keep the analysis (for running through many
        points in bounded memory).
        """
        check_channel(channel)
        model = self.model(point, m_A)
        key = (model, channel)
        if signal is None and background is None:
            if eps_gen is not None:
                raise ParameterError("eps_gen", eps_gen, "applies to an imported signal (signal=...)")
            if key in self._analyses:
                return self._analyses[key]
            a = self._analyse(model, channel, None, None)
        else:
            sig = _events(signal)
            if sig is not None and check_masses:
                check_sample_model(sig, model)
            sample_model = model if sig is None else model.replace(eps=generation_eps(sig, eps_gen))
            a = self._analyse(sample_model, channel, sig, _events(background))
        if keep:
            self._analyses[key] = a
        return a

    def _analyse(self, model: DarkSector, channel: str, signal: Events | None,
                 background: Events | None) -> ChannelAnalysis:
        """Generate what is not given (signal at ``model``, background at N_b = 1) and set up the analysis.

        The point's streams (:func:`mcdh.seeds.point`) seed what is generated and the smearing, whether or not a
        sample is given."""
        check_channel(channel)
        warm_up(self.config.smearing)
        ss = seeds.point(self.seed, model.benchmark, model.m_A, channel)
        s_sig, s_bkg, s_smear = ss.spawn(3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", HadronicValidityWarning)
            if signal is None:
                signal = generate_signal(model, channel, self.n_signal, np.random.default_rng(s_sig),
                                         n_threads=self.threads)
            if background is None:
                background = generate_background(channel, model.m_phi, model.m_chi, self.n_background,
                                                 np.random.default_rng(s_bkg), n_b=1.0, sqrt_s=model.sqrt_s,
                                                 n_threads=self.threads)
        return ChannelAnalysis(model, channel, signal, background, self.config, seed=s_smear)

    def _channels(self, channel: str) -> tuple[str, ...]:
        if channel == COMBINED:
            return CHANNELS
        return (check_channel(channel),)

    # ------------------------------------------------------------------
    # questions

    def table_row(self, point: str | DarkSector, m_A: float | None = None, channel: str = "phi", *,
                  eps: float = EPS_REF, theta: float = THETA_TABLE) -> TableRow:
        """The Appendix B row at (eps, theta) with this study's N_b: window optimised there."""
        eps, theta = check_eps(eps), check_theta(theta)  # refused before any generation
        return self.analysis(point, m_A, channel).table_row(eps, theta, self.n_b, self.background_uncertainty)

    def table(self, benchmark: str, channel: str, *, eps: float = EPS_REF, theta: float = THETA_TABLE,
              masses=MASSES, progress: bool = False) -> list[TableRow]:
        """The Appendix B table of ``channel``: one row per m_A (points on this study's threads)."""
        masses = _check_masses(masses)
        eps, theta = check_eps(eps), check_theta(theta)
        point_study = self.replace(n_threads=1)  # the points run in parallel, each on one thread

        def one(m_A):
            return point_study.analysis(benchmark, m_A, channel, keep=False).table_row(eps, theta, self.n_b,
                                                                                     self.background_uncertainty)

        return run_points(one, masses, self.threads, progress, desc=f"table {benchmark} {channel}")

    def m2loglike(self, point: str | DarkSector, m_A: float | None = None, channel: str = "phi", *,
                  eps=EPS_REF, theta=THETA_TABLE) -> np.ndarray:
        """-2 log L on the grid eps x theta, shape (len(eps), len(theta)), windows optimised at every node.

        ``channel="combined"`` sums the phi and gamma-phi channels.
        """
        eps_values = [check_eps(e) for e in np.atleast_1d(eps)]
        thetas = np.array([check_theta(t) for t in np.atleast_1d(theta)])
        out = np.zeros((len(eps_values), thetas.size))
        for ch in self._channels(channel):
            a = self.analysis(point, m_A, ch)
            for i, e in enumerate(eps_values):
                out[i] += a.m2loglike(e, thetas, self.n_b, statistic=self.limit_statistic)
        return out

    def eps_reach(self, point: str | DarkSector, m_A: float | None = None, channel: str = "phi", *,
                  theta: float = THETA_EPS_SCAN) -> Reach:
        """The 95 % CL reach in eps at ``theta``; ``channel="combined"`` adds the two channels' -2 log L."""
        theta = check_theta(theta)
        model = self.model(point, m_A)

        def reach_at(t: float) -> float:
            analyses = [self.analysis(model, None, ch) for ch in self._channels(channel)]
            return combined_reach(analyses, t, self.n_b, self.limit_statistic)

        result = reach_result(reach_at(theta), channel, theta, model)
        if self.width_model != ENVELOPE:
            return result
        ratios = envelope_ratios(model)
        for ch in self._channels(channel):  # one replay for all the widths
            self.analysis(model, None, ch).signal_hists([theta, *(envelope_thetas(ratios, theta) or [])])
        lo, hi = eps_envelope(reach_at, ratios, theta, result, model)
        return dataclasses.replace(result, eps_lower=lo, eps_upper=hi)

    def reach(self, point: str | DarkSector, m_A: float | None = None, *, theta: float = THETA_EPS_SCAN) -> dict[str, Reach]:
        """The eps reach of each channel and of their combination, keyed by channel name."""
        return {ch: self.eps_reach(point, m_A, ch, theta=theta) for ch in (*CHANNELS, COMBINED)}

    def theta_band(self, point: str | DarkSector, m_A: float | None = None, channel: str = "phi", *,
                   eps: float = EPS_REF) -> Band:
        """The theta range excluded at 95 % CL at ``eps`` (both edges); ``channel="combined"`` adds the channels."""
        eps = check_eps(eps)
        model = self.model(point, m_A)
        analyses = [self.analysis(model, None, ch) for ch in self._channels(channel)]

        def g(_key, thetas):
            return sum(a.m2loglike(eps, thetas, self.n_b, statistic=self.limit_statistic) for a in analyses)

        def prefetch(thetas):
            for a in analyses:
                a.signal_hists(thetas)

        band = theta_bands(self.config, [self.n_b], g, prefetch, self.limit_statistic.target)[self.n_b]
        result = band_result(band, channel, eps, model, self.config.theta_range[1], self.limit_statistic.target)
        if self.width_model != ENVELOPE or not result.sensitive:
            return result
        lo, hi = theta_edges_envelope(result.lower, result.upper, envelope_ratios(model))
        return dataclasses.replace(result, lower_range=lo, upper_range=hi)

    def workspace(self, point: str | DarkSector, m_A: float | None = None, *, channels=CHANNELS,
                  theta: float = THETA_EPS_SCAN, eps_ref: float | None = None, windows: bool = False) -> Workspace:
        """The point's likelihood as a pyhf workspace (:mod:`mcdh.analysis.workspace`): each channel's binned
        observable (``windows``: the paper's optimised window as one bin) at ``theta`` and this study's N_b, the
        signal scaled by mu = (eps / ``eps_ref``)^2 (default this study's eps_ref), the background with its Monte
        Carlo error and this study's background uncertainty. ``.spec`` is what ``pyhf.Workspace`` takes;
        ``.write(path)`` writes it with its metadata."""
        theta = check_theta(theta)
        eps_ref = check_eps(self.eps_ref if eps_ref is None else eps_ref, "eps_ref")
        channels = tuple(check_channel(c) for c in np.atleast_1d(channels))
        if not channels or len(set(channels)) != len(channels):
            raise ParameterError("channels", channels, f"must be distinct channels among {', '.join(CHANNELS)}")
        model = self.model(point, m_A)
        return build_workspace([self.analysis(model, None, ch) for ch in channels], theta=theta, n_b=self.n_b,
                               eps_ref=eps_ref, rel_unc=self.background_uncertainty, windows=windows)

    def histograms(self, point: str | DarkSector, m_A: float | None = None, channel: str = "phi", *,
                   eps: float = EPS_REF, theta: float = THETA_TABLE) -> dict[str, hist.Hist]:
        """The smeared signal and background histograms (``hist.Hist``, weighted storage) in expected events."""
        eps, theta = check_eps(eps), check_theta(theta)  # refused before any generation
        return analysis_histograms(self.analysis(point, m_A, channel), eps, theta, self.n_b)


    # ------------------------------------------------------------------
    # after a discovery: reconstruct the dark sector (issue 17)

    def fit_config(self, point: str | DarkSector, m_A: float | None = None, *, eps: float | None = None,
                   theta: float | None = None, **options) -> FitConfig:
        """The model of the data at a point (the hypothesis, or the truth of pseudo-data): this study's
        luminosity, N_b, region, resolution and seed; ``options``: :class:`~mcdh.reconstruct.model.FitConfig`'s
        other fields (vertex resolution, radial bins, template events, grid)."""
        model = self.model(point, m_A)
        changes = {k: v for k, v in (("eps", eps), ("theta", theta)) if v is not None}
        if changes:
            model = model.replace(**changes)
        return FitConfig(model, luminosity_fb=self.luminosity_fb, n_b=self.n_b, region=self.config.region,
                         resolution=self.config.resolution, seed=self.seed, **options)

    def data_model(self, config: FitConfig, channels=CHANNELS, progress: bool = False) -> DataModel:
        """The templates of ``config`` (made once per study and kept)."""
        key = (config, tuple(channels))
        if key not in self._data_models:
            self._data_models[key] = DataModel(config, channels, progress=progress)
        return self._data_models[key]

    def pseudo_data(self, point: str | DarkSector, m_A: float | None = None, *, eps: float | None = None,
                    theta: float | None = None, asimov: bool = False, seed: int | None = None, channels=CHANNELS,
                    mc_events: int = 200_000, progress: bool = False, **options) -> Data:
        """Reconstructed events as Belle II would record them if the point (at ``eps``, ``theta``) were true:
        Poisson signal and background events (``seed``, default the study's), or the Asimov data set.
        ``data.write(path)`` makes the ROOT ntuple; :meth:`fit` fits it."""
        config = self.fit_config(point, m_A, eps=eps, theta=theta, **options)
        channels = tuple(check_channel(c) for c in channels)
        if asimov:
            return asimov_data(self.data_model(config, channels, progress))
        return poisson_data(config, seed=self.seed if seed is None else seed, mc_events=mc_events, channels=channels)

    def fit(self, data: Data | str | os.PathLike, *, config: FitConfig | None = None, channels=None,
            contours=PAIRS, profiles=("m_A",), ratio_test: bool = True, upper_limit: bool = False,
            start: dict | None = None, fix=(), theta_from_data: bool = False, n_toys: int = TOYS,
            n_workers: int | None = None, search_range: tuple[float, float] | None = None,
            max_outside: float = MAX_OUTSIDE, progress: bool = False) -> FitResult:
        """Fit data (a :class:`~mcdh.reconstruct.data.Data` or a ROOT ntuple) with the model of its
        configuration (``config`` overrides the one the data carry): best fit, HESSE and MINOS errors,
        correlations, contours, profiles, the local significance, what the rate measures and the model test of
        the two channels; with ``n_toys`` toys (seeded with the study's seed, on ``n_workers`` processes,
        default all cores) the global significance over the template window and over ``search_range`` in m_A
        (default the paper's masses) and the goodness of fit (0: neither).

        ``theta_from_data``: centre the templates on the theta the data's decay radii prefer
        (:meth:`~mcdh.reconstruct.data.Data.with_theta_from_data`) instead of the configuration's. Data with more than
        ``max_outside`` of a channel's events outside the fit's ranges are refused (:class:`ParameterError`).
        A fit that does not converge says so (``result.valid``, ``result.status``)."""
        require("iminuit", "fit", "the fit after a discovery")  # said before any template is made
        if not isinstance(data, Data):
            data = Data.read(data, config)
        elif config is not None:
            data = dataclasses.replace(data, config=config)
        channels = data.channels if channels is None else tuple(check_channel(c) for c in channels)
        missing = [c for c in channels if c not in data.channels]
        if missing:
            raise ParameterError("channels", channels, f"the data have no {', '.join(missing)} events (they have "
                                 f"{', '.join(data.channels)})")
        problem = validity_problem(data.config.model)
        if problem is not None:  # a fit outside the model's validity gives no numbers
            raise ParameterError("config.model.g_chi", data.config.model.g_chi,
                                 f"is outside the model's validity ({problem}): a fit there gives no numbers")
        if theta_from_data:
            data = data.with_theta_from_data(self.seed)
        check_start(data.config, start)  # before the templates: a wrong start fails at once
        model = self.data_model(data.config, channels, progress)
        options = FitOptions(ratio_test=ratio_test, upper_limit=upper_limit, contours=contours, profiles=profiles)
        result = fit(model, data, start=start, fix=fix, options=options, max_outside=max_outside)
        if not n_toys:
            return result
        return calibrate(model, result, data.counts(model), n_toys=n_toys, seed=self.seed, search_range=search_range,
                         n_workers=default_threads() if n_workers is None else n_workers, progress=progress)

    def precision_table(self, point: str | DarkSector, m_A: float | None = None, *, eps: float | None = None,
                        theta: float | None = None, n_signal=(10, 30, 100, 1000), **options) -> list[PrecisionRow]:
        """Expected precision of m_A, m_phi, eps and theta (Asimov, HESSE) at ``n_signal`` phi-channel signal
        events, for each channel alone and combined (:func:`~mcdh.reconstruct.fit.precision_table`)."""
        config = self.fit_config(point, m_A, eps=eps, theta=theta, **options)
        return precision_table(self.data_model(config), n_signal)


def analysis_histograms(a: ChannelAnalysis, eps: float, theta: float, n_b: float) -> dict[str, hist.Hist]:
    """The smeared signal (at eps, theta) and background (at N_b) histograms of an analysis as ``hist.Hist``.

    Weighted storage: values in expected events, variances the Monte Carlo
    sums of squared weights.
    """
    import hist

    sig, var = a.signal_hists([theta], with_variance=True)
    scale = a.eps_scale(eps)
    out = {}
    for name, values, variances in (("signal", sig[0] * scale, var[0] * scale**2),
                                    ("background", a.background_hist(n_b), a.background_variance(n_b))):
        h = hist.Hist(hist.axis.Variable(a.binning.edges, name="x", label=a.binning.label or "x"),
                      storage=hist.storage.Weight())
        h.view().value = values
        h.view().variance = variances
        out[name] = h
    return out


def _events(sample) -> Events | None:
    """``sample`` as Events: given, or read from a file."""
    if sample is None or isinstance(sample, Events):
        return sample
    from .io import read_events

    return read_events(sample)


MASS_TOLERANCE = 1e-6
"""Relative agreement required between a sample's masses and the model's."""


def generation_eps(events: Events, eps_gen: float | None = None) -> float:
    """The eps a signal sample was generated at (its weights scale as eps^2): the one mcdh recorded in it, or
    ``eps_gen`` for a sample that records none; both given must agree (to 1e-9)."""
    recorded = (events.info.model or {}).get("eps")
    if eps_gen is not None:
        eps_gen = check_eps(eps_gen, "eps_gen")
        if recorded is not None and not math.isclose(float(recorded), eps_gen, rel_tol=1e-9):
            raise ParameterError("eps_gen", eps_gen, f"disagrees with the eps = {float(recorded):g} the sample records "
                                 "(its weights were generated there)")
        return eps_gen
    if recorded is None:
        raise ParameterError("eps_gen", None, "the sample records no generation eps (not written by mcdh): give "
                             "the eps its events were generated at (their weights scale as eps^2)")
    return check_eps(recorded, "eps_gen")


def check_sample_model(events: Events, model: DarkSector) -> None:
    """Refuse a signal sample made with other masses than ``model``'s (recorded model, then the momenta).

    Raises :class:`ParameterError` naming both, so that a sample is never
    analysed under a model it was not made with.
    """
    recorded = events.info.model
    if recorded:
        theirs = {k: float(recorded[k]) for k in ("m_A", "m_chi", "m_phi") if k in recorded}
        ours = {"m_A": model.m_A, "m_chi": model.m_chi, "m_phi": model.m_phi}
        bad = [k for k, v in theirs.items() if not math.isclose(v, ours[k], rel_tol=MASS_TOLERANCE)]
        if bad:
            raise ParameterError("model", _masses_text(ours), f"disagrees with the sample's recorded model "
                                 f"{_masses_text(theirs)} (masses in GeV)")
    for slot, name in (("phi", "m_phi"), ("chi", "m_chi"), ("chibar", "m_chi")):
        if slot not in events.particles or len(events) == 0:
            continue
        expected = getattr(model, name)
        m = float(np.median(mass(events.momentum(slot))))
        if not math.isclose(m, expected, rel_tol=1e-4, abs_tol=1e-6):
            raise ParameterError("model", f"{name} = {expected:.6g} GeV",
                                 f"disagrees with the sample's {slot} momenta (invariant mass {m:.6g} GeV)")


def _masses_text(m: dict[str, float]) -> str:
    return "(" + ", ".join(f"{k} = {v:.6g}" for k, v in m.items()) + ")"
