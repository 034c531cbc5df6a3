"""Mock backgrounds of the paper's section 3.2 (docs/physics-notes.md section 10).

Flat phase space (a constant matrix element) generated with RAMBO:

* ``"phi"`` channel: 2 -> 3 with masses (m_phi, m_chi, m_chi). The m_phi
  particle stands for the displaced vertex, the two m_chi particles for a
  continuum of missing four-momentum with m_chichi in [2 m_chi, sqrt_s - m_phi].
* ``"gammaphi"`` channel: 2 -> 4 with (0, m_phi, m_chi, m_chi) and the Belle II
  photon acceptance applied in the CMS.

Normalisation: N_b is the number of background events of the phi channel at
the reference luminosity of 10 ab^-1 (the paper's; :data:`mcdh.settings.LUMINOSITY_FB`),
before any analysis selection. The background cross section is therefore
fixed: the sample's weights sum to ``n_b / 1e4 fb^-1`` (fb) for the phi channel
and ``0.22 n_b / 1e4 fb^-1`` for gamma-phi, and at a luminosity L it predicts
N_b L / 10 ab^-1 (0.22 times that) events, like the signal scales. For gamma-phi the photon acceptance is part of the generation (as
for the signal), so the normalisation holds for events inside the acceptance.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from .._memory import preflight
from .._progress import progress_bar
from ..channels import PARTICLES, check_channel
from ..errors import ParameterError, check_count, check_luminosity, check_nonnegative, check_positive
from ..events import Events
from ..kinematics.acceptance import PhotonAcceptance
from ..kinematics.variables import pair_mass
from ..physics.constants import SQRT_S
from ..settings import GAMMAPHI_BACKGROUND_RATIO, LUMINOSITY_FB
from .phasespace import as_generator, rambo, rambo_batches, seed_record


def background_masses(channel: str, m_phi: float, m_chi: float) -> tuple[float, ...]:
    """Final-state masses of the mock background of ``channel``."""
    if channel == "phi":
        return (m_phi, m_chi, m_chi)
    check_channel(channel)
    return (0.0, m_phi, m_chi, m_chi)


N_B_MAX = 1e15
"""Largest background level accepted: all e+e- collisions in 10 ab^-1 at Belle II are about 1e12 events
(beyond, weights squared in the Monte Carlo error overflow double precision)."""


def check_n_b(n_b, name: str = "n_b") -> float:
    """A background level N_b (phi-channel events at 10 ab^-1): finite, >= 0 and at most :data:`N_B_MAX`."""
    n_b = check_nonnegative(name, n_b)
    if not n_b <= N_B_MAX:
        raise ParameterError(name, n_b, f"must be at most {N_B_MAX:g} (more than every e+e- collision in 10 ab^-1)")
    return n_b


def generate_background(
    channel: str,
    m_phi: float,
    m_chi: float,
    n_events: int,
    rng: np.random.Generator | int | None = None,
    *,
    n_b: float = 1.0,
    sqrt_s: float = SQRT_S,
    acceptance: PhotonAcceptance | None = None,
    unweight: bool = False,
    n_threads: int | None = None,
    progress: bool = False,
) -> Events:
    """Generate the mock background of ``channel``.

    Parameters
    ----------
    channel : {"phi", "gammaphi"}
        Which signal's background.
    m_phi, m_chi : float
        Masses of the dark Higgs proxy and of each missing-mass proxy (GeV).
    n_events : int
        Weighted events wanted (after the photon acceptance for gamma-phi).
    rng : numpy.random.Generator, int or None
        Random source or seed.
    n_b : float
        Background level: expected phi-channel events N_b at the reference
        luminosity of 10 ab^-1 (gamma-phi: 0.22 N_b).
    sqrt_s : float
        CMS energy in GeV.
    acceptance : PhotonAcceptance, optional
        Photon acceptance for gamma-phi (default: Belle II, E >= 0.25 GeV,
        22-158 degrees).
    unweight : bool
        Hit-or-miss unweighting against the sample's largest weight: returns
        the kept subset (about efficiency x n_events events) with equal weights.
    n_threads : int, optional
        Threads for RAMBO; results do not depend on it.
    progress : bool
        Show a progress bar.

    Returns
    -------
    Events
        CMS-frame events whose weights sum to the normalised cross section in
        fb. ``parameters`` records the inputs, the raw phase-space integral,
        the acceptance efficiency and (if unweighted) the unweighting efficiency.
    """
    run = _Run(channel, m_phi, m_chi, n_events, n_b, sqrt_s, acceptance, n_threads)
    gen = as_generator(rng)
    preflight(8.0 * run.n_events * (4 * len(run.masses) + 1), f"{run.n_events} background events", "n_events", run.n_events)
    if run.acc is None:  # no acceptance: RAMBO fills the sample in place
        p, w = rambo(run.sqrt_s, run.masses, run.n_events, gen, n_threads=n_threads, progress=progress)
        run.kept = run.tried = run.n_events
        phase_space = float(w.mean())
    else:
        p, w, phase_space = _accepted_in_place(run, gen, progress)
    parameters = run.parameters(phase_space, not unweight) | seed_record(rng)
    if unweight:
        u = gen.random(w.size)
        keep = u * w.max() < w
        parameters["unweighting_efficiency"] = float(w.mean() / w.max())
        p = p[keep]
        w = np.full(p.shape[0], run.target_sigma / max(p.shape[0], 1))
    else:
        w = w * (run.target_sigma / w.sum())
    return Events(p, w, PARTICLES[channel], f"background-{channel}", "cms", parameters)


def _accepted_in_place(run: _Run, gen: np.random.Generator, progress: bool) -> tuple[np.ndarray, np.ndarray, float]:
    """Gamma-phi's sample filled in place from the acceptance rounds (the sample once, plus one batch), and the
    phase-space integral: each round's accepted weights (8 B per event) summed as one array, as it always was."""
    p = np.empty((run.n_events, len(run.masses), 4))
    w = np.empty(run.n_events)
    filled = 0
    round_w: list[np.ndarray] = []
    raw_sum = 0.0
    with progress_bar(run.n_events, f"background {run.channel}", "ev", progress) as advance:
        for batch in run.batches(gen, advance):
            if batch is None:  # a round ends
                raw_sum += float(np.concatenate(round_w).sum())
                round_w = []
                continue
            pb, wb = batch
            take = min(wb.size, run.n_events - filled)
            p[filled:filled + take] = pb[:take]
            w[filled:filled + take] = wb[:take]
            filled += take
            round_w.append(wb)
    return p, w, raw_sum


