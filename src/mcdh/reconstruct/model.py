"""The model of the data: expected binned yields of both channels as smooth functions of the parameters.

What the detector measures, per event (the observables of a fit)
-----------------------------------------------------------------
* both channels: the missing mass m_chichi (smeared with the resolution of
  appendix A, as the paper's analysis smears it), the transverse radius r of
  the displaced vertex inside the chosen region, and the vertex mass m_vtx
  (the invariant mass of the phi decay products);
* gamma-phi also the CMS photon energy E_gamma (smeared likewise).

Assumptions, each a parameter of :class:`FitConfig`:

* **vertex mass**: Gaussian around m_phi with sigma = ``vertex_resolution``
  x m_phi of the hypothesis (default 1 %: two tracks measured by the Belle II
  vertex detector and drift chamber; the track momenta themselves are taken
  as exact, so the radius is the true one);
* **vertex-mass window**: the fit uses the events whose vertex mass lies
  within +-5 sigma of the hypothesis m_phi (the paper's vertex-mass
  selection); events outside it, or outside the region or the other
  observables' ranges, are counted per reason and reported
  (:meth:`~mcdh.reconstruct.data.Data.select`), never dropped silently;
* **background**: the paper's mock background (flat phase space, N_b phi
  events and 0.22 N_b gamma-phi events at 10 ab^-1) for m_chichi and
  E_gamma, **flat in the vertex mass** across the window (random two-track
  vertices: nothing in the background knows the hypothesised m_phi) and
  uniform in r over the region; N_b events in the window at b = 1. Its
  normalisation is a free nuisance parameter ``b`` unless fixed. (Its
  m_chichi and E_gamma shapes are those of phase space with the hypothesis's
  m_phi, whose endpoint sqrt(s) - m_phi moves with it: under the signal's
  m_chichi peak the shape moves by < 1 % per bin, and its amount by < 2.5 %,
  which b absorbs, across the whole m_phi grid of +-5 sigma_vtx; checked by a
  test);
* **fixed**: m_chi, g_chi, q_phi and the width model. The rate measures
  eps^2 x (g_chi q_phi)^2-dependent couplings together (paper section 2):
  eps is determined only because g_chi is fixed, and so is reported.

How the yields depend on the parameters
---------------------------------------
* eps: exactly, yields scale as eps^2;
* theta: only through the decay radius. Gamma_phi = sin^2(theta) Gamma_1(m_phi)
  (Gamma_1 the width at sin theta = 1), and each event's decay probability in
  each radial bin follows from d = p_T hbar c / (Gamma_phi m_phi). The
  templates are tabulated in log10 Gamma_phi (``width_nodes`` per decade);
* m_A and m_phi: templates made at grid nodes with **common random numbers**
  (:class:`~mcdh.generate.signal.FixedUniforms`: the same uniforms at every
  node, so events move continuously with the masses) and the **expected**
  smearing (each event's Gaussian integrated over the bins, no smearing
  noise), so a template is a smooth function of the masses;
* between nodes the yields are interpolated with cubic B-splines in
  (m_A, m_phi, log10 Gamma_phi) through the nodes (the tables are
  prefiltered once, mirror boundaries): continuous with continuous first
  and second derivatives, so the curvature of -2 log L - the HESSE errors -
  does not depend on where the minimum falls between nodes.

The vertex-mass distribution is a Gaussian at m_phi whatever the rest, so it
is an analytic factor of every bin: it is never tabulated.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy.special import ndtr

from .. import seeds
from .._memory import preflight
from ..analysis.displacement import Region, decay_probabilities, get_region, transverse_decay_length
from ..analysis.smearing import Resolution
from ..channels import CHANNELS, PARTICLES, check_channel
from ..errors import ParameterError, check_count, check_luminosity, check_positive
from ..generate.background import check_n_b, generate_background
from ..generate.signal import FixedUniforms
from ..kinematics.beams import Beams
from ..kinematics.variables import e_bar, pair_mass
from ..physics.model import DarkSector
from ..physics.widths import HADRONIC_VALIDITY_GEV, unit_mixing_width, width_envelope
from ..settings import LUMINOSITY_FB

PARAMETERS = ("m_A", "m_phi", "eps", "theta")
"""The physics parameters of a fit (m_chi, g_chi fixed at the hypothesis)."""
VERTEX_WINDOW = 5.0
"""Half-width of the vertex-mass window in units of the vertex-mass resolution."""


@dataclass(frozen=True)
class FitConfig:
    """Everything that fixes the model of the data (and the binning of the data).

    Parameters
    ----------
    model : DarkSector
        The hypothesis the templates are built around (its masses are the grid
        centres, its eps/theta the reference the yields scale from).
    luminosity_fb : float
        Integrated luminosity (fb^-1).
    n_b : float
        Background level N_b (phi-channel events at 10 ab^-1; gamma-phi 0.22 N_b).
    region : str, Region or (r_in, r_out)
        Where the vertex must be (finite: the radius is measured).
    region_gammaphi : str, Region or (r_in, r_out), optional
        Another region for the gamma-phi channel, e.g. (170, 600) mm: the instrumented region the
        paper's conclusion proposes for it (default: ``region``).
    resolution : Resolution
        Energy resolution of m_chichi and E_gamma (appendix A).
    vertex_resolution : float
        Relative Gaussian resolution of the vertex mass.
    radial_bins : int
        Bins of equal width in r inside the region.
    template_events : int
        Events per channel at every mass node (the same uniforms at each).
    background_events : int
        Events of the mock background templates.
    seed : int
        Seed of the templates (uniforms, channel weights, background).
    m_A_span, m_phi_span : float
        Half-widths of the template grid in m_A and m_phi, in units of the
        m_chichi resolution at m_A and of the vertex-mass resolution.
    m_A_nodes, m_phi_nodes : int
        Grid nodes along m_A and m_phi.
    width_decades : float
        Half-width of the grid in log10 Gamma_phi around the hypothesis.
    width_nodes : int
        Grid nodes per decade of Gamma_phi.
    """

    model: DarkSector
    luminosity_fb: float = LUMINOSITY_FB
    n_b: float = 1.0
    region: Region = field(default_factory=lambda: get_region("uninstrumented"))
    region_gammaphi: Region | None = None
    resolution: Resolution = field(default_factory=Resolution)
    vertex_resolution: float = 0.01
    radial_bins: int = 5
    template_events: int = 40_000
    background_events: int = 100_000
    seed: int = 0
    m_A_span: float = 3.0
    m_phi_span: float = 5.0
    m_A_nodes: int = 13
    m_phi_nodes: int = 5
    width_decades: float = 1.0
    width_nodes: int = 10

    def __post_init__(self):
        if not isinstance(self.model, DarkSector):
            raise ParameterError("model", type(self.model).__name__, "must be a DarkSector")
        for name in ("region", "region_gammaphi"):
            reg = getattr(self, name)
            if reg is None:
                continue
            if isinstance(reg, dict):
                reg = Region(reg["name"], reg["r_in"], reg["r_out"])
            object.__setattr__(self, name, get_region(reg))
            if not math.isfinite(getattr(self, name).r_out):
                raise ParameterError(name, getattr(self, name).name, "must be finite: the fit measures the decay radius "
                                     "inside it")
        if isinstance(self.resolution, dict):
            object.__setattr__(self, "resolution", Resolution(**self.resolution))
        object.__setattr__(self, "luminosity_fb", check_luminosity("luminosity_fb", self.luminosity_fb))
        for name in ("vertex_resolution", "m_A_span", "m_phi_span", "width_decades"):
            object.__setattr__(self, name, check_positive(name, getattr(self, name)))
        object.__setattr__(self, "n_b", check_n_b(self.n_b))
        for name, least in (("radial_bins", 1), ("template_events", 100), ("background_events", 100), ("seed", 0),
                            ("m_A_nodes", 4), ("m_phi_nodes", 4), ("width_nodes", 2)):
            object.__setattr__(self, name, check_count(name, getattr(self, name), least))
        self._preflight()

    def _preflight(self) -> None:
        """Refuse templates that would not fit in memory before anything is made (sizes may come from a file)."""
        n_w = int(round(2 * self.width_decades * self.width_nodes)) + 1
        bins = max(math.prod(e.size - 1 for e in self.axes(c)) for c in CHANNELS)
        n_table = self.m_A_nodes * self.m_phi_nodes * n_w * bins
        preflight(8.0 * 2 * n_table, f"templates of {n_table:.3g} yields per channel", "m_A_nodes", self.m_A_nodes,
                  "fewer grid nodes (m_A_nodes, m_phi_nodes, width_nodes, width_decades) or radial bins")
        per_event = n_w * self.radial_bins + bins // self.radial_bins + 64
        preflight(8.0 * per_event * max(self.template_events, self.background_events),
                  f"template nodes of {max(self.template_events, self.background_events):.3g} events",
                  "template_events", self.template_events, "fewer template (or background) events")

    def as_dict(self) -> dict:
        """The JSON form of the configuration (recorded with pseudo-data)."""
        d = asdict(self)
        d["model"] = self.model.as_dict()
        for name in ("region", "region_gammaphi"):
            reg = getattr(self, name)
            d[name] = None if reg is None else {"name": reg.name, "r_in": reg.r_in, "r_out": reg.r_out}
        return d

    @classmethod
    def from_dict(cls, d: dict) -> FitConfig:
        """The config recorded by :meth:`as_dict` (e.g. in a pseudo-data file)."""
        if not isinstance(d, dict) or not isinstance(d.get("model"), dict):
            raise ParameterError("config", type(d).__name__, "must be a FitConfig record with a 'model' object")
        d = dict(d)
        try:
            d["model"] = DarkSector(**d["model"])
            return cls(**d)
        except (TypeError, KeyError) as exc:
            raise ParameterError("config", sorted(d), f"is not a FitConfig record ({exc})") from None

    # ------------------------------------------------------------------
    def region_for(self, channel: str) -> Region:
        """The region of ``channel``'s vertices."""
        if check_channel(channel) == "gammaphi" and self.region_gammaphi is not None:
            return self.region_gammaphi
        return self.region

    @property
    def sigma_m(self) -> float:
        """m_chichi resolution at the hypothesis m_A (GeV)."""
        return float(self.resolution.sigma(self.model.m_A))

    @property
    def sigma_vtx(self) -> float:
        """Vertex-mass resolution (GeV)."""
        return self.vertex_resolution * self.model.m_phi

    def grid(self) -> dict[str, np.ndarray]:
        """The template nodes: m_A and m_phi (GeV) and log10 Gamma_phi (GeV)."""
        m = self.model
        g0 = math.log10(unit_mixing_width(m.m_phi, m.width_model) * math.sin(m.theta) ** 2)
        n_w = int(round(2 * self.width_decades * self.width_nodes)) + 1
        return {
            "m_A": m.m_A + self.m_A_span * self.sigma_m * np.linspace(-1.0, 1.0, self.m_A_nodes),
            "m_phi": m.m_phi + self.m_phi_span * self.sigma_vtx * np.linspace(-1.0, 1.0, self.m_phi_nodes),
            "log_width": g0 + self.width_decades * np.linspace(-1.0, 1.0, n_w),
        }

    def axes(self, channel: str) -> list[np.ndarray]:
        """Bin edges of the tabulated observables: (m_chichi, r) for phi, (E_gamma, m_chichi, r) for gamma-phi."""
        m = self.model
        mass_axis = _axis(m.m_A, self.sigma_m, 2.0 * m.m_chi, m.sqrt_s - m.m_phi, fine=20)
        reg = self.region_for(channel)
        r = np.linspace(reg.r_in, reg.r_out, self.radial_bins + 1)
        if check_channel(channel) == "phi":
            return [mass_axis, r]
        eb = e_bar(m.m_A, m.sqrt_s)
        e_axis = _axis(eb, float(self.resolution.sigma(eb)), 0.0, m.sqrt_s / 2.0, fine=12)
        return [e_axis, _axis(m.m_A, self.sigma_m, 2.0 * m.m_chi, m.sqrt_s - m.m_phi, fine=10), r]

    def vertex_edges(self) -> np.ndarray:
        """Bin edges of the vertex mass: the window, 10 bins over +-5 sigma around the hypothesis m_phi."""
        return self.model.m_phi + VERTEX_WINDOW * self.sigma_vtx * np.linspace(-1.0, 1.0, 11)


