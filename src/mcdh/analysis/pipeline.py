"""The analysis chain of the paper's sections 3-4 for one (model, channel) point.

    signal (CMS) --lab p_T(phi)--> decay probability p(theta) in a region
                 --> smear (A.1) x 100 + histogram (m_chichi or sqrt|v|)
    background   --> smear x 100 + histogram, normalised to N_b (0.22 N_b)
    --> window optimisation --> -2 log L --> tables, eps reach, theta band

:class:`ChannelAnalysis` keeps the per-event arrays it needs (not the
events), fills signal histograms for any set of theta values in one smearing
pass (the copies of an event are the same for every theta, see
:mod:`mcdh.analysis.smearing`) and caches them.

Signal histograms are in expected events at the model's eps for the
luminosity of the configuration; background histograms are per unit N_b,
N_b being defined at the 10 ab^-1 of the paper.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._optimize import brentq
from ..channels import check_channel
from ..errors import ParameterError, check_count, check_positive
from ..events import Events
from ..kinematics.beams import Beams
from ..kinematics.variables import e_bar, pair_mass
from ..physics.model import DarkSector, check_eps, check_theta
from ..physics.widths import unit_mixing_width
from ..settings import LUMINOSITY_FB
from . import cls, limits
from .binning import Binning, mchichi_binning, sqrt_abs_v_max, v_binning
from .decay_moments import DecayMoments
from .displacement import DEFAULT_REGION, Region, decay_probabilities, get_region, transverse_decay_length
from .smearing import DEFAULT_COPIES, Resolution, _smear_chunk, _smear_fill, check_smearing, replay_fill, seed_key

CHUNK = 32768
"""Events per smearing call: bounds the (events x theta values) weight matrix."""
THETA_SEARCHES = ("grid", "on_demand")
"""How theta-band edges are searched (:attr:`AnalysisConfig.theta_search`)."""
COARSE_PER_DECADE = 3
"""Points per decade of theta of the on-demand search's first scan (:func:`theta_bands_on_demand`)."""


@dataclass(frozen=True)
class AnalysisConfig:
    """Settings of the analysis chain (defaults: the paper's).

    Attributes
    ----------
    region : str, Region or (r_in, r_out)
        Where the phi must decay (table 1; default uninstrumented, 2-9 mm).
    luminosity_fb : float
        Integrated luminosity in fb^-1 (default 1e4 = 10 ab^-1).
    n_copies : int
        Smeared copies per event (A.1: 100).
    smearing : {"copies", "expected"}
        ``"copies"`` (the paper's): ``n_copies`` Gaussian copies per event; ``"expected"``: each event's
        probability to land in every bin, the limit of infinitely many copies
        (:func:`~mcdh.analysis.smearing._expected_record`): no smearing noise, and faster.
    resolution : Resolution
        Energy resolution (A.1).
    mchichi_width_sigma : float
        phi-channel bin width in units of the resolution at m_A.
    v_e1, v_step : float
        gamma-phi sqrt|v| binning (4.10): first edge 0.01 GeV, 30 % relative width.
    theta_range : (float, float)
        Range of the theta scan (radians).
    theta_per_decade : int
        Grid points per decade of theta before refinement.
    theta_refinements : int
        Rounds of bracket refinement (each divides the bracket by 16).
    theta_search : {"grid", "on_demand"}, optional
        How theta-band edges are found: ``"grid"`` (the log grid above, bracket refinement, linear
        interpolation in log theta) or ``"on_demand"`` (a coarse scan, then each edge by Brent's method to
        1e-10 in log theta: the signal histograms only at the theta values the search visits, see
        :func:`theta_bands_on_demand`). Default: the grid with the paper's copies, on demand with expected
        smearing (whose histograms are smooth in theta without smearing noise, and cheap one theta at a time).
    beams : Beams
        Beam set-up for the CMS -> lab transformation of p_T(phi).
    """

    region: Region = field(default_factory=lambda: get_region(DEFAULT_REGION))  # a name or (r_in, r_out) is converted
    luminosity_fb: float = LUMINOSITY_FB
    n_copies: int = DEFAULT_COPIES
    smearing: str = "copies"
    resolution: Resolution = field(default_factory=Resolution)
    mchichi_width_sigma: float = 1.0
    v_e1: float = 0.01
    v_step: float = 0.30
    theta_range: tuple[float, float] = (1e-7, 1.0)
    theta_per_decade: int = 10
    theta_refinements: int = 2
    theta_search: str | None = None
    beams: Beams = field(default_factory=Beams)

    def __post_init__(self):
        object.__setattr__(self, "region", get_region(self.region))
        # the checked values are kept (a number given as text becomes the float it names)
        object.__setattr__(self, "luminosity_fb", check_positive("luminosity_fb", self.luminosity_fb))
        check_count("n_copies", self.n_copies, 1)
        check_smearing(self.smearing)
        object.__setattr__(self, "mchichi_width_sigma", check_positive("mchichi_width_sigma", self.mchichi_width_sigma))
        lo, hi = (float(t) for t in self.theta_range)
        if not 0.0 < lo < hi <= math.pi / 2:
            raise ParameterError("theta_range", self.theta_range, "need 0 < theta_min < theta_max <= pi/2")
        check_count("theta_per_decade", self.theta_per_decade, 1)
        check_count("theta_refinements", self.theta_refinements, 0)
        if self.theta_search is not None and self.theta_search not in THETA_SEARCHES:
            raise ParameterError("theta_search", self.theta_search, f"must be one of {THETA_SEARCHES}")

    @property
    def band_search(self) -> str:
        """The theta search in use: :attr:`theta_search`, or the default for this smearing."""
        if self.theta_search is not None:
            return self.theta_search
        return "grid" if self.smearing == "copies" else "on_demand"

    def theta_grid(self) -> np.ndarray:
        """The log-spaced theta grid the band search starts from (rad)."""
        lo, hi = (math.log10(t) for t in self.theta_range)
        n = max(2, int(math.ceil((hi - lo) * self.theta_per_decade)) + 1)
        return np.logspace(lo, hi, n)


