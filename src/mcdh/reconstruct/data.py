"""Pseudo-data: the reconstructed events Belle II would record if a model point were true.

Per channel, each event carries what the detector measures (see
:mod:`mcdh.reconstruct.model` for the resolutions assumed): ``mchichi``
(smeared missing mass), ``E_gamma`` (gamma-phi, smeared CMS photon energy),
``phi_vr`` (transverse decay radius, mm, inside the region), ``m_vtx``
(vertex mass), the dark Higgs lab four-momentum ``phi_E, phi_px, phi_py,
phi_pz`` and the MC truth ``is_signal``.

* **Poisson data**: signal and mock background events drawn from independent
  high-statistics samples (not the fit's templates), Poisson numbers of each,
  each event smeared once, its decay radius drawn from its own exponential
  inside the region (signal) or uniformly (background), its vertex mass
  smeared around the true m_phi (signal) or flat across the vertex-mass
  window (background);
* **Asimov data**: the expected histogram itself, written as one weighted
  event per bin at the bin centre (weight = expected events), so that binning
  the file gives back the expectation exactly.

Files are ROOT ntuples in the layout ``mcdh generate`` writes (flat trees
``phi`` and ``gammaphi``, ``__weight__``, the ``mcdh_parameters`` header),
with the fit's configuration and the truth in the header. An analyst's own
ntuple with these branches can be fitted the same way.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from .. import seeds
from .._memory import preflight
from ..analysis.displacement import decay_probabilities, decay_probability, transverse_decay_length
from ..channels import CHANNELS
from ..errors import ParameterError, check_count
from ..generate.background import background_sigma_fb, generate_background
from ..generate.signal import generate_signal
from ..io.root import read_columns, write_columns
from ..kinematics.beams import Beams
from ..physics.widths import unit_mixing_width
from .model import DataModel, FitConfig, default_truth, observables

OBSERVABLES = {"phi": ("mchichi", "phi_vr", "m_vtx"), "gammaphi": ("E_gamma", "mchichi", "phi_vr", "m_vtx")}
"""The branches a fit reads, in the order of :meth:`DataModel.edges`."""
MAX_EVENTS = 1e12
"""The most events (sum of weights) a channel of a data set may hold: more than Belle II will ever record."""
RANGE_NAMES = {"phi_vr": " mm (the region)", "m_vtx": " GeV (the vertex-mass window)"}
EXTRA = ("phi_E", "phi_px", "phi_py", "phi_pz", "is_signal")


@dataclass
class Data:
    """A data set of reconstructed events per channel: {channel: {branch: array}} with ``__weight__``.

    ``config`` is the fit configuration the data were made with (or are to be fitted with);
    ``truth`` the parameters they were made from, when known.
    """

    events: dict[str, dict[str, np.ndarray]]
    config: FitConfig
    truth: dict[str, float] | None = None
    asimov: bool = False
    seed: int | None = None
    source: str | None = None
    """The file the data were read from (named when the data are refused)."""

    @property
    def channels(self) -> tuple[str, ...]:
        """The channels this data set holds."""
        return tuple(c for c in CHANNELS if c in self.events)

    def n_events(self) -> dict[str, float]:
        """Sum of weights per channel (events; expected events for Asimov data)."""
        return {c: float(self.events[c]["__weight__"].sum()) for c in self.channels}

    def counts(self, model: DataModel) -> dict[str, np.ndarray]:
        """The data histogram of each channel in the bins of ``model`` (events outside them are not counted:
        :meth:`select` says how many and why)."""
        return self.select(model)[0]

    def select(self, model: DataModel) -> tuple[dict[str, np.ndarray], dict[str, dict[str, float]]]:
        """The data histograms in the bins of ``model`` and, per channel, the events (sums of weights) left
        out, per reason: a value that is not finite, or one outside the fit's range of an observable (the
        radius outside the region, the vertex mass outside the window, ...). Each event is counted once,
        under the first reason that applies."""
        counts: dict[str, np.ndarray] = {}
        outside: dict[str, dict[str, float]] = {}
        for c in self.channels:
            if c not in model.channels:
                continue
            cols = self.events[c]
            w = cols["__weight__"]
            with np.errstate(invalid="ignore"):
                if np.any(w < 0) or not float(np.sum(w[np.isfinite(w)])) <= MAX_EVENTS:
                    raise ParameterError("data", self.source or "the data", f"{c} events need weights >= 0 adding up to "
                                         f"at most {MAX_EVENTS:g} events (more than any Belle II data set)")
            edges = model.edges(c)
            keep = np.isfinite(w)
            for b in OBSERVABLES[c]:
                keep &= np.isfinite(cols[b])
            lost: dict[str, float] = {}
            _count(lost, "not a finite number", w, ~keep)
            for b, e in zip(OBSERVABLES[c], edges):
                x = cols[b]
                with np.errstate(invalid="ignore"):
                    out = keep & ((x < e[0]) | (x > e[-1]))
                _count(lost, f"{b} outside [{e[0]:.6g}, {e[-1]:.6g}]{RANGE_NAMES.get(b, '')}", w, out)
                keep &= ~out
            sample = np.column_stack([cols[b][keep] for b in OBSERVABLES[c]])
            counts[c] = np.histogramdd(sample, bins=edges, weights=w[keep])[0]
            outside[c] = lost
        if not counts:
            raise ParameterError("data", self.channels, f"has none of the model's channels {model.channels}")
        return counts, outside

    def with_theta_from_data(self, seed: int = 0) -> Data:
        """These data with their configuration's theta replaced by the one their decay radii prefer
        (:func:`theta_from_data`): the templates are then centred where the data are."""
        theta = theta_from_data(self, self.config, seed=seed)
        return dataclasses.replace(self, config=dataclasses.replace(
            self.config, model=self.config.model.replace(theta=theta)))

    def write(self, path) -> None:
        """Write the data as a ROOT ntuple (atomically) with the configuration and the truth in its header."""
        write_columns(path, self.events, {"pseudodata": {"config": self.config.as_dict(), "truth": self.truth,
                                                         "asimov": self.asimov, "seed": self.seed}})

    @classmethod
    def read(cls, path, config: FitConfig | None = None) -> Data:
        """Data from a ROOT ntuple; ``config`` (default: the one in the file's header) fixes the model of the data."""
        cols, meta = read_columns(path, OBSERVABLES, optional=EXTRA)
        record: dict = meta["pseudodata"] if isinstance(meta.get("pseudodata"), dict) else {}
        if config is None:
            if "config" not in record:
                raise ParameterError("config", None, f"{path} records no model of the data: give the hypothesis "
                                     "(a FitConfig; on the command line --benchmark and --mA, with --lumi-fb, --nb "
                                     "and --region)")
            try:
                config = FitConfig.from_dict(record["config"])
            except ParameterError as exc:  # a value from the file's header: name the file, not a flag
                raise ParameterError("config", str(path), f"records a model of the data that cannot be used: {exc}") from None
        if sum(float(c["__weight__"].sum()) for c in cols.values()) <= 0:
            raise ParameterError("data", str(path), "holds no events (an empty data set cannot be fitted)")
        return cls(cols, config, record.get("truth"), bool(record.get("asimov", False)), record.get("seed"), str(path))


THETA_SCAN = np.logspace(-7.0, math.log10(math.pi / 2), 141)
"""The theta values :func:`theta_from_data` compares."""


def theta_from_data(data: Data, config: FitConfig, *, n_mc: int = 20_000, seed: int = 0) -> float:
    """The theta whose decay radii describe the data best, for a hypothesis that gives none: per channel, the
    radial distribution (20 bins) of the events inside the region and the vertex-mass window is fitted by the
    signal's radial shape at each theta of :data:`THETA_SCAN` (its yield free) over the background (flat in r,
    at its expected level). Of the theta within 0.5 of the smallest summed deviance, the one with the largest
    probability to decay inside the region wins: where the radii hardly tell (decay lengths far longer, or far
    shorter, than the region) that is the theta that needs the smallest eps."""
    model = config.model
    lo, hi = config.vertex_edges()[[0, -1]]
    widths = unit_mixing_width(model.m_phi, model.width_model) * np.sin(THETA_SCAN) ** 2
    total = np.zeros(THETA_SCAN.size)
    inside = np.zeros(THETA_SCAN.size)
    for c in data.channels:
        reg = config.region_for(c)
        edges = np.linspace(reg.r_in, reg.r_out, 21)
        cols = data.events[c]
        w, r, m = cols["__weight__"], cols["phi_vr"], cols["m_vtx"]
        with np.errstate(invalid="ignore"):
            sel = np.isfinite(w) & (r >= reg.r_in) & (r <= reg.r_out) & (m >= lo) & (m <= hi)
        n = np.histogram(r[sel], edges, weights=w[sel])[0]
        if not n.sum() > 0:
            continue
        ev = generate_signal(model, c, n_mc, np.random.default_rng([seed, 23]), n_threads=1)
        phi = Beams().to_lab(ev.momenta[:, ev.particles.index("phi")])
        d_ref = transverse_decay_length(np.hypot(phi[:, 1], phi[:, 2]), model.m_phi, widths[0])
        shape = np.stack([ev.weights @ decay_probabilities(d_ref, widths / widths[0], (edges[j], edges[j + 1]))
                          for j in range(edges.size - 1)], axis=-1)  # (theta, bins)
        norm = shape.sum(axis=1)
        inside += norm / ev.weights.sum()
        bkg = np.full(edges.size - 1, _background_level(config, c) / (edges.size - 1))
        for i, f in enumerate(shape):
            if not norm[i] > 1e-12 * norm.max():  # no decay inside the region at this theta: it cannot be it
                total[i] = np.inf
                continue
            total[i] += _best_yield_deviance(n, f / norm[i], bkg)
    near = np.flatnonzero(total <= total.min() + 0.5)
    if not near.size:
        raise ParameterError("data", data.source or "the data", "has no events inside the region and the vertex-mass "
                             "window: theta cannot be taken from it (give the hypothesis's theta)")
    return float(THETA_SCAN[near[np.argmax(inside[near])]])


def _best_yield_deviance(n: np.ndarray, shape: np.ndarray, bkg: np.ndarray) -> float:
    """-2 log L (up to a constant) of counts ``n`` for ``y shape + bkg``, minimised over the yield y >= 0."""
    from scipy.optimize import minimize_scalar

    def deviance(y: float) -> float:
        mu = y * shape + bkg + 1e-12
        return 2.0 * float(np.sum(mu - n * np.log(mu)))

    return float(minimize_scalar(deviance, bounds=(0.0, 2.0 * float(n.sum()) + 10.0), method="bounded").fun)


def _background_level(config: FitConfig, channel: str) -> float:
    """Expected background events of a channel at b = 1."""
    return background_sigma_fb(channel, config.n_b) * config.luminosity_fb


def _count(lost: dict[str, float], reason: str, w: np.ndarray, mask: np.ndarray) -> None:
    if mask.any():
        lost[reason] = lost.get(reason, 0.0) + float(np.sum(np.where(np.isfinite(w[mask]), w[mask], 1.0)))


def asimov_data(model: DataModel, truth: dict[str, float] | None = None) -> Data:
    """The Asimov data set: each bin's expected events as one weighted event at the bin centre."""
    truth = {**default_truth(model.config), **(truth or {})}
    mu = model.expected(truth)
    events = {}
    for c, m in mu.items():
        centres = [0.5 * (e[1:] + e[:-1]) for e in model.edges(c)]
        grids = np.meshgrid(*centres, indexing="ij")
        keep = m.ravel() > 0
        cols = {b: g.ravel()[keep] for b, g in zip(OBSERVABLES[c], grids)}
        cols["__weight__"] = m.ravel()[keep]
        events[c] = cols
    return Data(events, model.config, truth, asimov=True)


def poisson_data(config: FitConfig, truth: dict[str, float] | None = None, *, seed: int = 0,
                 mc_events: int = 200_000, channels=CHANNELS) -> Data:
    """Poisson pseudo-data: reconstructed signal and background events (see the module docstring)."""
    truth = {**default_truth(config), **(truth or {})}
    mc_events = check_count("mc_events", mc_events, 1000)
    for name in ("eps", "b"):
        if not (math.isfinite(truth[name]) and truth[name] >= 0):
            raise ParameterError(f"truth[{name!r}]", truth[name], "must be finite and >= 0")
    expected = sum(_background_level(config, c) * truth["b"] for c in channels)
    preflight(8.0 * 14 * expected, f"pseudo-data of about {expected:.3g} background events", "n_b", config.n_b,
              "a smaller N_b or luminosity")
    rng = np.random.default_rng(seeds.pseudo_data(check_count("seed", seed, 0)))
    events = {}
    for c in channels:
        parts = [_background_events(config, c, truth["b"], rng, mc_events)]
        if truth["eps"] > 0:
            parts.append(_signal_events(config, c, truth, rng, mc_events))
        events[c] = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return Data(events, config, truth, asimov=False, seed=seed)


def _reconstructed(config: FitConfig, channel: str, ev, pick: np.ndarray, r: np.ndarray, m_vertex: float | None,
                   rng, signal: bool) -> dict:
    """The measured columns of the picked events: smeared energies, the radius ``r``, the vertex mass
    ``m_vertex`` smeared (None: flat across the vertex-mass window, random two-track vertices)."""
    res = config.resolution
    obs = [x[pick] for x in observables(channel, ev.momenta, ev.particles)]
    smeared = [x + res.sigma(x) * rng.standard_normal(x.size) for x in obs]
    phi = Beams().to_lab(ev.momenta[pick, ev.particles.index("phi")])
    cols = dict(zip([b for b in OBSERVABLES[channel] if b not in ("phi_vr", "m_vtx")], smeared))
    if m_vertex is None:
        lo, hi = config.vertex_edges()[[0, -1]]
        m_vtx = lo + (hi - lo) * rng.random(pick.size)
    else:
        m_vtx = m_vertex + config.sigma_vtx * rng.standard_normal(pick.size)
    cols |= {"phi_vr": r, "m_vtx": m_vtx,
             "phi_E": phi[:, 0], "phi_px": phi[:, 1], "phi_py": phi[:, 2], "phi_pz": phi[:, 3],
             "is_signal": np.full(pick.size, float(signal)), "__weight__": np.ones(pick.size)}
    return cols


def _draw(mu: np.ndarray, rng) -> np.ndarray:
    """Indices of a Poisson number of events, each picked with probability proportional to ``mu``."""
    total = float(mu.sum())
    n = int(rng.poisson(total)) if total > 0 else 0
    return rng.choice(mu.size, size=n, p=mu / total) if n else np.empty(0, dtype=np.int64)


def _signal_events(config: FitConfig, channel: str, truth: dict, rng, n_mc: int) -> dict:
    model = config.model.replace(m_A=truth["m_A"], m_phi=truth["m_phi"], eps=truth["eps"], theta=truth["theta"])
    ev = generate_signal(model, channel, n_mc, rng, n_threads=1)
    p_lab = Beams().to_lab(ev.momenta[:, ev.particles.index("phi")])
    width = unit_mixing_width(model.m_phi, model.width_model) * math.sin(model.theta) ** 2
    d = transverse_decay_length(np.hypot(p_lab[:, 1], p_lab[:, 2]), model.m_phi, width)
    reg = config.region_for(channel)
    pick = _draw(ev.weights * config.luminosity_fb * decay_probability(d, reg), rng)
    # the radius from the event's exponential, conditioned on the region: r = r_in - d log(1 - u (1 - e^-(span/d)))
    dd = d[pick]
    u = rng.random(pick.size)
    r = reg.r_in - dd * np.log1p(-u * -np.expm1(-(reg.r_out - reg.r_in) / dd))
    return _reconstructed(config, channel, ev, pick, np.clip(r, reg.r_in, reg.r_out), model.m_phi, rng, True)


def _background_events(config: FitConfig, channel: str, b: float, rng, n_mc: int) -> dict:
    m = config.model
    ev = generate_background(channel, m.m_phi, m.m_chi, n_mc, rng, n_b=config.n_b, sqrt_s=m.sqrt_s, n_threads=1)
    pick = _draw(ev.weights * config.luminosity_fb * b, rng)
    reg = config.region_for(channel)
    r = reg.r_in + (reg.r_out - reg.r_in) * rng.random(pick.size)
    return _reconstructed(config, channel, ev, pick, r, None, rng, False)