def _axis(centre: float, sigma: float, lo: float, hi: float, fine: int) -> np.ndarray:
    """Edges: ``fine`` bins over centre +- 6 sigma (inside [lo, hi] when possible), three bins on each side
    up to the physical range, and outer edges that hold every smeared value (0 and 10 x the range)."""
    a, b = max(lo, centre - 6.0 * sigma), min(hi, centre + 6.0 * sigma)
    if not b > a:
        raise ParameterError("model", (centre, lo, hi), "leaves no room for the signal peak in its observable")
    inner = np.linspace(a, b, fine + 1)
    left = np.linspace(lo, a, 4)[:-1] if a - lo > 0.5 * sigma else np.empty(0)
    right = np.linspace(b, hi, 4)[1:] if hi - b > 0.5 * sigma else np.empty(0)
    return np.unique(np.concatenate([[0.0], left, inner, right, [10.0 * hi]]))  # unique: lo may be 0


def observables(channel: str, momenta: np.ndarray, particles=None) -> list[np.ndarray]:
    """The tabulated energies of CMS events: [m_chichi] (phi) or [E_gamma, m_chichi] (gamma-phi)."""
    slot = (PARTICLES[channel] if particles is None else tuple(particles)).index
    m = pair_mass(momenta[:, slot("chi")], momenta[:, slot("chibar")])
    return [m] if channel == "phi" else [momenta[:, slot("gamma"), 0], m]