@dataclass(frozen=True)
class TableRow:
    """One row of the efficiency tables (Appendix B layout), numbers of events at the luminosity."""

    m_A: float
    channel: str
    eps: float
    theta: float
    n_b: float
    resc_sig: float
    window_lo: float
    window_hi: float
    sel_sig: float
    sel_bkg: float
    m2loglike: float
    sel_sig_err: float

    def as_csv_dict(self) -> dict:
        """The columns of the ``mcdh table`` CSV contract."""
        if self.channel == "phi":
            return {
                "mA": self.m_A, "resc_sig": self.resc_sig, "mchichi_min": self.window_lo,
                "mchichi_max": self.window_hi, "sel_sig": self.sel_sig, "sel_bkg": self.sel_bkg,
                "m2loglike": self.m2loglike,
            }
        return {
            "mA": self.m_A, "init_sig": self.resc_sig, "vmax": self.window_hi**2, "sel_sig": self.sel_sig,
            "sel_bkg": self.sel_bkg, "m2loglike": self.m2loglike,
        }


@dataclass(frozen=True)
class ThetaBand:
    """Edges of the theta range where -2 log L >= 3.84 (NaN where the band reaches past the scanned range)."""

    lower: float
    upper: float
    below_range: bool
    above_range: bool
    excluded: bool