def background_sigma_fb(channel: str, n_b: float) -> float:
    """The mock background's cross section (fb): N_b events at 10 ab^-1 in phi, 0.22 N_b in gamma-phi."""
    sigma = n_b / LUMINOSITY_FB
    return sigma * GAMMAPHI_BACKGROUND_RATIO if check_channel(channel) == "gammaphi" else sigma


class _Run:
    """A background request, checked; :meth:`batches` makes its raw events."""

    def __init__(self, channel, m_phi, m_chi, n_events, n_b, sqrt_s, acceptance, n_threads):
        check_channel(channel)
        self.channel = channel
        self.m_phi = check_positive("m_phi", m_phi)
        self.m_chi = check_positive("m_chi", m_chi)
        self.n_events = check_count("n_events", n_events, 1)
        self.n_b = check_n_b(n_b)
        self.sqrt_s = check_positive("sqrt_s", sqrt_s)
        self.n_threads = n_threads
        if not self.m_phi + 2.0 * self.m_chi < self.sqrt_s:
            raise ParameterError("m_phi, m_chi", (m_phi, m_chi), f"need m_phi + 2 m_chi < sqrt_s = {sqrt_s} GeV")
        self.masses = background_masses(channel, self.m_phi, self.m_chi)
        self.target_sigma = background_sigma_fb(channel, self.n_b)
        self.acc: PhotonAcceptance | None = None
        if channel == "gammaphi":
            self.acc = acceptance if acceptance is not None else PhotonAcceptance()
            if self.acc.e_min >= (self.sqrt_s**2 - (self.m_phi + 2 * self.m_chi) ** 2) / (2 * self.sqrt_s):
                raise ParameterError("acceptance.e_min", self.acc.e_min, "is above the largest photon energy allowed")
        self.kept = self.tried = 0

    def batches(self, gen: np.random.Generator, advance):
        """Raw (unnormalised) events in order, as ``(momenta, weights)`` batches of bounded size, then, for
        gamma-phi, ``None`` after each round of the acceptance; past ``n_events`` only the last round's rest.

        Gamma-phi draws rounds until ``n_events`` photons are accepted; events are i.i.d., so truncating
        the last round does not bias the sample, and its whole round counts in the acceptance efficiency.
        """
        self.kept = self.tried = 0
        if self.acc is None:
            for p, w in rambo_batches(self.sqrt_s, self.masses, self.n_events, gen, n_threads=self.n_threads):
                self.kept += w.size
                self.tried += w.size
                advance(w.size)
                yield p, w
            return
        while self.kept < self.n_events:
            eff = self.kept / self.tried if self.kept > 0 else 0.5
            size = int(1.1 * (self.n_events - self.kept) / max(eff, 1e-3)) + 1000
            for p, w in rambo_batches(self.sqrt_s, self.masses, size, gen, n_threads=self.n_threads):
                ok = self.acc.accepts(p[:, 0, :])
                before = min(self.kept, self.n_events)
                self.kept += int(ok.sum())
                self.tried += w.size
                advance(min(self.kept, self.n_events) - before)
                yield p[ok], w[ok]
            yield None

    def parameters(self, phase_space: float, weighted: bool) -> dict:
        """The sample's record; ``phase_space``: the raw phase-space integral (inside the acceptance)."""
        acc = self.acc
        return {
            "channel": self.channel,
            "m_phi": self.m_phi,
            "m_chi": self.m_chi,
            "n_b": self.n_b,
            "n_b_luminosity_fb": LUMINOSITY_FB,
            "sqrt_s": self.sqrt_s,
            "masses": list(self.masses),
            "phase_space_volume": phase_space / self.tried if acc is not None else phase_space,
            "acceptance_efficiency": self.kept / self.tried,
            "photon_acceptance": None if acc is None else
            {"e_min": acc.e_min, "theta_min_deg": acc.theta_min_deg, "theta_max_deg": acc.theta_max_deg},
            "weighted": weighted,
        }