def expected_smearing(x: np.ndarray, edges: np.ndarray, resolution: Resolution) -> np.ndarray:
    """(n_events, n_bins): the probability that each event's value x, smeared by a Gaussian of the
    resolution at x (the paper's smearing), falls in each bin - the limit of infinitely many copies."""
    s = np.asarray(resolution.sigma(x), dtype=np.float64)
    cdf = ndtr((edges[None, :] - x[:, None]) / s[:, None])
    return np.diff(cdf, axis=1)


def _bspline(nodes: np.ndarray, x: float) -> tuple[np.ndarray, np.ndarray]:
    """The four coefficient indices (mirrored at the ends) and uniform cubic B-spline weights at ``x`` on
    uniform ``nodes`` - for coefficients prefiltered by :func:`spline_coefficients`."""
    t = (x - nodes[0]) / (nodes[1] - nodes[0])
    n = nodes.size
    i = min(max(int(math.floor(t)), 0), n - 2)
    f = t - i
    g = 1.0 - f
    w = np.array([g * g * g / 6.0, (3.0 * f * f * (f - 2.0) + 4.0) / 6.0, (3.0 * f * (1.0 + f * g) + 1.0) / 6.0,
                  f * f * f / 6.0])
    idx = np.abs(np.arange(i - 1, i + 3))
    idx = np.where(idx > n - 1, 2 * (n - 1) - idx, idx)
    return idx, w