class ChannelAnalysis:
    """Signal and background of one channel at one model point, ready for tables and limits.

    Parameters
    ----------
    model : DarkSector
        The signal model (its eps is the reference of the signal histograms).
    channel : {"phi", "gammaphi"}
    signal : Events
        Signal events of this channel (CMS or lab frame), weights in fb.
    background : Events
        Mock background (CMS) whose weights sum to N_b / L_ref (gamma-phi:
        0.22 N_b / L_ref) with N_b = ``parameters["n_b"]`` and L_ref = 10 ab^-1,
        the reference luminosity at which N_b is defined; at the configured
        luminosity L the background is N_b L / L_ref, like the signal.
    config : AnalysisConfig, optional
    seed : int or SeedSequence
        Seed of the smearing streams.
    m_A_hypothesis : float, optional
        The m_A used to build v and the m_chichi binning (default: the model's).
    """

    def __init__(
        self, model: DarkSector, channel: str, signal: Events, background: Events,
        config: AnalysisConfig | None = None, seed: int | np.random.SeedSequence = 0,
        m_A_hypothesis: float | None = None,
    ):
        check_channel(channel)
        self.model = model
        self.channel = channel
        self.config = config if config is not None else AnalysisConfig()
        self.m_A_hyp = float(model.m_A if m_A_hypothesis is None else check_positive("m_A_hypothesis", m_A_hypothesis))
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        k_sig, k_bkg = ss.spawn(2)
        self._key_sig, self._key_bkg = seed_key(k_sig), seed_key(k_bkg)
        self.sqrt_s = model.sqrt_s
        self.e_bar = e_bar(self.m_A_hyp, self.sqrt_s)
        L = self.config.luminosity_fb

        sig_x, sig_y, p_phi_lab = self._variables(signal)
        self._sig_x, self._sig_y = sig_x, sig_y
        self._sig_events = signal.weights * L  # expected events at model.eps, before the decay probability
        # decay length at sin(theta) = 1; d(theta) = d_unit / sin^2(theta)
        width_unit = unit_mixing_width(model.m_phi, model.width_model)
        p_t = np.hypot(p_phi_lab[:, 1], p_phi_lab[:, 2])
        self.p_t_lab = p_t
        self._d_unit = transverse_decay_length(p_t, model.m_phi, width_unit)
        self.width_phi_unit = width_unit

        self.binning = self._make_binning()
        self._smeared: dict = {}  # the signal's smeared copies, recorded once (see _records)
        self.smearing_passes = 0  # how often a sample was smeared (one per sample and point)
        bkg_x, bkg_y, _ = self._variables(background, need_lab=False)
        n_b_gen = float(background.info.record.get("n_b", 1.0))
        if not n_b_gen > 0:
            raise ParameterError("background.info.record['n_b']", n_b_gen, "must be > 0 to normalise the background")
        w_bkg = (background.weights * (L / n_b_gen))[:, None]
        h, w2 = self._fill(bkg_x, bkg_y, lambda a, b: w_bkg[a:b], 1, self._key_bkg, keep=False)  # filled once
        self._bkg_unit, self._bkg_unit_w2 = h[0], w2[0]
        self._cache: dict[float, tuple[np.ndarray, np.ndarray | None]] = {}
        self._moments: DecayMoments | None = None

    # ------------------------------------------------------------------
    # inputs

    def _variables(self, events: Events, need_lab: bool = True):
        beams = self.config.beams
        # Events admits only the two frames
        cms = events.momenta if events.frame == "cms" else beams.to_cms(events.momenta)
        names = events.particles
        for needed in ("phi", "chi", "chibar") + (("gamma",) if self.channel == "gammaphi" else ()):
            if needed not in names:
                raise ParameterError("events.particles", names, f"must contain {needed!r} for the {self.channel} channel")
        m = pair_mass(cms[:, names.index("chi")], cms[:, names.index("chibar")])
        if self.channel == "phi":
            x, y = m, m
        else:
            x, y = cms[:, names.index("gamma"), 0].copy(), m
        p_lab = None
        if need_lab:
            p_phi = events.momenta[:, names.index("phi")]
            p_lab = p_phi if events.frame == "lab" else beams.to_lab(p_phi)
        return np.ascontiguousarray(x), np.ascontiguousarray(y), p_lab

    def _make_binning(self) -> Binning:
        m = self.model
        m_min = 2.0 * m.m_chi
        if self.channel == "phi":
            return mchichi_binning(
                self.m_A_hyp, m_min, self.sqrt_s - m.m_phi, self.config.mchichi_width_sigma, self.config.resolution
            )
        top = 1.1 * sqrt_abs_v_max(self.sqrt_s, self.m_A_hyp, m_min)
        return v_binning(top, self.config.v_e1, self.config.v_step)

    @property
    def strategy(self) -> str:
        """The window strategy of this channel: optimised windows (phi) or |v| < v_max (gamma-phi)."""
        return "grow" if self.channel == "phi" else "from_zero"

    @functools.cached_property
    def start_bin(self) -> int:
        """The bin the phi-channel window grows from: the one holding m_A (found once: each window asks)."""
        return self.binning.find(self.m_A_hyp) if self.channel == "phi" else 0

    def _records(self, x, y, key, smear: bool) -> list:
        """The smeared copies of a sample, chunk by chunk (:func:`_smear_chunk`), made once and kept: every
        later fill (each theta, the table, the reach, the band refinements) replays them."""
        cache_key = (key, smear, x.size)
        if cache_key not in self._smeared:
            mode = "value" if self.channel == "phi" else "sqrt_abs_v"
            self._smeared[cache_key] = [
                _smear_chunk(x[a:min(x.size, a + CHUNK)], self.binning, mode=mode, y=y[a:min(x.size, a + CHUNK)],
                             e_bar=self.e_bar, m_A=self.m_A_hyp, resolution=self.config.resolution,
                             n_copies=self.config.n_copies, seed=key, first_index=a, smear=smear,
                             smearing=self.config.smearing)
                for a in range(0, x.size, CHUNK)]
            self.smearing_passes += 1
        return self._smeared[cache_key]

    def _fill(self, x, y, weights, n_cols: int, key, smear: bool = True, keep: bool = True):
        """Fill histograms chunk by chunk; ``weights(start, stop)`` gives that chunk's (m, n_cols) weights.

        The smearing is done once per sample (:meth:`_records`) and replayed for every set of weights,
        with the sums of :func:`_smear_fill` bit for bit; ``keep=False`` smears without keeping the record
        (a sample filled only once). Building the weights per chunk keeps the (events x theta values)
        matrix at CHUNK rows.
        """
        hist = np.zeros((n_cols, self.binning.n_bins))
        w2 = np.zeros_like(hist)
        if keep:
            for k, rec in enumerate(self._records(x, y, key, smear)):
                start = k * CHUNK
                replay_fill(rec, weights(start, start + rec.n_events), (hist, w2))
            return hist, w2
        mode = "value" if self.channel == "phi" else "sqrt_abs_v"
        for start in range(0, x.size, CHUNK):
            stop = min(x.size, start + CHUNK)
            _smear_fill(
                x[start:stop], weights(start, stop), self.binning, mode=mode, y=y[start:stop], e_bar=self.e_bar,
                m_A=self.m_A_hyp, resolution=self.config.resolution, n_copies=self.config.n_copies, seed=key,
                first_index=start, smear=smear, out=(hist, w2), smearing=self.config.smearing,
            )
        self.smearing_passes += 1
        return hist, w2

    # ------------------------------------------------------------------
    # histograms

    def decay_probability(self, theta: float, region=None) -> np.ndarray:
        """Per-event probability that phi decays at mixing ``theta`` in ``region`` (default: the configured one)."""
        region = self.config.region if region is None else region
        return decay_probabilities(self._d_unit, np.array([math.sin(theta) ** 2]), region)[:, 0]

    def signal_hists(self, thetas, with_variance: bool = False):
        """Smeared signal histograms (len(thetas), n_bins) in expected events at the model's eps.

        With expected smearing the histograms alone come from the moments of the events' decay lengths
        (:class:`~mcdh.analysis.decay_moments.DecayMoments`, ~1e-15 of a replay of the record); their Monte
        Carlo variance (``with_variance``), and every histogram with the paper's copies, from a replay.
        """
        thetas = [check_theta(t) for t in np.atleast_1d(thetas)]
        if with_variance:
            missing = sorted({t for t in thetas if t not in self._cache or self._cache[t][1] is None})
        else:
            missing = sorted({t for t in thetas if t not in self._cache})
            if missing and self.config.smearing == "expected":
                moments = self._decay_moments()
                for t in missing:
                    self._cache[t] = (moments.hist(t), None)
                missing = []
        if missing:
            scale = np.sin(np.array(missing)) ** 2

            def weights(start, stop):
                w = decay_probabilities(self._d_unit[start:stop], scale, self.config.region)
                w *= self._sig_events[start:stop, None]
                return w

            hist, w2 = self._fill(self._sig_x, self._sig_y, weights, len(missing), self._key_sig)
            for k, t in enumerate(missing):
                self._cache[t] = (hist[k], w2[k])
        h = np.stack([self._cache[t][0] for t in thetas])
        if with_variance:
            variances = []
            for t in thetas:
                v = self._cache[t][1]
                assert v is not None  # every theta without its variance was replayed above
                variances.append(v)
            return h, np.stack(variances)
        return h

    def _decay_moments(self) -> DecayMoments:
        """The signal's decay-length moments (made once, from the expected smearing's record)."""
        if self._moments is None:
            region = self.config.region
            self._moments = DecayMoments(self._d_unit, self._sig_events,
                                         self._records(self._sig_x, self._sig_y, self._key_sig, True),
                                         self.binning.n_bins, region.r_in, region.r_out)
        return self._moments

    def truth(self) -> dict[str, np.ndarray]:
        """Per-event truth arrays: lab p_T(phi), expected events (model eps, no decay probability), x and y.

        x is m_chichi (phi) or the CMS E_gamma (gamma-phi); y is m_chichi.
        """
        return {"p_t": self.p_t_lab, "events": self._sig_events, "x": self._sig_x, "y": self._sig_y}

    def signal_hist_unsmeared(self, theta: float) -> np.ndarray:
        """Signal histogram without smearing (for comparisons)."""
        w = (self.decay_probability(theta) * self._sig_events)[:, None]
        return self._fill(self._sig_x, self._sig_y, lambda a, b: w[a:b], 1, self._key_sig, smear=False, keep=False)[0][0]

    def background_hist(self, n_b: float) -> np.ndarray:
        """Smeared background in expected events for N_b (phi) or 0.22 N_b (gamma-phi, via its sample)."""
        return self._bkg_unit * float(n_b)

    def background_variance(self, n_b: float) -> np.ndarray:
        """Monte Carlo variance (sum of squared weights) of :meth:`background_hist`."""
        return self._bkg_unit_w2 * float(n_b) ** 2

    def signal_total(self, eps: float, theta: float) -> float:
        """Expected signal events after the decay probability, before any selection (unsmeared sum)."""
        return float(np.sum(self.decay_probability(theta) * self._sig_events)) * (eps / self.model.eps) ** 2

    # ------------------------------------------------------------------
    # results

    def eps_scale(self, eps: float) -> float:
        """The factor (eps / eps_model)^2 that takes the signal histograms to ``eps`` (in (0, 1])."""
        return (check_eps(eps) / self.model.eps) ** 2

    def window(self, eps: float, theta: float, n_b: float, strategy: str | None = None) -> limits.Window:
        """The window that maximises -2 log L at (eps, theta, N_b), with its signal, background and -2 log L."""
        sig = self.signal_hists([theta])[0] * self.eps_scale(eps)
        return limits.optimise_window(sig, self.background_hist(n_b), strategy or self.strategy, self.start_bin)

    def table_row(self, eps: float, theta: float, n_b: float, rel_unc: float = 0.0, with_error: bool = True) -> TableRow:
        """The Appendix B row at (eps, theta, N_b) with the window optimised there (``rel_unc``: the background's
        relative uncertainty, profiled in -2 log L); ``with_error=False`` leaves its Monte Carlo error out (NaN)."""
        scale = self.eps_scale(eps)
        if with_error:
            h, var = self.signal_hists([theta], with_variance=True)
        else:
            h, var = self.signal_hists([theta]), None
        sig = h[0] * scale
        win = limits.optimise_window(sig, self.background_hist(n_b), self.strategy, self.start_bin, rel_unc)
        e = self.binning.edges
        err = math.sqrt(float(var[0][win.lo : win.hi + 1].sum())) * scale if var is not None else math.nan
        return TableRow(
            self.model.m_A, self.channel, eps, theta, float(n_b), float(sig.sum()), float(e[win.lo]),
            float(e[win.hi + 1]), win.s, win.b, win.m2ll, err,
        )

    def eps_reach(self, theta: float, n_b: float, strategy: str | None = None,
                  statistic: limits.Statistic = limits.PAPER) -> limits.EpsReach:
        """95 % CL reach in eps at ``theta`` and N_b (window re-optimised at the reach; with the CLs statistic
        every bin, no window)."""
        if statistic.kind == "cls":
            return limits.EpsReach(cls.eps_limit([self.binned(theta, n_b, statistic.background_uncertainty)]), None, 0)
        sig = self.signal_hists([theta])[0]
        return limits.eps_reach(sig, self.background_hist(n_b), self.model.eps, strategy or self.strategy, self.start_bin,
                                rel_unc=statistic.background_uncertainty)

    def binned(self, theta: float, n_b: float, rel_unc: float = 0.0, sig: np.ndarray | None = None) -> cls.BinnedChannel:
        """The channel's binned likelihood at ``theta`` and N_b (signal at the model's eps, the background with its
        Monte Carlo error and relative normalisation uncertainty ``rel_unc``); ``sig``: the signal histogram at
        ``theta`` when it is at hand."""
        sig = self.signal_hists([theta])[0] if sig is None else sig
        return cls.BinnedChannel(sig, self.background_hist(n_b), np.sqrt(self.background_variance(n_b)), self.model.eps,
                                 rel_unc)

    def m2loglike(self, eps: float, thetas, n_b: float, strategy: str | None = None,
                  statistic: limits.Statistic = limits.PAPER) -> np.ndarray:
        """-2 log L at ``eps`` and N_b for each of ``thetas``, the window re-optimised at every theta (the CLs
        statistic: q_mu,A of every bin)."""
        scale = self.eps_scale(eps)
        bkg = self.background_hist(n_b)
        r = statistic.background_uncertainty
        if statistic.kind == "cls":
            return np.array([self.binned(t, n_b, r, h).q(scale) for t, h in zip(np.atleast_1d(thetas),
                                                                              self.signal_hists(thetas))])
        strategy = strategy or self.strategy
        return np.array([limits.optimise_window(h * scale, bkg, strategy, self.start_bin, r).m2ll
                         for h in self.signal_hists(thetas)])

    def theta_band(self, eps: float, n_b_values, strategy: str | None = None,
                   statistic: limits.Statistic = limits.PAPER) -> dict[float, ThetaBand]:
        """The sensitive band in theta at ``eps`` for each N_b: both edges, by bracketing and refinement.

        -2 log L(theta) (window re-optimised at every theta) is evaluated on
        the configuration's log grid; each crossing of 3.84 is bracketed and
        the bracket divided into 16 sub-intervals ``theta_refinements`` times
        (one smearing pass for all brackets of all N_b per round), then the
        crossing is interpolated linearly in log theta.
        """
        self.eps_scale(eps)  # a bad eps is refused before any smearing
        n_b_values = [float(n) for n in np.atleast_1d(n_b_values)]

        def g(n_b: float, thetas: np.ndarray) -> np.ndarray:
            return self.m2loglike(eps, thetas, n_b, strategy, statistic)

        return theta_bands(self.config, n_b_values, g, self.signal_hists, statistic.target)