class BackgroundStream:
    """The weighted events of :func:`generate_background`, batch by batch, in memory that does not grow with
    ``n_events`` (for writing large samples: ``mcdh generate background``).

    Iterating yields :class:`Events` batches in order. The weights must sum to the background's fixed cross
    section before the first is written, so the events are made twice from the same random streams: a first
    pass sums the weights, the second yields them normalised. The events and their order equal
    :func:`generate_background`'s; the sums are exact (``math.fsum`` per batch) where the in-memory sample
    uses numpy's pairwise sums, so weights and :attr:`parameters` agree with it to ~1e-15 relative.
    """

    def __init__(self, channel, m_phi, m_chi, n_events, rng=None, *, n_b=1.0, sqrt_s=SQRT_S, acceptance=None,
                 n_threads=None, progress=False):
        self._run = _Run(channel, m_phi, m_chi, n_events, n_b, sqrt_s, acceptance, n_threads)
        self.n_events = self._run.n_events
        gen = as_generator(rng)
        self._bit_generator, self._state = type(gen.bit_generator), gen.bit_generator.state
        self._seed = rng
        self._progress = progress
        self.parameters: dict | None = None

    @property
    def sigma_fb(self) -> float:
        """The background's cross section (fb): what the weights sum to."""
        return self._run.target_sigma

    def _batches(self, passing: str):
        """Every raw batch of the run, as ``(momenta, weights, kept)`` (its first ``kept`` events belong to
        the sample), from the caller's generator in its state at construction."""
        bg = self._bit_generator()
        bg.state = self._state
        left = self.n_events
        with progress_bar(self.n_events, f"background {self._run.channel} ({passing})", "ev", self._progress) as advance:
            for batch in self._run.batches(np.random.Generator(bg), advance):
                if batch is not None:
                    take = min(left, len(batch[1]))
                    left -= take
                    yield batch[0], batch[1], take

    def __iter__(self):
        run = self._run
        kept, raw = [], []
        for _, w, take in self._batches("pass 1 of 2, normalisation"):
            raw.append(math.fsum(w))
            kept.append(math.fsum(w[:take]))
        total = math.fsum(kept)
        phase_space = math.fsum(raw) if run.acc is not None else total / self.n_events
        self.parameters = run.parameters(phase_space, True) | seed_record(self._seed)
        scale = run.target_sigma / total
        for p, w, take in self._batches("pass 2 of 2"):
            if take:
                yield Events(p[:take], w[:take] * scale, PARTICLES[run.channel], f"background-{run.channel}", "cms",
                             self.parameters)


@dataclass(frozen=True)
class BackgroundSummary:
    """A background sample at a glance (:func:`background_summary`): its normalisation, the events it
    predicts at ``luminosity_fb`` (fb^-1) and its m_chichi. ``unweighting_efficiency`` is None for a
    weighted sample, ``mchichi_mean`` for an empty one."""

    channel: str
    events: int
    sigma_fb: float
    expected_events: float
    n_b: float
    n_b_luminosity_fb: float
    luminosity_fb: float
    m_phi: float
    m_chi: float
    sqrt_s: float
    phase_space_volume: float
    acceptance_efficiency: float
    unweighting_efficiency: float | None
    mchichi_mean: float | None
    mchichi_range: tuple[float, float]

    def as_dict(self) -> dict[str, object]:
        """The JSON form (``mcdh background --json``, summary.json)."""
        return asdict(self) | {"mchichi_range": list(self.mchichi_range)}


def background_summary(events: Events, luminosity_fb: float = LUMINOSITY_FB) -> BackgroundSummary:
    """A background sample's normalisation, events at ``luminosity_fb`` (fb^-1) and m_chichi."""
    luminosity_fb = check_luminosity("luminosity_fb", luminosity_fb)
    m = pair_mass(events.momentum("chi"), events.momentum("chibar"))
    p = dict(events.parameters)
    return BackgroundSummary(
        p["channel"], len(events), events.sigma_fb, events.expected_events(luminosity_fb), p["n_b"],
        p["n_b_luminosity_fb"], luminosity_fb, p["m_phi"], p["m_chi"], p["sqrt_s"], p["phase_space_volume"],
        p["acceptance_efficiency"], p.get("unweighting_efficiency"),
        float(np.average(m, weights=events.weights)) if len(events) else None,
        (2 * p["m_chi"], p["sqrt_s"] - p["m_phi"]))