def spline_coefficients(table: np.ndarray, axes=(0, 1, 2)) -> np.ndarray:
    """Cubic B-spline coefficients of ``table`` along the grid ``axes`` (mirror boundaries), such that
    :func:`stencil` weights interpolate the table through its nodes."""
    from scipy.ndimage import spline_filter1d

    out = np.asarray(table, dtype=np.float64)
    for ax in axes:
        out = spline_filter1d(out, order=3, axis=ax, mode="mirror", output=np.float64)
    return out


class ChannelTemplates:
    """The expected signal and background yields of one channel, tabulated on the grid of a :class:`FitConfig`.

    ``coefficients`` has shape (n_mA, n_mphi, n_width, *bins): the B-spline
    coefficients of the expected events at the hypothesis eps (interpolated by
    :meth:`interpolate`); ``background`` has the shape of the bins (at b = 1).
    Neither includes the vertex mass (an analytic factor).
    """

    def __init__(self, config: FitConfig, channel: str, progress=None):
        self.config = config
        self.channel = check_channel(channel)
        self.axes = config.axes(channel)
        grid = config.grid()
        self.grid = grid
        model = config.model
        L = config.luminosity_fb
        crn = FixedUniforms(model, channel, config.template_events, seed=_seed(config.seed, channel, 0))
        widths = 10.0 ** grid["log_width"]
        shape = tuple(e.size - 1 for e in self.axes)
        table = np.empty((grid["m_A"].size, grid["m_phi"].size, widths.size) + shape)
        beams = Beams()
        for a, m_A in enumerate(grid["m_A"]):
            for b, m_phi in enumerate(grid["m_phi"]):
                node = model.replace(m_A=float(m_A), m_phi=float(m_phi))
                mom, w = crn.events(node)
                table[a, b] = self._fill(mom, w * L, node.m_phi, widths, beams)
                if progress is not None:
                    progress(1)
        self.coefficients = spline_coefficients(table)
        del table
        self.background = self._background(model, L)

    def _fill(self, mom, events, m_phi, widths, beams) -> np.ndarray:
        """Expected yields (n_width, *bins) of one node's events (``events``: expected events per event)."""
        res = self.config.resolution
        obs = observables(self.channel, mom)
        phi = mom[:, PARTICLES[self.channel].index("phi")]
        p_lab = beams.to_lab(phi)
        p_t = np.hypot(p_lab[:, 1], p_lab[:, 2])
        d_ref = transverse_decay_length(p_t, m_phi, widths[0])
        scale = widths / widths[0]
        r = self.axes[-1]
        radial = np.stack([decay_probabilities(d_ref, scale, (r[j], r[j + 1])) for j in range(r.size - 1)], axis=-1)
        smear = [expected_smearing(x, e, res) for x, e in zip(obs, self.axes[:-1])]
        if len(smear) == 1:
            a = smear[0] * events[:, None]
            out = np.einsum("ei,ewj->wij", a, radial, optimize=True)
        else:
            a = (smear[0][:, :, None] * smear[1][:, None, :] * events[:, None, None]).reshape(len(events), -1)
            out = np.einsum("ek,ewj->wkj", a, radial, optimize=True).reshape((widths.size,) + tuple(
                e.size - 1 for e in self.axes))
        return out

    def _background(self, model: DarkSector, L: float) -> np.ndarray:
        c = self.config
        ev = generate_background(self.channel, model.m_phi, model.m_chi, c.background_events,
                                 _seed(c.seed, self.channel, 1), n_b=c.n_b, sqrt_s=model.sqrt_s, n_threads=1)
        obs = observables(self.channel, ev.momenta, ev.particles)
        smear = [expected_smearing(x, e, c.resolution) for x, e in zip(obs, self.axes[:-1])]
        w = ev.weights * L
        h = smear[0].T @ w if len(smear) == 1 else np.einsum("ei,ek,e->ik", smear[0], smear[1], w, optimize=True)
        r = self.axes[-1]
        return h[..., None] * (np.diff(r) / (r[-1] - r[0]))  # uniform in r over the region

    def signal_at(self, m_A: float, m_phi: float, log_width: float) -> np.ndarray:
        """Interpolated signal yields (bins) at the hypothesis eps."""
        return self.interpolate(*stencil(self.grid, m_A, m_phi, log_width))

    def interpolate(self, rows: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """The yields of a :func:`stencil`: its nodes' templates, weighted."""
        c = self.coefficients
        flat = c.reshape(-1, c[0, 0, 0].size)  # a view: one row per node
        return (weights @ flat[rows]).reshape(c.shape[3:])


def stencil(grid: dict[str, np.ndarray], m_A: float, m_phi: float, log_width: float) -> tuple[np.ndarray, np.ndarray]:
    """The 64 grid coefficients around a point (flat indices into the (m_A, m_phi, log_width) grid) and their
    B-spline weights: the same for every channel, whose templates share the grid."""
    ia, wa = _bspline(grid["m_A"], m_A)
    ib, wb = _bspline(grid["m_phi"], m_phi)
    ic, wc = _bspline(grid["log_width"], log_width)
    n_b, n_c = grid["m_phi"].size, grid["log_width"].size
    rows = ((ia[:, None, None] * n_b + ib[None, :, None]) * n_c + ic[None, None, :]).ravel()
    return rows, (wa[:, None, None] * wb[None, :, None] * wc[None, None, :]).ravel()


def default_truth(config: FitConfig) -> dict[str, float]:
    """The parameters of the configuration's model, the background at its generated level (b = 1)."""
    m = config.model
    return {"m_A": m.m_A, "m_phi": m.m_phi, "eps": m.eps, "theta": m.theta, "b": 1.0}


def _seed(seed: int, channel: str, what: int) -> int:
    return seeds.templates(seed, channel, what)


def width_model_note(m_phi: float, width_model: str) -> str | None:
    """What theta rests on: the hadronic width model the fit uses and how far the width models disagree at
    ``m_phi`` (theta scales as Gamma_1^(-1/2) at a measured width); None where every model has the same width
    (below the pi pi threshold)."""
    env = width_envelope(m_phi)
    spread = env.upper / env.lower
    if spread <= 1.0 + 1e-12:
        return None
    text = (f"theta is inferred from the measured width Gamma_phi = sin^2(theta) Gamma_1(m_phi) with the {width_model} "
            f"hadronic widths; the width models (winkler, dgl, btpz and their 1 sigma) span a factor {spread:.3g} in "
            f"Gamma_1 at m_phi = {m_phi:.3g} GeV, so theta carries a further factor {math.sqrt(spread):.3g} of theory "
            "uncertainty (refit with --width-model to see it)")
    if m_phi > HADRONIC_VALIDITY_GEV:
        text += (f"; above m_phi = {HADRONIC_VALIDITY_GEV} GeV every model misses 4 pi and eta eta decays: what the "
                 "data measure is the lifetime")
    return text


class DataModel:
    """Expected binned yields of both channels, with the vertex mass, as a function of the parameters.

    >>> dm = DataModel(FitConfig(DarkSector.from_benchmark("B1", 6.0, eps=3e-4)))   # doctest: +SKIP
    >>> mu = dm.expected({"m_A": 6.0, "m_phi": 1.0, "eps": 3e-4, "theta": 1e-4, "b": 1.0})   # doctest: +SKIP
    """

    def __init__(self, config: FitConfig, channels=CHANNELS, progress: bool = False):
        from .._progress import progress_bar

        self.config = config
        self.channels: tuple[str, ...] = tuple(check_channel(c) for c in channels)
        self.grid = grid = config.grid()
        n = len(self.channels) * grid["m_A"].size * grid["m_phi"].size
        with progress_bar(n, "templates", "node", progress) as advance:
            self.templates: dict[str, ChannelTemplates] = {c: ChannelTemplates(config, c, advance) for c in self.channels}
        self.vertex_edges = config.vertex_edges()
        m = config.model
        self.eps_ref = m.eps
        # Gamma_1(m_phi) smooth in m_phi: a cubic spline of log Gamma_1 through the width model over the grid
        from scipy.interpolate import CubicSpline  # 0.3 s to import: only when a model of the data is built

        mp = np.linspace(grid["m_phi"][0], grid["m_phi"][-1], 41)
        self._log_width1 = CubicSpline(mp, np.log10([unit_mixing_width(x, m.width_model) for x in mp]))
        self._vertex_bkg = np.diff(self.vertex_edges) / (self.vertex_edges[-1] - self.vertex_edges[0])  # flat
        self.width_note = width_model_note(m.m_phi, m.width_model)

    def log_width(self, m_phi: float, theta: float) -> float:
        """log10 Gamma_phi (GeV) at (m_phi, theta)."""
        return float(self._log_width1(m_phi)) + 2.0 * math.log10(math.sin(theta))

    def theta_range(self, m_phi: float) -> tuple[float, float]:
        """The theta the grid covers at ``m_phi``."""
        g = self.grid["log_width"]
        w1 = float(self._log_width1(m_phi))
        return tuple(math.asin(min(1.0, 10.0 ** ((x - w1) / 2.0))) for x in (g[0], g[-1]))  # type: ignore[return-value]

    def vertex_factor(self, m_phi: float) -> np.ndarray:
        """Probability of each vertex-mass bin for a vertex of mass ``m_phi``."""
        return np.diff(ndtr((self.vertex_edges - m_phi) / self.config.sigma_vtx))

    def signal(self, channel: str, m_A: float, m_phi: float, eps: float, theta: float) -> np.ndarray:
        """Expected signal events per bin (bins x vertex-mass bins)."""
        return self.expected({"m_A": m_A, "m_phi": m_phi, "eps": eps, "theta": theta, "b": 0.0}, (channel,))[channel]

    def background(self, channel: str, b: float = 1.0) -> np.ndarray:
        """Background events per bin (bins x vertex-mass bins) at normalisation ``b``."""
        return b * self.templates[channel].background[..., None] * self._vertex_bkg

    def expected(self, p: dict, channels=None) -> dict[str, np.ndarray]:
        """Signal + background per bin for the parameters ``p`` (m_A, m_phi, eps, theta, b; per-channel
        overrides ``m_A_<channel>``, ``eps_<channel>`` for the model test), of ``channels`` (default all).

        The likelihood's inner loop: what the channels share (the width, the vertex-mass factor, the
        interpolation stencil) is computed once.
        """
        m_phi = p["m_phi"]
        log_width = self.log_width(m_phi, p["theta"])
        vertex = self.vertex_factor(m_phi)
        stencils: dict[float, tuple[np.ndarray, np.ndarray]] = {}
        out = {}
        for c in (self.channels if channels is None else channels):
            m_A = p.get(f"m_A_{c}", p["m_A"])
            if m_A not in stencils:
                stencils[m_A] = stencil(self.grid, m_A, m_phi, log_width)
            s = self.templates[c].interpolate(*stencils[m_A]) * (p.get(f"eps_{c}", p["eps"]) / self.eps_ref) ** 2
            # the cubic can undershoot next to an empty bin: yields are >= 0
            out[c] = np.maximum(s, 0.0)[..., None] * vertex + self.background(c, p.get("b", 1.0))
        return out

    def edges(self, channel: str) -> list[np.ndarray]:
        """All bin edges of a channel's data histogram, the vertex mass last."""
        return [*self.templates[channel].axes, self.vertex_edges]