def theta_bands(config: AnalysisConfig, keys: list, g, prefetch, target: float = limits.CL95) -> dict[Any, ThetaBand]:
    """Theta bands where ``g(key, thetas)`` (-2 log L at those thetas) reaches ``target``, one per key, searched
    as ``config.theta_search`` says: :func:`theta_bands_on_grid` or :func:`theta_bands_on_demand`."""
    search = theta_bands_on_grid if config.band_search == "grid" else theta_bands_on_demand
    return search(config, keys, g, prefetch, target)


def theta_bands_on_demand(config: AnalysisConfig, keys: list, g, prefetch,
                          target: float = limits.CL95) -> dict[Any, ThetaBand]:
    """Theta bands where ``g(key, thetas)`` reaches ``target``, each edge solved for where it lies.

    ``g`` is evaluated on a coarse log grid over ``config.theta_range`` (:data:`COARSE_PER_DECADE`;
    ``prefetch`` gets it once); where no point of it reaches ``target``, a golden-section search for the
    largest ``g`` around the best point looks for a band narrower than the grid's step. Each edge (the first
    upward and the last downward crossing) is then found by Brent's method in log theta to 1e-10, one theta
    at a time: the signal is histogrammed only at the theta values the search visits (about ten per edge).
    """
    lo, hi = (math.log(t) for t in config.theta_range)
    n = max(2, int(math.ceil((hi - lo) / math.log(10.0) * COARSE_PER_DECADE)) + 1)
    grid = np.exp(np.linspace(lo, hi, n))
    grid[0], grid[-1] = config.theta_range
    prefetch(grid)
    out: dict[Any, ThetaBand] = {}
    log_grid = np.log(grid)
    for key in keys:
        known = dict(zip(log_grid.tolist(), (g(key, grid) - target).tolist()))  # f at the grid's points

        def f(log_t: float, key=key, known=known) -> float:
            if log_t not in known:
                known[log_t] = float(g(key, np.array([math.exp(log_t)]))[0]) - target
            return known[log_t]

        if max(known.values()) < 0:
            _golden_peak(f, log_grid, np.array(list(known.values())))  # the points it visits join ``known``
        x = np.array(sorted(known))
        v = np.array([known[t] for t in x])
        up, down = limits.band_edges(x, v, 0.0)
        below, above = bool(v[0] >= 0), bool(v[-1] >= 0)
        edges = {}
        if up and not below:
            edges["lower"] = math.exp(brentq(f, x[up[0]], x[up[0] + 1], xtol=1e-10, rtol=1e-14))
        if down and not above:
            edges["upper"] = math.exp(brentq(f, x[down[-1]], x[down[-1] + 1], xtol=1e-10, rtol=1e-14))
        out[key] = ThetaBand(edges.get("lower", math.nan), edges.get("upper", math.nan), below, above,
                             bool(np.any(v >= 0)))
    return out


def _golden_peak(f, x: np.ndarray, v: np.ndarray, max_calls: int = 20) -> None:
    """Golden-section search for the largest ``f`` between the neighbours of the best grid point, until a point
    with f >= 0 is met or after ``max_calls`` evaluations."""
    k = int(np.argmax(v))
    a, b = x[max(k - 1, 0)], x[min(k + 1, x.size - 1)]
    r = (math.sqrt(5.0) - 1.0) / 2.0
    c, d = b - r * (b - a), a + r * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(max_calls):
        if fc >= 0 or fd >= 0:
            return
        if fc > fd:
            b, d, fd = d, c, fc
            c = b - r * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + r * (b - a)
            fd = f(d)


def theta_bands_on_grid(config: AnalysisConfig, keys: list, g, prefetch,
                        target: float = limits.CL95) -> dict[Any, ThetaBand]:
    """Theta bands where ``g(key, thetas)`` (-2 log L at those thetas) reaches ``target``, one per key.

    ``g`` is evaluated on ``config.theta_grid()``; every crossing is
    bracketed and its bracket divided into 16 sub-intervals
    ``config.theta_refinements`` times, ``prefetch(thetas)`` being called once
    per round with the sub-grid points of all brackets (one smearing pass),
    then the crossing is interpolated linearly in log theta.
    """
    grid = config.theta_grid()
    prefetch(grid)
    pending = []  # [key, "lower"/"upper", t0, t1, g0, g1]
    state: dict[Any, dict[str, Any]] = {}
    for key in keys:
        g_grid = g(key, grid)
        up, down = limits.band_edges(np.log(grid), g_grid, target)
        below = bool(g_grid[0] >= target)
        above = bool(g_grid[-1] >= target)
        state[key] = {"below": below, "above": above, "excluded": bool(np.any(g_grid >= target)), "edges": {}}
        if up and not below:
            k = up[0]
            pending.append([key, "lower", grid[k], grid[k + 1], g_grid[k], g_grid[k + 1]])
        if down and not above:
            k = down[-1]
            pending.append([key, "upper", grid[k], grid[k + 1], g_grid[k], g_grid[k + 1]])
    for _ in range(config.theta_refinements):
        if not pending:
            break
        subs = [np.geomspace(p[2], p[3], 17)[1:-1] for p in pending]
        prefetch(np.concatenate(subs))
        for p, sub in zip(pending, subs):
            ts = np.concatenate([[p[2]], sub, [p[3]]])
            g_ts = np.concatenate([[p[4]], g(p[0], sub), [p[5]]])
            up, down = limits.band_edges(np.log(ts), g_ts, target)
            cands = up if p[1] == "lower" else down
            if not cands:  # pragma: no cover - endpoints bracket a crossing, so one exists
                continue
            k = cands[0] if p[1] == "lower" else cands[-1]
            p[2:] = [ts[k], ts[k + 1], g_ts[k], g_ts[k + 1]]
    for p in pending:
        log_t = limits.interpolate_crossing(math.log(p[2]), math.log(p[3]), p[4], p[5], target)
        state[p[0]]["edges"][p[1]] = math.exp(log_t)
    return {
        key: ThetaBand(st["edges"].get("lower", math.nan), st["edges"].get("upper", math.nan),
                       st["below"], st["above"], st["excluded"])
        for key, st in state.items()
    }
